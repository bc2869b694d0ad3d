"""Helpers shared by test_preloader.py and test_warm_status.py: the real node's image store, kubelet events, pods.

The real node's containerd runs on this machine (socket in the cluster dir), so a test can take images off the
node with `ctr` before a preloader pulls them: the kubelet then really pulls them, and says so in its events.
"""
import os
import subprocess

from kubernetes.client import ApiException

CONTAINERD_NAMESPACE = "k8s.io"  # containerd namespace of the kubelet's (CRI) images
# Pod Security admission labels of a namespace where only `restricted` pods are admitted.
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}


def by_digest(image):
    """`repo@sha256:...` for a test image of images.json (its ref without the tag, plus its digest)."""
    return "%s@%s" % (image["ref"].rsplit(":", 1)[0], image["digest"])


def _ctr(cluster_dir, *args, **kwargs):
    """Run the real node's own `ctr` (the cluster's bin dir: its runtime is built with the cluster)."""
    cmd = [os.path.join(cluster_dir, "bin", "ctr"), "--address", os.path.join(cluster_dir, "containerd.sock"),
           "--namespace", CONTAINERD_NAMESPACE] + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=kwargs.get("timeout", 300)).stdout


def node_image_refs(cluster_dir, digest):
    """Every name the real node's containerd keeps for the image with this manifest digest (tag, digest and id refs)."""
    rows = [line.split() for line in _ctr(cluster_dir, "images", "ls").splitlines()[1:]]
    return [row[0] for row in rows if len(row) > 2 and row[2] == digest]


def remove_from_real_node(cluster_dir, images):
    """Delete the test images (images.json entries) from the real node, so that the next use is a real pull."""
    for image in images:
        refs = node_image_refs(cluster_dir, image["digest"])
        if refs:
            # --sync waits for containerd's garbage collection, so the layers are gone too.
            _ctr(cluster_dir, "images", "rm", "--sync", *refs)
        assert not node_image_refs(cluster_dir, image["digest"]), "%s is still on the real node" % image["ref"]


def preloader_pods(core_v1, namespace, name):
    """The pods of the preloader DaemonSet `name` (selected by the module's selector label)."""
    return core_v1.list_namespaced_pod(namespace, label_selector="prewarm.k8s/preloader=" + name).items


def daemonset_or_none(apps_v1, namespace, name):
    try:
        return apps_v1.read_namespaced_daemon_set(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def failed_create_events(core_v1, namespace):
    """The DaemonSet controller's FailedCreate events (e.g. pods refused by Pod Security admission)."""
    return [e.message for e in core_v1.list_namespaced_event(namespace).items if e.reason == "FailedCreate"]


def kubelet_pull_events(core_v1, namespace, pod_name):
    """{(reason, message)} of the kubelet's Pulling/Pulled events on one pod."""
    return {(e.reason, e.message) for e in core_v1.list_namespaced_event(namespace, field_selector="involvedObject.name=" + pod_name).items
            if e.source.component == "kubelet" and e.reason in ("Pulling", "Pulled")}


def really_pulled(events, ref):
    """Whether the kubelet pulled `ref` from the registry (not 'already present on machine')."""
    return (("Pulling", 'Pulling image "%s"' % ref) in events
            and any(reason == "Pulled" and message.startswith('Successfully pulled image "%s"' % ref) for reason, message in events))
