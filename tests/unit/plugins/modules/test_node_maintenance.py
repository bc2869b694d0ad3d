# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's result shaping, its all-or-nothing planning and its options (the write loop is tested in test_node_patch.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.modules import node_maintenance as nm
from ansible_collections.prewarm.k8s.tests.unit.plugins.modules import node_lister

KEY = "prewarm.k8s/maintenance"


def request():
    return build_request({
        "state": "present", "taint": {"key": KEY, "value": "true", "effect": "NoSchedule"},
        "label": {"key": KEY, "value": "true"}, "reason": "r", "by": None, "cordon": False, "status": None,
    }, now="2024-05-01T03:00:00Z", default_by="ops@bastion")


def node(rv, taints=(), name="w1"):
    return {"metadata": {"name": name, "resourceVersion": rv}, "spec": {"taints": list(taints)}}


def test_result_counts_failures_and_diffs_only_changed_nodes():
    changed = plan_node(node("1"), request())
    unchanged = dict(changed, name="w2", patch=None, action="unchanged")
    failed = dict(changed, name="w3")
    result = nm._result([(changed, None), (unchanged, None), (failed, PrewarmError("gone"))], False, True)
    assert result["summary"] == {"marked": 1, "released": 0, "unchanged": 1, "failed": 1}
    assert [(name, n["action"]) for name, n in result["nodes"].items()] == [("w1", "marked"), ("w2", "unchanged"), ("w3", "failed")]
    assert result["nodes"]["w3"]["error"] == "gone"
    assert result["nodes"]["w3"]["changed"] is False
    assert result["changed"] is True
    assert list(result["diff"]["before"]) == ["w1"]
    assert result["msg"] == "marked 1 node, 1 failed, 1 unchanged"


def test_message_in_check_mode():
    assert nm._message({"marked": 0, "released": 3, "unchanged": 0, "failed": 0}, True) == "would release 3 nodes"
    assert nm._message({"marked": 0, "released": 0, "unchanged": 0, "failed": 0}, False) == "0 unchanged"


def test_a_label_conflict_on_any_node_stops_the_run_before_any_write():
    clean = node("1")
    foreign = node("1")
    foreign["metadata"].update(name="w9", labels={KEY: "manual"})
    with pytest.raises(PrewarmError, match=r"no node changed; cannot mark 1 of 2 nodes: w9: label prewarm.k8s/maintenance=manual"):
        nm._plan_all([clean, foreign], request())


def test_each_node_is_reported_under_its_name_with_the_same_fields_as_before():
    plan = plan_node(node("1"), request())
    result = nm._result([(plan, None)], False, False)
    assert result["nodes"] == {"w1": {"action": "marked", "changed": True, "error": None, "warnings": [],
                                      "annotation": plan["record"]}}
    assert "diff" not in result


# ---------------------------------------------------------------- the module run, on a fake API

def run_main(capsys, monkeypatch, items, **args):
    """node_maintenance's main() in check mode (no write) against a node list of `items`: (rc, result, lister)."""
    args.update(_ansible_check_mode=True, by="ops@bastion", reason="r")
    return node_lister.run_main(nm, capsys, monkeypatch, items, args)


@pytest.mark.parametrize("option", ["nodes", "names"])
def test_the_node_list_is_nodes_and_names_still_works_as_its_alias(capsys, monkeypatch, option):
    rc, result, lister = run_main(capsys, monkeypatch, [node("1"), node("1", name="w2")], **{option: ["w2"]})
    assert rc == 0, result
    assert list(result["nodes"]) == ["w2"]
    assert result["nodes"]["w2"]["action"] == "marked" and result["nodes"]["w2"]["changed"] is True
    assert "name" not in result["nodes"]["w2"]
    assert result["msg"] == "would mark 1 node"
    assert lister.calls[0]["label_selector"] is None


def test_neither_nodes_nor_a_selector_fails_naming_both(capsys, monkeypatch):
    rc, result, lister = run_main(capsys, monkeypatch, [node("1")])
    assert rc == 1 and "nodes" in result["msg"] and "label_selector" in result["msg"], result
    assert lister.calls == []


def test_an_unknown_name_given_under_the_alias_is_reported_under_nodes(capsys, monkeypatch):
    rc, result, dummy = run_main(capsys, monkeypatch, [node("1")], names=["w1", "ghost"])
    assert rc == 1
    assert result["msg"] == "nodes: no such node: ghost (the cluster has 1 nodes)"


def test_a_missing_node_reported_per_node_is_keyed_by_its_name(capsys, monkeypatch):
    rc, result, dummy = run_main(capsys, monkeypatch, [node("1")], nodes=["ghost", "w1"], missing="report")
    assert rc == 1
    assert list(result["nodes"]) == ["ghost", "w1"]
    assert result["nodes"]["ghost"] == {"action": "failed", "changed": False, "error": "no such node (deleted since the play read it?)",
                                        "warnings": [], "annotation": None}
    assert result["nodes"]["w1"]["action"] == "marked"
    assert result["summary"] == {"marked": 1, "released": 0, "unchanged": 0, "failed": 1}
    assert result["msg"] == "would mark 1 node, 1 failed; failed: ghost: no such node (deleted since the play read it?)"
