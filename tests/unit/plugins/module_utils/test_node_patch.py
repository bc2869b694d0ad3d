# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node write loop shared by node_maintenance and warmup (409 retry, per-node failures), against a stub CoreV1Api."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from kubernetes.client import ApiException

from ansible_collections.prewarm.k8s.plugins.module_utils import node_patch, transient
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import RELEASED, build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import serialise_record

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
    monkeypatch.setattr(node_patch.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(transient.time, "sleep", lambda seconds: None)


def test_conflict_rereads_replans_and_keeps_the_concurrent_taint():
    theirs = {"key": "late", "value": "x", "effect": "NoSchedule"}
    core = StubCore([409, 200], fresh=node("2", [theirs]))
    plan = node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
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
    plan = node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert plan["patch"] is None
    assert len(core.patches) == 1


def test_conflicts_are_bounded():
    core = StubCore([409] * node_patch.MAX_ATTEMPTS, fresh=node("2"))
    with pytest.raises(PrewarmError, match="still HTTP 409 Conflict after %d attempts" % node_patch.MAX_ATTEMPTS):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert len(core.patches) == node_patch.MAX_ATTEMPTS


def test_node_deleted_mid_run():
    core = StubCore([404])
    with pytest.raises(PrewarmError, match="node was deleted during the run"):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)


def test_other_api_errors_name_the_node():
    core = StubCore([403])
    with pytest.raises(PrewarmError, match="patching node w1: forbidden"):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)


def test_release_request_takes_off_only_what_the_annotation_owns():
    taint = {"key": KEY, "value": "true", "effect": "NoSchedule"}
    theirs = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    record = {"by": "ops@bastion", "since": "2024-05-01T03:00:00Z", "reason": None, "status": {},
              "owned": {"taint": taint, "label": {"key": KEY, "value": "true"}, "cordon": True}}
    marked = {"metadata": {"name": "w1", "resourceVersion": "7", "labels": {KEY: "true", "pool": "gpu"},
                           "annotations": {KEY: serialise_record(record)}},
              "spec": {"taints": [theirs, taint], "unschedulable": True}}
    plan = plan_node(marked, node_patch.release_request("2024-05-01T04:00:00Z", "warmup"))
    assert plan["action"] == RELEASED
    assert plan["patch"] == {"metadata": {"labels": {KEY: None}, "annotations": {KEY: None}, "resourceVersion": "7"},
                             "spec": {"taints": [theirs], "unschedulable": None}}


def test_transient_refusals_are_sent_again_and_a_repeat_that_landed_is_replanned():
    # 429, then a 503 for a patch that did land: the same patch again meets 409, the fresh
    # read shows the node done, and nothing more is sent.
    done = plan_node(node("1"), request())["patch"]
    fresh = node("2", done["spec"]["taints"])
    fresh["metadata"].update(labels=done["metadata"]["labels"], annotations=done["metadata"]["annotations"])
    core = StubCore([429, 503, 409], fresh=fresh)
    plan = node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert plan["patch"] is None
    assert [patch["metadata"]["resourceVersion"] for patch in core.patches] == ["1", "1", "1"]
    assert core.reads == 1


def test_a_server_that_keeps_failing_is_reported_with_the_number_of_requests():
    core = StubCore([503] * transient.MAX_ATTEMPTS)
    with pytest.raises(PrewarmError, match=r"patching node w1: HTTP 503: .* \(sent %d times\)" % transient.MAX_ATTEMPTS):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert len(core.patches) == transient.MAX_ATTEMPTS
