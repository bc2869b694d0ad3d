# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_wait's decisions: RFC 3339 times, Ready with a heartbeat since a moment, kernel and OS image."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timezone

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.node_readiness import (
    NodeWaitTracker,
    node_state,
    parse_time,
    resolve_ready_after,
    wait_failure,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 3, 0, 0, tzinfo=UTC)
NOTHING = {"ready_after": None, "kernel_version": None, "os_image": None}


def node(name="n1", ready="True", heartbeat="2024-05-01T03:00:05Z", kernel="6.8.0-45-generic", os_image="Ubuntu 24.04.1 LTS"):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat, "reason": "KubeletReady"}],
                       "nodeInfo": {"kernelVersion": kernel, "osImage": os_image}}}


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01T03:00:00Z", T0),
    ("2024-05-01t03:00:00z", T0),
    ("2024-05-01T05:00:00+02:00", T0),
    ("2024-04-30T22:30:00-04:30", T0),
    ("2024-05-01T03:00:00.250Z", T0.replace(microsecond=250000)),
])
def test_parse_time(text, expected):
    assert parse_time(text, "ready_after") == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-05-01", "2024-05-01T03:00:00", "2024-13-01T03:00:00Z", ""])
def test_parse_time_names_option_and_value(text):
    with pytest.raises(InvalidInput, match="ready_after: %r" % text):
        parse_time(text, "ready_after")


def test_ready_after_now_and_fractions_are_truncated_to_the_second():
    now = T0.replace(microsecond=900000)
    assert resolve_ready_after("now", now) == T0
    assert resolve_ready_after("2024-05-01T03:00:00.999Z", now) == T0
    assert resolve_ready_after(None, now) is None


def test_ready_node_without_expectations_matches():
    state = node_state(node(), NOTHING)
    assert state["matched"] and state["ready"]
    assert state["last_heartbeat"] == "2024-05-01T03:00:05Z"
    assert state["message"] == "Ready, last heartbeat 2024-05-01T03:00:05Z, kernel 6.8.0-45-generic, OS image Ubuntu 24.04.1 LTS"


def test_heartbeat_in_the_same_second_counts_an_older_one_does_not():
    assert node_state(node(heartbeat="2024-05-01T03:00:00Z"), dict(NOTHING, ready_after=T0))["matched"]
    state = node_state(node(heartbeat="2024-05-01T02:59:59Z"), dict(NOTHING, ready_after=T0))
    assert not state["matched"]
    assert state["message"] == "no kubelet heartbeat since 2024-05-01T03:00:00Z yet (last: 2024-05-01T02:59:59Z)"


def test_every_missing_thing_is_named():
    expect = {"ready_after": T0, "kernel_version": "6.8.0-50-generic", "os_image": "Ubuntu 24.04.2 LTS"}
    state = node_state(node(ready="False", heartbeat=None), expect)
    assert not state["matched"] and not state["ready"]
    assert state["message"] == ("node is not Ready (Ready=False, KubeletReady); no kubelet heartbeat since 2024-05-01T03:00:00Z yet "
                                "(last: none); kernel is '6.8.0-45-generic', expected '6.8.0-50-generic'; "
                                "OS image is 'Ubuntu 24.04.1 LTS', expected 'Ubuntu 24.04.2 LTS'")


def test_missing_node():
    state = node_state(None, NOTHING)
    assert not state["matched"] and "does not exist" in state["message"]


def test_tracker_follows_events_and_deletions():
    tracker = NodeWaitTracker(["a", "b", "a"], dict(NOTHING, kernel_version="new"))
    assert tracker.names == ["a", "b"]
    tracker.replace(NODES, [node("a", kernel="old"), node("b", kernel="new"), node("other")])
    assert tracker.matched() == ["b"] and not tracker.all_warm
    tracker.apply(NODES, "MODIFIED", node("a", kernel="new"))
    tracker.apply(NODES, "MODIFIED", node("unrelated", kernel="old"))
    assert tracker.all_warm and "unrelated" not in tracker.results
    tracker.apply(NODES, "DELETED", node("b"))
    assert tracker.unmatched() == ["b"]
    assert wait_failure(tracker.results, tracker.unmatched(), 30) == (
        "timed out after 30s: 1 of 2 nodes not as expected: b: the node does not exist (it may not have registered again yet)")


def test_no_names_is_done_at_once():
    assert NodeWaitTracker([], NOTHING).all_warm
