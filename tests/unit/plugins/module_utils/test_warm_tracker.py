# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS, WarmTracker

IMAGES = [{"container": "pull-0", "image": "127.0.0.1:5000/base:1"}]
OWNER = "ds-uid"
DONE = {"terminated": {"exitCode": 0}}


def node(name, ready="True", taints=None):
    return {"metadata": {"name": name}, "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def pod(node_name, warm=True, name=None, owner=OWNER):
    name = name or "preload-" + node_name
    return {
        "metadata": {"name": name, "uid": "uid-" + name, "creationTimestamp": "2025-01-01T00:00:00Z",
                     "ownerReferences": [{"controller": True, "uid": owner}]},
        "spec": {"nodeName": node_name,
                 "initContainers": [{"name": "install-agent", "image": "agent"}, {"name": "pull-0", "image": IMAGES[0]["image"]}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if warm else "False"}],
            "initContainerStatuses": [{"name": "install-agent", "state": DONE},
                                      {"name": "pull-0", "state": DONE if warm else {"waiting": {"reason": "PodInitializing"}}}],
            "containerStatuses": [{"name": "hold", "state": {"running": {}} if warm else {"waiting": {}}}],
        },
    }


def tracker(names, nodes, pods, pod_spec=None):
    tracked = WarmTracker(names, IMAGES, pod_spec or {}, OWNER)
    tracked.replace(NODES, nodes)
    tracked.replace(PODS, pods)
    return tracked


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
    started = time.monotonic()
    tracked = tracker(names, [node(name) for name in names], [pod(name, warm=False) for name in names])
    for name in names:
        tracked.apply(PODS, "MODIFIED", pod(name))
    elapsed = time.monotonic() - started
    assert tracked.all_warm is True
    assert len(tracked.warm()) == 1000
    assert elapsed < 1.0
