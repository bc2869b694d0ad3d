# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import MAINTENANCE_ANNOTATION as ANN
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import (
    MarkConflict,
    build_request,
    merge_patch,
    plan_node,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import serialise_record
from ansible_collections.prewarm.k8s.tests.unit.plugins.module_utils.api_json_patch import Refused, apply_operations

KEY = "prewarm.k8s/maintenance"
OUR_TAINT = {"key": KEY, "value": "true", "effect": "NoSchedule"}
OUR_LABEL = {"key": KEY, "value": "true"}
FOREIGN_TAINT = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
NOW = "2024-05-01T03:00:00Z"
LATER = "2024-05-01T04:00:00Z"


def params(**changes):
    base = {
        "state": "present",
        "taint": {"key": KEY, "value": "true", "effect": "NoSchedule"},
        "label": {"key": KEY, "value": "true"},
        "reason": "kernel upgrade",
        "by": None,
        "cordon": False,
        "status": None,
    }
    base.update(changes)
    return base


def request(now=NOW, **changes):
    return build_request(params(**changes), now=now, default_by="ops@bastion")


def node(taints=None, labels=None, record=None, raw_annotation=None, unschedulable=None, rv="100"):
    annotations = {"other/annotation": "x"}
    if record is not None:
        annotations[ANN] = serialise_record(record)
    if raw_annotation is not None:
        annotations[ANN] = raw_annotation
    spec = {"podCIDR": "10.0.0.0/24"}
    if taints is not None:
        spec["taints"] = taints
    if unschedulable is not None:
        spec["unschedulable"] = unschedulable
    return {
        "metadata": {"name": "w1", "resourceVersion": rv, "annotations": annotations,
                     "labels": dict({"kubernetes.io/hostname": "w1"}, **(labels or {}))},
        "spec": spec,
    }


def applied(before, plan):
    """The node after the API applied plan's guarded JSON Patch (and so bumped its resourceVersion)."""
    after = apply_operations(before, plan["operations"] or [])
    after["metadata"]["resourceVersion"] = str(int(before["metadata"]["resourceVersion"]) + 1)
    return after


def annotation_of(n):
    raw = n["metadata"].get("annotations", {}).get(ANN)
    return None if raw is None else json.loads(raw)


# --- request checks -------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"taint": {"key": "bad key!", "value": "true", "effect": "NoSchedule"}}, "taint.key: invalid key 'bad key!'"),
    ({"taint": {"key": KEY, "value": "no spaces", "effect": "NoSchedule"}}, "taint.value: invalid value 'no spaces'"),
    ({"taint": {"key": KEY, "value": "true", "effect": "NoPanic"}}, "taint.effect: invalid taint effect 'NoPanic'"),
    ({"label": {"key": "-x", "value": "true"}}, "label.key: invalid key '-x'"),
    ({"label": {"key": KEY, "value": "x" * 64}}, "label.value: invalid value"),
    ({"status": {"step": ["a"]}}, "status.step: must be a string or null, got list"),
    ({"state": "absent", "status": {"step": "x"}}, "status: only recorded when marking"),
])
def test_bad_request_is_refused_naming_the_value(changes, message):
    with pytest.raises(InvalidInput) as info:
        request(**changes)
    assert message in info.value.msg


def test_status_scalars_become_text_and_null_is_kept_for_removal():
    assert request(status={"attempt": 3, "ok": True, "error": None})["status"] == {
        "attempt": "3", "ok": "True", "error": None}


# --- marking ----------------------------------------------------------------------------------

def test_mark_a_clean_node_sets_everything_in_one_patch_guarded_by_what_it_changes():
    plan = plan_node(node(taints=[FOREIGN_TAINT]), request())
    assert plan["action"] == "marked"
    patch = plan["patch"]
    assert "resourceVersion" not in patch["metadata"]  # a status write in between must not fail it
    tested = dict((op["path"], op["value"]) for op in plan["operations"] if op["op"] == "test")
    assert tested == {"/spec/taints": [FOREIGN_TAINT], "/metadata/labels/prewarm.k8s~1maintenance": None,
                      "/metadata/annotations/prewarm.k8s~1maintenance": None}
    assert patch["spec"] == {"taints": [FOREIGN_TAINT, OUR_TAINT]}  # full list: the API replaces it whole
    assert patch["metadata"]["labels"] == {KEY: "true"}  # only our key
    record = json.loads(patch["metadata"]["annotations"][ANN])
    assert list(patch["metadata"]["annotations"]) == [ANN]
    assert record == {"by": "ops@bastion", "since": NOW, "reason": "kernel upgrade", "status": {},
                      "owned": {"taint": OUR_TAINT, "label": OUR_LABEL, "cordon": False}}
    assert plan["record"] == record
    assert plan["warnings"] == []


def test_mark_a_node_without_taints_field():
    plan = plan_node(node(), request())
    assert plan["patch"]["spec"]["taints"] == [OUR_TAINT]


def test_remark_is_unchanged_and_keeps_since():
    first = node()
    marked = applied(first, plan_node(first, request()))
    again = plan_node(marked, request(now=LATER))
    assert again["patch"] is None
    assert again["action"] == "unchanged"
    assert again["record"]["since"] == NOW


def test_remark_with_another_reason_changes_only_the_annotation_and_keeps_since():
    marked = applied(node(), plan_node(node(), request()))
    plan = plan_node(marked, request(now=LATER, reason="firmware"))
    assert set(plan["patch"]["metadata"]) == {"annotations"}
    assert "spec" not in plan["patch"]
    record = json.loads(plan["patch"]["metadata"]["annotations"][ANN])
    assert record["reason"] == "firmware"
    assert record["since"] == NOW


def test_remark_without_reason_keeps_the_recorded_one():
    marked = applied(node(), plan_node(node(), request()))
    assert plan_node(marked, request(reason=None))["patch"] is None


def test_remark_from_another_controller_keeps_by_unless_given():
    marked = applied(node(), plan_node(node(), request()))
    other = build_request(params(), now=LATER, default_by="someone@elsewhere")
    assert plan_node(marked, other)["patch"] is None
    explicit = build_request(params(by="alice"), now=LATER, default_by="someone@elsewhere")
    assert plan_node(marked, explicit)["record"]["by"] == "alice"


def test_annotation_written_differently_but_equal_is_not_a_change():
    marked = applied(node(), plan_node(node(), request()))
    pretty = json.dumps(annotation_of(marked), indent=2)
    marked["metadata"]["annotations"][ANN] = pretty
    assert plan_node(marked, request())["patch"] is None


def test_status_is_merged_and_null_removes_a_field():
    marked = applied(node(), plan_node(node(), request(status={"step": "drain", "error": "PDB"})))
    plan = plan_node(marked, request(status={"step": "reboot", "error": None}))
    assert plan["record"]["status"] == {"step": "reboot"}
    assert plan["record"]["since"] == NOW


def test_same_key_other_effect_is_someone_elses_and_both_stay():
    theirs = {"key": KEY, "value": "true", "effect": "NoExecute"}
    plan = plan_node(node(taints=[theirs]), request())
    assert plan["patch"]["spec"]["taints"] == [theirs, OUR_TAINT]
    marked = applied(node(taints=[theirs]), plan)
    released = plan_node(marked, request(state="absent"))
    assert released["patch"]["spec"]["taints"] == [theirs]


def test_our_exact_taint_already_set_by_someone_else_is_not_owned_and_stays_on_release():
    before = node(taints=[dict(OUR_TAINT)])
    plan = plan_node(before, request())
    assert "spec" not in plan["patch"]  # nothing to add
    assert plan["record"]["owned"]["taint"] is None
    released = plan_node(applied(before, plan), request(state="absent"))
    assert "spec" not in released["patch"]
    assert released["patch"]["metadata"]["annotations"] == {ANN: None}
    assert any("taint %s=true:NoSchedule stays" % KEY in w for w in released["warnings"])


def test_foreign_taint_same_key_effect_other_value_is_left_with_a_warning():
    theirs = {"key": KEY, "value": "legacy", "effect": "NoSchedule"}
    plan = plan_node(node(taints=[theirs]), request())
    assert "spec" not in plan["patch"]
    assert plan["record"]["owned"]["taint"] is None
    assert "already on the node (not ours)" in plan["warnings"][0]
    assert plan["warnings"][0].startswith("node w1: ")


def test_no_execute_taint_and_time_added_of_foreign_taints_is_preserved():
    foreign = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2024-05-01T02:00:00Z"}
    req = request(taint={"key": KEY, "value": "true", "effect": "NoExecute"})
    plan = plan_node(node(taints=[foreign]), req)
    assert plan["patch"]["spec"]["taints"] == [foreign, {"key": KEY, "value": "true", "effect": "NoExecute"}]
    assert plan["record"]["owned"]["taint"]["effect"] == "NoExecute"


def test_changing_taint_effect_moves_our_taint():
    marked = applied(node(), plan_node(node(), request()))
    req = request(taint={"key": KEY, "value": "true", "effect": "NoExecute"})
    plan = plan_node(marked, req)
    assert plan["patch"]["spec"]["taints"] == [{"key": KEY, "value": "true", "effect": "NoExecute"}]
    assert plan["record"]["owned"]["taint"]["effect"] == "NoExecute"


def test_changing_taint_value_updates_our_taint_in_place():
    marked = applied(node(), plan_node(node(), request()))
    plan = plan_node(marked, request(taint={"key": KEY, "value": "upgrade", "effect": "NoSchedule"}))
    assert plan["patch"]["spec"]["taints"] == [{"key": KEY, "value": "upgrade", "effect": "NoSchedule"}]
    assert plan["record"]["owned"]["taint"]["value"] == "upgrade"


def test_our_taint_changed_by_someone_else_becomes_theirs():
    marked = applied(node(), plan_node(node(), request()))
    marked["spec"]["taints"] = [{"key": KEY, "value": "hijacked", "effect": "NoSchedule"}]
    plan = plan_node(marked, request())
    assert "spec" not in plan["patch"]
    assert plan["record"]["owned"]["taint"] is None
    assert "changed by someone else" in plan["warnings"][0]


def test_removed_taint_is_put_back_and_still_ours():
    marked = applied(node(), plan_node(node(), request()))
    marked["spec"]["taints"] = []
    plan = plan_node(marked, request())
    assert plan["patch"]["spec"]["taints"] == [OUR_TAINT]
    assert plan["record"]["owned"]["taint"] == OUR_TAINT


def test_label_already_there_with_our_value_is_not_owned_and_stays_on_release():
    before = node(labels={KEY: "true"})
    plan = plan_node(before, request())
    assert "labels" not in plan["patch"]["metadata"]
    assert plan["record"]["owned"]["label"] is None
    released = plan_node(applied(before, plan), request(state="absent"))
    assert "labels" not in released["patch"]["metadata"]
    assert any("label %s=true stays" % KEY in w for w in released["warnings"])


def test_label_owned_by_others_with_another_value_is_a_conflict():
    with pytest.raises(MarkConflict) as info:
        plan_node(node(labels={KEY: "manual"}), request())
    assert "label %s=manual was set by someone else" % KEY in info.value.msg


def test_changing_label_key_moves_our_label():
    marked = applied(node(), plan_node(node(), request()))
    plan = plan_node(marked, request(label={"key": "upgrade", "value": "now"}))
    assert plan["patch"]["metadata"]["labels"] == {KEY: None, "upgrade": "now"}
    assert plan["after"]["labels"] == {"upgrade": "now"}
    assert plan["before"]["labels"] == {KEY: "true"}


def test_cordon_we_set_is_ours_and_cordon_false_lifts_it():
    cordoned = applied(node(), plan_node(node(), request(cordon=True)))
    assert cordoned["spec"]["unschedulable"] is True
    assert annotation_of(cordoned)["owned"]["cordon"] is True
    plan = plan_node(cordoned, request(cordon=False))
    assert plan["patch"]["spec"] == {"unschedulable": None}
    assert plan["record"]["owned"]["cordon"] is False


def test_cordon_by_someone_else_is_never_ours():
    before = node(unschedulable=True)
    plan = plan_node(before, request(cordon=True))
    assert "spec" not in plan["patch"] or "unschedulable" not in plan["patch"]["spec"]
    assert plan["record"]["owned"]["cordon"] is False
    marked = applied(before, plan)
    assert "unschedulable" not in (plan_node(marked, request(cordon=False))["patch"] or {}).get("spec", {})
    released = plan_node(marked, request(state="absent"))
    assert "unschedulable" not in released["patch"].get("spec", {})
    assert any("stays cordoned" in w for w in released["warnings"])


def test_recordon_after_someone_uncordoned_our_node():
    cordoned = applied(node(), plan_node(node(), request(cordon=True)))
    cordoned["spec"]["unschedulable"] = False
    plan = plan_node(cordoned, request(cordon=True))
    assert plan["patch"]["spec"] == {"unschedulable": True}
    assert plan["record"]["owned"]["cordon"] is True


def test_corrupt_annotation_is_replaced_and_owns_nothing():
    before = node(taints=[dict(OUR_TAINT)], raw_annotation="{oops")
    plan = plan_node(before, request())
    assert plan["record"]["owned"]["taint"] is None
    assert plan["record"]["since"] == NOW
    assert "unreadable" in plan["warnings"][0]
    assert json.loads(plan["patch"]["metadata"]["annotations"][ANN]) == plan["record"]


# --- releasing --------------------------------------------------------------------------------

def test_release_takes_off_exactly_what_we_put_on():
    before = node(taints=[FOREIGN_TAINT], labels={"pool": "gpu"})
    marked = applied(before, plan_node(before, request(cordon=True)))
    plan = plan_node(marked, request(state="absent"))
    assert plan["action"] == "released"
    assert plan["patch"] == {
        "metadata": {"labels": {KEY: None}, "annotations": {ANN: None}},
        "spec": {"taints": [FOREIGN_TAINT], "unschedulable": None},
    }
    assert plan["record"] is None
    assert plan["warnings"] == []
    released = applied(marked, plan)
    assert released["spec"].get("taints") == [FOREIGN_TAINT]
    assert released["metadata"]["labels"] == {"kubernetes.io/hostname": "w1", "pool": "gpu"}
    assert released["metadata"]["annotations"] == {"other/annotation": "x"}


def test_release_ignores_the_taint_options_and_uses_the_record():
    req = request(taint={"key": KEY, "value": "true", "effect": "NoExecute"})
    marked = applied(node(), plan_node(node(), req))
    plan = plan_node(marked, request(state="absent"))  # default options: NoSchedule
    assert plan["patch"]["spec"]["taints"] == []


def test_release_twice_is_unchanged():
    marked = applied(node(), plan_node(node(), request()))
    released = applied(marked, plan_node(marked, request(state="absent")))
    plan = plan_node(released, request(state="absent"))
    assert plan["patch"] is None
    assert plan["action"] == "unchanged"


def test_release_of_node_without_annotation_removes_nothing_and_warns_about_lookalikes():
    plan = plan_node(node(taints=[dict(OUR_TAINT)], labels={KEY: "true"}), request(state="absent"))
    assert plan["patch"] is None
    assert len(plan["warnings"]) == 2


def test_release_leaves_our_taint_and_label_if_someone_changed_them():
    marked = applied(node(), plan_node(node(), request()))
    marked["spec"]["taints"] = [{"key": KEY, "value": "theirs", "effect": "NoSchedule"}]
    marked["metadata"]["labels"][KEY] = "theirs"
    plan = plan_node(marked, request(state="absent"))
    assert plan["patch"]["metadata"] == {"annotations": {ANN: None}}
    assert "spec" not in plan["patch"]
    assert sum("changed by someone else" in w for w in plan["warnings"]) == 2


def test_release_with_corrupt_annotation_removes_only_the_annotation():
    plan = plan_node(node(taints=[dict(OUR_TAINT)], raw_annotation="[]", unschedulable=True), request(state="absent"))
    assert plan["patch"]["metadata"]["annotations"] == {ANN: None}
    assert "spec" not in plan["patch"]
    assert "unreadable" in plan["warnings"][0]


# --- conflict retry and the patch itself ------------------------------------------------------

def test_replan_after_conflict_keeps_a_taint_added_concurrently():
    before = node(taints=[FOREIGN_TAINT])
    stale = plan_node(before, request())
    # Between our read and our patch someone added a taint: the API refused our patch (its test
    # of the taints read failed, HTTP 422), and the node read again has both.
    fresh = node(taints=[FOREIGN_TAINT, {"key": "gpu", "value": "x", "effect": "NoSchedule"}], rv="101")
    with pytest.raises(Refused):
        apply_operations(fresh, stale["operations"])
    replanned = plan_node(fresh, request())
    assert replanned["patch"]["spec"]["taints"] == [FOREIGN_TAINT, {"key": "gpu", "value": "x", "effect": "NoSchedule"},
                                                    OUR_TAINT]
    assert replanned["record"]["since"] == stale["record"]["since"]


def test_replan_after_conflict_finds_the_work_already_done():
    marked = applied(node(), plan_node(node(), request()))
    assert plan_node(marked, request())["patch"] is None


def test_merge_patch_nulls_and_nothing_when_equal():
    view = {"taints": [], "labels": {"a": "1", "b": "2"}, "unschedulable": True, "annotation": "x"}
    assert merge_patch(view, dict(view)) is None
    after = dict(view, labels={"a": "1", "c": "3"}, unschedulable=False, annotation=None)
    assert merge_patch(view, after) == {
        "metadata": {"labels": {"b": None, "c": "3"}, "annotations": {ANN: None}},
        "spec": {"unschedulable": None},
    }


def test_diff_summary_shows_only_fields_we_touch():
    plan = plan_node(node(taints=[FOREIGN_TAINT], labels={"pool": "gpu"}), request())
    assert plan["before"] == {"taints": [FOREIGN_TAINT], "labels": {}, "annotation": None, "unschedulable": False}
    assert plan["after"]["labels"] == {KEY: "true"}
    assert plan["after"]["annotation"] == plan["record"]
    assert plan["after"]["taints"] == [FOREIGN_TAINT, OUR_TAINT]


def test_plan_does_not_modify_the_node_it_was_given():
    before = node(taints=[FOREIGN_TAINT], labels={KEY: "true"})
    snapshot = json.dumps(before, sort_keys=True)
    plan_node(before, request(cordon=True))
    assert json.dumps(before, sort_keys=True) == snapshot
