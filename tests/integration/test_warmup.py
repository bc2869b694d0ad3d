"""prewarm.k8s.warmup on a kwok pool: waves bounded by max_pulling, release the moment a node is warm, timeouts, refusals.

Each test makes its own preloader DaemonSet (scope admitted) in a fresh namespace and marks the pool's nodes with
prewarm.k8s.node_maintenance. What warmup says is checked against the nodes read back, and the wave bound also
against a watch on the nodes during the run (a node admitted and still marked is a node still pulling).
kwok reports preloader pods Ready almost at once, so the waves are short; their order and bound are what counts.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest

from kubernetes import watch
from urllib3.exceptions import ProtocolError

from run_ansible import ansible_env, run_module
from test_faults_kill import children

MAINTENANCE_KEY = "prewarm.k8s/maintenance"
ADMIT_PREFIX = "preload.prewarm.k8s/"
BY = "it@prewarm-warmup"


@pytest.fixture
def pool(kwok_pools):
    return sorted(kwok_pools)[0]


@pytest.fixture
def pool_nodes(core_v1, pool, kwok_pools):
    names = sorted(n.metadata.name for n in core_v1.list_node(label_selector="type=kwok,pool=" + pool).items)
    assert len(names) == kwok_pools[pool] >= 3, names
    return names


@pytest.fixture
def ds_name(namespace):
    # Unique per test: the admission label is named after the DaemonSet.
    return "wu-" + namespace.rsplit("-", 1)[1]


@pytest.fixture
def marked(core_v1, kubeconfig, pool_nodes, ds_name):
    """Mark the pool's nodes; afterwards release what is still marked by these tests and take the admission label off."""
    result = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": pool_nodes, "by": BY, "reason": "warmup it"})
    assert not result.get("failed"), result["msg"]
    yield pool_nodes
    ours = [n.metadata.name for n in core_v1.list_node(label_selector="type=kwok").items
            if BY in ((n.metadata.annotations or {}).get(MAINTENANCE_KEY) or "")]
    if ours:
        run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": ours, "state": "absent"})
    for name in pool_nodes:
        core_v1.patch_node(name, {"metadata": {"labels": {ADMIT_PREFIX + ds_name: None}}})


@pytest.fixture
def preload(kubeconfig, namespace, test_images, pool, kwok_taint_key, ds_name):
    def create(**args):
        options = {"kubeconfig": kubeconfig, "name": ds_name, "namespace": namespace, "scope": "admitted",
                   "node_selector": {"pool": pool}, "tolerations": [{"key": kwok_taint_key, "operator": "Exists"}],
                   "agent_image": test_images["agent"]["ref"], "images": [test_images["small"]["ref"]]}
        options.update(args)
        result = run_module("preloader", options)
        assert not result.get("failed"), result["msg"]
    return create


def warmup(kubeconfig, namespace, ds_name, nodes, check=False, diff=False, **args):
    return run_module("warmup", dict({"kubeconfig": kubeconfig, "name": ds_name, "namespace": namespace, "nodes": nodes}, **args),
                      check=check, diff=diff)


def _at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def most_pulling_from_timestamps(nodes):
    """The most nodes admitted and not yet warm at one moment, from the module's own timestamps."""
    spans = [(_at(n["admitted_at"]), _at(n["warm_at"])) for n in nodes.values() if n["admitted_at"]]
    return max(sum(1 for start, end in spans if start <= moment < end) for moment, _end in spans)


class MarkedAndAdmittedWatch(object):
    """Follows the pool's nodes during a run: the most nodes at one moment that carry the admission label and still the
    maintenance label. warmup releases a node right when it is warm, so this is the cluster's count of pulling nodes."""

    def __init__(self, core_v1, pool, admit_label):
        self.most, self.admitted_seen = 0, set()
        self._core, self._admit = core_v1, admit_label
        self._state, self._stopped = {}, False
        listed = core_v1.list_node(label_selector="type=kwok,pool=" + pool)
        for node in listed.items:
            self._see(node)
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._follow, args=(pool, listed.metadata.resource_version), daemon=True)
        self._thread.start()

    def _see(self, node):
        labels = node.metadata.labels or {}
        admitted = labels.get(self._admit) == "true"
        if admitted:
            self.admitted_seen.add(node.metadata.name)
        self._state[node.metadata.name] = admitted and labels.get(MAINTENANCE_KEY) == "true"
        self.most = max(self.most, sum(self._state.values()))

    def _follow(self, pool, version):
        try:
            for event in self._watch.stream(self._core.list_node, label_selector="type=kwok,pool=" + pool,
                                            resource_version=version, timeout_seconds=120):
                self._see(event["object"])
        except ProtocolError:
            if not self._stopped:
                raise

    def stop(self):
        self._stopped = True  # stopping cuts the stream short: not an error
        self._watch.stop()
        self._thread.join(timeout=5)


@pytest.mark.parametrize("max_pulling", [1, 2])
def test_warms_in_waves_of_at_most_max_pulling_and_releases_each_node(core_v1, kubeconfig, namespace, ds_name, pool, marked, preload,
                                                                      max_pulling):
    preload()
    admit_label = ADMIT_PREFIX + ds_name
    follower = MarkedAndAdmittedWatch(core_v1, pool, admit_label)
    try:
        result = warmup(kubeconfig, namespace, ds_name, marked, max_pulling=max_pulling, timeout=120)
    finally:
        follower.stop()

    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["scope"] == "admitted"
    assert result["warm"] == marked and result["released"] == marked and result["admitted"] == marked, result
    assert result["cold"] == [] and result["refused"] == {}
    # The bound, three ways: what the module counted, its timestamps, and the cluster's own labels seen by a watch.
    assert result["max_pulling_seen"] == max_pulling
    assert most_pulling_from_timestamps(result["nodes"]) <= max_pulling
    assert follower.admitted_seen == set(marked)
    assert 1 <= follower.most <= max_pulling
    for name in marked:
        node = result["nodes"][name]
        assert node["warm"] and node["released"] and node["admitted"], node
        assert node["warming_seconds"] >= 0 and node["release_delay_seconds"] >= 0
        assert [i["state"] for i in node["images"]] == ["present"]
    # Released: our taint, label and annotation are gone; the admission label stays, so the pod (and the images) stay.
    pods = {p.spec.node_name: p for p in core_v1.list_namespaced_pod(namespace, label_selector="prewarm.k8s/preloader=" + ds_name).items}
    for name in marked:
        node = core_v1.read_node(name)
        assert MAINTENANCE_KEY not in (node.metadata.labels or {})
        assert MAINTENANCE_KEY not in (node.metadata.annotations or {})
        assert not any(t.key == MAINTENANCE_KEY for t in node.spec.taints or [])
        assert node.metadata.labels.get(admit_label) == "true"
        assert name in pods and pods[name].metadata.deletion_timestamp is None

    again = warmup(kubeconfig, namespace, ds_name, marked, max_pulling=max_pulling, timeout=60)
    assert not again.get("failed"), again["msg"]
    assert not again["changed"] and again["released"] == [] and again["admitted"] == []
    assert again["warm"] == marked


def test_check_mode_reports_the_first_wave_and_writes_nothing(core_v1, kubeconfig, namespace, ds_name, marked, preload):
    preload()
    result = warmup(kubeconfig, namespace, ds_name, marked, check=True, diff=True, max_pulling=2)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["admitted"] == marked[:2] and result["released"] == []
    assert sorted(result["diff"]["after"]) == marked[:2]
    for name in marked:
        node = core_v1.read_node(name)
        assert ADMIT_PREFIX + ds_name not in (node.metadata.labels or {})
        assert node.metadata.labels.get(MAINTENANCE_KEY) == "true"
    assert core_v1.list_namespaced_pod(namespace).items == []


def test_timeout_names_each_cold_node_and_why_and_leaves_them_marked(core_v1, kubeconfig, namespace, ds_name, marked, preload):
    # Pods asking for more CPU than a kwok node has stay Pending: the admitted node never turns warm.
    preload(resources={"requests": {"cpu": "2000"}, "limits": {"cpu": "2000"}})
    result = warmup(kubeconfig, namespace, ds_name, marked, max_pulling=1, timeout=8)

    assert result.get("failed")
    first, waiting = marked[0], marked[1:]
    assert "timed out after 8s: 3 of 3 nodes not warm" in result["msg"]
    assert "%s: preloader pod" % first in result["msg"] and "Insufficient cpu" in result["msg"]
    for name in waiting:
        assert "%s: not admitted: the other nodes held all 1 pulling slots" % name in result["msg"]
    assert result["admitted"] == [first] and result["cold"] == marked and result["released"] == []
    assert result["max_pulling_seen"] == 1
    for name in marked:
        node = core_v1.read_node(name)
        assert node.metadata.labels.get(MAINTENANCE_KEY) == "true", name
        assert any(t.key == MAINTENANCE_KEY for t in node.spec.taints or []), name
        assert (node.metadata.labels.get(ADMIT_PREFIX + ds_name) == "true") == (name == first)


def test_a_node_that_would_get_no_pod_is_refused_and_the_others_are_warmed(core_v1, kubeconfig, namespace, ds_name, marked, preload,
                                                                           kwok_pools, pool, move_tag, test_images):
    other_pool = [p for p in sorted(kwok_pools) if p != pool][0]
    # kwok-nodes.sh names the pool nodes kwok-<pool>-<n>; other kwok nodes may come and go during the run.
    stranger = sorted(n.metadata.name for n in core_v1.list_node(label_selector="type=kwok,pool=" + other_pool).items
                      if n.metadata.name.startswith("kwok-%s-" % other_pool))[0]
    # An image of the test's own, which no node lists yet: the image filesystem check looks only at nodes that lack one.
    fresh = "%s/prewarm-test/fscheck-%s:1" % (test_images["small"]["ref"].split("/", 1)[0], namespace[-8:])
    move_tag(fresh, test_images["small"]["ref"])
    preload(images=[fresh])
    result = warmup(kubeconfig, namespace, ds_name, marked[:2] + [stranger], max_pulling=2, timeout=120)

    assert result.get("failed")
    assert list(result["refused"]) == [stranger]
    assert "would get no preloader pod even when admitted" in result["refused"][stranger]
    assert "refused 1 node(s), left marked: %s" % stranger in result["msg"]
    assert result["warm"] == marked[:2] and result["released"] == marked[:2] and result["cold"] == []
    assert ADMIT_PREFIX + ds_name not in (core_v1.read_node(stranger).metadata.labels or {})
    # kwok nodes have no kubelet to serve a stats summary: the image filesystem check says so and does not refuse.
    assert any("image filesystem not checked" in w for w in result.get("warnings", [])), result.get("warnings")


def test_scope_pool_cannot_wave_so_it_warns_then_waits_and_releases(core_v1, kubeconfig, namespace, ds_name, marked, preload):
    preload(scope="pool")
    result = warmup(kubeconfig, namespace, ds_name, marked, max_pulling=1, timeout=120)
    assert not result.get("failed"), result["msg"]
    assert result["scope"] == "pool" and result["admitted"] == [] and result["released"] == marked
    assert any("max_pulling cannot be enforced" in w for w in result.get("warnings", [])), result.get("warnings")
    for name in marked:
        assert MAINTENANCE_KEY not in (core_v1.read_node(name).metadata.labels or {})


def test_unknown_node_fails_before_any_change(core_v1, kubeconfig, namespace, ds_name, marked, preload):
    preload()
    result = warmup(kubeconfig, namespace, ds_name, marked + ["no-such-node-wu"], max_pulling=2)
    assert result.get("failed") and result["msg"] == "nodes: no such node: no-such-node-wu"
    for name in marked:
        node = core_v1.read_node(name)
        assert ADMIT_PREFIX + ds_name not in (node.metadata.labels or {}) and node.metadata.labels.get(MAINTENANCE_KEY) == "true"


# --- a cancelled run stops its waiting module ------------------------------------------------
# Each task runs in a worker with a session of its own, so the module outlives a killed playbook unless it
# watches the playbook's process itself (module_utils/controller.py). Within these seconds it must be gone.
STOP_WITHIN = 10


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""  # gone meanwhile


def _descendants(root):
    """(pid, command line) of the processes under `root`."""
    children_of, found, todo = children(), [], [root]
    while todo:
        for pid in children_of.get(todo.pop(), []):
            found.append((pid, _cmdline(pid)))
            todo.append(pid)
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _warmup_playbook(tmp_path, kubeconfig, namespace, ds_name, nodes):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "Warm", "prewarm.k8s.warmup": {
        "kubeconfig": kubeconfig, "name": ds_name, "namespace": namespace, "nodes": nodes, "max_pulling": 1, "timeout": 600}}]}]
    path = tmp_path / "warm.yml"
    path.write_text(json.dumps(play))
    return str(path)


def _wait_admitted(core_v1, node, label, seconds=120):
    stream = watch.Watch()
    for change in stream.stream(core_v1.list_node, field_selector="metadata.name=" + node, timeout_seconds=seconds):
        if (change["object"].metadata.labels or {}).get(label) == "true":
            stream.stop()
            return
    pytest.fail("node %s not admitted within %ss" % (node, seconds))


def _module_pid(root):
    modules = [pid for pid, cmdline in _descendants(root) if "AnsiballZ_warmup" in cmdline and "/bin/sh" not in cmdline]
    assert len(modules) == 1, _descendants(root)
    return modules[0]


def _assert_stops(module_pid, core_v1, nodes, label):
    started = time.monotonic()
    while _alive(module_pid) and time.monotonic() - started < STOP_WITHIN:
        time.sleep(0.2)
    assert not _alive(module_pid), "warmup (pid %d) still running %ss after its playbook ended" % (module_pid, STOP_WITHIN)
    # It stopped where it was: the first node admitted and marked, the others not admitted, all still marked.
    for name in nodes:
        node = core_v1.read_node(name)
        assert node.metadata.labels.get(MAINTENANCE_KEY) == "true", name
        assert (node.metadata.labels.get(label) == "true") == (name == nodes[0]), name


@pytest.mark.parametrize("how", ["sigkill-playbook", "sigterm-process-group"])
def test_a_killed_playbook_stops_its_warmup_within_seconds(core_v1, kubeconfig, namespace, ds_name, marked, preload, tmp_path, how):
    # The first node's pod never runs (more CPU than a kwok node has): the module waits until it is stopped.
    preload(resources={"requests": {"cpu": "2000"}, "limits": {"cpu": "2000"}})
    label = ADMIT_PREFIX + ds_name
    playbook = subprocess.Popen(  # pylint: disable=consider-using-with
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), _warmup_playbook(tmp_path, kubeconfig, namespace, ds_name, marked)],
        env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        _wait_admitted(core_v1, marked[0], label)
        module_pid = _module_pid(playbook.pid)
        if how == "sigkill-playbook":
            os.kill(playbook.pid, signal.SIGKILL)
        else:
            # What a scheduler's cancel does: the job's process group (the worker has a session of its own).
            os.killpg(playbook.pid, signal.SIGTERM)
        playbook.wait(30)
        _assert_stops(module_pid, core_v1, marked, label)
    finally:
        if playbook.poll() is None:
            playbook.kill()


def test_a_cancel_through_ansible_runner_stops_its_warmup_within_seconds(core_v1, kubeconfig, namespace, ds_name, marked, preload,
                                                                         tmp_path):
    ansible_runner = pytest.importorskip("ansible_runner")
    preload(resources={"requests": {"cpu": "2000"}, "limits": {"cpu": "2000"}})
    label = ADMIT_PREFIX + ds_name
    cancel = threading.Event()
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"]})
    done = {}
    (tmp_path / "runner").mkdir()

    def run():
        done["runner"] = ansible_runner.run(private_data_dir=str(tmp_path / "runner"), playbook=_warmup_playbook(
            tmp_path, kubeconfig, namespace, ds_name, marked), envvars=env, cancel_callback=cancel.is_set, quiet=True,
            suppress_env_files=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _wait_admitted(core_v1, marked[0], label)
        playbooks = [pid for pid, cmdline in _descendants(os.getpid()) if "ansible-playbook" in cmdline and "AnsiballZ" not in cmdline]
        module_pid = _module_pid(min(playbooks))
        cancel.set()
        thread.join(60)
        assert done["runner"].status == "canceled", done["runner"].status
        _assert_stops(module_pid, core_v1, marked, label)
    finally:
        cancel.set()
