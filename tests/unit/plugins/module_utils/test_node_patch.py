# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node write loop shared by node_maintenance and warmup (re-plan when the node moved, per-node failures)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from kubernetes.client import ApiException

from ansible_collections.prewarm.k8s.plugins.module_utils import node_patch, transient
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import RELEASED, build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import serialise_record
from ansible_collections.prewarm.k8s.tests.unit.plugins.module_utils.api_json_patch import Refused, apply_operations

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
    """An API server holding one node: a JSON Patch applies as the real one applies it.

    `statuses` script answers before the patch is applied (200 applies it; "landed-503" applies it
    and then loses the answer); `meanwhile` changes the node before each patch, as another writer.
    """

    api_client = type("Client", (), {"configuration": type("Conf", (), {"host": "https://api:6443"})()})()

    def __init__(self, current, statuses=(), meanwhile=None):
        self.current = current
        self.statuses = list(statuses)
        self.meanwhile = meanwhile
        self.patches = []
        self.reads = 0

    def patch_node(self, name, body, **kwargs):
        assert kwargs["_content_type"] == "application/json-patch+json"
        self.patches.append(body)
        if self.meanwhile:
            self.meanwhile(self.current)
        status = self.statuses.pop(0) if self.statuses else 200
        if status not in (200, "landed-503"):
            raise ApiException(status=status, reason="nope")
        try:
            self.current = apply_operations(self.current, body)
        except Refused:
            raise ApiException(status=422, reason="Unprocessable Entity")
        if status == "landed-503":
            raise ApiException(status=503, reason="Service Unavailable")
        self.current["metadata"]["resourceVersion"] = str(int(self.current["metadata"]["resourceVersion"]) + 1)
        return Response()

    def read_node(self, name, **kwargs):
        self.reads += 1
        return Response(self.current)


def their_taint(current):
    current["spec"]["taints"].append({"key": "late", "value": str(len(current["spec"]["taints"])), "effect": "NoSchedule"})


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(node_patch.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(transient.time, "sleep", lambda seconds: None)


def test_a_status_write_between_read_and_patch_costs_no_second_request():
    def status_write(current):
        current["metadata"]["resourceVersion"] = "2"
        current["status"] = {"images": [{"names": ["busybox"]}]}

    core = StubCore(node("1"), meanwhile=status_write)
    node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert (len(core.patches), core.reads) == (1, 0)
    assert core.current["spec"]["taints"] == [{"key": KEY, "value": "true", "effect": "NoSchedule"}]
    assert core.current["status"] == {"images": [{"names": ["busybox"]}]}


def test_a_taint_added_between_read_and_patch_is_read_again_and_kept():
    theirs = {"key": "late", "value": "x", "effect": "NoSchedule"}
    core = StubCore(node("1"), meanwhile=lambda current: current["spec"]["taints"].append(theirs) if not core.patches[1:] else None)
    plan = node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert (len(core.patches), core.reads) == (2, 1)
    assert core.current["spec"]["taints"] == [theirs, {"key": KEY, "value": "true", "effect": "NoSchedule"}]
    assert plan["operations"] == core.patches[1]


def test_a_node_another_run_finished_in_between_gets_no_second_patch():
    done = StubCore(node("1"))
    node_patch.apply_plan(done, plan_node(node("1"), request()), request(), 5.0)
    core = StubCore(done.current)
    plan = node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert plan["patch"] is None
    assert (len(core.patches), core.reads) == (1, 1)


def test_a_writer_that_never_stops_changing_the_taints_is_bounded():
    core = StubCore(node("1"), meanwhile=their_taint)
    with pytest.raises(PrewarmError, match="changed between our read and our write %d times in a row" % node_patch.MAX_ATTEMPTS):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert len(core.patches) == node_patch.MAX_ATTEMPTS


def test_a_refusal_of_the_change_itself_is_reported_not_retried():
    # 422 while nothing the patch tests has moved: the API server refused the change itself.
    core = StubCore(node("1"), statuses=[422])
    with pytest.raises(PrewarmError, match="patching node w1: HTTP 422"):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert (len(core.patches), core.reads) == (1, 1)


def test_a_409_is_read_again_and_planned_again():
    core = StubCore(node("1"), statuses=[409])
    node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert (len(core.patches), core.reads) == (2, 1)
    assert core.current["spec"]["taints"] == [{"key": KEY, "value": "true", "effect": "NoSchedule"}]


def test_node_deleted_mid_run():
    core = StubCore(node("1"), statuses=[404])
    with pytest.raises(PrewarmError, match="node was deleted during the run"):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)


def test_other_api_errors_name_the_node():
    core = StubCore(node("1"), statuses=[403])
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
    assert plan["patch"] == {"metadata": {"labels": {KEY: None}, "annotations": {KEY: None}},
                             "spec": {"taints": [theirs], "unschedulable": None}}


def test_transient_refusals_are_sent_again_and_a_repeat_that_landed_is_replanned():
    # 429, then a 503 for a patch that did land: the same patch again fails its tests (422), the
    # fresh read shows the node done, and nothing more is sent.
    core = StubCore(node("1"), statuses=[429, "landed-503"])
    plan = node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert plan["patch"] is None
    assert len(core.patches) == 3 and core.patches[0] == core.patches[1] == core.patches[2]
    assert core.reads == 1
    assert core.current["spec"]["taints"] == [{"key": KEY, "value": "true", "effect": "NoSchedule"}]


def test_a_server_that_keeps_failing_is_reported_with_the_number_of_requests():
    core = StubCore(node("1"), statuses=[503] * transient.MAX_ATTEMPTS)
    with pytest.raises(PrewarmError, match=r"patching node w1: HTTP 503: .* \(sent %d times\)" % transient.MAX_ATTEMPTS):
        node_patch.apply_plan(core, plan_node(node("1"), request()), request(), 5.0)
    assert len(core.patches) == transient.MAX_ATTEMPTS
