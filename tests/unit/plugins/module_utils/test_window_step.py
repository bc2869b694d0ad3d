# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recording a window's steps: who is still in the window, what one batch write says, each host's timeline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.prewarm.k8s.plugins.filter.window_live import window_live
from ansible_collections.prewarm.k8s.plugins.filter.window_progress import window_progress
from ansible_collections.prewarm.k8s.plugins.filter.window_step_end import window_step_end
from ansible_collections.prewarm.k8s.plugins.filter.window_timeline import window_timeline
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import MAINTENANCE_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import parse_record, serialise_record
from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import (
    MAX_ENTRIES, advance, advance_through, check_after, check_done_label, check_flag, check_step_options, check_timeline,
    check_wait_timeout, done_label_patches, ended_timeline, host_failure, host_window, is_live, merged_waits, node_outcome,
    not_back, progress, recorded_nodes, recorded_timelines, resume_note, resumed_timeline, step_writes, stored_timeline,
    timeline_entry, wait_groups)

STEPS = ["marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm"]
UNCORDON = 7
T0, T1, T2 = "2026-12-06T03:00:00Z", "2026-12-06T03:01:00Z", "2026-12-06T03:02:30Z"


def state(node, start=0, **more):
    return dict({"node": node, "pool": "cpu", "start": start, "since": None, "step_started": None, "failed_task": None,
                 "window": "w1", "timeline": []}, **more)


def test_a_host_that_failed_in_the_window_is_no_longer_live_but_one_failed_before_it_is():
    assert is_live({"node_upgrade_state": state("a")})
    assert not is_live({"node_upgrade_state": state("a"), "ansible_failed_task": {"uuid": "u-2"}})
    assert is_live({"node_upgrade_state": state("a", failed_task="u-1"), "ansible_failed_task": {"uuid": "u-1"}})
    assert not is_live({"other": 1})
    batch = [{"node_upgrade_state": state("a")}, {"node_upgrade_state": state("b"), "ansible_failed_task": {"uuid": "x"}},
             {"inventory_hostname": "c"}]
    assert [s["node"] for s in window_live(batch)] == ["a"]


def test_a_step_is_one_write_for_the_nodes_that_ran_it_with_our_cordon_until_the_uncordon_step():
    states = [state("b"), state("a"), state("late", start=3)]
    assert step_writes("drained", STEPS, UNCORDON, states) == [
        {"nodes": ["a", "b"], "cordon": True, "status": {"step": "drained", "result": "done", "error": None}}]
    assert step_writes("uncordoned", STEPS, UNCORDON, states)[0]["cordon"] is False
    assert step_writes("drained", STEPS, UNCORDON, [state("late", start=3)]) == []


def test_the_mark_also_marks_again_the_nodes_resuming_later_keeping_their_status():
    states = [state("new"), state("mid", start=4), state("warm", start=8), state("done", start=len(STEPS))]
    assert step_writes("marked", STEPS, UNCORDON, states) == [
        {"nodes": ["new"], "cordon": True, "status": {"step": "marked", "result": "done", "error": None}},
        {"nodes": ["mid"], "cordon": True, "status": None},
        {"nodes": ["warm"], "cordon": False, "status": None},
    ]


def test_a_window_starts_where_the_state_says_until_window_step_moves_it_on():
    begun = state("a", start=2, since=T0, step_started=T1, timeline=["kept"])
    assert progress(begun, None) == {"window": "w1", "at": 2, "step_started": T1, "since": T0, "timeline": ["kept"]}
    moved = {"window": "w1", "at": 3, "step_started": T2, "since": T0, "timeline": ["kept", "more"]}
    assert window_progress(begun, moved) == moved
    # The fact of an earlier run of the window (a fact cache keeps facts across runs) is not this window's.
    assert progress(begun, dict(moved, window="w0"))["at"] == 2


def test_a_recorded_step_closes_its_entry_and_starts_the_next():
    window = advance(0, progress(state("a", step_started=T0), None), "marked", STEPS, T1)
    assert window["timeline"] == [{"step": "marked", "start": T0, "end": T1, "result": "done", "error": None}]
    assert (window["at"], window["step_started"]) == (1, T1)
    window = advance(0, window, "drained", STEPS, T2)
    assert window["timeline"][-1] == {"step": "drained", "start": T1, "end": T2, "result": "done", "error": None}
    assert window["at"] == 2


def test_a_node_resuming_later_gets_no_entry_only_the_start_of_its_next_step():
    window = advance(3, progress(state("a", start=3, timeline=["kept"]), None), "drained", STEPS, T1)
    assert window["timeline"] == ["kept"] and window["at"] == 3 and window["step_started"] == T1


def test_the_write_stores_for_each_node_the_timeline_its_host_will_hold():
    windows = [(state("a", step_started=T0), progress(state("a", step_started=T0), None)),
               (state("late", start=5), progress(state("late", start=5), None))]
    stored = recorded_timelines(["drained"], STEPS, windows, T1)
    assert list(stored) == ["a"]
    assert stored["a"] == advance(0, windows[0][1], "drained", STEPS, T1)["timeline"]


def test_steps_recorded_after_the_tasks_that_did_them_end_at_the_record_in_one_write():
    # The prune (a tasks file) is recorded by the uncordon step, in the same write: both end at the record.
    a = progress(state("a", start=6, step_started=T0), None)
    resumed = progress(state("b", start=7, step_started=T0), None)
    stored = recorded_timelines(["pruned", "uncordoned"], STEPS, [(state("a", start=6), a), (state("b", start=7), resumed)], T1)
    assert [(entry["step"], entry["start"], entry["end"]) for entry in stored["a"]] == [
        ("pruned", T0, T1), ("uncordoned", T1, T1)]
    # A node that resumes at the uncordon step did not prune in this run: only its own step.
    assert [entry["step"] for entry in stored["b"]] == ["uncordoned"]
    window = advance_through(6, a, ["pruned", "uncordoned"], STEPS, T1)
    assert (window["at"], window["step_started"], window["timeline"]) == (8, T1, stored["a"])


@pytest.mark.parametrize("after,done", [(None, []), ([], []), (["rebooted"], ["rebooted"]),
                                        (["drained", "rebooted"], ["drained", "rebooted"])])
def test_after_names_earlier_steps_in_order(after, done):
    assert check_after(after, "ready", STEPS) == done


@pytest.mark.parametrize("after,message", [
    ("rebooted", "after must be a list of steps (%s), got 'rebooted'" % ", ".join(STEPS)),
    (["rebooot"], "after must be a list of steps (%s), got ['rebooot']" % ", ".join(STEPS)),
    (["ready"], "after must name steps before 'ready', in their order, got ['ready']"),
    (["warm"], "after must name steps before 'ready', in their order, got ['warm']"),
    (["rebooted", "drained"], "after must name steps before 'ready', in their order, got ['rebooted', 'drained']"),
    (["rebooted", "rebooted"], "after must name steps before 'ready', in their order, got ['rebooted', 'rebooted']"),
])
def test_a_bad_after_is_refused_naming_it(after, message):
    with pytest.raises(InvalidInput) as failed:
        check_after(after, "ready", STEPS)
    assert failed.value.msg == message


@pytest.mark.parametrize("value,flag", [(True, True), (False, False), ("yes", True), ("False", False)])
def test_a_flag_takes_ansibles_forms(value, flag):
    assert check_flag(value, "reboot_next") is flag


def test_a_bad_flag_is_refused_naming_it():
    with pytest.raises(InvalidInput) as failed:
        check_flag("perhaps", "reboot_next")
    assert failed.value.msg == "reboot_next must be true or false, got 'perhaps'"


def test_each_host_moves_on_through_the_records_that_named_its_node():
    window = progress(state("a", start=3, step_started=T0), None)
    checkpoints = [{"done": ["rebooted"], "ended": T1, "nodes": ["a", "b"]},
                   {"done": ["ready"], "ended": T2, "nodes": ["b"]}]
    # Recorded rebooted, then left out of the ready record (not back): the rescue gets the window after rebooted.
    moved = host_window(state("a", start=3), window, STEPS, checkpoints)
    assert (moved["at"], [entry["step"] for entry in moved["timeline"]]) == (READY, ["rebooted"])
    both = host_window(state("b", start=3), window, STEPS, checkpoints)
    assert (both["at"], [entry["step"] for entry in both["timeline"]]) == (READY + 1, ["rebooted", "ready"])
    assert host_window(state("gone", start=3), window, STEPS, checkpoints) == window


def test_a_host_fails_for_the_wait_or_its_record_and_says_which():
    shared = {"answers": {"a": {"action": "updated"}, "gone": {"action": "failed", "error": "not found"}},
              "failure": None, "ready": {"matched": ["a", "gone"], "nodes": {"late": {"message": "late: no heartbeat"}}}}
    assert host_failure(state("a"), READY, shared) is None
    assert host_failure(state("late"), READY, shared) == "late: no heartbeat"
    assert host_failure(state("gone"), READY, shared) == "could not be recorded: not found"
    assert host_failure(state("a"), READY, dict(shared, failure="API unreachable")) == "could not be recorded: API unreachable"
    assert host_failure(state("a"), READY, dict(shared, wait_failure="bad kernel_version")) == (
        "the wait for the nodes failed: bad kernel_version")


def test_in_a_rescue_the_failed_records_window_is_newer_than_the_fact():
    begun = state("a", start=3)
    fact = {"window": "w1", "at": 3, "step_started": T0, "since": T0, "timeline": []}
    failed = {"failed": True, "window": dict(fact, at=READY, step_started=T1)}
    assert progress(begun, fact, failed)["at"] == READY
    assert window_progress(begun, fact, failed)["at"] == READY
    # Another task's failure, or a window_step's of an earlier window: the fact.
    assert progress(begun, fact, {"failed": True, "msg": "apt failed"}) == fact
    assert progress(begun, fact, {"window": dict(fact, window="w0", at=8)}) == fact


def test_a_failed_or_warm_step_is_added_from_its_start_with_its_error():
    window = progress(state("a", step_started=T1), None)
    failed = ended_timeline(window, "drained", "failed", "drain: held", T2)
    assert failed == [{"step": "drained", "start": T1, "end": T2, "result": "failed", "error": "drain: held"}]
    warm = window_step_end(window, "warm")
    assert warm[0]["step"] == "warm" and warm[0]["result"] == "done" and warm[0]["start"] == T1 and warm[0]["end"]
    with pytest.raises(InvalidInput, match="result: must be one of done, failed, skipped, got 'ok'"):
        timeline_entry("warm", T0, T1, "ok")


def test_each_host_finds_whether_its_node_was_recorded():
    # node_maintenance's `nodes`: per node name.
    answers = {"a": {"action": "marked", "error": None, "annotation": {"since": T0}},
               "b": {"action": "failed", "error": "no such node (deleted since the play read it?)", "annotation": None}}
    assert node_outcome("a", answers, None) == (True, None, {"since": T0})
    assert node_outcome("b", answers, None) == (False, "no such node (deleted since the play read it?)", None)
    assert node_outcome("later", answers, None) == (True, None, None)
    assert node_outcome("a", {}, "cannot reach the API") == (False, "cannot reach the API", None)


def test_a_timeline_is_checked_entry_by_entry_and_kept_to_its_latest_entries():
    entries = [timeline_entry("s%d" % n, T0, T1) for n in range(MAX_ENTRIES + 5)]
    assert check_timeline(entries, "steps.a") == entries[5:]
    with pytest.raises(InvalidInput, match=r"steps.a\[1\]: field 'result' must be one of done, failed, skipped"):
        check_timeline([entries[0], dict(entries[0], result="ok")], "steps.a")
    with pytest.raises(InvalidInput, match=r"steps.a\[0\]: field 'end' must be a string or null"):
        check_timeline([dict(entries[0], end=3)], "steps.a")
    with pytest.raises(InvalidInput, match="steps.a: must be a list of step entries, got dict"):
        check_timeline({}, "steps.a")


def test_a_resumed_window_keeps_the_stored_times_and_says_which_steps_it_has_none_of():
    stored = [timeline_entry("marked", T0, T1), timeline_entry("drained", T1, T2, "failed", "held")]
    record = {"by": "x", "since": T0, "owned": {}, "status": {"step": "drained", "result": "failed"}, "steps": stored}
    assert resumed_timeline(record, STEPS, 1, T2) == stored
    older = {"by": "x", "since": T0, "owned": {}, "status": {"step": "upgraded", "result": "done"}}
    assert resumed_timeline(older, STEPS, 3, T2) == [timeline_entry(s, T2, None, "skipped") for s in STEPS[:3]]
    assert resumed_timeline({}, STEPS, len(STEPS), T2) == []
    assert stored_timeline({"steps": [{"step": 1}]}) == []


def _node(record):
    return {"metadata": {"name": "a", "resourceVersion": "1", "labels": {},
                         "annotations": {MAINTENANCE_ANNOTATION: serialise_record(record)} if record else {}}, "spec": {}}


def _request(**params):
    base = {"state": "present", "taint": {"key": "prewarm.k8s/maintenance", "value": "true", "effect": "NoSchedule"},
            "label": {"key": "prewarm.k8s/maintenance", "value": "true"}, "reason": None, "by": None, "cordon": True,
            "status": None, "steps": None}
    base.update(params)
    return build_request(base, now=T0, default_by="ops@bastion")


def test_the_annotation_keeps_the_timeline_in_its_own_field_and_status_stays_strings_only():
    timeline = [timeline_entry("marked", T0, T1)]
    plan = plan_node(_node(None), _request(status={"step": "marked", "result": "done"}, steps={"a": timeline}))
    record, problem = parse_record(plan["patch"]["metadata"]["annotations"][MAINTENANCE_ANNOTATION])
    assert problem is None and record["steps"] == timeline and record["status"] == {"step": "marked", "result": "done"}
    # A write that names no timeline for the node keeps the one it has.
    again = plan_node(_node(record), _request(status={"step": "drained", "result": "done"}))
    kept = json.loads(again["patch"]["metadata"]["annotations"][MAINTENANCE_ANNOTATION])
    assert kept["steps"] == timeline and kept["status"]["step"] == "drained"


def test_a_bad_timeline_or_one_given_to_a_release_is_refused_naming_it():
    with pytest.raises(InvalidInput, match=r"steps.a\[0\]: field 'start' must be a string"):
        _request(steps={"a": [{"step": "marked", "start": None, "result": "done"}]})
    with pytest.raises(InvalidInput, match="steps: only recorded when marking"):
        _request(state="absent", steps={"a": []})


def test_the_timeline_filter_reads_the_node_as_the_api_returns_it():
    stored = [timeline_entry("marked", T0, T1)]
    node = _node({"by": "x", "since": T0, "owned": {"taint": None, "label": None, "cordon": True},
                  "status": {"step": "marked", "result": "done"}, "steps": stored})
    assert window_timeline(node, tuple(STEPS), "1") == stored
    assert window_timeline(_node(None), STEPS, 0) == []


@pytest.mark.parametrize("options, message", [
    (("drained", "marked", 2), "steps must be a non-empty list of step names, got 'marked'"),
    (("warm", STEPS[:3], 2), "step 'warm' is not one of steps (marked, drained, upgraded)"),
    (("drained", STEPS, "x"), "uncordon_index must be an integer, got 'x'"),
])
def test_window_step_refuses_bad_options_naming_the_value(options, message):
    with pytest.raises(InvalidInput) as failed:
        check_step_options(*options)
    assert failed.value.msg == message


def test_window_step_takes_the_uncordon_index_as_text_too():
    assert check_step_options("drained", STEPS, "7") == ("drained", STEPS, 7)


READY = STEPS.index("ready")


def test_the_nodes_the_wait_did_not_find_back_fail_with_its_message_and_the_others_do_not():
    states = [state("a"), state("b", start=2), state("c"), state("later", start=READY + 1)]
    waited = {"matched": ["a"], "nodes": {"a": {"message": "ready"}, "b": {"message": "b: kernel 6.1, expected 6.8"}},
              "msg": "1 of 3 nodes not back"}
    # c has no per-node result: the wait's own message; a node resuming after the step is not the wait's.
    assert not_back(READY, states, waited) == {"b": "b: kernel 6.1, expected 6.8", "c": "1 of 3 nodes not back"}
    assert not_back(READY, [state("c")], {"matched": []}) == {"c": "not back as expected (no result from the wait)"}


def test_without_a_wait_or_with_a_skipped_one_nobody_fails_for_it():
    assert not_back(READY, [state("a")], None) == {}
    # Skipped because no node of the batch needed it: every node resumes after the step.
    assert not_back(READY, [state("a", start=READY + 2)], {"skipped": True, "changed": False}) == {}


def test_the_done_label_goes_on_the_recorded_nodes_only():
    states = [state("a"), state("b"), state("gone"), state("later", start=READY + 1)]
    answers = {"a": {"action": "updated"}, "b": {"action": "unchanged"}, "gone": {"action": "failed", "error": "not found"}}
    assert recorded_nodes(READY, states, answers, None) == ["a", "b"]
    assert recorded_nodes(READY, states, answers, "API unreachable") == []
    label = check_done_label({"key": "example.com/os-upgraded", "value": 2026})
    assert label == {"key": "example.com/os-upgraded", "value": "2026"}
    assert done_label_patches(label, ["b", "a"]) == [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"example.com/os-upgraded": "2026"}}}
        for name in ("a", "b")]


@pytest.mark.parametrize("label", [{"value": "x"}, {"key": "", "value": "x"}, {"key": "k"}, "k=v"])
def test_a_bad_done_label_is_refused_naming_it(label):
    with pytest.raises(InvalidInput) as failed:
        check_done_label(label)
    assert failed.value.msg == "done_label must be a dict with a non-empty key and a value, got %r" % (label,)


@pytest.mark.parametrize("timeout,seconds", [(None, None), (600, 600), ("30", 30), (" 5 ", 5)])
def test_the_wait_timeout_is_a_positive_whole_number_of_seconds(timeout, seconds):
    assert check_wait_timeout(timeout) == seconds


@pytest.mark.parametrize("timeout", [0, -5, "ten", "1.5", 2.5, [600]])
def test_a_bad_wait_timeout_is_refused_naming_it(timeout):
    with pytest.raises(InvalidInput) as failed:
        check_wait_timeout(timeout)
    assert failed.value.msg == "wait_timeout must be a positive whole number of seconds, got %r" % (timeout,)


def test_each_node_is_waited_for_with_its_own_hosts_expectation():
    states = [state("gpu-1", kernel_version="6.8", os_image=None, reboot_started=T1),
              state("cpu-1", kernel_version="6.1", os_image="Debian 13", reboot_started=T2),
              state("gpu-2", kernel_version="6.8", reboot_started=T0),
              state("cpu-2", kernel_version="6.1", os_image="Debian 13"),
              state("plain"),
              state("later", start=READY + 1, kernel_version="9.9")]
    assert wait_groups(READY, states) == [
        {"nodes": ["plain"], "kernel_version": None, "os_image": None, "ready_after": None},
        {"nodes": ["cpu-1", "cpu-2"], "kernel_version": "6.1", "os_image": "Debian 13", "ready_after": T2},
        {"nodes": ["gpu-1", "gpu-2"], "kernel_version": "6.8", "os_image": None, "ready_after": T0}]
    # Every node resumes after the step: no wait at all.
    assert wait_groups(READY, [state("later", start=READY + 1)]) == []


def test_the_waits_answers_make_one_result_each_node_with_its_own_groups_message():
    waits = [{"nodes": ["a", "b"]}, {"nodes": ["c"]}]
    answers = [{"matched": ["a"], "nodes": {"a": {"matched": True, "message": "Ready"}, "b": {"matched": False}},
                "msg": "timed out after 600s: 1 of 2 nodes not as expected: b: kernel 6.1, expected 6.8", "failed": True},
               {"matched": ["c"], "nodes": {"c": {"matched": True, "message": "Ready, kernel 6.1"}}, "msg": "1 of 1"}]
    ready, failure = merged_waits(waits, answers)
    assert failure is None
    assert ready["matched"] == ["a", "c"]
    assert not_back(READY, [state("a"), state("b"), state("c")], ready) == {
        "b": "timed out after 600s: 1 of 2 nodes not as expected: b: kernel 6.1, expected 6.8"}
    # A null message is no message either.
    ready, dummy = merged_waits([{"nodes": ["b"]}], [{"matched": [], "nodes": {"b": {"message": None}}, "msg": "b: late"}])
    assert not_back(READY, [state("b")], ready) == {"b": "b: late"}


def test_a_wait_that_failed_as_a_whole_fails_the_batch_with_its_message():
    waits = [{"nodes": ["a"]}, {"nodes": ["b"]}]
    answers = [{"matched": ["a"], "nodes": {"a": {"matched": True}}},
               {"failed": True, "msg": "kernel_version: expected a string"}]
    assert merged_waits(waits, answers) == (None, "kernel_version: expected a string")
    assert merged_waits([{"nodes": ["a"]}], [{"failed": True}]) == (None, "node_wait failed")


def test_the_mark_names_a_node_that_resumes_and_only_such_a_node():
    assert resume_note(state("a", start=2, since=T0), STEPS) == (
        "a resumes its window at step upgraded (under maintenance since %s)" % T0)
    assert resume_note(state("b", start=1), STEPS) == "b resumes its window at step drained (under maintenance since an unknown time)"
    assert resume_note(state("new"), STEPS) is None
    assert resume_note(state("done", start=len(STEPS)), STEPS) is None
