"""Helpers of the tests that run a whole window (test_promise.py, test_reboot.py, the fault tests).

Each such test runs in namespaces of its own, and leaves the real node as it found it: no maintenance mark, admission
or done label, the kubelet on the harness's own settings.
"""
import os
import subprocess
import uuid
from datetime import datetime, timezone

import pytest
from kubernetes import client, watch

from run_ansible import run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(REPO, "tests", "demo")
CLUSTER_TOOLS = os.path.join(REPO, "tests", "cluster")
KUBELET_RESTART = os.path.join(CLUSTER_TOOLS, "kubelet-restart")
DONE_LABEL = "demo.prewarm.k8s/os-upgrade"  # node_upgrade_done_label of tests/demo/vars.yml
ADMIT_LABEL = "preload.prewarm.k8s/"
DROPIN_NAME = "90-prewarm-image-gc.conf"  # kubelet_config's default drop-in name


def wait_gone(list_fn, timeout, **kwargs):
    """Watch until list_fn(**kwargs) lists nothing."""
    listed = list_fn(**kwargs)
    left = {o.metadata.name for o in listed.items}
    if not left:
        return
    w = watch.Watch()
    for event in w.stream(list_fn, resource_version=listed.metadata.resource_version, timeout_seconds=timeout, **kwargs):
        if event["type"] == "DELETED":
            left.discard(event["object"].metadata.name)
            if not left:
                w.stop()
                return
    pytest.fail("still there after %ds: %s" % (timeout, sorted(left)))


def new_namespace(core_v1, prefix):
    """A namespace named `prefix`-<6 hex digits>; the caller deletes it."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def delete_namespace(core_v1, name):
    """Delete the namespace and wait until it is gone, so its pods no longer hold images on the real node."""
    core_v1.delete_namespace(name, propagation_policy="Foreground")
    wait_gone(core_v1.list_namespace, 180, field_selector="metadata.name=" + name)


def unmark(kubeconfig, core_v1, node):
    """Take whatever a window put on the node off again: maintenance marks, admission and done labels."""
    result = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [node], "state": "absent"})
    assert not result.get("failed"), result["msg"]
    labels = core_v1.read_node(node).metadata.labels
    ours = {k: None for k in labels if k.startswith(ADMIT_LABEL) or k == DONE_LABEL}
    if ours:
        core_v1.patch_node(node, {"metadata": {"labels": ours}})


def ready_since(node, since):
    """Ready, as posted by a kubelet that reported at or after `since` (a restarted one)."""
    return any(c.type == "Ready" and c.status == "True" and c.last_heartbeat_time >= since for c in node.status.conditions or [])


def restart_kubelet(core_v1, watch_until, node):
    """Restart the real kubelet and watch until the node is Ready as posted by the new kubelet."""
    since = datetime.now(timezone.utc).replace(microsecond=0)
    subprocess.run([KUBELET_RESTART], check=True, timeout=120)
    watch_until(core_v1.list_node, lambda n: ready_since(n, since), 90, field_selector="metadata.name=" + node)


def dropin_dir(kubelet_config_path):
    # The harness starts the kubelet with --config-dir=<kubelet dir>/config.d (tests/cluster/lib/kubelet.sh).
    return os.path.join(os.path.dirname(kubelet_config_path), "config.d")


def remove_dropin(kubelet_config_path):
    """Remove our drop-in; True when there was one (the kubelet then needs a restart to drop its settings)."""
    path = os.path.join(dropin_dir(kubelet_config_path), DROPIN_NAME)
    if os.path.exists(path):
        os.unlink(path)
        return True
    return False
