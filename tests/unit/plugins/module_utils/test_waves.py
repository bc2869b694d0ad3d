# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warming in waves: admission bounded by max_pulling, release the moment a node is warm, when a run is done."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import (
    ADMITTED,
    MAINTENANCE,
    POOL,
    Waves,
    admission_label,
    admission_problem,
    preloader_scope,
)

LABEL = admission_label("preload-web")


class FakeTracker(object):
    """Stands in for WarmTracker: warmth is set by the test, events are recorded."""

    def __init__(self, names):
        self.results = dict((name, {"warm": False, "message": "pulling"}) for name in names)
        self.events = []

    def replace(self, kind, items):
        self.events.append((kind, "LIST", len(items)))

    def apply(self, kind, event_type, obj):
        self.events.append((kind, event_type, obj["metadata"]["name"]))


class FakeActions(object):
    """Records the writes asked for; fails those named in admit_errors / release_errors."""

    def __init__(self, admit_errors=None, release_errors=None):
        self.admitted, self.released = [], []
        self.admit_errors, self.release_errors = admit_errors or {}, release_errors or {}

    def admit(self, names):
        self.admitted.append(list(names))
        return dict((name, self.admit_errors.get(name)) for name in names)

    def release(self, nodes):
        names = [node["metadata"]["name"] for node in nodes]
        self.released.append(names)
        return dict((name, self.release_errors.get(name)) for name in names)


def node(name, admitted=False):
    labels = {"pool": "web"}
    if admitted:
        labels[LABEL] = "true"
    return {"metadata": {"name": name, "labels": labels}, "spec": {}}


def waves(names, max_pulling=2, gated=True, release=True, refused=None, actions=None, admitted=()):
    tracker = FakeTracker(names)
    run = Waves(names, tracker, LABEL, max_pulling, gated, release, refused or {}, actions or FakeActions(), clock=lambda: 100.0)
    run.start([node(name, name in admitted) for name in names])
    return run


def turn_warm(run, name):
    run.tracker.results[name] = {"warm": True, "message": "warm"}
    run.apply(NODES, "MODIFIED", node(name, admitted=True))


def test_admission_label_and_scope_read_back_from_the_daemonset():
    def daemonset(selector):
        return {"metadata": {"name": "preload-web"}, "spec": {"template": {"spec": {"nodeSelector": selector}}}}
    assert LABEL == "preload.prewarm.k8s/preload-web"
    assert preloader_scope(daemonset({"pool": "web", LABEL: "true"})) == ADMITTED
    assert preloader_scope(daemonset({"prewarm.k8s/maintenance": "true"})) == MAINTENANCE
    assert preloader_scope(daemonset({"pool": "web"})) == POOL
    assert preloader_scope({"metadata": {"name": "x"}}) == POOL


def test_first_wave_admits_max_pulling_nodes_in_the_order_given():
    run = waves(["c", "a", "b", "d"], max_pulling=2)
    assert run.actions.admitted == [["c", "a"]]
    assert run.max_pulling_seen == 2
    assert not run.all_warm


def test_each_node_turning_warm_is_released_and_frees_one_slot():
    run = waves(["a", "b", "c", "d"], max_pulling=2)
    turn_warm(run, "a")
    assert run.actions.released == [["a"]]
    assert run.actions.admitted == [["a", "b"], ["c"]]
    assert run.in_flight() == ["b", "c"]
    for name in ("b", "c", "d"):
        turn_warm(run, name)
    assert run.actions.admitted == [["a", "b"], ["c"], ["d"]]
    assert run.max_pulling_seen == 2
    assert run.all_warm
    assert run.cold() == []


def test_nodes_already_admitted_count_as_pulling():
    run = waves(["a", "b", "c"], max_pulling=2, admitted=("a", "b"))
    assert run.actions.admitted == []
    assert run.in_flight() == ["a", "b"]


def test_more_already_admitted_than_max_pulling_is_reported_not_hidden():
    run = waves(["a", "b", "c"], max_pulling=1, admitted=("a", "b"))
    assert run.actions.admitted == []
    assert run.max_pulling_seen == 2


def test_a_node_already_warm_at_start_is_released_at_once_and_takes_no_slot():
    tracker = FakeTracker(["a", "b"])
    tracker.results["a"] = {"warm": True, "message": "warm"}
    actions = FakeActions()
    run = Waves(["a", "b"], tracker, LABEL, 1, True, True, {}, actions, clock=lambda: 5.0)
    run.start([node("a", admitted=True), node("b")])
    assert actions.released == [["a"]]
    assert actions.admitted == [["b"]]
    assert run.warm_at == {"a": 5.0}


def test_refused_nodes_are_never_admitted_nor_waited_for():
    run = waves(["a", "b"], max_pulling=2, refused={"a": "disk full"})
    assert run.actions.admitted == [["b"]]
    turn_warm(run, "b")
    assert run.all_warm
    assert run.node_message("a", timed_out=True) == "refused: disk full"
    assert run.cold() == []


def test_without_release_a_warm_node_is_done_and_left_marked():
    run = waves(["a"], release=False)
    turn_warm(run, "a")
    assert run.actions.released == []
    assert run.all_warm


def test_ungated_scope_admits_nothing_and_counts_every_cold_node_as_pulling():
    run = waves(["a", "b", "c"], gated=False, max_pulling=1)
    assert run.actions.admitted == []
    assert run.max_pulling_seen == 3
    turn_warm(run, "a")
    assert run.actions.released == [["a"]]


def test_a_failed_admission_ends_that_node_and_the_slot_goes_to_the_next():
    actions = FakeActions(admit_errors={"a": "node was deleted during the run"})
    run = waves(["a", "b", "c"], max_pulling=1, actions=actions)
    assert actions.admitted == [["a"], ["b"]]
    assert run.errors == {"a": "node was deleted during the run"}
    turn_warm(run, "b")
    assert actions.admitted == [["a"], ["b"], ["c"]]
    assert run.node_message("a", timed_out=False) == "node was deleted during the run"
    assert run.cold() == ["a", "c"]


def test_a_failed_release_is_an_error_and_not_retried_on_every_event():
    actions = FakeActions(release_errors={"a": "forbidden"})
    run = waves(["a"], actions=actions)
    turn_warm(run, "a")
    run.apply(NODES, "MODIFIED", node("a", admitted=True))
    assert actions.released == [["a"]]
    assert run.all_warm and run.errors == {"a": "forbidden"}


def test_messages_for_nodes_waiting_for_a_slot():
    run = waves(["a", "b"], max_pulling=1)
    assert run.node_message("b", timed_out=False) == "waiting for a pulling slot (max_pulling 1)"
    assert "held all 1 pulling slots (max_pulling) until the timeout" in run.node_message("b", timed_out=True)
    assert run.node_message("a", timed_out=True) == "pulling"


def test_removing_the_admission_label_by_hand_frees_the_slot():
    run = waves(["a", "b"], max_pulling=1)
    run.apply(NODES, "MODIFIED", node("a", admitted=False))
    # "a" is no longer admitted, so it is admitted again first (the order given), not skipped.
    assert run.actions.admitted == [["a"], ["a"]]


def test_events_of_other_nodes_are_passed_on_but_ignored():
    run = waves(["a"], max_pulling=1)
    run.apply(NODES, "MODIFIED", node("zzz", admitted=True))
    assert "zzz" not in run.admitted
    assert run.tracker.events[-1] == (NODES, "MODIFIED", "zzz")


def test_admission_problem_names_why_no_pod_would_run():
    pod_spec = {"nodeSelector": {"pool": "web", LABEL: "true"}}
    assert admission_problem(node("a"), pod_spec, LABEL) is None
    other = {"metadata": {"name": "x", "labels": {"pool": "db"}}, "spec": {}}
    assert "does not match the preloader's nodeSelector (pool=web)" in admission_problem(other, pod_spec, LABEL)
    tainted = {"metadata": {"name": "x", "labels": {"pool": "web"}},
               "spec": {"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]}}
    assert "taint gpu=yes:NoSchedule" in admission_problem(tainted, pod_spec, LABEL)
    assert "labels" in node("a")["metadata"] and LABEL not in node("a")["metadata"]["labels"]


def test_batched_waves_decide_once_per_batch_and_release_a_burst_together():
    tracker = FakeTracker(["a", "b", "c", "d"])
    actions = FakeActions()
    run = Waves(["a", "b", "c", "d"], tracker, LABEL, 3, True, True, {}, actions, clock=lambda: 7.0, batched=True)
    run.start([node(name) for name in "abcd"])
    assert actions.admitted == [["a", "b", "c"]]
    for name in ("a", "b"):
        tracker.results[name] = {"warm": True, "message": "warm"}
        run.apply(NODES, "MODIFIED", node(name, admitted=True))
    # Taken note of, not acted on: the writes wait for settle().
    assert actions.released == [] and actions.admitted == [["a", "b", "c"]]
    run.settle()
    assert actions.released == [["a", "b"]]
    assert actions.admitted == [["a", "b", "c"], ["d"]]
    assert run.warm_at == {"a": 7.0, "b": 7.0}


def test_only_nodes_touched_by_an_event_are_looked_at_again():
    run = waves(["a", "b", "c"], max_pulling=3)
    # b's warmth changes without an event for b (cannot happen with the real tracker): not noticed.
    run.tracker.results["b"] = {"warm": True, "message": "warm"}
    turn_warm(run, "a")
    assert run.actions.released == [["a"]]
    run.replace(NODES, [node(name, admitted=True) for name in "abc"])
    # A relist touches every node.
    assert run.actions.released == [["a"], ["b"]]


def test_a_node_deleted_in_the_warm_wait_fails_at_once_and_frees_its_slot():
    run = waves(["a", "b", "c"], max_pulling=1)
    run.apply(NODES, "DELETED", node("a", admitted=True))
    assert run.errors == {"a": "the node no longer exists (deleted during the warm wait)"}
    # Its slot goes to the next node at once, not at the timeout.
    assert run.actions.admitted == [["a"], ["b"]]
    turn_warm(run, "b")
    turn_warm(run, "c")
    assert run.all_warm
    assert run.actions.released == [["b"], ["c"]]


def test_a_node_missing_from_a_relist_counts_as_deleted_but_a_released_one_stays_released():
    run = waves(["a", "b"], max_pulling=2)
    turn_warm(run, "a")
    assert run.actions.released == [["a"]]
    run.replace(NODES, [])
    assert sorted(run.errors) == ["b"]
    assert "a" in run.released_at and "a" not in run.errors
    assert run.all_warm


class TimedTracker(FakeTracker):
    """A FakeTracker whose results also change with time alone (WarmTracker.wake_in/tick)."""

    def __init__(self, names):
        super(TimedTracker, self).__init__(names)
        self.wake = None
        self.due = []

    def wake_in(self):
        return self.wake

    def tick(self):
        due, self.due = self.due, []
        return due


def test_waves_pass_the_trackers_wake_up_on_and_act_on_what_a_tick_changed():
    tracker = TimedTracker(["a", "b", "c"])
    actions = FakeActions()
    run = Waves(["a", "b", "c"], tracker, LABEL, 2, True, True, {}, actions, clock=lambda: 9.0)
    run.start([node(name) for name in "abc"])
    assert run.wake_in() is None
    tracker.wake = 12.5
    assert run.wake_in() == 12.5
    # a turns warm at its re-evaluation; b's result changes too, but b was not re-evaluated.
    tracker.results["a"] = tracker.results["b"] = {"warm": True, "message": "warm"}
    tracker.due = ["a"]
    run.tick()
    assert actions.released == [["a"]]
    assert actions.admitted == [["a", "b"], ["c"]]
    assert run.warm_at == {"a": 9.0}
    run.tick()
    assert actions.released == [["a"]]


def test_batched_waves_act_on_a_tick_at_the_next_settle():
    tracker = TimedTracker(["a", "b"])
    actions = FakeActions()
    run = Waves(["a", "b"], tracker, LABEL, 1, True, True, {}, actions, clock=lambda: 3.0, batched=True)
    run.start([node("a"), node("b")])
    tracker.results["a"] = {"warm": True, "message": "warm"}
    tracker.due = ["a"]
    run.tick()
    assert actions.released == [] and run.warm_at == {}
    run.settle()
    assert actions.released == [["a"]]
    assert actions.admitted == [["a"], ["b"]]


class RepullActions(FakeActions):
    def __init__(self, repull_errors=None):
        super(RepullActions, self).__init__()
        self.repulled, self.repull_errors = [], repull_errors or {}

    def repull(self, pods):
        self.repulled.append(dict(pods))
        return dict((name, self.repull_errors.get(name)) for name in pods)


def _drifted(run, name, state, current=True):
    run.tracker.results[name] = {"warm": False, "state": state, "pod": "pod-" + name, "pod_current": current, "message": state}
    run.apply(NODES, "MODIFIED", node(name, admitted=True))


def test_gone_and_stale_nodes_under_a_current_pod_pull_again_once_within_max_pulling():
    actions = RepullActions()
    run = Waves(["a", "b", "c", "d"], FakeTracker(["a", "b", "c", "d"]), LABEL, 2, False, True, {}, actions, clock=lambda: 1.0,
                repull=True)
    run.start([node(name, True) for name in "abcd"])
    assert actions.repulled == []
    _drifted(run, "a", "gone")
    _drifted(run, "b", "stale")
    _drifted(run, "c", "stale", current=False)  # its pod predates the template: the DaemonSet controller replaces it
    _drifted(run, "d", "gone")
    assert actions.repulled == [{"a": "pod-a"}, {"b": "pod-b"}]  # d waits: two nodes pull again already
    assert sorted(run.repulled_at) == ["a", "b"]
    turn_warm(run, "a")
    assert actions.repulled[-1] == {"d": "pod-d"}
    # Still gone after pulling again: not deleted a second time in the same run.
    _drifted(run, "b", "stale")
    assert len(actions.repulled) == 3


def test_repull_is_off_unless_asked_and_a_failed_delete_ends_the_node():
    plain = RepullActions()
    run = Waves(["a"], FakeTracker(["a"]), LABEL, 2, False, True, {}, plain, clock=lambda: 1.0)
    run.start([node("a", True)])
    _drifted(run, "a", "gone")
    assert plain.repulled == [] and not run.all_warm
    failing = RepullActions(repull_errors={"a": "deleting preloader pod pod-a to pull again: forbidden"})
    run = Waves(["a"], FakeTracker(["a"]), LABEL, 2, False, True, {}, failing, clock=lambda: 1.0, repull=True)
    run.start([node("a", True)])
    _drifted(run, "a", "gone")
    assert run.errors == {"a": "deleting preloader pod pod-a to pull again: forbidden"} and run.all_warm
