"""Nodes changed under the collection: another writer on the same nodes, nodes deleted or renamed mid-window.

- Another process patches the nodes in a tight loop (its own taints with resourceVersion and retry on 409, its own
  label, cordon on and off) while node_maintenance marks and releases them and warmup releases them: its last writes
  are all there afterwards, and ours ended as asked.
- A node deleted (or "renamed": deleted, and a node of another name joins the pool) while os_upgrade is in its
  upgrade step or its warm wait: the run goes on with the other nodes, releases them, and its exit code and message
  name the node that went away; no traceback.
- node_maintenance, warmup and warm_status given a node that does not exist: a clear error naming it, before any change.
- A node that comes back, but not as the inventory expects (another kernel): it alone fails at the ready step with the
  wait's message and stays marked without the done label; the others get the label and are released.
- Nodes of one batch that expect different kernels (host variables): each is held to its own host's, and all pass.
"""
import json
import threading
import time
import uuid

from kubernetes import client, config
from kubernetes.client import ApiException

from run_ansible import run_module
from test_faults_kill import (
    MAINTENANCE_KEY,
    POOL_TAINT_KEY,
    delete_nodes,
    finish,
    hold_warm,
    kwok_node,
    lift_warm,
    make_kwok_nodes,
    new_namespace,
    open_gate,
    os_upgrade_window,
    our_taint,
    record_of,
    start_os_upgrade,
    watch_for,
)

MERGE = "application/merge-patch+json"
THEIRS = "other.test/"


class OtherWriter(threading.Thread):
    """Another tool writing the same nodes as fast as it can, remembering what it last wrote successfully.

    Its taints: other.test/writer=<k> and one of three rotating other.test/rot-<k % 3>, replaced as a whole list read
    with its resourceVersion (409: read again). Its label other.test/k=<k>. On `cordon_names` it sets unschedulable to
    k % 2 == 1.
    """

    def __init__(self, kubeconfig, names, cordon_names):
        super().__init__(daemon=True)
        self.api_client = config.new_client_from_config(config_file=kubeconfig)
        self.api = client.CoreV1Api(self.api_client)
        self.names, self.cordon_names = names, cordon_names
        self.last = dict((name, {}) for name in names)
        self.rounds = self.conflicts = 0
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        try:
            while not self.stopping.is_set():
                self.rounds += 1
                for name in self.names:
                    self._taints(name, self.rounds)
                    self.api.patch_node(name, {"metadata": {"labels": {THEIRS + "k": str(self.rounds)}}}, _content_type=MERGE)
                    self.last[name]["label"] = str(self.rounds)
                    if name in self.cordon_names:
                        cordon = self.rounds % 2 == 1
                        self.api.patch_node(name, {"spec": {"unschedulable": cordon}}, _content_type=MERGE)
                        self.last[name]["unschedulable"] = cordon
        except Exception as exc:  # pylint: disable=broad-except
            self.errors.append(repr(exc))

    def _taints(self, name, k):
        theirs = [{"key": THEIRS + "writer", "value": str(k), "effect": "NoSchedule"},
                  {"key": THEIRS + "rot-%d" % (k % 3), "value": "x", "effect": "PreferNoSchedule"}]
        while True:
            node = self.api.read_node(name)
            keep = [self.api_client.sanitize_for_serialization(t) for t in node.spec.taints or [] if not t.key.startswith(THEIRS)]
            body = {"metadata": {"resourceVersion": node.metadata.resource_version}, "spec": {"taints": keep + theirs}}
            try:
                self.api.patch_node(name, body, _content_type=MERGE)
                self.last[name]["taints"] = sorted((t["key"], t["value"], t["effect"]) for t in theirs)
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
                self.conflicts += 1

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)
        assert not self.errors, self.errors


def _theirs(node):
    return {"taints": sorted((t.key, t.value, t.effect) for t in node.spec.taints or [] if t.key.startswith(THEIRS)),
            "label": (node.metadata.labels or {}).get(THEIRS + "k"), "unschedulable": bool(node.spec.unschedulable)}


def test_another_writer_on_the_same_nodes_keeps_its_writes_and_ours_end_as_asked(kubeconfig, core_v1, test_images):
    pool = "fw" + uuid.uuid4().hex[:5]
    names = ["kwok-%s-%d" % (pool, i) for i in range(3)]
    theirs_cordoned, ours_cordoned, toggled = names
    namespace = new_namespace(core_v1, "prewarm-faults")
    daemonset = "preload-" + pool
    make_kwok_nodes(core_v1, pool, names)
    writer = OtherWriter(kubeconfig, names, [toggled])
    try:
        # Their cordon, before ours: a release must leave it.
        core_v1.patch_node(theirs_cordoned, {"spec": {"unschedulable": True}}, _content_type=MERGE)
        made = run_module("preloader", {
            "kubeconfig": kubeconfig, "name": daemonset, "namespace": namespace, "scope": "admitted", "node_selector": {"pool": pool},
            "images": [test_images["small"]["ref"]], "agent_image": test_images["agent"]["ref"] + "@" + test_images["agent"]["digest"],
            # The other writer's NoSchedule taint too: else warmup rightly refuses the nodes (no preloader pod possible).
            "tolerations": [{"key": POOL_TAINT_KEY, "operator": "Equal", "value": pool, "effect": "NoSchedule"},
                            {"key": THEIRS + "writer", "operator": "Exists"}]})
        assert not made.get("failed"), made["msg"]
        writer.start()

        for marked_names, cordon in (([theirs_cordoned, ours_cordoned], True), ([toggled], False)):
            marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": marked_names, "cordon": cordon,
                                                     "reason": "concurrent writer test"})
            assert not marked.get("failed"), marked["msg"]
            assert marked["summary"]["marked"] == len(marked_names), marked
        for name in names:
            node = core_v1.read_node(name)
            record = record_of(node)
            assert our_taint(node) and (node.metadata.labels or {}).get(MAINTENANCE_KEY) == "true", name
            assert record["reason"] == "concurrent writer test" and record["owned"]["cordon"] == (name == ours_cordoned), record
        assert core_v1.read_node(theirs_cordoned).spec.unschedulable and core_v1.read_node(ours_cordoned).spec.unschedulable

        released = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [theirs_cordoned], "state": "absent"})
        assert not released.get("failed"), released["msg"]
        warmed = run_module("warmup", {"kubeconfig": kubeconfig, "name": daemonset, "namespace": namespace,
                                       "nodes": [ours_cordoned, toggled], "timeout": 60, "image_fs_check": False})
        assert not warmed.get("failed"), warmed["msg"]
        assert sorted(warmed["released"]) == sorted([ours_cordoned, toggled]), warmed
        rounds_during = writer.rounds
    finally:
        if writer.is_alive():
            writer.stop()
        core_v1.delete_namespace(namespace, propagation_policy="Background")

    try:
        print("\n[faults] the other writer did %d rounds over %d nodes while we ran, and met %d conflicts (HTTP 409)"
              % (rounds_during, len(names), writer.conflicts))
        assert rounds_during > 20, "the other writer hardly ran"
        for name in names:
            node = core_v1.read_node(name)
            seen = _theirs(node)
            # Theirs: the last taints and label they wrote; their cordon stays, their last cordon write holds.
            assert seen["taints"] == writer.last[name]["taints"], (name, seen, writer.last[name])
            assert seen["label"] == writer.last[name]["label"], (name, seen, writer.last[name])
            expected_cordon = {theirs_cordoned: True, ours_cordoned: False}.get(name, writer.last[name].get("unschedulable"))
            assert seen["unschedulable"] == expected_cordon, (name, seen)
            # Ours: released, nothing of ours left.
            assert not our_taint(node) and record_of(node) is None and MAINTENANCE_KEY not in (node.metadata.labels or {}), name
    finally:
        delete_nodes(core_v1, names)


def _no_traceback(output):
    assert "Traceback" not in output and "MODULE FAILURE" not in output, output[-4000:]


def _released(core_v1, name):
    node = core_v1.read_node(name)
    return not our_taint(node) and record_of(node) is None and not node.spec.unschedulable


def _add_renamed_node(core_v1, window):
    """The deleted node comes back under another name, in the same pool (as a reinstalled machine may)."""
    name = "kwok-%s-renamed" % window["pool"]
    window["extra_nodes"].append(name)
    core_v1.create_node(kwok_node(name, window["pool"]))
    return name


def _check_gone_node_reported(core_v1, window, gone, renamed, code, output):
    _no_traceback(output)
    assert code == 2, "exit %s:\n%s" % (code, output[-4000:])
    failure = [line for line in output.splitlines() if "node(s) failed and stay under maintenance" in line]
    assert failure and gone in failure[0], output[-4000:]
    summary = [line for line in output.splitlines() if " | pool %s |" % window["pool"] in line]
    assert any(gone in line and "failed at" in line for line in summary), summary
    for name in window["names"]:
        if name != gone:
            assert _released(core_v1, name), name
            assert any(name in line and "| released |" in line for line in summary), summary
    # The node of another name is no inventory host: nothing was done to it.
    node = core_v1.read_node(renamed)
    assert not our_taint(node) and record_of(node) is None and not node.spec.unschedulable
    return failure[0].strip()


def test_node_deleted_during_the_upgrade_step_is_reported_and_the_others_finish(core_v1, test_images):
    with os_upgrade_window(core_v1, test_images, count=3, node_upgrade_ready_timeout=15) as window:
        gone = window["names"][1]
        run = start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "deleted")
        watch_for(core_v1, core_v1.list_node, lambda nodes: len(nodes) == 3 and all(
            (record_of(n) or {}).get("status", {}).get("step") == "drained" for n in nodes.values()), 120, "the drain's record",
            label_selector="pool=" + window["pool"])
        delete_nodes(core_v1, [gone])
        renamed = _add_renamed_node(core_v1, window)
        open_gate(window)
        code, output = finish(run, 300)
        message = _check_gone_node_reported(core_v1, window, gone, renamed, code, output)
        print("\n[faults] node deleted in the upgrade step: " + message[:400])


def test_node_deleted_during_the_warm_wait_is_reported_and_the_others_are_released(core_v1, apps_v1, test_images):
    with os_upgrade_window(core_v1, test_images, count=3, preload_timeout=25) as window:
        gone = window["names"][1]
        label = "preload.prewarm.k8s/" + window["daemonset"]
        hold_warm(core_v1, window["namespace"])
        open_gate(window)
        run = start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "deleted-warm")
        watch_for(core_v1, core_v1.list_node, lambda nodes: len(nodes) == 3 and all(
            (n.metadata.labels or {}).get(label) == "true" for n in nodes.values()), 120, "the admission",
            label_selector="pool=" + window["pool"])
        delete_nodes(core_v1, [gone])
        renamed = _add_renamed_node(core_v1, window)
        lift_warm(core_v1, apps_v1, window["namespace"], window["daemonset"])
        code, output = finish(run, 300)
        message = _check_gone_node_reported(core_v1, window, gone, renamed, code, output)
        assert "no longer exists" in message, message
        print("\n[faults] node deleted in the warm wait: " + message[:400])


def test_modules_given_a_node_that_is_gone_fail_clearly_before_any_change(kubeconfig, core_v1, test_images):
    pool = "fg" + uuid.uuid4().hex[:5]
    names = ["kwok-%s-%d" % (pool, i) for i in range(2)]
    here, gone = names
    namespace = new_namespace(core_v1, "prewarm-faults")
    make_kwok_nodes(core_v1, pool, names)
    try:
        made = run_module("preloader", {
            "kubeconfig": kubeconfig, "name": "preload-" + pool, "namespace": namespace, "scope": "admitted", "node_selector": {"pool": pool},
            "images": [test_images["small"]["ref"]], "agent_image": test_images["agent"]["ref"] + "@" + test_images["agent"]["digest"],
            "tolerations": [{"key": POOL_TAINT_KEY, "operator": "Equal", "value": pool, "effect": "NoSchedule"}]})
        assert not made.get("failed"), made["msg"]
        delete_nodes(core_v1, [gone])
        before = core_v1.read_node(here)
        calls = {
            "node_maintenance": {"nodes": [here, gone], "reason": "gone node test"},
            "warmup": {"name": "preload-" + pool, "namespace": namespace, "nodes": [here, gone], "timeout": 30},
            "warm_status": {"name": "preload-" + pool, "namespace": namespace, "nodes": [here, gone]},
        }
        for module, args in calls.items():
            result = run_module(module, dict(args, kubeconfig=kubeconfig))
            assert result.get("failed") and not result.get("changed"), (module, result)
            assert "no such node" in result["msg"] and gone in result["msg"] and here not in result["msg"], (module, result["msg"])
            assert "Traceback" not in str(result), result
        after = core_v1.read_node(here)
        # Nothing was written to the node that exists (its resourceVersion moves only with kwok's status heartbeats).
        assert after.metadata.labels == before.metadata.labels and after.spec == before.spec and record_of(after) is None
    finally:
        core_v1.delete_namespace(namespace, propagation_policy="Background")
        delete_nodes(core_v1, names)


# --- a drain held by a PodDisruptionBudget ---------------------------------------------------


def _guarded_pod(core_v1, window, node):
    """A pod on `node` and a budget (minAvailable 1) that allows it no disruption: its eviction is refused (429)."""
    labels = {"prewarm.test/fault": window["pool"], "app": "guarded"}
    core_v1.create_namespaced_pod(window["namespace"], client.V1Pod(
        metadata=client.V1ObjectMeta(name="guarded", labels=labels),
        spec=client.V1PodSpec(node_name=node, termination_grace_period_seconds=1,
                              containers=[client.V1Container(name="c", image="prewarm.test/none:1")])))
    policy = client.PolicyV1Api(core_v1.api_client)
    policy.create_namespaced_pod_disruption_budget(window["namespace"], client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="guard"),
        spec=client.V1PodDisruptionBudgetSpec(min_available=1, selector=client.V1LabelSelector(match_labels={"app": "guarded"}))))
    # The disruption controller has counted the pod healthy: from now on an eviction is refused, not let through.
    watch_for(core_v1, policy.list_namespaced_pod_disruption_budget,
              lambda budgets: any((b.status.current_healthy or 0) >= 1 for b in budgets.values()), 180,
              "the budget's healthy count", namespace=window["namespace"])
    return policy


def _refused_once(run):
    """Whether the run's log shows the drain refused and tried again."""
    with open(run.log_path, encoding="utf-8") as handle:
        return "FAILED - RETRYING" in handle.read()


def test_a_drain_held_by_a_budget_for_a_while_ends_within_the_retries(core_v1, test_images):
    with os_upgrade_window(core_v1, test_images, count=2, node_upgrade_drain_retries=20, node_upgrade_drain_retry_delay=2) as window:
        held = window["names"][0]
        policy = _guarded_pod(core_v1, window, held)
        open_gate(window)
        run = start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "pdb-for-a-while")
        deadline = time.monotonic() + 120
        while not _refused_once(run) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
        assert _refused_once(run), "the drain was never refused"
        # The budget lets the pod go now (as when a replacement became healthy elsewhere).
        policy.patch_namespaced_pod_disruption_budget("guard", window["namespace"], {"spec": {"minAvailable": 0}})
        code, output = finish(run, 300)
        assert code == 0, output[-3000:]
        for name in window["names"]:
            assert _released(core_v1, name), name
        assert not [p for p in core_v1.list_namespaced_pod(window["namespace"], label_selector="app=guarded").items
                    if not p.metadata.deletion_timestamp]


def test_a_drain_a_budget_never_allows_fails_that_node_alone_naming_the_budget(core_v1, test_images):
    with os_upgrade_window(core_v1, test_images, count=2, node_upgrade_drain_retries=1, node_upgrade_drain_retry_delay=1) as window:
        held, other = window["names"]
        _guarded_pod(core_v1, window, held)
        open_gate(window)
        run = start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "pdb-never")
        code, output = finish(run, 300)
        assert code == 2, output[-3000:]
        record = record_of(core_v1.read_node(held))
        assert (record["status"]["step"], record["status"]["result"]) == ("drained", "failed"), record
        assert "PodDisruptionBudget %s/guard (minAvailable 1" % window["namespace"] in record["status"]["error"], record
        assert "for pod guarded" in record["status"]["error"], record
        node = core_v1.read_node(held)
        assert node.spec.unschedulable and our_taint(node), "the held node must stay marked and cordoned"
        assert _released(core_v1, other)
        print("\n[faults] drain held by a budget: " + record["status"]["error"][:400])


DONE_LABEL = ("demo.prewarm.k8s/os-upgrade", "done")  # tests/demo/vars.yml's node_upgrade_done_label
KWOK_KERNEL = "kwok-0.8.0"  # what kwok's nodes report as their kernel


def test_a_node_back_with_another_kernel_fails_alone_at_ready_and_gets_no_done_label(core_v1, test_images):
    # Every node is expected back on kwok's kernel; one reports another (kwok keeps what its status was patched to).
    # The nodes already on it are upgraded all the same (node_upgrade_skip_upgraded off).
    with os_upgrade_window(core_v1, test_images, count=3, node_upgrade_ready_timeout=10, node_upgrade_skip_upgraded=False,
                           node_upgrade_kernel_version=KWOK_KERNEL) as window:
        odd = window["names"][1]
        core_v1.patch_node_status(odd, {"status": {"nodeInfo": {"kernelVersion": "6.1.0-odd"}}})
        open_gate(window)
        code, output = finish(start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "kernel"), 300)
        _no_traceback(output)
        assert code == 2, "exit %s:\n%s" % (code, output[-4000:])
        failure = [line for line in output.splitlines() if "node(s) failed and stay under maintenance" in line]
        assert failure and odd in failure[0] and "failed at ready" in failure[0], output[-4000:]
        node = core_v1.read_node(odd)
        record = record_of(node)
        assert (record["status"]["step"], record["status"]["result"]) == ("ready", "failed"), record
        assert "kernel is '6.1.0-odd', expected '%s'" % KWOK_KERNEL in record["status"]["error"], record
        assert our_taint(node) and (node.metadata.labels or {}).get(DONE_LABEL[0]) is None
        for name in window["names"]:
            if name != odd:
                assert _released(core_v1, name), name
                assert (core_v1.read_node(name).metadata.labels or {}).get(DONE_LABEL[0]) == DONE_LABEL[1], name
        print("\n[faults] node back with another kernel: " + record["status"]["error"][:300])


def test_each_node_of_a_batch_is_held_to_its_own_hosts_kernel(core_v1, test_images):
    # One batch, two expectations: the inventory (not the extra vars, which would win over host variables) expects
    # kwok's kernel of the pool and another kernel of one host, whose node reports that one.
    with os_upgrade_window(core_v1, test_images, count=3, node_upgrade_ready_timeout=20,
                           node_upgrade_skip_upgraded=False) as window:
        other = window["names"][0]
        with open(window["inventory"], encoding="utf-8") as handle:
            inventory = json.load(handle)
        group = inventory["all"]["children"][window["pool"]]
        group["vars"]["node_upgrade_kernel_version"] = KWOK_KERNEL
        group["hosts"][other] = {"node_upgrade_kernel_version": "6.1.0-other"}
        with open(window["inventory"], "w", encoding="utf-8") as handle:
            json.dump(inventory, handle)
        core_v1.patch_node_status(other, {"status": {"nodeInfo": {"kernelVersion": "6.1.0-other"}}})
        open_gate(window)
        code, output = finish(start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "kernels"), 300)
        _no_traceback(output)
        assert code == 0, "exit %s:\n%s" % (code, output[-4000:])
        for name in window["names"]:
            assert _released(core_v1, name), name
            assert (core_v1.read_node(name).metadata.labels or {}).get(DONE_LABEL[0]) == DONE_LABEL[1], name
