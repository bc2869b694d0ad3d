# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS, WarmTracker
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import LIST_LAG_SECONDS, NODE_STATES

DIGEST = "sha256:" + "c" * 64
IMAGES = [{"container": "pull-0", "image": "127.0.0.1:5000/base:1", "digest": DIGEST}]
OWNER = "ds-uid"
DONE = {"terminated": {"exitCode": 0}}
# What containerd names an image pulled by tag, in the node's status.images.
LISTED = [{"names": ["127.0.0.1:5000/base@" + DIGEST, "127.0.0.1:5000/base:1"], "sizeBytes": 10 ** 8}]
T0 = calendar.timegm((2026, 3, 1, 12, 0, 0))


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def node(name, ready="True", taints=None, images=None):
    return {"metadata": {"name": name}, "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": ready}], "images": LISTED if images is None else images}}


def pod(node_name, warm=True, name=None, owner=OWNER, finished_at=None, image_id="127.0.0.1:5000/base@" + DIGEST):
    name = name or "preload-" + node_name
    done = {"terminated": dict(DONE["terminated"], finishedAt=iso(finished_at))} if finished_at is not None else DONE
    return {
        "metadata": {"name": name, "uid": "uid-" + name, "creationTimestamp": "2025-01-01T00:00:00Z",
                     "ownerReferences": [{"controller": True, "uid": owner}]},
        "spec": {"nodeName": node_name,
                 "initContainers": [{"name": "install-agent", "image": "agent"}, {"name": "pull-0", "image": IMAGES[0]["image"]}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if warm else "False"}],
            "initContainerStatuses": [{"name": "install-agent", "state": DONE},
                                      {"name": "pull-0", "state": done if warm else {"waiting": {"reason": "PodInitializing"}},
                                       "imageID": image_id if warm else ""}],
            "containerStatuses": [{"name": "hold", "state": {"running": {}} if warm else {"waiting": {}}}],
        },
    }


def tracker(names, nodes, pods, pod_spec=None, **options):
    tracked = WarmTracker(names, IMAGES, pod_spec or {}, OWNER, **options)
    tracked.replace(NODES, nodes)
    tracked.replace(PODS, pods)
    return tracked


class Clock(object):
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_initial_lists_give_warm_and_cold_nodes():
    tracked = tracker(["a", "b"], [node("a"), node("b")], [pod("a"), pod("b", warm=False)])
    assert tracked.warm() == ["a"]
    assert tracked.cold() == ["b"]
    assert tracked.all_warm is False
    assert tracked.results["b"]["images"][0]["state"] == "pulling"


def test_a_pod_event_re_evaluates_only_its_node():
    tracked = tracker(["a", "b"], [node("a"), node("b")], [pod("a"), pod("b", warm=False)])
    untouched = tracked.results["a"]
    assert tracked.apply(PODS, "MODIFIED", pod("b")) == "b"
    assert tracked.results["a"] is untouched
    assert tracked.all_warm is True


def test_deleted_pod_leaves_the_node_without_pod():
    tracked = tracker(["a"], [node("a")], [pod("a")])
    assert tracked.apply(PODS, "DELETED", pod("a")) == "a"
    assert tracked.results["a"]["pod"] is None
    assert tracked.results["a"]["images"][0]["state"] == "no_pod"
    assert tracked.cold() == ["a"]


def test_replacement_pod_counts_once_the_old_one_is_terminating():
    tracked = tracker(["a"], [node("a")], [pod("a", name="old")])
    terminating = pod("a", name="old")
    terminating["metadata"]["deletionTimestamp"] = "2025-01-02T00:00:00Z"
    tracked.apply(PODS, "MODIFIED", terminating)
    assert "being deleted" in tracked.results["a"]["message"]
    tracked.apply(PODS, "ADDED", pod("a", warm=False, name="new"))
    assert tracked.results["a"]["pod"] == "new"
    assert tracked.results["a"]["images"][0]["state"] == "pulling"


def test_node_events_update_readiness_and_deletion():
    tracked = tracker(["a"], [node("a")], [pod("a")])
    tracked.apply(NODES, "MODIFIED", node("a", ready="Unknown"))
    assert tracked.cold() == ["a"]
    tracked.apply(NODES, "MODIFIED", node("a"))
    assert tracked.all_warm is True
    tracked.apply(NODES, "DELETED", node("a"))
    assert tracked.cold() == ["a"]
    assert "the node no longer exists" in tracked.results["a"]["message"]


def test_events_for_other_nodes_and_foreign_pods_are_ignored():
    tracked = tracker(["a"], [node("a"), node("z")], [pod("a", warm=False), pod("z")])
    assert "z" not in tracked.results
    assert tracked.apply(NODES, "MODIFIED", node("z")) is None
    assert tracked.apply(PODS, "ADDED", pod("a", name="impostor", owner="other-uid")) is None
    assert tracked.results["a"]["pod"] == "preload-a"


def test_missing_pod_is_explained_from_the_template():
    tainted = node("a", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    tracked = tracker(["a"], [tainted], [])
    assert tracked.results["a"]["message"] == \
        "no preloader pod: the node has the taint dedicated=db:NoSchedule, which the preloader does not tolerate"


def test_relist_replaces_what_was_known():
    tracked = tracker(["a", "b"], [node("a"), node("b")], [pod("a"), pod("b")])
    tracked.replace(PODS, [pod("a")])
    assert tracked.cold() == ["b"]
    assert tracked.results["b"]["pod"] is None


def test_a_thousand_nodes_and_a_burst_of_events_evaluate_fast():
    names = ["node-%04d" % index for index in range(1000)]
    # CPU time of this process: other work on the machine (a test cluster, a build) does not count.
    started = time.process_time()
    tracked = tracker(names, [node(name) for name in names], [pod(name, warm=False) for name in names])
    for name in names:
        tracked.apply(PODS, "MODIFIED", pod(name))
    elapsed = time.process_time() - started
    assert tracked.all_warm is True
    assert len(tracked.warm()) == 1000
    assert elapsed < 1.0


def test_a_fresh_pull_not_listed_yet_is_re_evaluated_at_the_end_of_the_list_lag():
    clock = Clock(T0 + 30)
    tracked = tracker(["a", "b"], [node("a", images=[]), node("b")], [pod("a", finished_at=T0), pod("b")], clock=clock)
    # a's pod pulled 30 s ago and its node does not list the image yet: its pod's word counts for now.
    assert tracked.warm() == ["a", "b"]
    assert tracked.results["a"]["images"][0]["state"] == "present"
    assert "recheck_at" not in tracked.results["a"]
    assert tracked.wake_in() == LIST_LAG_SECONDS - 30
    untouched = tracked.results["b"]
    clock.now = T0 + 60
    assert tracked.wake_in() == LIST_LAG_SECONDS - 60
    assert tracked.tick() == []
    assert tracked.results["a"]["state"] == "warm"
    clock.now = T0 + LIST_LAG_SECONDS
    assert tracked.wake_in() == 0
    assert tracked.tick() == ["a"]
    assert tracked.results["a"]["images"][0]["state"] == "gone"
    assert tracked.results["a"]["state"] == "gone"
    assert tracked.cold() == ["a"] and tracked.all_warm is False
    assert tracked.results["b"] is untouched
    # Nothing left to wait for: no more wake-ups.
    assert tracked.wake_in() is None
    clock.now = T0 + 1000
    assert tracked.tick() == []


def test_a_wake_up_already_past_is_due_at_once():
    clock = Clock(T0 + 10)
    tracked = tracker(["a"], [node("a", images=[])], [pod("a", finished_at=T0)], clock=clock)
    clock.now = T0 + 500
    assert tracked.wake_in() == 0.0
    assert tracked.tick() == ["a"]
    assert tracked.results["a"]["state"] == "gone"


def test_the_node_listing_the_image_in_time_ends_the_wait_for_it():
    clock = Clock(T0 + 30)
    tracked = tracker(["a"], [node("a", images=[])], [pod("a", finished_at=T0)], clock=clock)
    assert tracked.wake_in() == LIST_LAG_SECONDS - 30
    clock.now = T0 + 45
    assert tracked.apply(NODES, "MODIFIED", node("a")) == "a"
    assert tracked.wake_in() is None
    clock.now = T0 + LIST_LAG_SECONDS
    assert tracked.tick() == []
    assert tracked.results["a"]["state"] == "warm" and tracked.all_warm


def test_the_earliest_deadline_of_several_nodes_wakes_first():
    clock = Clock(T0 + 30)
    tracked = tracker(["a", "b", "c"], [node(name, images=[]) for name in "abc"],
                      [pod("a", finished_at=T0 + 20), pod("b", finished_at=T0), pod("c", warm=False)], clock=clock)
    assert tracked.wake_in() == LIST_LAG_SECONDS - 30
    clock.now = T0 + LIST_LAG_SECONDS
    assert tracked.tick() == ["b"]
    assert tracked.wake_in() == 20
    clock.now = T0 + 20 + LIST_LAG_SECONDS
    assert tracked.tick() == ["a"]
    assert tracked.wake_in() is None
    assert tracked.states() == {"warm": 0, "stale": 0, "gone": 2, "cold": 1, "failed": 0}


def test_states_counts_every_state():
    moved = "sha256:" + "d" * 64
    names = ["warm-1", "warm-2", "stale", "gone", "cold", "failed"]
    # The pool names `moved` under the tag now: the nodes listing it are warm, the one still holding DIGEST is stale.
    current = [{"names": ["127.0.0.1:5000/base@" + moved, "127.0.0.1:5000/base:1"], "sizeBytes": 10 ** 8}]
    nodes = [node("warm-1", images=current), node("warm-2", images=current), node("stale"), node("gone", images=[]),
             node("cold", images=current), node("failed", images=current)]
    pods = [pod("warm-1", image_id="127.0.0.1:5000/base@" + moved), pod("warm-2", image_id="127.0.0.1:5000/base@" + moved),
            pod("stale"), pod("gone"), pod("cold", warm=False), pod("failed", warm=False)]
    pods[-1]["status"]["initContainerStatuses"][1]["state"] = {"waiting": {"reason": "ErrImagePull", "message": "not found"}}
    tracked = WarmTracker(names, [dict(IMAGES[0], wanted=moved)], {}, OWNER, clock=Clock(T0))
    tracked.replace(NODES, nodes)
    tracked.replace(PODS, pods)
    assert dict((name, tracked.results[name]["state"]) for name in names) == dict((name, name.split("-", maxsplit=1)[0]) for name in names)
    assert tracked.states() == {"warm": 2, "stale": 1, "gone": 1, "cold": 1, "failed": 1}
    assert tracked.warm() == ["warm-1", "warm-2"]
    # Every state is named, with nodes or not.
    assert tracker(["x"], [node("x")], [pod("x", warm=False)]).states() == {"warm": 0, "stale": 0, "gone": 0, "cold": 1, "failed": 0}
    assert sorted(tracker([], [], []).states().items()) == sorted(dict.fromkeys(NODE_STATES, 0).items())


def test_the_kubelets_cap_is_passed_on():
    full = [{"names": ["registry.example/other-%d:1" % index], "sizeBytes": 1} for index in range(10)]
    capped = tracker(["a"], [node("a", images=full)], [pod("a")], max_images=10)
    assert capped.results["a"]["images"][0]["state"] == "unknown"
    assert capped.results["a"]["state"] == "cold"
    uncapped = tracker(["a"], [node("a", images=full)], [pod("a")], max_images=0)
    assert uncapped.results["a"]["images"][0]["state"] == "gone"


def test_a_deleted_node_is_cold_not_gone_while_its_pod_lingers():
    # The pod outlives its node until the pod garbage collector deletes it: its images were not
    # removed from the node, the node is gone as a whole.
    tracked = tracker(["a", "b"], [node("a"), node("b")], [pod("a"), pod("b")], clock=Clock(T0))
    tracked.apply(NODES, "DELETED", node("a"))
    assert tracked.results["a"]["state"] == "cold"
    assert tracked.results["a"]["images"][0]["state"] == "present"
    assert tracked.results["a"]["message"] == "node is not Ready (Ready=Unknown, NodeDeleted: the node no longer exists)"
    # The same when a relist no longer has it.
    tracked.replace(NODES, [node("a")])
    assert tracked.cold() == ["b"]
    assert tracked.results["a"]["state"] == "warm" and tracked.results["b"]["state"] == "cold"
    assert tracked.results["b"]["images"][0]["state"] == "present"
    tracked.replace(NODES, [])
    assert [tracked.results[name]["state"] for name in "ab"] == ["cold", "cold"]
    assert tracked.states() == {"warm": 0, "stale": 0, "gone": 0, "cold": 2, "failed": 0}
