"""Check mode end to end: `ansible-playbook --check` (and `--check --diff`) of os_upgrade, prewarm, reconcile and
release changes nothing, ends without error, and says per node what it would do.

The runs use the demo's inventory and variables (tests/demo) with the demo's two kwok pools replaced by two of the
test's own, of the same shape (so a demo or another test using the shared pools meanwhile changes nothing this test
reads), the demo's real node as it is, and the preloaders in a namespace of the test's own.
Two starting states, each set up for real with the modules and taken down again at the end:
- a fresh pool: no node marked, no preloader yet (prewarm, and os_upgrade's warm step, would create it), one node
  back from an upgrade (the demo's done label: os_upgrade skips it, reconcile would warm it);
- an interrupted window: preloaders for the two kwok pools, and three nodes left marked at different steps of an
  os_upgrade window (reconcile finishes two, leaves one to its window; release would take all three marks off).
Before and after every run the test reads what a check-mode run must not touch: each node's cordon, taints, labels and
annotations; the DaemonSets of the test's namespace (spec, labels, annotations, generation); the real node's kubelet
configuration (config.yaml and config.d/) and the kubelet's process (id and start time: no restart); the stand-in
upgrade's marker files. Only the test's kwok nodes are set up; the real node is only read.
"""
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from kubernetes import client

from run_ansible import ansible_env, run_module
from test_faults_kill import delete_nodes, make_kwok_nodes
from window_helpers import DEMO, delete_namespace

MAINTENANCE_KEY = "prewarm.k8s/maintenance"
# The test's kwok pools, standing in for the demo's cpu and gpu (their images: the demo's), and the demo's real node.
KWOK_POOLS = {"chkcpu": "noshell", "chkgpu": "large"}
NODES_PER_POOL = 2
REAL_POOL = "real"
MODES = {"check": ["--check"], "check-diff": ["--check", "--diff"]}
REASON = "prewarm.k8s check-mode test: an interrupted window"
# Where each node of the interrupted window stands (node_upgrade's steps), and whether our cordon is still on.
INTERRUPTED = {
    "kwok-chkcpu-0": {"status": {"step": "drained", "result": "done", "error": None}, "cordon": True},
    "kwok-chkcpu-1": {"status": {"step": "ready", "result": "done", "error": None}, "cordon": True},
    "kwok-chkgpu-0": {"status": {"step": "warm", "result": "failed", "error": "timed out warming"}, "cordon": False},
}


DONE_LABEL = ("demo.prewarm.k8s/os-upgrade", "done")  # node_upgrade_done_label of tests/demo/vars.yml
UPGRADED = "kwok-chkgpu-1"


def _pool_names(pool):
    return ["kwok-%s-%d" % (pool, i) for i in range(NODES_PER_POOL)]


# ---------------------------------------------------------------- what a check-mode run must leave as it is

def _node_view(node):
    spec = node.spec
    return {"unschedulable": bool(spec.unschedulable),
            "taints": sorted((t.key, t.value, t.effect) for t in spec.taints or []),
            "labels": dict(node.metadata.labels or {}), "annotations": dict(node.metadata.annotations or {})}


def _daemonset_view(daemonset):
    # The spec as the API serves it; not status nor resourceVersion, which the controllers move on their own.
    return {"spec": client.ApiClient().sanitize_for_serialization(daemonset.spec),
            "labels": dict(daemonset.metadata.labels or {}), "annotations": dict(daemonset.metadata.annotations or {}),
            "generation": daemonset.metadata.generation}


def _read_file(path):
    with open(path, "rb") as handle:
        return handle.read()


def _kubelet_process(cluster_dir):
    """(pid, start time in clock ticks) of the real node's kubelet, from the harness's pid file and /proc."""
    with open(os.path.join(cluster_dir, "run", "kubelet.pid"), encoding="utf-8") as handle:
        pid, started = handle.read().split()
    with open("/proc/%s/stat" % pid, encoding="utf-8") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    assert fields[19] == started, "the kubelet's pid file names another process"
    return int(pid), int(started)


def snapshot(core_v1, apps_v1, namespace, cluster_dir, tmp):
    nodes = core_v1.list_node(label_selector="pool in (%s)" % ",".join(list(KWOK_POOLS) + [REAL_POOL])).items
    kubelet_dir = os.path.join(cluster_dir, "kubelet")
    dropins = os.path.join(kubelet_dir, "config.d")
    return {
        "nodes": {node.metadata.name: _node_view(node) for node in nodes},
        "daemonsets": {ds.metadata.name: _daemonset_view(ds) for ds in apps_v1.list_namespaced_daemon_set(namespace).items},
        "kubelet_config": _read_file(os.path.join(kubelet_dir, "config.yaml")),
        "kubelet_dropins": {name: _read_file(os.path.join(dropins, name)) for name in sorted(os.listdir(dropins))}
        if os.path.isdir(dropins) else None,
        "kubelet_process": _kubelet_process(cluster_dir),
        # The stand-in upgrade (tests/demo/fake_os_upgrade.yml) writes a marker file per node into TMPDIR.
        "upgrade_markers": sorted(name for name in os.listdir(tmp) if name.startswith("prewarm-demo-upgrade-")),
    }


def assert_unchanged(before, after):
    for key in before:
        if key == "nodes":
            assert sorted(after["nodes"]) == sorted(before["nodes"]), "the pools' nodes changed"
            for name, view in before["nodes"].items():
                assert after["nodes"][name] == view, "node %s changed" % name
        else:
            assert after[key] == before[key], "%s changed" % key


# ---------------------------------------------------------------- running a playbook

def run_playbook(workdir, playbook, extra, mode):
    """The json callback's report of `ansible-playbook prewarm.k8s.<playbook> <mode flags>` over the demo inventory."""
    extra_path = os.path.join(workdir["tmp"], "extra-%s.json" % uuid.uuid4().hex[:6])
    with open(extra_path, "w", encoding="utf-8") as handle:
        json.dump(extra, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s." + playbook,
           "-i", workdir["inventory"], "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@" + workdir["pools"],
           "-e", "@" + extra_path]
    cmd += MODES[mode]
    proc = subprocess.run(cmd, env=ansible_env({"TMPDIR": workdir["tmp"]}), capture_output=True, text=True, timeout=900,
                          check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("no JSON report from %s (exit %d): %s\n%s"
                    % (" ".join(cmd), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    report["rc"] = proc.returncode
    _write_json(extra_path.replace("extra-", "report-%s-%s-" % (playbook, mode)), report)  # kept for a look after a failure
    return report


def task_results(report, name):
    """Every host result of the tasks called `name` (a role's task: "<role> : name"), in run order."""
    return [result for play in report["plays"] for task in play["tasks"]
            if task["task"]["name"] == name or task["task"]["name"].endswith(" : " + name) for result in task["hosts"].values()]


def errors(report):
    """What failed, was rescued or ignored, by host and task (empty for a clean run)."""
    found = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") or result.get("unreachable") or result.get("exception"):
                    found.append("%s: %s: %s" % (host, task["task"]["name"], result.get("msg")))
    for host, stats in report["stats"].items():
        for key in ("failures", "unreachable", "rescued", "ignored"):
            if stats.get(key):
                found.append("%s: %s %s" % (host, key, stats[key]))
    return found


def summary_by_node(report):
    """The per-node summary the run printed: {node: its row}, a result the table wrapped onto the lines below put
    back whole before the row's images column; the image lines under the table are left out."""
    printed = task_results(report, "Per-node summary")
    assert len(printed) == 1, "the run printed %d per-node summaries" % len(printed)
    rows, node = {}, None
    for line in printed[0]["msg"]:
        if " | pool " in line:
            node = line.split(" | ", 1)[0].strip()
            head, images = line.rsplit(" | images ", 1)
            rows[node] = [head, " | images " + images]
        elif line.startswith("images "):
            node = None
        elif node is not None and line.startswith("    "):
            rows[node][0] += " " + line.strip()
    # The table pads its columns; the wording checked here is the cells' own.
    return dict((name, re.sub(" {2,}", " ", "".join(parts))) for name, parts in rows.items())


def run_and_compare(workdir, playbook, extra, mode, kube, expect_diff):
    """Run the playbook between two snapshots: ({node: its summary line}, the snapshot before, the run's report)."""
    core_v1, apps_v1, cluster_dir = kube
    before = snapshot(core_v1, apps_v1, workdir["namespace"], cluster_dir, workdir["tmp"])
    started = time.monotonic()
    report = run_playbook(workdir, playbook, extra, mode)
    elapsed = time.monotonic() - started
    after = snapshot(core_v1, apps_v1, workdir["namespace"], cluster_dir, workdir["tmp"])
    summary = summary_by_node(report) if task_results(report, "Per-node summary") else {}
    # Seen with pytest -s: what each run said, and how long it took.
    print("\n%s %s (%.0f s, exit %d):\n  %s" % (playbook, " ".join(MODES[mode]), elapsed, report["rc"],
                                                "\n  ".join(summary.values())))
    assert_unchanged(before, after)
    assert report["rc"] == 0 and not errors(report), "rc %d: %s" % (report["rc"], errors(report))
    if mode == "check-diff" and expect_diff:
        # --diff shows the changes the modules would make.
        assert any(result.get("diff") for play in report["plays"] for task in play["tasks"]
                   for result in task["hosts"].values()), "--diff showed no change"
    return summary_by_node(report), before, report


# ---------------------------------------------------------------- the starting states

@pytest.fixture(scope="module")
def kube(core_v1, apps_v1, cluster_dir):
    return core_v1, apps_v1, cluster_dir


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)  # JSON is YAML
    return path


def _inputs(tmp, namespace, kwok_taint_key):
    """(inventory, extra vars): the demo's, with its kwok pools replaced by the test's and the preloaders in `namespace`."""
    with open(os.path.join(DEMO, "inventory.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    with open(os.path.join(DEMO, "vars.yml"), encoding="utf-8") as handle:
        demo_vars = yaml.safe_load(handle)
    groups = inventory["all"]["children"]
    kwok_vars = groups["cpu"]["vars"]
    real = groups[REAL_POOL]
    # The inventory is not in tests/demo: the demo's paths relative to it, made absolute.
    real["vars"]["kubelet_image_gc_restart_command"] = [os.path.join(os.path.dirname(DEMO), "cluster", "kubelet-restart")]
    inventory["all"]["children"] = dict({pool: {"vars": dict(kwok_vars, prewarm_pool=pool),
                                                "hosts": {name: None for name in _pool_names(pool)}} for pool in KWOK_POOLS},
                                        real=real)
    pools = {pool: {"node_selector": {"pool": pool},
                    "tolerations": [{"key": kwok_taint_key, "operator": "Equal", "value": pool, "effect": "NoSchedule"}],
                    "images": ["{{ prewarm_demo_images.small.ref }}", "{{ prewarm_demo_images.%s.ref }}" % second]}
             for pool, second in KWOK_POOLS.items()}
    pools[REAL_POOL] = demo_vars["prewarm_pools"][REAL_POOL]
    extra = {"prewarm_pools": pools, "prewarm_namespace": namespace,
             "node_upgrade_upgrade_tasks": os.path.join(DEMO, "fake_os_upgrade.yml")}
    return _write_json(os.path.join(tmp, "inventory.yml"), inventory), _write_json(os.path.join(tmp, "pools.json"), extra)


def _settled(node):
    """Ready, and done with what the control plane does to a new node (its not-ready taint off, the beta labels on)."""
    taints = [t.key for t in node.spec.taints or [] if t.key.startswith("node.kubernetes.io/")]
    return not taints and "beta.kubernetes.io/os" in (node.metadata.labels or {})


@pytest.fixture(scope="module")
def workdir(core_v1, watch_until, tmp_path_factory, kubeconfig, kwok_taint_key):  # pylint: disable=unused-argument
    """The test's kwok pools, the preloaders' namespace (empty: no pool has its preloader yet), inputs and a TMPDIR."""
    namespace = "prewarm-check-%s" % uuid.uuid4().hex[:6]
    tmp = str(tmp_path_factory.mktemp("checkmode"))
    nodes = [name for pool in KWOK_POOLS for name in _pool_names(pool)]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        for pool in KWOK_POOLS:
            make_kwok_nodes(core_v1, pool, _pool_names(pool))
        for name in nodes:
            watch_until(core_v1.list_node, _settled, 120, field_selector="metadata.name=" + name)
        # One node back from an upgrade, out of maintenance: os_upgrade skips it, reconcile would warm it.
        core_v1.patch_node(UPGRADED, {"metadata": {"labels": {DONE_LABEL[0]: DONE_LABEL[1]}}})
        inventory, pools = _inputs(tmp, namespace, kwok_taint_key)
        yield {"namespace": namespace, "tmp": tmp, "inventory": inventory, "pools": pools}
    finally:
        delete_nodes(core_v1, nodes)
        delete_namespace(core_v1, namespace)


def _kwok_pool(pool, test_images, kwok_taint_key):
    """The preloader module's arguments for a test pool, as the preload role gives them."""
    return {"pool": pool, "node_selector": {"pool": pool}, "scope": "admitted",
            "tolerations": [{"key": kwok_taint_key, "operator": "Equal", "value": pool, "effect": "NoSchedule"}],
            "images": [test_images["small"]["ref"], test_images[KWOK_POOLS[pool]]["ref"]]}


@pytest.fixture(scope="class")
def interrupted(workdir, kubeconfig, test_images, kwok_taint_key):
    """Preloaders for the kwok pools, and the nodes of INTERRUPTED marked as an os_upgrade left them."""
    try:
        for pool in KWOK_POOLS:
            made = run_module("preloader", dict(_kwok_pool(pool, test_images, kwok_taint_key), kubeconfig=kubeconfig,
                                                name="preload-" + pool, namespace=workdir["namespace"]))
            assert not made.get("failed"), made["msg"]
        for name, mark in INTERRUPTED.items():
            marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [name], "reason": REASON,
                                                     "cordon": mark["cordon"], "status": mark["status"]})
            assert not marked.get("failed"), marked["msg"]
        yield INTERRUPTED
    finally:
        released = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": sorted(INTERRUPTED), "state": "absent"})
        assert not released.get("failed"), released["msg"]
        for pool in KWOK_POOLS:
            gone = run_module("preloader", {"kubeconfig": kubeconfig, "name": "preload-" + pool,
                                            "namespace": workdir["namespace"], "state": "absent"})
            assert not gone.get("failed"), gone["msg"]


# ---------------------------------------------------------------- what each run says per node

NO_PRELOADER = "would be warmed once its preloader is created (check mode creates none)"
# What the warm-up's dry run says of a node of a pool whose preloader exists: to warm, or warm already.
WOULD_WARM = ("would be warmed: ", "| warm, would be released |", "| warm |")


def _upgraded(view):
    """Not under maintenance and carrying the done label: os_upgrade skips it, reconcile warms it."""
    return MAINTENANCE_KEY not in view["labels"] and view["labels"].get(DONE_LABEL[0]) == DONE_LABEL[1]


def _pool_nodes(before, *pools):
    return sorted(name for name, view in before["nodes"].items() if view["labels"].get("pool") in pools)


def _says(line, *texts):
    assert any(text in line for text in texts), "expected one of %s in: %s" % (texts, line)


def _one_line_per_node(summary, nodes):
    assert sorted(summary) == sorted(nodes), "the summary's nodes %s are not %s" % (sorted(summary), sorted(nodes))


def _check_os_upgrade(summary, before, report, resume_at, preloaders):
    """Every node says which steps it would run (or that it is already upgraded), then its warm-up; a kubelet restart
    the image GC step would need is announced (and, the snapshots show, not done)."""
    would_change = [r for r in task_results(report, "Set the kubelet's image GC settings") if r.get("changed")]
    announced = task_results(report, "Say that the kubelet would be restarted (check mode restarts nothing)")
    assert len(announced) == len(would_change), "kubelet settings that would change: %d, restarts announced: %d" % (
        len(would_change), len(announced))
    _one_line_per_node(summary, before["nodes"])
    for name, view in before["nodes"].items():
        line = summary[name]
        # Check mode marks nothing: a node is under maintenance in the summary only if it was before.
        _says(line, "(still marked) |" if MAINTENANCE_KEY in view["labels"] else "| maintenance - |")
        if name in resume_at:
            _says(line, "would resume at step %s (" % resume_at[name])
        elif MAINTENANCE_KEY in view["labels"]:  # the real node, in a window of someone else's run
            _says(line, "would resume at step ", "would run every step (")
        elif _upgraded(view):
            _says(line, "| already upgraded |")
            continue
        else:
            _says(line, "would run every step (marked, drained, ")
        if view["labels"].get("pool") in preloaders:
            _says(line, *WOULD_WARM)
        else:
            _says(line, NO_PRELOADER)


def _check_reconcile(summary, before, expected, preloaders):
    """Nodes back from an upgrade would be warmed; `expected` says what of the others (node -> the texts to find)."""
    wanted = dict(expected)
    for name, view in before["nodes"].items():
        if name in wanted:
            continue
        if _upgraded(view):
            wanted[name] = WOULD_WARM if view["labels"].get("pool") in preloaders else (NO_PRELOADER,)
        elif MAINTENANCE_KEY in view["labels"]:  # the real node, in a window of someone else's run
            wanted[name] = ("under maintenance, left alone: ", NO_PRELOADER) + WOULD_WARM
    _one_line_per_node(summary, wanted)
    for name, texts in wanted.items():
        _says(summary[name], *texts)


# ---------------------------------------------------------------- the runs

@pytest.mark.parametrize("mode", sorted(MODES))
class TestFreshPool:
    """No node marked, no preloader in the namespace: everything would be done from the start."""

    def test_os_upgrade(self, workdir, kube, mode):
        summary, before, report = run_and_compare(workdir, "os_upgrade", {}, mode, kube, expect_diff=True)
        _check_os_upgrade(summary, before, report, resume_at={}, preloaders=())

    def test_prewarm_would_create_the_preloader(self, workdir, kube, mode):
        summary, before, _report = run_and_compare(workdir, "prewarm", {"warm_pool": "chkcpu"}, mode, kube, expect_diff=True)
        _one_line_per_node(summary, _pool_nodes(before, "chkcpu"))
        for line in summary.values():
            _says(line, NO_PRELOADER)

    def test_reconcile(self, workdir, kube, mode):
        summary, before, _report = run_and_compare(workdir, "reconcile", {}, mode, kube, expect_diff=False)
        _check_reconcile(summary, before, {}, preloaders=())

    def test_release_has_nothing_to_release(self, workdir, kube, mode):
        summary, before, _report = run_and_compare(workdir, "release", {"release_nodes": _kwok_nodes()}, mode, kube, expect_diff=False)
        _one_line_per_node(summary, _pool_nodes(before, *KWOK_POOLS))
        for line in summary.values():
            _says(line, "| unchanged |")


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.usefixtures("interrupted")
class TestInterruptedWindow:
    """Preloaders for the kwok pools, and three nodes left marked by an os_upgrade that stopped (INTERRUPTED)."""

    def test_os_upgrade_would_resume_each_node_at_its_step(self, workdir, kube, mode):
        summary, before, report = run_and_compare(workdir, "os_upgrade", {}, mode, kube, expect_diff=True)
        resume_at = {"kwok-chkcpu-0": "upgraded", "kwok-chkcpu-1": "image_gc", "kwok-chkgpu-0": "warm"}
        _check_os_upgrade(summary, before, report, resume_at=resume_at, preloaders=KWOK_POOLS)

    def test_prewarm_would_warm_with_the_existing_preloader(self, workdir, kube, mode):
        summary, before, _report = run_and_compare(workdir, "prewarm", {"warm_pool": "chkgpu"}, mode, kube, expect_diff=True)
        _one_line_per_node(summary, _pool_nodes(before, "chkgpu"))
        for line in summary.values():
            _says(line, *WOULD_WARM)

    def test_reconcile_would_finish_the_windows_past_ready(self, workdir, kube, mode):
        summary, before, _report = run_and_compare(workdir, "reconcile", {}, mode, kube, expect_diff=True)
        _check_reconcile(summary, before, {"kwok-chkcpu-1": WOULD_WARM, "kwok-chkgpu-0": WOULD_WARM,
                                           "kwok-chkcpu-0": ("under maintenance, left alone: window at step drained (done)",)},
                         preloaders=KWOK_POOLS)

    def test_release_would_release_the_marked_nodes(self, workdir, kube, mode):
        summary, before, _report = run_and_compare(workdir, "release", {"release_nodes": _kwok_nodes()}, mode, kube, expect_diff=True)
        _one_line_per_node(summary, _pool_nodes(before, *KWOK_POOLS))
        for name, line in summary.items():
            if name in INTERRUPTED:
                _says(line, "(still marked)")
                status = INTERRUPTED[name]["status"]
                _says(line, "| would be released (was at step %s, %s) |" % (status["step"], status["result"]))
            else:
                _says(line, "| unchanged |")


def _kwok_nodes():
    """The test's kwok nodes, as the release playbook is given them (the real node is only read)."""
    return [name for pool in KWOK_POOLS for name in _pool_names(pool)]
