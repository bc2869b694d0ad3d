"""prewarm.k8s.node_maintenance against the real API server, on kwok nodes and the real node.

Every result is checked by reading the nodes back. The autouse fixture `clean_nodes` takes off
what these tests put on (our marks, the foreign marks they add, the cordon), so the tests run
in any order and again, also after a failure half-way. They need the nodes to themselves: a
test that finds nodes marked or cordoned fails at once, naming them.
"""
import base64
import json
import re
import threading
import time

import pytest
import yaml

from kubernetes import client, config, watch
from kubernetes.client import ApiException

from run_ansible import run_module

# The module's default taint, label and annotation key (constants.MAINTENANCE_KEY).
OUR_KEY = "prewarm.k8s/maintenance"
# Marks of "someone else": another tool or person, set with the plain API.
OTHER_KEY = "other.prewarm.test/keep"
WRITER_KEY = "other.prewarm.test/writer"
STATUS_WRITER_KEY = "other.prewarm.test/status-writer"
# A mark of our own with non-default keys.
CUSTOM_KEY = "upgrade.prewarm.test/kernel"
TEST_KEYS = (OUR_KEY, OTHER_KEY, WRITER_KEY, STATUS_WRITER_KEY, CUSTOM_KEY)
# Who these tests say marks the nodes (the module's `by`), so cleaning up never takes another run's marks.
BY = "it@prewarm-node-maintenance"
# The node lifecycle controller adds and removes these (node.kubernetes.io/unschedulable follows
# spec.unschedulable); they are neither ours nor the test's.
CONTROLLER_TAINT_PREFIX = "node.kubernetes.io/"
# The TTL controller rewrites this one on every node when the cluster grows or shrinks (a benchmark's pool).
TTL_ANNOTATION = "node.alpha.kubernetes.io/ttl"
MERGE_PATCH = "application/merge-patch+json"


def _nodes(core_v1, selector=None):
    """Nodes as the API returns them (plain dicts), by name."""
    kwargs = {"label_selector": selector} if selector else {}
    items = json.loads(core_v1.list_node(_preload_content=False, **kwargs).data)["items"]
    return {n["metadata"]["name"]: n for n in items}


def _read(core_v1, name):
    return json.loads(core_v1.read_node(name, _preload_content=False).data)


def _view(node):
    """What marking may touch on a node; taints as (key, value, effect), controllers' taints and annotation left out."""
    metadata, spec = node["metadata"], node.get("spec") or {}
    return {
        "taints": sorted((t["key"], t.get("value", ""), t["effect"]) for t in spec.get("taints") or []
                         if not t["key"].startswith(CONTROLLER_TAINT_PREFIX)),
        "labels": metadata.get("labels") or {},
        "annotations": {k: v for k, v in (metadata.get("annotations") or {}).items() if k != TTL_ANNOTATION},
        "unschedulable": bool(spec.get("unschedulable")),
    }


def _read_all(core_v1, names):
    """The named nodes, read one by one (the cluster may hold many more, e.g. a benchmark's pool)."""
    return {name: _read(core_v1, name) for name in names}


def _views(core_v1, names):
    return {name: _view(node) for name, node in _read_all(core_v1, names).items()}


def _differences(before, after):
    """{node: {field or field[key]: (before, after)}} for what differs between two _views() results."""
    found = {}
    for name in before:
        for field in ("taints", "unschedulable"):
            if before[name][field] != after[name][field]:
                found.setdefault(name, {})[field] = (before[name][field], after[name][field])
        for field in ("labels", "annotations"):
            for key in set(before[name][field]) | set(after[name][field]):
                if before[name][field].get(key) != after[name][field].get(key):
                    found.setdefault(name, {})["%s[%s]" % (field, key)] = (before[name][field].get(key), after[name][field].get(key))
    return found


def _assert_unchanged(core_v1, before):
    """The nodes of `before` (a _views() result) read back as they were."""
    differences = _differences(before, _views(core_v1, before))
    assert not differences, "nodes changed: %s" % differences


def _record(node):
    raw = (node["metadata"].get("annotations") or {}).get(OUR_KEY)
    return json.loads(raw) if raw is not None else None


def _our_taint():
    """The module's default taint, as _view() shows taints."""
    return OUR_KEY, "true", "NoSchedule"


def _our_marks(view):
    """Whether the node has our taint, our label, our annotation."""
    return _our_taint() in view["taints"], view["labels"].get(OUR_KEY) == "true", OUR_KEY in view["annotations"]


def _marked_by_us(view):
    return all(_our_marks(view))


def _partly_marked(view):
    return any(_our_marks(view)) and not all(_our_marks(view))


def _patch_guarded(core_v1, name, change):
    """Read-modify-write one node, guarded by its resourceVersion, as a careful client does.

    change(node) returns the JSON merge patch to send, or None when the node needs nothing.
    """
    while True:
        node = _read(core_v1, name)
        patch = change(node)
        if not patch:
            return
        patch.setdefault("metadata", {})["resourceVersion"] = node["metadata"]["resourceVersion"]
        try:
            core_v1.patch_node(name, patch, _content_type=MERGE_PATCH)
            return
        except ApiException as exc:
            if exc.status != 409:
                raise


def _set_foreign_marks(core_v1, name, taints=(), labels=None, cordon=None):
    """Put marks on a node the way another tool would: taints as (key, value, effect)."""
    def change(node):
        current = node["spec"].get("taints") or []
        patch = {"spec": {"taints": current + [{"key": k, "value": v, "effect": e} for k, v, e in taints]},
                 "metadata": {"labels": dict(labels or {})}}
        if cordon is not None:
            patch["spec"]["unschedulable"] = cordon or None
        return patch
    _patch_guarded(core_v1, name, change)


def _leftovers(view, keys=TEST_KEYS):
    """The marks of these tests (of `keys`) found on a node; between tests there should be none."""
    found = ["taint %s=%s:%s" % t for t in view["taints"] if t[0] in keys]
    found += ["label %s=%s" % (k, view["labels"][k]) for k in keys if k in view["labels"]]
    if OUR_KEY in keys:
        found += ["annotation %s=%s" % (OUR_KEY, view["annotations"][OUR_KEY])] if OUR_KEY in view["annotations"] else []
        found += ["cordon"] if view["unschedulable"] else []
    return found


def _clean(core_v1, name):
    """Take the marks of these tests off a node.

    A maintenance mark recorded by someone else (another test module marking nodes meanwhile)
    is theirs: it stays, with the cordon.
    """
    def change(node):
        record = _record(node)
        keys = TEST_KEYS if record is None or record["by"] == BY else tuple(k for k in TEST_KEYS if k != OUR_KEY)
        if not _leftovers(_view(node), keys):
            return None
        patch = {"spec": {"taints": [t for t in node["spec"].get("taints") or [] if t["key"] not in keys]},
                 "metadata": {"labels": {k: None for k in keys}}}
        if OUR_KEY in keys:
            patch["spec"]["unschedulable"] = None
            patch["metadata"]["annotations"] = {OUR_KEY: None}
        return patch
    _patch_guarded(core_v1, name, change)


@pytest.fixture(scope="module")
def kwok_selector(kwok_pools):
    """The kwok nodes of the test pools (not those of other pools, such as a benchmark's)."""
    return "type=kwok,pool in (%s)" % ",".join(sorted(kwok_pools))


@pytest.fixture(scope="module")
def kwok_nodes(core_v1, kwok_pools, kwok_selector):
    names = sorted(_nodes(core_v1, kwok_selector))
    assert len(names) == sum(kwok_pools.values()), names
    return names


@pytest.fixture(scope="module")
def kwok_node(kwok_nodes):
    """The kwok node of the tests that need only one."""
    return kwok_nodes[0]


@pytest.fixture(scope="module")
def used_nodes(kwok_nodes, real_node):
    """Every node these tests may change."""
    return kwok_nodes + [real_node]


@pytest.fixture(autouse=True)
def clean_nodes(core_v1, used_nodes):
    """Start from nodes without marks, and afterwards take off what the test left, even on failure.

    Nodes that are already marked or cordoned fail the test at once: another run is using them
    (a session testing on the same cluster) or one crashed before cleaning up.
    """
    marked = {name: _leftovers(view) for name, view in _views(core_v1, used_nodes).items() if _leftovers(view)}
    assert not marked, "nodes already marked or cordoned, by another test run or one that crashed: %s" % marked
    yield
    for name in used_nodes:
        _clean(core_v1, name)


def _mark(kubeconfig, check=False, **args):
    return run_module("node_maintenance", dict(dict(by=BY, kubeconfig=kubeconfig), **args), check=check, diff=True)


def _release(kubeconfig, check=False, **args):
    return _mark(kubeconfig, check=check, state="absent", **args)


def _ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def _node_versions(core_v1, resource_version, names, done, timeout=30):
    """Every version of the named nodes from resource_version on, until done(versions) holds."""
    versions = {name: [] for name in names}
    w = watch.Watch()
    for event in w.stream(core_v1.list_node, resource_version=resource_version, timeout_seconds=timeout):
        node = event["raw_object"]
        if node["metadata"]["name"] in versions:
            versions[node["metadata"]["name"]].append(_view(node))
            if done(versions):
                w.stop()
                return versions
    pytest.fail("the watch ended before the nodes went through the expected versions: %s" % versions)


def _node_patch_refusals(api_client):
    """PATCH requests on nodes the API server refused because the node had moved so far (its /metrics).

    422 is a JSON Patch whose `test` failed (the module's guarded patches); 409 a write that
    named a resourceVersion that was no longer current.
    """
    response = api_client.call_api("GET", api_client.configuration.host + "/metrics")
    response.read()
    pattern = re.compile(r'^apiserver_request_total\{(?=.*code="(?:409|422)")(?=.*resource="nodes")(?=.*subresource="")'
                         r'(?=.*verb="PATCH").*\} (\d+)$', re.MULTILINE)
    return sum(int(n) for n in pattern.findall(response.data.decode()))


def test_mark_and_release_by_names_round_trip_on_kwok_and_real_node(core_v1, kubeconfig, kwok_nodes, real_node):
    names = [kwok_nodes[0], kwok_nodes[-1], real_node]
    before = _views(core_v1, names)

    preview = _ok(_mark(kubeconfig, check=True, nodes=names, reason="it: round trip"))
    assert preview["changed"] and preview["msg"] == "would mark 3 nodes"
    assert sorted(preview["diff"]["after"]) == sorted(names)
    assert all(OUR_KEY in preview["diff"]["after"][n]["labels"] for n in names)
    _assert_unchanged(core_v1, before)  # check mode wrote nothing

    start_version = json.loads(core_v1.list_node(_preload_content=False).data)["metadata"]["resourceVersion"]
    marked = _ok(_mark(kubeconfig, nodes=names, reason="it: round trip"))
    assert marked["changed"] and [(name, n["action"]) for name, n in marked["nodes"].items()] == [(n, "marked") for n in sorted(names)]
    assert sorted(marked["diff"]["after"]) == sorted(names)
    nodes = _read_all(core_v1, names)
    for name in names:
        view = _view(nodes[name])
        assert _marked_by_us(view), view
        # Only our three marks were added; everything else is as it was.
        assert view["taints"] == sorted(before[name]["taints"] + [_our_taint()])
        assert view["labels"] == dict(before[name]["labels"], **{OUR_KEY: "true"})
        assert not view["unschedulable"]
        record = _record(nodes[name])
        assert record["by"] == BY and record["reason"] == "it: round trip"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", record["since"])
        assert record["owned"] == {"taint": {"key": OUR_KEY, "value": "true", "effect": "NoSchedule"},
                                   "label": {"key": OUR_KEY, "value": "true"}, "cordon": False}
    since = {name: _record(nodes[name])["since"] for name in names}

    again = _ok(_mark(kubeconfig, nodes=names, reason="it: round trip"))
    assert not again["changed"] and again["summary"]["unchanged"] == 3 and again["diff"] == {"before": {}, "after": {}}, again["diff"]
    assert {name: _record(node)["since"] for name, node in _read_all(core_v1, names).items()} == since

    preview = _ok(_release(kubeconfig, check=True, nodes=names))
    assert preview["changed"] and preview["msg"] == "would release 3 nodes" and sorted(preview["diff"]["before"]) == sorted(names)
    assert all(_marked_by_us(view) for view in _views(core_v1, names).values())  # check mode took nothing off

    released = _ok(_release(kubeconfig, nodes=names))
    assert released["changed"] and released["summary"]["released"] == 3
    _assert_unchanged(core_v1, before)  # exactly our marks are gone, nothing else
    assert not _ok(_release(kubeconfig, nodes=names))["changed"]

    # The API server's watch shows each version each node went through: the taint, label and
    # annotation came and went together, one patch per node and run, never one after the other.
    def marked_then_released(versions):
        return all(any(_marked_by_us(v) for v in versions[n]) and not any(_our_marks(versions[n][-1])) for n in names)
    versions = _node_versions(core_v1, start_version, names, marked_then_released)
    assert not [(n, v) for n in names for v in versions[n] if _partly_marked(v)]


def test_mark_and_release_by_label_selector_keeps_since_and_updates_reason(core_v1, kubeconfig, kwok_pools, real_node):
    pool = sorted(kwok_pools)[-1]
    selector = "pool in (%s,real)" % pool
    names = sorted(_nodes(core_v1, selector))
    assert len(names) == kwok_pools[pool] + 1 and real_node in names
    before = _views(core_v1, names)

    marked = _ok(_mark(kubeconfig, label_selector=selector, reason="first"))
    assert list(marked["nodes"]) == names and marked["summary"]["marked"] == len(names)
    assert all(_marked_by_us(view) for view in _views(core_v1, names).values())
    first = {name: _record(node) for name, node in _nodes(core_v1, selector).items()}

    # A later run changes the reason only; it starts in a later second, so a new `since` would show.
    while time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) <= max(r["since"] for r in first.values()):
        time.sleep(0.1)
    remarked = _ok(_mark(kubeconfig, label_selector=selector, reason="second"))
    assert remarked["changed"] and remarked["summary"]["marked"] == len(names)
    for name, node in _nodes(core_v1, selector).items():
        assert _record(node) == dict(first[name], reason="second")

    # Our own label selects what is still marked.
    released = _ok(_release(kubeconfig, label_selector="%s,%s" % (OUR_KEY, selector)))
    assert released["summary"]["released"] == len(names)
    _assert_unchanged(core_v1, before)
    assert not _nodes(core_v1, "%s,%s" % (OUR_KEY, selector))


def test_release_leaves_others_taints_labels_and_cordon_and_undoes_our_cordon(core_v1, kubeconfig, kwok_node, real_node):
    names = [kwok_node, real_node]
    foreign_taints = [(OTHER_KEY, "yes", "NoSchedule"), (OUR_KEY, "theirs", "PreferNoSchedule")]
    for name in names:
        _set_foreign_marks(core_v1, name, taints=foreign_taints, labels={OTHER_KEY: "yes"},
                           cordon=True if name == kwok_node else None)
    before = _views(core_v1, names)
    assert before[kwok_node]["unschedulable"] and not before[real_node]["unschedulable"]

    _ok(_mark(kubeconfig, nodes=names, cordon=True, reason="it: others' marks"))
    nodes = _read_all(core_v1, names)
    for name in names:
        view = _view(nodes[name])
        assert view["taints"] == sorted(before[name]["taints"] + [_our_taint()])  # theirs kept, ours added
        assert view["labels"][OTHER_KEY] == "yes" and view["unschedulable"]
    # The cordon on the kwok node was someone else's, so it is not recorded as ours.
    assert not _record(nodes[kwok_node])["owned"]["cordon"]
    assert _record(nodes[real_node])["owned"]["cordon"]

    released = _ok(_release(kubeconfig, nodes=names))
    _assert_unchanged(core_v1, before)  # their taints, label and cordon stay; our cordon is gone
    warnings = {name: n["warnings"] for name, n in released["nodes"].items()}
    assert any("someone else cordoned it" in w for w in warnings[kwok_node]), warnings
    assert not any("cordoned" in w for w in warnings[real_node]), warnings


def test_custom_keys_and_noexecute_taint_round_trip(core_v1, kubeconfig, kwok_node):
    before = _views(core_v1, [kwok_node])
    args = {"nodes": [kwok_node], "taint": {"key": CUSTOM_KEY, "value": "6.8", "effect": "NoExecute"},
            "label": {"key": CUSTOM_KEY, "value": "6.8"}}
    _ok(_mark(kubeconfig, **args))
    node = _read(core_v1, kwok_node)
    (taint,) = [t for t in node["spec"]["taints"] if t["key"] == CUSTOM_KEY]
    assert taint == {"key": CUSTOM_KEY, "value": "6.8", "effect": "NoExecute"}
    assert node["metadata"]["labels"][CUSTOM_KEY] == "6.8" and OUR_KEY not in node["metadata"]["labels"]
    assert _record(node)["owned"]["taint"] == {"key": CUSTOM_KEY, "value": "6.8", "effect": "NoExecute"}

    assert not _ok(_mark(kubeconfig, **args))["changed"]
    again = _read(core_v1, kwok_node)
    assert [t for t in again["spec"]["taints"] if t["key"] == CUSTOM_KEY] == [taint] and _record(again) == _record(node)

    _ok(_release(kubeconfig, nodes=[kwok_node]))
    _assert_unchanged(core_v1, before)


def test_mark_fails_unchanged_when_our_label_key_holds_someone_elses_value(core_v1, kubeconfig, kwok_nodes, kwok_selector):
    _set_foreign_marks(core_v1, kwok_nodes[1], labels={OUR_KEY: "someone-else"})
    before = _views(core_v1, kwok_nodes)

    result = _mark(kubeconfig, label_selector=kwok_selector)
    assert result.get("failed") and not result["changed"], result["msg"]
    assert kwok_nodes[1] in result["msg"] and "someone-else" in result["msg"]
    _assert_unchanged(core_v1, before)  # no node marked, not even the ones without conflict


class OtherWriter(threading.Thread):
    """Another tool editing the same nodes all the time: it toggles its own taint and label.

    Each write is a read-modify-write of the whole node (PUT) guarded by its resourceVersion.
    Before each write it checks that its taint and label are still as it left them; only this
    writer touches WRITER_KEY, so any difference means another client overwrote them.
    """

    def __init__(self, kubeconfig, names):
        super().__init__(daemon=True)
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self.names = names
        self.last = {}  # node -> the value of its last write, None when it removed its marks
        self.lost = []
        self.writes = 0
        self.error = None
        self.warmed_up = threading.Event()
        self.halt = threading.Event()

    def run(self):
        seq = 0
        try:
            while not self.halt.is_set():
                for name in self.names:
                    seq += 1
                    self._write(name, None if seq % 3 == 0 else str(seq))
                self.warmed_up.set()
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc
            self.warmed_up.set()

    def state(self, node):
        taints = [t.get("value", "") for t in node["spec"].get("taints") or [] if t["key"] == WRITER_KEY]
        label = (node["metadata"].get("labels") or {}).get(WRITER_KEY)
        return (taints[0] if taints else None), label

    def _write(self, name, value):
        while True:
            node = _read(self.core, name)
            if name in self.last and self.state(node) != (self.last[name], self.last[name]):
                self.lost.append((name, self.last[name], self.state(node)))
            node["metadata"].pop("managedFields", None)
            taints = [t for t in node["spec"].get("taints") or [] if t["key"] != WRITER_KEY]
            labels = node["metadata"].setdefault("labels", {})
            labels.pop(WRITER_KEY, None)
            if value is not None:
                taints.append({"key": WRITER_KEY, "value": value, "effect": "NoSchedule"})
                labels[WRITER_KEY] = value
            node["spec"]["taints"] = taints
            try:
                self.core.replace_node(name, node)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                continue
            self.last[name] = value
            self.writes += 1
            return

    def stop(self):
        self.halt.set()
        self.join(timeout=30)
        assert not self.is_alive() and self.error is None, self.error


def test_concurrent_writer_loses_nothing_while_all_kwok_nodes_are_marked_and_released(
        core_v1, api_client, kubeconfig, kwok_nodes, kwok_selector):
    for name in kwok_nodes:
        _set_foreign_marks(core_v1, name, taints=[(OTHER_KEY, "yes", "NoSchedule")], labels={OTHER_KEY: "yes"})
    writer = OtherWriter(kubeconfig, kwok_nodes)
    conflicts_before = _node_patch_refusals(api_client)
    writer.start()
    try:
        assert writer.warmed_up.wait(30) and writer.error is None, writer.error
        writes_before = writer.writes
        # Whether a patch meets the writer is chance: usually the first mark and release already
        # do; a few more rounds make a run without any conflict (that would prove nothing) unlikely.
        rounds = 0
        while rounds < 5:
            rounds += 1
            _ok(_mark(kubeconfig, label_selector=kwok_selector, reason="it: concurrent writer"))
            assert all(_marked_by_us(view) for view in _views(core_v1, kwok_nodes).values())
            _ok(_release(kubeconfig, label_selector=kwok_selector))
            assert not any(any(_our_marks(view)) for view in _views(core_v1, kwok_nodes).values())
            if _node_patch_refusals(api_client) > conflicts_before:
                break
        writes_during = writer.writes - writes_before
    finally:
        writer.stop()

    assert writer.lost == [], "the writer's taint or label was overwritten (node, expected, found)"
    assert writes_during > len(kwok_nodes), "the writer hardly ran while the module did"
    # The module's patches test the taints and labels they were planned from, so the API server
    # refused the stale ones (HTTP 422) and the module read the node again and retried; every run succeeded.
    conflicts = _node_patch_refusals(api_client) - conflicts_before
    assert conflicts > 0, "no PATCH refused in %d rounds: the retry path was not exercised" % rounds
    print("\nconcurrent writer: %d writes during %d mark+release rounds, %d refused PATCHes retried" % (writes_during, rounds, conflicts))
    nodes = _read_all(core_v1, kwok_nodes)
    for name in kwok_nodes:
        view = _view(nodes[name])
        assert writer.state(nodes[name]) == (writer.last[name], writer.last[name])
        assert (OTHER_KEY, "yes", "NoSchedule") in view["taints"] and view["labels"][OTHER_KEY] == "yes"
        assert not [t for t in view["taints"] if t[0] == OUR_KEY] and OUR_KEY not in view["labels"]
        assert OUR_KEY not in view["annotations"]


class StatusWriter(threading.Thread):
    """Writes what a kubelet and a node controller write, as fast as the API server takes it: a
    condition in the node's status and a label of its own. Neither is a field the module changes."""

    def __init__(self, kubeconfig, names):
        super(StatusWriter, self).__init__(daemon=True)
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
        self.names, self.writes, self.error = names, 0, None
        self.halt = threading.Event()

    def run(self):
        try:
            while not self.halt.is_set():
                for name in self.names:
                    self.writes += 1
                    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                    condition = {"type": "PrewarmTestHeartbeat", "status": "True", "reason": "Beat%d" % self.writes,
                                 "lastHeartbeatTime": now, "lastTransitionTime": now}
                    self.core.patch_node_status(name, {"status": {"conditions": [condition]}})
                    self.core.patch_node(name, {"metadata": {"labels": {STATUS_WRITER_KEY: str(self.writes)}}},
                                         _content_type=MERGE_PATCH)
        except Exception as exc:  # pylint: disable=broad-except
            self.error = exc

    def stop(self):
        self.halt.set()
        self.join(timeout=30)
        assert not self.is_alive() and self.error is None, self.error


def test_status_and_label_writes_in_between_never_stop_a_mark_or_release(core_v1, api_client, kubeconfig, kwok_nodes, kwok_selector):
    # The node's resourceVersion moves between the module's LIST and each PATCH, every time: a
    # patch guarded by it would meet 409 and cost a read and a second patch on most nodes.
    writer = StatusWriter(kubeconfig, kwok_nodes)
    refusals_before = _node_patch_refusals(api_client)
    writer.start()
    try:
        for _round in range(3):
            marked = _ok(_mark(kubeconfig, label_selector=kwok_selector, reason="it: status writer"))
            assert marked["summary"]["marked"] == len(kwok_nodes)
            released = _ok(_release(kubeconfig, label_selector=kwok_selector))
            assert released["summary"]["released"] == len(kwok_nodes)
        writes = writer.writes
    finally:
        writer.stop()
        for name in kwok_nodes:
            core_v1.patch_node(name, {"metadata": {"labels": {STATUS_WRITER_KEY: None}}}, _content_type=MERGE_PATCH)
    assert writes > 3 * len(kwok_nodes), "the writer hardly ran while the module did (%d writes)" % writes
    assert _node_patch_refusals(api_client) == refusals_before
    assert not any(any(_our_marks(view)) for view in _views(core_v1, kwok_nodes).values())


def test_scale_smoke_marks_and_releases_all_kwok_nodes_in_one_run(core_v1, kubeconfig, kwok_nodes, kwok_selector):
    # A smoke test on the default small pools; the benchmark issue measures the same two runs at 1,000 nodes.
    before = _views(core_v1, kwok_nodes)
    started = time.monotonic()
    marked = _ok(_mark(kubeconfig, label_selector=kwok_selector, reason="it: scale smoke"))
    mark_seconds = time.monotonic() - started
    assert marked["summary"] == {"marked": len(kwok_nodes), "released": 0, "unchanged": 0, "failed": 0}
    assert all(_marked_by_us(view) for view in _views(core_v1, kwok_nodes).values())

    started = time.monotonic()
    released = _ok(_release(kubeconfig, label_selector=kwok_selector))
    release_seconds = time.monotonic() - started
    assert released["summary"]["released"] == len(kwok_nodes)
    _assert_unchanged(core_v1, before)
    # Wall time of the whole `ansible localhost -m` process, Ansible's own start-up included.
    print("\nnode_maintenance on %d kwok nodes: mark %.2fs, release %.2fs" % (len(kwok_nodes), mark_seconds, release_seconds))


@pytest.mark.parametrize("args, bad_value", [
    ({"taint": {"effect": "NoWay"}}, "NoWay"),
    ({"taint": {"value": "not valid!"}}, "not valid!"),
    ({"label": {"key": "bad key/with space"}}, "bad key/with space"),
    ({"label": {"value": "-leading-dash"}}, "-leading-dash"),
], ids=["taint-effect", "taint-value", "label-key", "label-value"])
def test_invalid_option_fails_before_any_change(core_v1, kubeconfig, kwok_nodes, real_node, args, bad_value):
    names = kwok_nodes + [real_node]
    before = _views(core_v1, names)
    result = _mark(kubeconfig, nodes=names, **args)
    assert result["failed"] and bad_value in result["msg"], result["msg"]
    _assert_unchanged(core_v1, before)


def test_unknown_node_name_fails_and_leaves_the_named_valid_nodes_untouched(core_v1, kubeconfig, kwok_node, real_node):
    names = [kwok_node, "no-such-node-prewarm-it", real_node]
    before = _views(core_v1, [kwok_node, real_node])
    result = _mark(kubeconfig, nodes=names)
    assert result["failed"] and "no-such-node-prewarm-it" in result["msg"], result["msg"]
    _assert_unchanged(core_v1, before)


def test_selector_matching_nothing_fails_naming_the_selector(core_v1, kubeconfig, used_nodes):
    before = _views(core_v1, used_nodes)
    result = _mark(kubeconfig, label_selector="pool=no-such-pool")
    assert result["failed"] and "pool=no-such-pool" in result["msg"], result["msg"]
    _assert_unchanged(core_v1, before)


def test_unreachable_api_server_fails_with_a_clear_error(kwok_node):
    result = run_module("node_maintenance", {"host": "https://127.0.0.1:1", "nodes": [kwok_node]})
    assert result["failed"] and "cannot reach the API server at https://127.0.0.1:1" in result["msg"], result["msg"]


@pytest.fixture(scope="module")
def cluster_endpoint(kubeconfig, tmp_path_factory):
    """The cluster's API server address and a file with its CA certificate, from the kubeconfig."""
    with open(kubeconfig, encoding="utf-8") as f:
        cluster = yaml.safe_load(f)["clusters"][0]["cluster"]
    ca = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return cluster["server"], str(ca)


@pytest.mark.parametrize("tls", ["ca_cert", "validate_certs_false"])
def test_bad_credentials_fail_with_a_clear_error_and_change_nothing(core_v1, cluster_endpoint, kwok_nodes, real_node, tls):
    host, ca = cluster_endpoint
    names = kwok_nodes + [real_node]
    before = _views(core_v1, names)
    args = {"host": host, "api_key": "garbage-token", "nodes": names}
    args.update({"ca_cert": ca} if tls == "ca_cert" else {"validate_certs": False})
    result = run_module("node_maintenance", args)
    assert result["failed"] and "rejected the credentials (HTTP 401 Unauthorized)" in result["msg"], result["msg"]
    assert host in result["msg"] and "garbage-token" not in json.dumps(result)
    _assert_unchanged(core_v1, before)
