"""`ansible-playbook prewarm.k8s.os_upgrade` killed with SIGKILL at each phase of the window, then run again.

Each test makes its own simulated (kwok) pool of two nodes and its own preloader namespace, and holds the run at a
phase with something the cluster or the test controls, never with a sleep in the product:
- after marking and during the upgrade step: the site's upgrade step is a tasks file of the test that waits for a gate
  file; the phase is seen on the nodes' maintenance annotation (watch);
- during the drain: a pod on the first node carries a finalizer, so after its eviction the drain waits for it to go;
  the phase is seen as the pod's deletionTimestamp (watch);
- during the warm wait: a ResourceQuota of 0 pods in the preloader namespace keeps the DaemonSet controller from
  making any preloader pod; the phase is seen as the admission label on the nodes (watch).
The playbook and every process under it are killed at that point (SIGKILL); the nodes are read back (every marked node says why and since when); the
hold is lifted and the playbook run again, and it completes. A recorder watches nodes and preloader pods for the
whole test: each node's maintenance taint goes away exactly once, and only after its preloader pod was Ready.

The helpers are used by test_faults_nodes.py too.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
from kubernetes import client, config, watch
from kubernetes.client import ApiException

from run_ansible import ansible_env
from window_helpers import new_namespace

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_VARS = os.path.join(REPO, "tests", "demo", "vars.yml")
MAINTENANCE_KEY = "prewarm.k8s/maintenance"
POOL_TAINT_KEY = "prewarm.test/pool"
PRELOADER_LABEL = "prewarm.k8s/preloader"
HOLD_FINALIZER = "prewarm.test/hold-drain"
GATE_TASKS = """---
# The site's upgrade, as the fault tests run it: it waits until the test opens the gate.
- name: Wait until the test opens the gate
  ansible.builtin.wait_for:
    path: "{{ fault_gate }}"
    timeout: 300
"""


# ---------------------------------------------------------------- simulated nodes of a pool of one's own

def kwok_node(name, pool):
    """A node as tests/cluster/kwok-nodes.sh makes it (kwok manages nodes labelled type=kwok)."""
    return client.V1Node(
        metadata=client.V1ObjectMeta(name=name, annotations={"kwok.x-k8s.io/node": "fake"},
                                     labels={"type": "kwok", "pool": pool, "kubernetes.io/hostname": name,
                                             "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}),
        spec=client.V1NodeSpec(taints=[client.V1Taint(key=POOL_TAINT_KEY, value=pool, effect="NoSchedule")]))


def node_ready(node):
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def make_kwok_nodes(core_v1, pool, names, timeout=60):
    """Create the nodes and watch until kwok reports every one Ready."""
    for name in names:
        core_v1.create_node(kwok_node(name, pool))
    waiting = set(names)
    w = watch.Watch()
    for event in w.stream(core_v1.list_node, label_selector="pool=" + pool, timeout_seconds=timeout):
        if event["type"] != "DELETED" and node_ready(event["object"]):
            waiting.discard(event["object"].metadata.name)
            if not waiting:
                w.stop()
                return
    pytest.fail("kwok nodes not Ready after %ds: %s" % (timeout, sorted(waiting)))


def delete_nodes(core_v1, names):
    for name in names:
        try:
            core_v1.delete_node(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


def preloader_pool(pool, daemonset, namespace, images):
    """The inventory's prewarm_pools entry for a kwok pool (the demo's cpu pool, with a preloader of our own)."""
    return {pool: {"node_selector": {"pool": pool}, "daemonset": daemonset, "namespace": namespace,
                   "tolerations": [{"key": POOL_TAINT_KEY, "operator": "Equal", "value": pool, "effect": "NoSchedule"}],
                   "images": [images["small"]["ref"], images["noshell"]["ref"]]}}


def write_playbook_inputs(tmp, pool, names, extra):
    """(inventory path, extra vars path): the demo's inventory shape for these nodes, and the test's variables."""
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                         "children": {pool: {"vars": {"prewarm_pool": pool, "prewarm_kubelet_managed": False},
                                             "hosts": dict((name, {}) for name in names)}}}}
    paths = os.path.join(tmp, "inventory.yml"), os.path.join(tmp, "extra.json")
    for path, data in zip(paths, (inventory, extra)):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle)  # JSON is YAML
    return paths


def start_os_upgrade(tmp, inventory, extra_path, tag):
    """Start `ansible-playbook prewarm.k8s.os_upgrade` in a process group of its own; output in <tmp>/<tag>.log."""
    log = open(os.path.join(tmp, tag + ".log"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.os_upgrade", "-i", inventory,
           "-e", "@" + DEMO_VARS, "-e", "@" + extra_path]
    proc = subprocess.Popen(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1", "TMPDIR": tmp}),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log.name
    log.close()
    return proc


def finish(proc, timeout):
    """(exit code, output) of a run left to end by itself."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        code = None
    with open(proc.log_path, encoding="utf-8") as handle:
        return code, handle.read()


def children():
    """{parent pid: [child pids]} of every process, from /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        out.setdefault(ppid, []).append(int(entry))
    return out


def kill_tree(proc):
    """SIGKILL the playbook and every process under it: its forks, their modules.

    Killing the process group is not enough: each of ansible-core's worker processes calls setsid(), so workers and the
    modules they run are in sessions of their own and outlive a SIGKILL of ansible-playbook. Every process of the
    tree is stopped first, so none forks or is reparented while the tree is collected, then all are killed.
    """
    stopped = set()
    while True:
        children_of, tree, todo = children(), [proc.pid], [proc.pid]
        while todo:
            for child in children_of.get(todo.pop(), []):
                tree.append(child)
                todo.append(child)
        new = [pid for pid in tree if pid not in stopped]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        stopped.update(new)
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)
    return len(stopped)


def record_of(node):
    raw = (node.metadata.annotations or {}).get(MAINTENANCE_KEY)
    return json.loads(raw) if raw else None


def our_taint(node):
    return any(t.key == MAINTENANCE_KEY for t in node.spec.taints or [])


def assert_marked_nodes_say_why(core_v1, pool):
    """Every node of the pool that carries our taint or label has a record that says who, since when, why and the step."""
    records = {}
    for node in core_v1.list_node(label_selector="pool=" + pool).items:
        marked = our_taint(node) or MAINTENANCE_KEY in (node.metadata.labels or {})
        record = record_of(node)
        if not marked:
            continue
        assert record, "node %s is marked without a %s annotation" % (node.metadata.name, MAINTENANCE_KEY)
        for field in ("by", "since", "reason"):
            assert isinstance(record.get(field), str) and record[field], (node.metadata.name, record)
        assert record["status"].get("step") and record["status"].get("result"), (node.metadata.name, record)
        records[node.metadata.name] = record
    return records


def watch_for(core_v1, list_fn, predicate, timeout, what, **kwargs):
    """Watch list_fn(**kwargs) until predicate(items by name) holds; the items as last seen."""
    # One list for both the items and the version the watch starts from: a change between two lists would be in
    # neither (a status written once, such as a budget's healthy count, would then be waited for in vain).
    listed = list_fn(**kwargs)
    items = dict((o.metadata.name, o) for o in listed.items)
    if predicate(items):
        return items
    version = listed.metadata.resource_version
    w = watch.Watch()
    for event in w.stream(list_fn, resource_version=version, timeout_seconds=int(timeout), **kwargs):
        obj = event["object"]
        if event["type"] == "DELETED":
            items.pop(obj.metadata.name, None)
        else:
            items[obj.metadata.name] = obj
        if predicate(items):
            w.stop()
            return items
    pytest.fail("timed out after %ss waiting for %s" % (timeout, what))
    return None


# ---------------------------------------------------------------- what the cluster went through

class Recorder(object):
    """Watches the pool's nodes and the preloader pods from before the first run to the end, in resourceVersion order.

    resourceVersions are etcd revisions here (one API server, one etcd), so ordering events of the two watches by
    them orders them as etcd committed them.
    """

    def __init__(self, kubeconfig, pool, namespace, daemonset):
        self.api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self.pool, self.namespace, self.daemonset = pool, namespace, daemonset
        self.events, self.errors = [], []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._follow, args=(self.api.list_node, {"label_selector": "pool=" + pool}, self._node), daemon=True),
            threading.Thread(target=self._follow, args=(self.api.list_namespaced_pod,
                                                        {"namespace": namespace, "label_selector": PRELOADER_LABEL + "=" + daemonset},
                                                        self._pod), daemon=True)]
        self._started = threading.Barrier(3)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        self._started.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _node(self, kind, node):
        return {"kind": "node", "type": kind, "name": node.metadata.name, "tainted": our_taint(node),
                "labelled": MAINTENANCE_KEY in (node.metadata.labels or {}), "record": (node.metadata.annotations or {}).get(MAINTENANCE_KEY)}

    def _pod(self, kind, pod):
        ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or [])) if pod.status else False
        return {"kind": "pod", "type": kind, "name": pod.metadata.name, "node": pod.spec.node_name if pod.spec else None,
                "ready": ready and kind != "DELETED" and not pod.metadata.deletion_timestamp}

    def _add(self, version, entry):
        with self._lock:
            self.events.append((int(version), entry))

    def _follow(self, list_fn, kwargs, describe):
        listed = list_fn(**kwargs)
        version = listed.metadata.resource_version
        for item in listed.items:
            self._add(item.metadata.resource_version, describe("ADDED", item))
        self._started.wait(timeout=30)
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for event in w.stream(list_fn, resource_version=version, allow_watch_bookmarks=True, timeout_seconds=2, **kwargs):
                    obj = event["object"]
                    version = obj.metadata.resource_version
                    if event["type"] != "BOOKMARK":
                        self._add(version, describe(event["type"], obj))
                    if self._stop.is_set():
                        w.stop()
            except Exception as exc:  # pylint: disable=broad-except
                # The test fails on it at the end: a gap in the record would hide what happened in it.
                self.errors.append(repr(exc))
                return

    def ordered(self):
        with self._lock:
            return sorted(self.events, key=lambda item: item[0])

    def releases(self):
        """{node: [(resourceVersion, whether its preloader pod was Ready at that moment)]} for each taint removal."""
        tainted, ready_pods, out = {}, {}, {}
        for version, event in self.ordered():
            if event["kind"] == "pod":
                if event["ready"] and event["node"]:
                    ready_pods[event["name"]] = event["node"]
                else:
                    ready_pods.pop(event["name"], None)
                continue
            was, now = tainted.get(event["name"], False), event["tainted"] and event["type"] != "DELETED"
            if was and not now and event["type"] != "DELETED":
                out.setdefault(event["name"], []).append((version, event["name"] in ready_pods.values()))
            tainted[event["name"]] = now
        return out

    def unexplained_marks(self):
        """Node states seen with our taint or label and no readable record saying who, since when and why."""
        bad = []
        for version, event in self.ordered():
            if event["kind"] != "node" or not (event["tainted"] or event["labelled"]):
                continue
            try:
                record = json.loads(event["record"] or "null")
            except ValueError:
                record = None
            if not (record and all(record.get(f) for f in ("by", "since", "reason"))):
                bad.append((version, event))
        return bad


# ---------------------------------------------------------------- the test

PHASES = ("after_marking", "during_drain", "during_upgrade", "during_warm_wait")


@contextlib.contextmanager
def os_upgrade_window(core_v1, test_images, count=2, **variables):
    """A pool of `count` kwok nodes, a preloader namespace and the playbook's inputs; all removed afterwards.

    variables: extra variables for the playbook, over the ones here.
    """
    pool = "fk" + uuid.uuid4().hex[:5]
    names = ["kwok-%s-%d" % (pool, i) for i in range(count)]
    tmp = tempfile.mkdtemp(prefix="prewarm-faults-")
    namespace = new_namespace(core_v1, "prewarm-faults")
    daemonset = "preload-" + pool
    gate = os.path.join(tmp, "gate")
    tasks = os.path.join(tmp, "gated_upgrade.yml")
    with open(tasks, "w", encoding="utf-8") as handle:
        handle.write(GATE_TASKS)
    extra = {"prewarm_namespace": namespace, "prewarm_pools": preloader_pool(pool, daemonset, namespace, test_images),
             "fault_gate": gate, "node_upgrade_upgrade_tasks": tasks, "node_upgrade_reason": "fault test " + pool,
             # The drain must evict the test's bare pod (no controller).
             "node_upgrade_drain_force": True, "node_upgrade_drain_timeout": 120,
             "os_upgrade_batch_size": len(names), "preload_max_pulling": len(names), "preload_timeout": 120}
    extra.update(variables)
    inventory, extra_path = write_playbook_inputs(tmp, pool, names, extra)
    extra_nodes = []  # nodes a test adds to the pool (a "renamed" node), deleted with the others
    make_kwok_nodes(core_v1, pool, names)
    try:
        yield {"pool": pool, "names": names, "tmp": tmp, "namespace": namespace, "daemonset": daemonset, "gate": gate,
               "inventory": inventory, "extra": extra_path, "extra_nodes": extra_nodes}
    finally:
        for pod in core_v1.list_pod_for_all_namespaces(label_selector="prewarm.test/fault=" + pool).items:
            core_v1.patch_namespaced_pod(pod.metadata.name, pod.metadata.namespace, {"metadata": {"finalizers": None}})
        core_v1.delete_namespace(namespace, propagation_policy="Background")
        delete_nodes(core_v1, names + extra_nodes)
        subprocess.run(["rm", "-rf", tmp], check=True)


@pytest.fixture
def window(core_v1, test_images):
    with os_upgrade_window(core_v1, test_images) as made:
        yield made


def open_gate(window):
    with open(window["gate"], "w", encoding="utf-8"):
        pass


def _status_is(step, result="done"):
    """A predicate: every node listed records `step` with `result`."""
    def check(items):
        statuses = [(record_of(n) or {}).get("status", {}) for n in items.values()]
        return bool(statuses) and all((s.get("step"), s.get("result")) == (step, result) for s in statuses)
    return check


def _hold_drain(core_v1, window):
    """A bare pod on the first node whose finalizer keeps it, evicted, until the test removes the finalizer."""
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="hold-drain", finalizers=[HOLD_FINALIZER],
                                                    labels={"prewarm.test/fault": window["pool"]}),
                       spec=client.V1PodSpec(node_name=window["names"][0], termination_grace_period_seconds=1,
                                             containers=[client.V1Container(name="c", image="prewarm.test/none:1")]))
    core_v1.create_namespaced_pod(window["namespace"], pod)
    return "hold-drain"


def hold_warm(core_v1, namespace):
    """A quota of 0 pods: the DaemonSet controller cannot make any preloader pod in the namespace."""
    core_v1.create_namespaced_resource_quota(namespace, client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="no-pods"), spec=client.V1ResourceQuotaSpec(hard={"pods": "0"})))


def lift_warm(core_v1, apps_v1, namespace, daemonset):
    """Remove the quota of hold_warm()."""
    core_v1.delete_namespaced_resource_quota("no-pods", namespace)
    # The DaemonSet controller backs off after its failed creations; a change of the DaemonSet brings it back now.
    apps_v1.patch_namespaced_daemon_set(daemonset, namespace, {"metadata": {"annotations": {"prewarm.test/kick": uuid.uuid4().hex}}})


@pytest.mark.parametrize("phase", PHASES)
def test_os_upgrade_killed_then_run_again_completes_and_releases_each_node_once_when_warm(
        phase, window, kubeconfig, core_v1, apps_v1):
    ns, names, pool = window["namespace"], window["names"], window["pool"]
    label_admit = "preload.prewarm.k8s/" + window["daemonset"]
    by_pool = {"label_selector": "pool=" + pool}
    with Recorder(kubeconfig, pool, ns, window["daemonset"]) as recorder:
        if phase == "during_drain":
            held = _hold_drain(core_v1, window)
        if phase == "during_warm_wait":
            hold_warm(core_v1, ns)
            open_gate(window)
        started = time.monotonic()
        run = start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "killed")
        try:
            if phase == "after_marking":
                watch_for(core_v1, core_v1.list_node, _status_is("marked"), 120, "the mark", **by_pool)
            elif phase == "during_drain":
                watch_for(core_v1, core_v1.list_namespaced_pod, lambda pods: held in pods and pods[held].metadata.deletion_timestamp,
                          120, "the eviction of the held pod", namespace=ns, field_selector="metadata.name=" + held)
            elif phase == "during_upgrade":
                watch_for(core_v1, core_v1.list_node, _status_is("drained"), 120, "the drain's record", **by_pool)
            else:
                watch_for(core_v1, core_v1.list_node, lambda nodes: len(nodes) == len(names) and all(
                    (n.metadata.labels or {}).get(label_admit) == "true" for n in nodes.values()), 120, "the admission", **by_pool)
        finally:
            alive = run.poll() is None
            killed = kill_tree(run)
        killed_after = time.monotonic() - started
        with open(run.log_path, encoding="utf-8") as handle:
            assert alive, "the run ended before the kill:\n" + handle.read()[-4000:]

        # At the kill: every node is marked, and its record says who, since when, why and the step reached.
        records = assert_marked_nodes_say_why(core_v1, pool)
        assert sorted(records) == names, records
        steps = dict((name, (r["status"]["step"], r["status"]["result"])) for name, r in records.items())
        expected = {"after_marking": {("marked", "done"), ("drained", "done")}, "during_drain": {("marked", "done")},
                    "during_upgrade": {("drained", "done")}, "during_warm_wait": {("uncordoned", "done")}}[phase]
        assert set(steps.values()) <= expected, steps
        if phase != "during_warm_wait":
            assert all(n.spec.unschedulable for n in core_v1.list_node(**by_pool).items)

        # Lift the hold, as an operator would fix what kept the step from finishing, and run again.
        if phase == "during_drain":
            core_v1.patch_namespaced_pod(held, ns, {"metadata": {"finalizers": None}})
        elif phase == "during_warm_wait":
            lift_warm(core_v1, apps_v1, ns, window["daemonset"])
        if phase != "during_warm_wait":
            open_gate(window)
        rerun_started = time.monotonic()
        code, output = finish(start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "rerun"), 300)
        rerun_took = time.monotonic() - rerun_started
        assert code == 0, "the rerun failed (exit %s):\n%s" % (code, output[-6000:])
        for name in names:
            assert "%s | pool %s |" % (name, pool) in output and "| released |" in output, output[-3000:]
        print("\n[faults] killed %s (%d processes) after %.1fs (steps at the kill: %s); the rerun completed in %.1fs"
              % (phase, killed, killed_after, sorted(set(steps.values())), rerun_took))

        # The recorder sees the last release before the nodes are read back.
        watch_for(core_v1, core_v1.list_node, lambda nodes: all(not our_taint(n) for n in nodes.values()), 30, "the releases", **by_pool)
    assert not recorder.errors, recorder.errors
    for node in core_v1.list_node(**by_pool).items:
        assert not our_taint(node) and record_of(node) is None and not node.spec.unschedulable, node.metadata.name
        assert MAINTENANCE_KEY not in (node.metadata.labels or {})
    releases = recorder.releases()
    assert sorted(releases) == names, releases
    for name, seen in releases.items():
        assert len(seen) == 1, "node %s released %d times: %s" % (name, len(seen), seen)
        assert seen[0][1], "node %s was released before its preloader pod was Ready" % name
    assert not recorder.unexplained_marks(), recorder.unexplained_marks()[:5]
