# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's write loop (409 retry, per-node failures) and result shaping, against a stub CoreV1Api."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from kubernetes.client import ApiException

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.modules import node_maintenance as nm

KEY = "prewarm.k8s/maintenance"


def request():
    return build_request({
        "state": "present", "taint": {"key": KEY, "value": "true", "effect": "NoSchedule"},
        "label": {"key": KEY, "value": "true"}, "reason": "r", "by": None, "cordon": False, "status": None,
    }, now="2024-05-01T03:00:00Z", default_by="ops@bastion")


def node(rv, taints=()):
    return {"metadata": {"name": "w1", "resourceVersion": rv}, "spec": {"taints": list(taints)}}


class Response(object):
    def __init__(self, body=None):
        self.data = json.dumps(body or {}).encode()
        self.drained = False

    def drain_conn(self):
        self.drained = True


class StubCore(object):
    """Answers patch_node with the given statuses in turn; read_node returns `fresh`."""

    api_client = type("Client", (), {"configuration": type("Conf", (), {"host": "https://api:6443"})()})()

    def __init__(self, statuses, fresh=None):
        self.statuses = list(statuses)
        self.fresh = fresh
        self.patches = []
        self.reads = 0

    def patch_node(self, name, body, **kwargs):
        assert kwargs["_content_type"] == "application/merge-patch+json"
        self.patches.append(body)
        status = self.statuses.pop(0)
        if status != 200:
            raise ApiException(status=status, reason="nope")
        return Response()

    def read_node(self, name, **kwargs):
        self.reads += 1
        return Response(self.fresh)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(nm.time, "sleep", lambda seconds: None)


def test_conflict_rereads_replans_and_keeps_the_concurrent_taint():
    theirs = {"key": "late", "value": "x", "effect": "NoSchedule"}
    core = StubCore([409, 200], fresh=node("2", [theirs]))
    plan = nm._apply(core, plan_node(node("1"), request()), request(), 5.0)
    assert core.reads == 1
    assert core.patches[0]["metadata"]["resourceVersion"] == "1"
    assert core.patches[1]["metadata"]["resourceVersion"] == "2"
    assert core.patches[1]["spec"]["taints"][0] == theirs
    assert plan["patch"] == core.patches[1]


def test_conflict_after_which_the_node_needs_nothing_sends_no_second_patch():
    done = plan_node(node("1"), request())["patch"]
    fresh = node("2", done["spec"]["taints"])
    fresh["metadata"].update(labels=done["metadata"]["labels"], annotations=done["metadata"]["annotations"])
    core = StubCore([409], fresh=fresh)
    plan = nm._apply(core, plan_node(node("1"), request()), request(), 5.0)
    assert plan["patch"] is None
    assert len(core.patches) == 1


def test_conflicts_are_bounded():
    core = StubCore([409] * nm.MAX_ATTEMPTS, fresh=node("2"))
    with pytest.raises(PrewarmError, match="still HTTP 409 Conflict after %d attempts" % nm.MAX_ATTEMPTS):
        nm._apply(core, plan_node(node("1"), request()), request(), 5.0)
    assert len(core.patches) == nm.MAX_ATTEMPTS


def test_node_deleted_mid_run():
    core = StubCore([404])
    with pytest.raises(PrewarmError, match="node was deleted during the run"):
        nm._apply(core, plan_node(node("1"), request()), request(), 5.0)


def test_other_api_errors_name_the_node():
    core = StubCore([403])
    with pytest.raises(PrewarmError, match="patching node w1: forbidden"):
        nm._apply(core, plan_node(node("1"), request()), request(), 5.0)


def test_result_counts_failures_and_diffs_only_changed_nodes():
    changed = plan_node(node("1"), request())
    unchanged = dict(changed, name="w2", patch=None, action="unchanged")
    failed = dict(changed, name="w3")
    result = nm._result([(changed, None), (unchanged, None), (failed, PrewarmError("gone"))], False, True)
    assert result["summary"] == {"marked": 1, "released": 0, "unchanged": 1, "failed": 1}
    assert [n["action"] for n in result["nodes"]] == ["marked", "unchanged", "failed"]
    assert result["nodes"][2]["error"] == "gone"
    assert result["nodes"][2]["changed"] is False
    assert result["changed"] is True
    assert list(result["diff"]["before"]) == ["w1"]
    assert result["msg"] == "marked 1 node, 1 failed, 1 unchanged"


def test_message_in_check_mode():
    assert nm._message({"marked": 0, "released": 3, "unchanged": 0, "failed": 0}, True) == "would release 3 nodes"
    assert nm._message({"marked": 0, "released": 0, "unchanged": 0, "failed": 0}, False) == "0 unchanged"


def test_a_label_conflict_on_any_node_stops_the_run_before_any_write():
    clean = node("1")
    foreign = node("1")
    foreign["metadata"].update(name="w9", labels={KEY: "manual"})
    with pytest.raises(PrewarmError, match=r"no node changed; cannot mark 1 of 2 nodes: w9: label prewarm.k8s/maintenance=manual"):
        nm._plan_all([clean, foreign], request())
