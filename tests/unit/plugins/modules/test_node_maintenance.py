# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's result shaping and its all-or-nothing planning (the write loop is tested in test_node_patch.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.modules import node_maintenance as nm

KEY = "prewarm.k8s/maintenance"


def request():
    return build_request({
        "state": "present", "taint": {"key": KEY, "value": "true", "effect": "NoSchedule"},
        "label": {"key": KEY, "value": "true"}, "reason": "r", "by": None, "cordon": False, "status": None,
    }, now="2024-05-01T03:00:00Z", default_by="ops@bastion")


def node(rv, taints=()):
    return {"metadata": {"name": "w1", "resourceVersion": rv}, "spec": {"taints": list(taints)}}


def test_result_counts_failures_and_diffs_only_changed_nodes():
    changed = plan_node(node("1"), request())
    unchanged = dict(changed, name="w2", patch=None, action="unchanged")
    failed = dict(changed, name="w3")
    result = nm._result([(changed, None), (unchanged, None), (failed, PrewarmError("gone"))], False, True)
    assert result["summary"] == {"marked": 1, "released": 0, "unchanged": 1, "failed": 1}
    assert [n["action"] for n in result["nodes"]] == ["marked", "unchanged", "failed"]
    assert result["nodes"][2]["error"] == "gone"
    assert result["nodes"][2]["changed"] is False
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
