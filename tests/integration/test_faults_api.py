"""Faults of the control plane: the API server restarted during the warm wait, and an API server or etcd that is down
when a play starts.

1. warm_status (wait) and warmup are both waiting when the API server is killed and started again
   (tests/cluster/apiserver-restart). What they wait for can only happen after the restart: a ResourceQuota of 0 pods
   in their namespaces keeps the DaemonSet controller from creating the preloader pods until the test deletes it.
   Both must then finish (warm, released) and report the reconnect of their watches, with no traceback.
2. Every API module, and the first task of the os_upgrade and prewarm playbooks, against an API server that cannot
   be reached (a closed port) and against the real API server while etcd is stopped (tests/cluster/etcd-stop): each
   fails within seconds naming the server and why, and no node changed (their labels, annotations, taints and cordon are read back).

Each test makes its own kwok pool (kwok-nodes.sh) and deletes it afterwards. The restart and the etcd stop disturb
everyone on the cluster: each happens once, only in these tests.
"""
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from kubernetes import client

from kwok_pool import kwok_pool
from run_ansible import ansible_env, run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(REPO, "tests", "cluster")
MAINTENANCE_KEY = "prewarm.k8s/maintenance"
ADMIT_PREFIX = "preload.prewarm.k8s/"
BY = "it@prewarm-faults-api"
POOL = "fapi"
POOL_SIZE = 2


@pytest.fixture(scope="module")
def pool_nodes(core_v1, kubeconfig, watch_until):  # pylint: disable=unused-argument
    """A kwok pool of our own, Ready; deleted afterwards."""
    with kwok_pool(POOL, POOL_SIZE, core_v1, watch_until, ready_timeout=60) as names:
        yield names


def _new_namespace(core_v1):
    name = "prewarm-fapi-" + uuid.uuid4().hex[:6]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _close_gate(core_v1, namespace):
    """No pod may be created in the namespace, so the preloader gets no pod until _open_gate."""
    quota = client.V1ResourceQuota(metadata=client.V1ObjectMeta(name="gate"), spec=client.V1ResourceQuotaSpec(hard={"pods": "0"}))
    core_v1.create_namespaced_resource_quota(namespace, quota)


def _open_gate(core_v1, apps_v1, namespace, daemonset):
    core_v1.delete_namespaced_resource_quota("gate", namespace)
    # The DaemonSet controller retries a refused pod creation with a growing back-off; a change of the DaemonSet's
    # own metadata (not its template: no rollout) makes it sync again at once.
    apps_v1.patch_namespaced_daemon_set(daemonset, namespace, {"metadata": {"annotations": {"it.prewarm.k8s/gate": "open"}}})


def _preloader(kubeconfig, namespace, name, test_images, scope):
    result = run_module("preloader", {"kubeconfig": kubeconfig, "name": name, "namespace": namespace, "scope": scope,
                                      "node_selector": {"pool": POOL}, "tolerations": [{"key": "prewarm.test/pool", "operator": "Exists"}],
                                      "agent_image": test_images["agent"]["ref"], "images": [test_images["small"]["ref"]]})
    assert not result.get("failed"), result["msg"]


def _watching(audit_log, offset, namespace):
    """Whether the API server logged a WATCH of pods in `namespace` since `offset` (only the module under test watches there)."""
    with open(audit_log, encoding="utf-8") as handle:
        handle.seek(offset)
        for line in handle:
            if '"verb":"watch"' in line and ('"namespace":"%s"' % namespace) in line:
                entry = json.loads(line)
                if entry.get("objectRef", {}).get("resource") == "pods":
                    return True
    return False


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out after %ss waiting for %s" % (timeout, what)
        time.sleep(0.5)


class Background(object):
    """A module run in a thread, started now; result() waits for it."""

    def __init__(self, module, args):
        self._result = {}
        self._thread = threading.Thread(target=lambda: self._result.update(run_module(module, args, timeout=400)), daemon=True)
        self._thread.start()

    def result(self, timeout):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the module was still running after %ss" % timeout
        return self._result


def _release_ours(kubeconfig, core_v1, names, admit_label):
    ours = [n.metadata.name for n in core_v1.list_node(label_selector="pool=" + POOL).items
            if BY in ((n.metadata.annotations or {}).get(MAINTENANCE_KEY) or "")]
    if ours:
        run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": ours, "state": "absent"})
    for name in names:
        core_v1.patch_node(name, {"metadata": {"labels": {admit_label: None}}})


def test_api_server_restart_during_the_warm_wait_is_ridden_out(kubeconfig, core_v1, apps_v1, cluster_dir, pool_nodes, test_images):
    status_ns, warmup_ns = _new_namespace(core_v1), _new_namespace(core_v1)
    status_ds, warmup_ds = "fapi-status-" + status_ns[-6:], "fapi-warmup-" + warmup_ns[-6:]
    admit_label = ADMIT_PREFIX + warmup_ds
    audit_log = os.path.join(cluster_dir, "logs", "audit.log")
    try:
        for namespace in (status_ns, warmup_ns):
            _close_gate(core_v1, namespace)
        _preloader(kubeconfig, status_ns, status_ds, test_images, "pool")
        _preloader(kubeconfig, warmup_ns, warmup_ds, test_images, "admitted")
        marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": pool_nodes, "by": BY, "reason": "faults it"})
        assert not marked.get("failed"), marked["msg"]

        offset = os.path.getsize(audit_log)
        status = Background("warm_status", {"kubeconfig": kubeconfig, "name": status_ds, "namespace": status_ns, "nodes": pool_nodes,
                                            "wait": True, "timeout": 240})
        warmup = Background("warmup", {"kubeconfig": kubeconfig, "name": warmup_ds, "namespace": warmup_ns, "nodes": pool_nodes,
                                       "max_pulling": 1, "timeout": 240})
        _wait_for(lambda: _watching(audit_log, offset, status_ns) and _watching(audit_log, offset, warmup_ns), 90,
                  "both modules to watch the preloader pods")
        # Both modules are in their warm wait, and nothing they wait for can happen yet.
        assert not core_v1.list_namespaced_pod(status_ns).items and not core_v1.list_namespaced_pod(warmup_ns).items

        restarted = time.monotonic()
        subprocess.run([os.path.join(CLUSTER, "apiserver-restart")], check=True, capture_output=True, timeout=180)
        down_and_up = time.monotonic() - restarted
        _open_gate(core_v1, apps_v1, status_ns, status_ds)
        _open_gate(core_v1, apps_v1, warmup_ns, warmup_ds)

        for name, run in (("warm_status", status), ("warmup", warmup)):
            result = run.result(300)
            assert not result.get("failed"), "%s: %s" % (name, result.get("msg"))
            assert "exception" not in result and "Traceback" not in json.dumps(result)
            # The watches were cut by the restart, resumed from their resourceVersion (or relisted), and saw the rest.
            assert result["watch"]["reconnects"] >= 1, result["watch"]
            print("\n[faults] %s after an API server restart of %.1fs: %s, watch %s, %.1fs in all"
                  % (name, down_and_up, result["msg"], result["watch"], result["elapsed"]))
        assert status.result(0)["all_warm"] and sorted(status.result(0)["warm"]) == sorted(pool_nodes)
        done = warmup.result(0)
        assert done["released"] == pool_nodes and done["max_pulling_seen"] == 1
        for node in core_v1.list_node(label_selector="pool=" + POOL).items:
            assert MAINTENANCE_KEY not in (node.metadata.labels or {}), node.metadata.name
            assert not [t for t in node.spec.taints or [] if t.key == MAINTENANCE_KEY], node.metadata.name
    finally:
        _release_ours(kubeconfig, core_v1, pool_nodes, admit_label)
        for namespace in (status_ns, warmup_ns):
            core_v1.delete_namespace(namespace, propagation_policy="Background")


# ---------------------------------------------------------------- unreachable or unhealthy when the play starts

def _closed_port():
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _module_cases(kubeconfig, nodes, test_images):
    """One run of every module that talks to the API server, each of which would change something if it could."""
    base = {"kubeconfig": kubeconfig, "request_timeout": 10}
    return {
        "node_maintenance": dict(base, nodes=nodes, reason="must not happen", by=BY),
        "preloader": dict(base, name="fapi-never", namespace="default", node_selector={"pool": POOL},
                          agent_image=test_images["agent"]["ref"], images=[test_images["small"]["ref"]]),
        "warm_status": dict(base, name="fapi-never", namespace="default", nodes=nodes, wait=True, timeout=60),
        "warmup": dict(base, name="fapi-never", namespace="default", nodes=nodes, timeout=60),
        "node_wait": dict(base, nodes=nodes, timeout=60),
    }


def _playbook(name, kubeconfig, nodes, test_images, tmp_path):
    """ansible-playbook prewarm.k8s.<name> over our pool: (exit code, output)."""
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {POOL: {"vars": {"prewarm_pool": POOL, "prewarm_kubelet_managed": False},
                                             "hosts": {n: {} for n in nodes}}}}}
    extra = {"prewarm_kubeconfig": kubeconfig, "prewarm_namespace": "default",
             "prewarm_agent_image": test_images["agent"]["ref"],
             "prewarm_pools": {POOL: {"node_selector": {"pool": POOL}, "images": [test_images["small"]["ref"]],
                                      "tolerations": [{"key": "prewarm.test/pool", "operator": "Exists"}]}},
             "node_upgrade_upgrade_tasks": os.path.join(REPO, "tests", "demo", "fake_os_upgrade.yml"), "node_upgrade_reboot": False,
             "os_upgrade_max_fail_percentage": 0,
             # prewarm: with warm_nodes its first API task is the preload role's preflight; without, it is a
             # kubernetes.core.k8s_info listing the pool's nodes, whose own error does not come from this collection.
             "warm_pool": POOL, "warm_nodes": nodes, "warm_mark": True}
    directory = tmp_path / name
    directory.mkdir()
    (directory / "inventory.json").write_text(json.dumps(inventory))
    (directory / "extra.json").write_text(json.dumps(extra))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s." + name,
           "-i", str(directory / "inventory.json"), "-e", "@%s" % (directory / "extra.json")]
    proc = subprocess.run(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "TMPDIR": str(directory)}),
                          capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _timed(func, *args):
    started = time.monotonic()
    outcome = func(*args)
    return time.monotonic() - started, outcome


def _run_everything(kubeconfig, nodes, test_images, tmp_path):
    """Every module and both playbooks at once, so a fault need last only as long as the slowest: {name: (seconds, outcome)}."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = {name: pool.submit(_timed, run_module, name, args, False, False, 300)
                   for name, args in _module_cases(kubeconfig, nodes, test_images).items()}
        futures.update((name, pool.submit(_timed, _playbook, name, kubeconfig, nodes, test_images, tmp_path))
                       for name in ("os_upgrade", "prewarm"))
        return dict((name, future.result()) for name, future in futures.items())


def _node_state(core_v1, nodes):
    """What a module of ours could change on each node: our labels, annotations and taints, and the cordon.

    Not the resourceVersion, nor the whole metadata: kwok and the node controllers keep updating fresh nodes.
    """
    def ours(mapping):
        return dict((k, v) for k, v in (mapping or {}).items() if "prewarm.k8s/" in k)
    nodes = [core_v1.read_node(name) for name in nodes]
    return dict((node.metadata.name, (ours(node.metadata.labels), ours(node.metadata.annotations),
                                      [t.key for t in node.spec.taints or [] if "prewarm.k8s/" in t.key], node.spec.unschedulable))
                for node in nodes)


def _assert_failed_fast_naming(outcomes, server, words, limit):
    """Each module failed with a message naming the server and one of `words`; each playbook failed at its first API task."""
    for name, (seconds, outcome) in sorted(outcomes.items()):
        if isinstance(outcome, dict):
            message = outcome.get("msg") or ""
            print("\n[faults] %s failed in %.1fs: %s" % (name, seconds, message))
            assert outcome.get("failed") and not outcome.get("changed"), (name, outcome)
        else:
            code, output = outcome
            print("\n[faults] playbook %s exited %d in %.1fs" % (name, code, seconds))
            assert code != 0, output[-4000:]
            message = output
            assert "changed=" in output and all(" changed=0 " in line for line in output.splitlines() if " changed=" in line), output[-4000:]
        # A kubernetes.core task (the playbooks use k8s_info too) names the server as urllib3 does: host and port.
        host, port = server.rsplit("//", 1)[1].rsplit(":", 1)
        named = server in message or "host='%s', port=%s" % (host, port) in message
        assert named and any(word in message for word in words), (name, message[-4000:])
        assert "Traceback" not in message, (name, message[-4000:])
        assert seconds < limit, "%s took %.1fs to fail" % (name, seconds)


def test_an_api_server_that_cannot_be_reached_fails_every_module_and_playbook_before_any_change(
        kubeconfig, core_v1, pool_nodes, test_images, tmp_path):
    port = _closed_port()
    with open(kubeconfig, encoding="utf-8") as handle:
        text = handle.read()
    server = "https://127.0.0.1:%d" % port
    closed = tmp_path / "closed.kubeconfig"
    closed.write_text(text.replace("https://127.0.0.1:6443", server))
    before = _node_state(core_v1, pool_nodes)
    outcomes = _run_everything(str(closed), pool_nodes, test_images, tmp_path)
    _assert_failed_fast_naming(outcomes, server, ["cannot reach the API server", "Connection refused"], 60)
    assert _node_state(core_v1, pool_nodes) == before


def test_etcd_down_fails_every_module_and_playbook_fast_before_any_change(kubeconfig, core_v1, pool_nodes, test_images, tmp_path):
    before = _node_state(core_v1, pool_nodes)
    subprocess.run([os.path.join(CLUSTER, "etcd-stop")], check=True, capture_output=True, timeout=60)
    try:
        outcomes = _run_everything(kubeconfig, pool_nodes, test_images, tmp_path)
    finally:
        subprocess.run([os.path.join(CLUSTER, "cluster-up.sh")], check=True, capture_output=True, timeout=300)
    # With etcd down the API server either answers /readyz with 500 at once or lets it run into the client's
    # timeout (its etcd check waits for etcd): both fail before any change, saying why.
    _assert_failed_fast_naming(outcomes, "https://127.0.0.1:6443", ["not ready", "etcd", "timed out"], 60)
    assert _node_state(core_v1, pool_nodes) == before
