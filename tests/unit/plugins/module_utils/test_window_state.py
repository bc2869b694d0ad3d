# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a node's window resumes, whether it is already upgraded, and what reconcile does with it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.prewarm.k8s.plugins.filter.reconcile_plan import reconcile_plan as reconcile_plan_filter
from ansible_collections.prewarm.k8s.plugins.filter.window_resume import window_resume
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.window_state import (
    is_upgraded, reconcile_decision, reconcile_plan, resume_index, resume_point)

STEPS = ["marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm"]
FINISHABLE = ["ready", "image_gc", "pruned", "uncordoned", "warm"]
DONE = {"key": "example.com/os-upgrade", "value": "2026-12"}


def _record(step=None, result=None, error=None):
    status = {k: v for k, v in (("step", step), ("result", result), ("error", error)) if v is not None}
    return json.dumps({"by": "ops@bastion", "since": "2026-12-04T03:00:00Z", "reason": "kernel",
                       "owned": {"taint": None, "label": None, "cordon": True}, "status": status})


def _node(name="web-1", record=None, labels=None, kernel="6.1.0-28", os_image="Debian GNU/Linux 12"):
    annotations = {"prewarm.k8s/maintenance": record} if record is not None else {}
    return {"metadata": {"name": name, "labels": labels or {}, "annotations": annotations},
            "status": {"nodeInfo": {"kernelVersion": kernel, "osImage": os_image}}}


# ---------------------------------------------------------------- already upgraded

def test_the_done_label_says_upgraded_its_value_compared_as_text():
    assert is_upgraded(_node(labels={DONE["key"]: "2026-12"}), DONE)
    assert is_upgraded(_node(labels={"k": "7"}), {"key": "k", "value": 7})
    assert not is_upgraded(_node(labels={DONE["key"]: "2026-11"}), DONE)
    assert not is_upgraded(_node(), DONE)


def test_the_kernel_and_os_image_expected_say_upgraded_an_empty_one_meaning_any():
    assert is_upgraded(_node(kernel="6.12.9"), kernel_version="6.12.9")
    assert not is_upgraded(_node(kernel="6.1.0-28"), kernel_version="6.12.9")
    assert is_upgraded(_node(os_image="Debian GNU/Linux 13"), kernel_version="", os_image="Debian GNU/Linux 13")
    assert not is_upgraded(_node(kernel="6.12.9", os_image="Debian GNU/Linux 12"), kernel_version="6.12.9",
                           os_image="Debian GNU/Linux 13")


def test_without_label_kernel_or_os_image_nothing_is_upgraded():
    assert not is_upgraded(_node())
    assert not is_upgraded({"metadata": {"name": "bare"}})


# ---------------------------------------------------------------- resume

@pytest.mark.parametrize("step, result, start", [
    (None, None, 0),
    ("marked", "done", 1),
    ("drained", "failed", 1),  # a failed step runs again
    ("warm", "done", 9),
    ("renamed-in-a-later-version", "done", 0),
])
def test_a_node_resumes_after_its_last_step_done_or_at_the_one_that_failed(step, result, start):
    assert resume_index(STEPS, {"step": step, "result": result} if step else {}) == start


def test_a_marked_node_resumes_where_it_stopped_even_if_it_looks_upgraded():
    node = _node(record=_record("rebooted", "done"), labels={DONE["key"]: DONE["value"]})
    assert resume_point(node, STEPS, True, DONE) == {"start": 4, "since": "2026-12-04T03:00:00Z", "already_upgraded": False}


def test_an_unmarked_upgraded_node_has_nothing_to_do_unless_told_otherwise():
    node = _node(labels={DONE["key"]: DONE["value"]})
    assert resume_point(node, STEPS, True, DONE) == {"start": len(STEPS), "since": None, "already_upgraded": True}
    assert resume_point(node, STEPS, False, DONE) == {"start": 0, "since": None, "already_upgraded": False}


def test_an_unmarked_node_not_upgraded_starts_at_the_first_step():
    assert resume_point(_node(), STEPS, True, DONE, "6.12.9") == {"start": 0, "since": None, "already_upgraded": False}


def test_an_unreadable_annotation_is_refused_naming_the_node_and_why():
    with pytest.raises(InvalidInput, match=r"^node web-1: its prewarm.k8s/maintenance annotation cannot be read \(not valid JSON"):
        resume_point(_node(record="{oops"), STEPS)
    with pytest.raises(InvalidInput, match=r"field 'owned' missing"):
        window_resume(_node(record=json.dumps({"by": "x", "since": "y"})), STEPS)


def test_the_filter_takes_any_sequence_of_steps():
    assert window_resume(_node(record=_record("marked", "done")), tuple(STEPS))["start"] == 1


# ---------------------------------------------------------------- reconcile

def _decide(node, drifted=False, **kwargs):
    return reconcile_decision(node, "web", FINISHABLE, drifted, **kwargs)


def test_an_unmarked_node_is_warmed_when_back_from_an_upgrade_or_drifted():
    assert _decide(_node(labels={DONE["key"]: DONE["value"]}), done_label=DONE)["warm"]
    assert _decide(_node(), drifted=True)["warm"]
    row = _decide(_node())
    assert row == {"node": "web-1", "pool": "web", "marked": False, "drifted": False, "since": None, "step": None,
                   "step_result": None, "error": None, "upgraded": False, "warm": False}


@pytest.mark.parametrize("step, result, warm", [
    ("ready", "done", True), ("image_gc", "done", True), ("uncordoned", "done", True),
    ("warm", "failed", True),  # a window that died while warming is finished
    ("image_gc", "failed", False), ("drained", "done", False), ("rebooted", "done", False),
])
def test_a_window_is_finished_only_from_a_step_past_ready(step, result, warm):
    row = _decide(_node(record=_record(step, result, "boom" if result == "failed" else None)), drifted=True)
    assert row["warm"] is warm  # drifted or not: a marked node is its window's
    assert (row["marked"], row["step"], row["step_result"], row["since"]) == (True, step, result, "2026-12-04T03:00:00Z")


def test_a_node_marked_by_hand_is_warmed_once_upgraded_but_not_for_drift():
    hand = _record()
    assert _decide(_node(record=hand, kernel="6.12.9"), kernel_version="6.12.9")["warm"]
    assert not _decide(_node(record=hand), drifted=True)["warm"]


def test_an_unreadable_annotation_leaves_the_node_alone_and_says_why():
    row = _decide(_node(record="[]", labels={DONE["key"]: DONE["value"]}), drifted=True, done_label=DONE)
    assert row["warm"] is False and row["marked"] is True
    assert row["error"] == "the prewarm.k8s/maintenance annotation cannot be read (not a JSON object)"


def test_the_plan_covers_every_node_of_every_pool_in_order():
    listed = [{"item": "web", "resources": [_node("web-1"), _node("web-2")]}, {"item": "gpu", "resources": []},
              {"item": "batch", "resources": [_node("batch-1", record=_record("warm", "failed"))]}]
    rows = reconcile_plan_filter(listed, ["web-2"], FINISHABLE)
    wanted = [("web-1", "web", False), ("web-2", "web", True), ("batch-1", "batch", True)]
    assert [(r["node"], r["pool"], r["warm"]) for r in rows] == wanted
    assert rows == reconcile_plan([(r["item"], r["resources"]) for r in listed], ["web-2"], FINISHABLE)


# ---------------------------------------------------------------- the node read by name

def test_the_filter_takes_what_a_read_by_name_returned():
    listed = [_node(record=_record("drained", "done"))]
    assert window_resume(listed, STEPS, name="web-1")["start"] == STEPS.index("upgraded")


def test_a_name_no_node_answers_fails_naming_the_node_before_anything_changed():
    with pytest.raises(InvalidInput) as exc:
        window_resume([], STEPS, name="web-404")
    assert "there is no node 'web-404' in the cluster" in exc.value.msg
    assert "prewarm_node_name" in exc.value.msg and "nothing was changed" in exc.value.msg


def test_two_nodes_for_one_name_are_refused():
    with pytest.raises(InvalidInput, match="2 nodes were read for the name 'web-1'"):
        window_resume([_node(), _node()], STEPS, name="web-1")
