# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""warmup's decisions: the nodes it refuses before admitting any, and what it reports per node and in all."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils import warmup_outcome
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import Waves, admission_label

LABEL = admission_label("preload-web")
REF = "127.0.0.1:5000/ml/model:1"
GIB = 1024 ** 3
POD_SPEC = {"nodeSelector": {"pool": "web", LABEL: "true"}, "tolerations": [{"operator": "Exists"}]}


def node(name, pool="web", admitted=False, images=()):
    labels = {"pool": pool}
    if admitted:
        labels[LABEL] = "true"
    return {"metadata": {"name": name, "labels": labels}, "spec": {},
            "status": {"images": [{"names": list(images), "sizeBytes": GIB}]}}


def stats(capacity_gib, available_gib):
    return {"node": {"runtime": {"imageFs": {"capacityBytes": capacity_gib * GIB, "availableBytes": available_gib * GIB}}}}


def test_admitted_nodes_are_not_checked_again_and_a_node_outside_the_pool_is_refused():
    nodes = [node("web-1"), node("web-2", admitted=True), node("db-1", pool="db"), node("web-3", images=[REF])]
    refused, lacking = warmup_outcome.admission_refusals(nodes, POD_SPEC, LABEL, [REF])
    assert list(refused) == ["db-1"] and "would get no preloader pod even when admitted" in refused["db-1"]
    # web-3 holds the image already: nothing to pull, nothing to check.
    assert lacking == {"web-1": [REF]}


def test_a_node_whose_disk_cannot_take_the_images_is_refused_and_an_unreadable_one_only_named():
    lacking = {"web-1": [REF], "web-2": [REF], "web-3": [REF]}
    reads = {"web-1": (stats(100, 10), None, []),    # 90% used before the pull: over the GC threshold after it
             "web-2": (stats(100, 80), None, []),    # room to spare
             "web-3": (None, None, ["reading the kubelet stats summary of node web-3: HTTP 503"])}
    refused, warnings = warmup_outcome.image_fs_refusals(reads, lacking, {REF: 5 * GIB}, 85)
    assert list(refused) == ["web-1"]
    assert warnings == ["image filesystem not checked on 1 node(s), their stats are unreadable: "
                        "web-3 (reading the kubelet stats summary of node web-3: HTTP 503)"]


def test_a_node_without_its_kubelet_configuration_is_checked_against_the_option_and_named():
    reads = {"web-1": (stats(100, 80), None, ["reading the kubelet configuration (/configz) of node web-1: HTTP 403"])}
    refused, warnings = warmup_outcome.image_fs_refusals(reads, {"web-1": [REF]}, {REF: GIB}, 85)
    assert refused == {}
    assert warnings == ["kubelet configuration unreadable on 1 node(s), so their disk check used image_gc_high_threshold 85 "
                        "and no eviction threshold: web-1 (reading the kubelet configuration (/configz) of node web-1: HTTP 403)"]


def test_a_warning_names_at_most_twenty_nodes():
    lacking = dict(("web-%02d" % i, [REF]) for i in range(30))
    _refused, warnings = warmup_outcome.image_fs_refusals({}, lacking, {REF: GIB}, 85)
    assert warnings[0].startswith("image filesystem not checked on 30 node(s)")
    assert warnings[0].count("(not read)") == warmup_outcome.MAX_NODES_IN_MESSAGE


class Tracker(object):
    def __init__(self, names):
        self.results = dict((name, {"warm": False, "state": "cold", "ready": False, "pod": None, "images": {},
                                    "message": "pulling"}) for name in names)

    def replace(self, kind, items):
        pass

    def apply(self, kind, event_type, obj):
        pass


class Actions(object):
    def __init__(self):
        self.plans = {}

    def admit(self, names):
        return dict((name, None) for name in names)

    def release(self, nodes):
        for item in nodes:
            self.plans[item["metadata"]["name"]] = {"patch": [{"op": "remove"}], "before": {"taint": "x"}, "after": {}}
        return dict((item["metadata"]["name"], None) for item in nodes)


def run_of(names, max_pulling=1):
    clock = iter(range(100, 200)).__next__
    actions = Actions()
    waves = Waves(names, Tracker(names), LABEL, max_pulling, True, True, {}, actions, clock=lambda: float(clock()))
    waves.start([node(name) for name in names])
    return waves, actions


def test_a_released_node_reports_its_times_and_a_waiting_one_why_it_waits():
    waves, actions = run_of(["web-1", "web-2"])
    waves.tracker.results["web-1"] = dict(waves.tracker.results["web-1"], warm=True, state="warm", message="warm")
    waves.apply("nodes", "MODIFIED", node("web-1", admitted=True))
    waves.settle()
    done = warmup_outcome.node_result(waves, actions.plans, "web-1", False, False)
    assert done["warm"] and done["released"] and done["message"] == "warm; released"
    assert done["admitted_at"].endswith("Z") and done["warming_seconds"] > 0
    waiting = warmup_outcome.node_result(waves, actions.plans, "web-2", True, False)
    # web-1's release freed the one pulling slot, so web-2 was admitted next and is pulling.
    assert waiting["admitted"] and not waiting["warm"] and not waiting["released"] and waiting["released_at"] is None
    assert waiting["message"] == "pulling"


def test_check_mode_says_a_node_would_be_admitted():
    waves, actions = run_of(["web-1"])
    result = warmup_outcome.node_result(waves, actions.plans, "web-1", False, True)
    assert result["message"].startswith("would be admitted now (check mode); ")


def test_the_diff_shows_the_admission_label_and_the_marks_released():
    waves, actions = run_of(["web-1"])
    actions.plans["web-1"] = {"patch": [{"op": "remove"}], "before": {"taint": "x"}, "after": {}}
    diff = warmup_outcome.outcome_diff(waves, actions.plans)
    assert diff["before"]["web-1"] == {"admission_label": None, "maintenance": {"taint": "x"}}
    assert diff["after"]["web-1"] == {"admission_label": {LABEL: "true"}, "maintenance": {}}


def test_the_failure_names_cold_refused_and_failed_nodes_and_the_timeout():
    waves, _actions = run_of(["web-1", "web-2", "web-3"])
    waves.errors["web-3"] = "admitting (labelling) node web-3: HTTP 500"
    result = {"cold": ["web-1"], "refused": {"web-2": "image filesystem full"},
              "nodes": {"web-1": {"message": "pulling 127.0.0.1:5000/ml/model:1"}}}
    message = warmup_outcome.failure_message(waves, result, 600, True)
    assert message == ("timed out after 600s: 1 of 3 nodes not warm: web-1: pulling 127.0.0.1:5000/ml/model:1; "
                       "refused 1 node(s), left marked: web-2: image filesystem full; "
                       "failed: web-3: admitting (labelling) node web-3: HTTP 500")
    all_warm, _actions = run_of(["web-1"])
    assert warmup_outcome.failure_message(all_warm, {"cold": [], "refused": {}, "nodes": {}}, 600, False) is None


def test_timestamps_are_utc_with_milliseconds():
    assert warmup_outcome.timestamp(0.25) == "1970-01-01T00:00:00.250Z"
    assert warmup_outcome.timestamp(None) is None
