# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A merge patch sent as a JSON Patch guarded by what it changes: same result, narrower conflicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.guarded_patch import guarded_json_patch
from ansible_collections.prewarm.k8s.tests.unit.plugins.module_utils.api_json_patch import Refused, apply_operations

KEY = "prewarm.k8s/maintenance"
FOREIGN = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
OURS = {"key": KEY, "value": "true", "effect": "NoSchedule"}


def node():
    return {
        "metadata": {"name": "w1", "resourceVersion": "100", "labels": {"kubernetes.io/hostname": "w1"},
                     "annotations": {"other": "x"}},
        "spec": {"podCIDR": "10.0.0.0/24", "taints": [FOREIGN]},
        "status": {"images": []},
    }


def merged(target, patch):
    """RFC 7386, to hold the guarded patch to the merge patch it stands for."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merged(result.get(key), value)
    return result


MARK = {"spec": {"taints": [FOREIGN, OURS]}, "metadata": {"labels": {KEY: "true"}, "annotations": {KEY: "{}"}}}
RELEASE = {"spec": {"taints": [FOREIGN], "unschedulable": None}, "metadata": {"labels": {KEY: None}, "annotations": {KEY: None}}}


@pytest.mark.parametrize("before, patch", [
    (node(), MARK),
    (merged(node(), dict(MARK, spec={"taints": [FOREIGN, OURS], "unschedulable": True})), RELEASE),
    (node(), {"spec": {"unschedulable": True}}),
    (node(), {"metadata": {"labels": {"absent": None}}}),
    ({"metadata": {"name": "bare"}, "spec": {}}, MARK),
    ({"metadata": {"name": "bare"}}, {"spec": {"taints": [OURS]}, "metadata": {"annotations": {KEY: "{}", "gone": None}}}),
], ids=["mark", "release", "cordon", "delete-absent", "no-maps", "no-spec"])
def test_the_guarded_patch_does_what_the_merge_patch_does(before, patch):
    assert apply_operations(before, guarded_json_patch(before, patch)) == merged(before, patch)


def test_each_change_is_preceded_by_a_test_of_what_was_read():
    operations = guarded_json_patch(node(), MARK)
    assert operations == [
        {"op": "test", "path": "/metadata/annotations/prewarm.k8s~1maintenance", "value": None},
        {"op": "add", "path": "/metadata/annotations/prewarm.k8s~1maintenance", "value": "{}"},
        {"op": "test", "path": "/metadata/labels/prewarm.k8s~1maintenance", "value": None},
        {"op": "add", "path": "/metadata/labels/prewarm.k8s~1maintenance", "value": "true"},
        {"op": "test", "path": "/spec/taints", "value": [FOREIGN]},
        {"op": "add", "path": "/spec/taints", "value": [FOREIGN, OURS]},
    ]


def test_an_absent_map_is_tested_as_null_and_added_without_the_deletions():
    operations = guarded_json_patch({"metadata": {"name": "bare"}}, {"metadata": {"labels": {KEY: "true", "gone": None}}})
    assert operations == [{"op": "test", "path": "/metadata/labels", "value": None},
                          {"op": "add", "path": "/metadata/labels", "value": {KEY: "true"}}]


def test_deleting_what_is_not_there_sends_nothing():
    assert guarded_json_patch(node(), {"metadata": {"labels": {"absent": None}}, "spec": {"unschedulable": None}}) == []


def test_a_tilde_in_a_key_is_escaped_before_the_slash():
    operations = guarded_json_patch(node(), {"metadata": {"labels": {"a~b/c": "v"}}})
    assert operations[0]["path"] == "/metadata/labels/a~0b~1c"


def test_a_status_write_in_between_does_not_stop_the_patch_and_survives_it():
    read = node()
    operations = guarded_json_patch(read, MARK)
    meanwhile = copy.deepcopy(read)
    meanwhile["metadata"]["resourceVersion"] = "101"
    meanwhile["status"]["images"] = [{"names": ["busybox"]}]
    meanwhile["metadata"]["labels"]["topology.kubernetes.io/zone"] = "b"
    meanwhile["metadata"]["annotations"]["other"] = "y"
    after = apply_operations(meanwhile, operations)
    assert after["status"]["images"] == [{"names": ["busybox"]}]
    assert after["metadata"]["labels"]["topology.kubernetes.io/zone"] == "b"
    assert after["metadata"]["annotations"]["other"] == "y"
    assert after["spec"]["taints"] == [FOREIGN, OURS]


@pytest.mark.parametrize("change", [
    lambda n: n["spec"]["taints"].append({"key": "late", "value": "x", "effect": "NoSchedule"}),
    lambda n: n["metadata"]["labels"].__setitem__(KEY, "theirs"),
    lambda n: n["metadata"]["annotations"].__setitem__(KEY, '{"by": "another run"}'),
    lambda n: n["spec"].pop("taints"),
], ids=["their-taint", "our-label-key-taken", "another-run-marked", "taints-cleared"])
def test_a_change_to_a_field_the_patch_changes_refuses_the_whole_patch(change):
    read = node()
    operations = guarded_json_patch(read, MARK)
    meanwhile = copy.deepcopy(read)
    change(meanwhile)
    with pytest.raises(Refused):
        apply_operations(meanwhile, operations)


def test_a_patch_sent_again_after_it_landed_is_refused_not_applied_twice():
    read = node()
    operations = guarded_json_patch(read, MARK)
    landed = apply_operations(read, operations)
    with pytest.raises(Refused):
        apply_operations(landed, operations)
