# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch loop driven by in-memory event streams (no cluster, no HTTP)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils import paging, watcher
from ansible_collections.prewarm.k8s.plugins.module_utils.controller import ControllerGone
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import ApiFailure


class StatusError(Exception):
    """Stands in for kubernetes.client.ApiException: only .status matters to the loop."""

    def __init__(self, status, reason="boom"):
        super(StatusError, self).__init__(reason)
        self.status = status
        self.reason = reason
        self.body = None


class FakeSource(object):
    """A LIST/WATCH source that plays scripted watch sessions, then blocks until stopped.

    Each session is a list of events and exceptions, played in order (an exception ends the
    session by being raised, as a broken stream would).
    """

    def __init__(self, sessions, relists=()):
        self._sessions = list(sessions)
        self._relists = list(relists)
        self.watched_from = []
        self.lists = 0
        self._stopped = threading.Event()

    def list(self):
        self.lists += 1
        return self._relists.pop(0)

    def watch(self, resource_version):
        self.watched_from.append(resource_version)
        if not self._sessions:
            self._stopped.wait(5)
            return
        for step in self._sessions.pop(0):
            if isinstance(step, Exception):
                raise step
            yield step

    def stop(self):
        self._stopped.set()


class RecordingTracker(object):
    """Warm once it has seen the object named `until` (by an event or a relist)."""

    def __init__(self, until):
        self._until = until
        self.seen = []
        self.all_warm = False

    def apply(self, kind, event_type, obj):
        self.seen.append((kind, event_type, obj["metadata"]["name"]))
        self.all_warm = self.all_warm or obj["metadata"]["name"] == self._until

    def replace(self, kind, items):
        self.seen.append((kind, "RELIST", [item["metadata"]["name"] for item in items]))
        self.all_warm = self.all_warm or any(item["metadata"]["name"] == self._until for item in items)


def event(event_type, name, version):
    return {"type": event_type, "object": {"metadata": {"name": name, "resourceVersion": version}}}


def bookmark(version):
    return {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": version}}}


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(watcher, "FIRST_BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(watcher, "MAX_BACKOFF_SECONDS", 0.02)


def follow(streams, tracker, seconds=5):
    return watcher.follow(streams, tracker, time.monotonic() + seconds)


def test_events_from_both_streams_reach_the_tracker_until_warm():
    nodes = FakeSource([[event("MODIFIED", "node-1", "11")]])
    pods = FakeSource([[event("ADDED", "pod-1", "12"), event("MODIFIED", "done", "13")]])
    tracker = RecordingTracker("done")
    assert follow([("nodes", nodes, "10"), ("pods", pods, "10")], tracker) == (True, {})
    assert ("pods", "MODIFIED", "done") in tracker.seen
    assert pods.watched_from[0] == "10"


def test_an_ended_watch_resumes_from_the_last_resource_version():
    pods = FakeSource([[event("ADDED", "pod-1", "12"), bookmark("20")], [event("MODIFIED", "done", "21")]])
    tracker = RecordingTracker("done")
    assert follow([("pods", pods, "10")], tracker)[0] is True
    # The stream thread may already have started the next session when the loop stops.
    assert pods.watched_from[:2] == ["10", "20"]
    assert ("pods", "BOOKMARK", None) not in tracker.seen


def test_gone_relists_and_watches_from_the_new_version():
    expired = FakeSource([[event("ADDED", "pod-1", "12"), StatusError(410, "Expired")], []],
                         relists=[([{"metadata": {"name": "done"}}], "50")])
    tracker = RecordingTracker("done")
    assert follow([("pods", expired, "10")], tracker) == (True, {})
    assert expired.lists == 1
    assert tracker.seen == [("pods", "ADDED", "pod-1"), ("pods", "RELIST", ["done"])]


def test_connection_errors_back_off_and_resume_without_losing_events():
    # An API server restart: the stream breaks, reconnecting fails once, then works again.
    pods = FakeSource([[event("ADDED", "pod-1", "12"), ConnectionResetError("reset by peer")],
                       [ConnectionRefusedError("connection refused")],
                       [event("MODIFIED", "done", "13")]])
    tracker = RecordingTracker("done")
    warm, trouble = follow([("pods", pods, "10")], tracker)
    assert warm is True
    assert trouble == {}
    assert pods.watched_from[:3] == ["10", "12", "12"]


def test_a_bookmark_after_an_error_clears_the_trouble():
    pods = FakeSource([[ConnectionRefusedError("connection refused")], [bookmark("11")]])
    warm, trouble = follow([("pods", pods, "10")], RecordingTracker("never"), seconds=0.3)
    assert warm is False
    assert trouble == {}
    assert pods.watched_from[:2] == ["10", "10"]


def test_server_errors_are_retried_too():
    pods = FakeSource([[StatusError(500, "Internal Server Error")], [event("MODIFIED", "done", "13")]])
    assert follow([("pods", pods, "10")], RecordingTracker("done"))[0] is True


def test_refused_credentials_fail_the_wait():
    pods = FakeSource([[StatusError(403, "Forbidden")]])
    with pytest.raises(ApiFailure) as failure:
        follow([("pods", pods, "10")], RecordingTracker("done"))
    assert failure.value.msg.startswith("watching pods: forbidden (HTTP 403)")


def test_deadline_returns_not_warm_with_the_unresolved_trouble():
    broken = FakeSource([[ConnectionRefusedError("connection refused")]] * 1000)
    started = time.monotonic()
    warm, trouble = follow([("pods", broken, "10")], RecordingTracker("never"), seconds=0.3)
    assert warm is False
    assert trouble == {"pods": "watching pods: cannot reach the API server: connection refused"}
    assert time.monotonic() - started < 2


def test_already_warm_returns_without_waiting():
    tracker = RecordingTracker("x")
    tracker.all_warm = True
    assert follow([("pods", FakeSource([]), "10")], tracker) == (True, {})


class Page(object):
    def __init__(self, items, version, token=None):
        self.data = json.dumps({"items": items, "metadata": {"resourceVersion": version, "continue": token}})


def test_api_list_follows_continue_tokens():
    calls = []

    def list_func(**kwargs):
        calls.append(kwargs)
        if kwargs["_continue"] is None:
            return Page([{"metadata": {"name": "a"}}], "7", "next")
        return Page([{"metadata": {"name": "b"}}], "9")

    source = watcher.ApiListWatch(list_func, 30, label_selector="app=x")
    items, version = source.list()
    assert [item["metadata"]["name"] for item in items] == ["a", "b"]
    assert version == "9"
    assert [call["_continue"] for call in calls] == [None, "next"]
    assert all(call["label_selector"] == "app=x" and call["limit"] == paging.LIST_PAGE_SIZE for call in calls)


def test_counts_report_each_reconnect_and_relist():
    # An API server restart: the stream breaks, reopening it is refused twice, then a 410 (its
    # history was lost) and a relist, then the awaited event.
    pods = FakeSource([[event("ADDED", "pod-1", "12"), ConnectionResetError("reset by peer")],
                       [ConnectionRefusedError("connection refused")],
                       [StatusError(410, "Expired")],
                       [event("MODIFIED", "done", "51")]],
                      relists=[([{"metadata": {"name": "pod-1"}}], "50")])
    counts = {}
    assert watcher.follow([("pods", pods, "10")], RecordingTracker("done"), time.monotonic() + 5, counts=counts)[0] is True
    assert counts == {"reconnects": 1, "relists": 1}


def test_counts_stay_zero_for_a_watch_that_never_failed():
    counts = {}
    pods = FakeSource([[event("MODIFIED", "done", "13")]])
    watcher.follow([("pods", pods, "10")], RecordingTracker("done"), time.monotonic() + 5, counts=counts)
    assert counts == {"reconnects": 0, "relists": 0}


class SettlingTracker(RecordingTracker):
    """Records, at each settle(), how many events it had seen: the loop must settle after every batch."""

    def __init__(self, until):
        super(SettlingTracker, self).__init__(until)
        self.settled_at = []
        self._warm_seen = False

    def apply(self, kind, event_type, obj):
        self.seen.append((kind, event_type, obj["metadata"]["name"]))
        self._warm_seen = self._warm_seen or obj["metadata"]["name"] == self._until

    def settle(self):
        self.settled_at.append(len(self.seen))
        # Like warmup's Waves: warm only once it has acted on what it saw.
        self.all_warm = self._warm_seen


def test_a_tracker_with_settle_gets_every_queued_event_before_it_settles():
    events = [event("MODIFIED", "n%d" % i, str(i)) for i in range(50)] + [event("MODIFIED", "done", "50")]
    tracker = SettlingTracker("done")
    warm, trouble = follow([("nodes", FakeSource([events]), "0")], tracker)
    assert warm and trouble == {}
    assert [name for _kind, _type, name in tracker.seen] == ["n%d" % i for i in range(50)] + ["done"]
    # Settled after the last event, never more often than once per event, and each time with more events seen.
    assert tracker.settled_at[-1] == 51
    assert len(tracker.settled_at) <= 51
    assert tracker.settled_at == sorted(set(tracker.settled_at))


def test_listed_and_watched_objects_are_kept_without_managed_fields():
    node = {"metadata": {"name": "n", "resourceVersion": "1", "managedFields": [{"manager": "kubelet"}]}, "spec": {}}
    assert watcher.lean(node) == {"metadata": {"name": "n", "resourceVersion": "1"}, "spec": {}}
    assert watcher.lean({"metadata": {"resourceVersion": "2"}}) == {"metadata": {"resourceVersion": "2"}}
    assert watcher.lean({}) == {}


class WakingTracker(RecordingTracker):
    """Has results that change with time alone, like WarmTracker within the node image list's lag.

    A re-evaluation is due `delay` seconds after the start (and after each one before the last);
    the tracker is warm after `ticks_to_warm` of them. Records each tick() call and how many
    events it had seen then.
    """

    def __init__(self, delay, ticks_to_warm=1, until="never"):
        super(WakingTracker, self).__init__(until)
        self.delay = delay
        self.due = time.monotonic() + delay
        self.ticks_to_warm = ticks_to_warm
        self.ticked = []
        self.early = 0

    def wake_in(self):
        return None if self.due is None else max(0.0, self.due - time.monotonic())

    def tick(self):
        now = time.monotonic()
        if self.due is None or now < self.due:
            self.early += 1
            return []
        self.ticked.append(len(self.seen))
        if len(self.ticked) >= self.ticks_to_warm:
            self.all_warm, self.due = True, None
        else:
            self.due = now + self.delay
        return ["node-1"]


def test_a_tracker_is_woken_when_its_results_are_due_with_no_event():
    tracker = WakingTracker(0.05)
    started = time.monotonic()
    assert follow([("nodes", FakeSource([]), "10"), ("pods", FakeSource([]), "10")], tracker, seconds=5) == (True, {})
    assert 0.05 <= time.monotonic() - started < 1
    assert tracker.ticked == [0] and tracker.early == 0


def test_a_tracker_is_woken_again_for_each_deadline_it_names():
    tracker = WakingTracker(0.03, ticks_to_warm=3)
    assert follow([("pods", FakeSource([]), "10")], tracker, seconds=5) == (True, {})
    assert tracker.ticked == [0, 0, 0]


def test_a_wake_up_after_the_deadline_is_not_waited_for():
    tracker = WakingTracker(10)
    started = time.monotonic()
    assert follow([("pods", FakeSource([]), "10")], tracker, seconds=0.2) == (False, {})
    assert time.monotonic() - started < 1
    assert tracker.ticked == [] and tracker.early == 0


def test_a_tracker_with_nothing_due_is_not_woken():
    tracker = WakingTracker(0.01)
    tracker.due = None
    assert follow([("pods", FakeSource([]), "10")], tracker, seconds=0.15) == (False, {})
    assert tracker.ticked == [] and tracker.early == 0


class WakingSettlingTracker(WakingTracker):
    """Like Waves: acts (and turns warm) only at settle(), which must follow each tick too."""

    def __init__(self, delay):
        super(WakingSettlingTracker, self).__init__(delay)
        self.settled = []

    def tick(self):
        due = super(WakingSettlingTracker, self).tick()
        self.all_warm = False
        return due

    def settle(self):
        self.settled.append(len(self.ticked))
        self.all_warm = bool(self.ticked)


def test_a_tick_is_followed_by_a_settle():
    tracker = WakingSettlingTracker(0.05)
    assert follow([("pods", FakeSource([]), "10")], tracker, seconds=5) == (True, {})
    assert tracker.settled == [1]


class TrickleSource(FakeSource):
    """A watch that delivers an event every `interval` seconds, `count` of them, then blocks."""

    def __init__(self, count, interval):
        super(TrickleSource, self).__init__([])
        self._count, self._interval = count, interval

    def watch(self, resource_version):
        self.watched_from.append(resource_version)
        for index in range(self._count):
            if self._stopped.wait(self._interval):
                return
            yield event("MODIFIED", "pod-%d" % index, str(11 + index))
        self._stopped.wait(5)


def test_a_steady_trickle_of_events_does_not_hold_off_a_wake_up():
    # A large pool's pods and nodes change many times a second; a node whose image list is due
    # to be checked again must be checked then, not once the events stop.
    tracker = WakingTracker(0.05)
    source = TrickleSource(count=100, interval=0.01)
    started = time.monotonic()
    assert follow([("pods", source, "10")], tracker, seconds=5) == (True, {})
    assert time.monotonic() - started < 0.5
    assert len(tracker.ticked) == 1 and tracker.ticked[0] < 50


def test_api_list_narrows_each_item_after_keeping_its_fields():
    from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_FIELDS
    from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import narrow_images, repositories

    node = {"metadata": {"name": "a", "managedFields": [{"manager": "kubelet"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.34.4"},
                       "images": [{"names": ["127.0.0.1:5000/base:1"], "sizeBytes": 5},
                                  {"names": ["registry.example/other:1"], "sizeBytes": 9}]}}

    def list_func(**kwargs):
        return Page([node], "7")

    source = watcher.ApiListWatch(list_func, 30, kept_fields=NODE_FIELDS, narrow=narrow_images(repositories(["127.0.0.1:5000/base:1"])))
    items, _version = source.list()
    assert items == [{"metadata": {"name": "a"},
                      "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                 "images": [{"names": ["127.0.0.1:5000/base:1"]}], "imagesListed": 2}}]
    source.narrow = None
    assert "images" not in source.list()[0][0]["status"]


# --- the playbook that started the wait is gone ---------------------------------------------


def test_an_abandoned_wait_stops_within_the_check_interval_and_applies_nothing_more(monkeypatch):
    monkeypatch.setattr(watcher, "CHECK_INTERVAL", 0.05)
    asked = []
    gone_after = time.monotonic() + 0.2

    def abandoned():
        asked.append(time.monotonic())
        return time.monotonic() >= gone_after

    tracker = RecordingTracker("never")
    started = time.monotonic()
    with pytest.raises(ControllerGone) as caught:
        watcher.follow([("pods", FakeSource([]), "10")], tracker, time.monotonic() + 30, abandoned=abandoned)
    assert 0.2 <= time.monotonic() - started < 1
    assert caught.value.msg.startswith("the ansible-playbook run that started this module ended")
    # Asked about once per interval, not in a busy loop.
    assert 3 <= len(asked) <= 12


def test_a_wait_still_wanted_ends_as_before_and_is_still_woken_on_time(monkeypatch):
    monkeypatch.setattr(watcher, "CHECK_INTERVAL", 0.02)
    assert watcher.follow([("pods", FakeSource([]), "10")], RecordingTracker("never"), time.monotonic() + 0.2,
                          abandoned=lambda: False) == (False, {})
    tracker = WakingTracker(0.1)
    assert watcher.follow([("pods", FakeSource([]), "10")], tracker, time.monotonic() + 5, abandoned=lambda: False) == (True, {})
    assert tracker.ticked == [0] and tracker.early == 0


def test_a_steady_stream_of_events_does_not_hold_off_the_check(monkeypatch):
    monkeypatch.setattr(watcher, "CHECK_INTERVAL", 0.05)
    flood = FakeSource([[event("MODIFIED", "node-%d" % i, str(i)) for i in range(200000)]])
    calls = []
    with pytest.raises(ControllerGone):
        watcher.follow([("nodes", flood, "1")], RecordingTracker("never"), time.monotonic() + 30,
                       abandoned=lambda: calls.append(1) or len(calls) > 2)
