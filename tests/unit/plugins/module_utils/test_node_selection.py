# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.node_selection import check_node_names, select_nodes


def nodes(*names):
    return [{"metadata": {"name": name}} for name in names]


def names_of(selection):
    return [node["metadata"]["name"] for node in selection]


def test_check_node_names_drops_duplicates_keeping_order():
    assert check_node_names(["b", "a", "b"]) == ["b", "a"]
    assert check_node_names(None) == []


def test_check_node_names_rejects_an_invalid_name():
    with pytest.raises(InvalidInput, match="nodes: invalid name 'Worker_1'"):
        check_node_names(["ok", "Worker_1"])


def test_names_only():
    assert names_of(select_nodes(["c", "a"], None, nodes("a", "b", "c"), None)) == ["a", "c"]


def test_selector_only():
    assert names_of(select_nodes([], "pool=gpu", None, nodes("g2", "g1"))) == ["g1", "g2"]


def test_union_of_names_and_selector_without_duplicates():
    selection = select_nodes(["a", "g1"], "pool=gpu", nodes("a", "b", "g1", "g2"), nodes("g1", "g2"))
    assert names_of(selection) == ["a", "g1", "g2"]


def test_unknown_names_are_all_named():
    with pytest.raises(InvalidInput, match=r"no such node: typo1, typo2 \(the cluster has 2 nodes\)"):
        select_nodes(["a", "typo1", "typo2"], None, nodes("a", "b"), None)


def test_a_name_matched_only_by_the_selector_list_is_still_checked_against_all_nodes():
    # listed is the authority on which names exist.
    with pytest.raises(InvalidInput, match="no such node: x"):
        select_nodes(["x"], "pool=gpu", nodes("a"), nodes("g1"))


def test_selector_matching_nothing_is_loud_by_default():
    with pytest.raises(InvalidInput, match="label_selector: 'pool=gpu' matched no node; set allow_empty=true"):
        select_nodes([], "pool=gpu", None, [])


def test_empty_names_without_selector_is_loud_by_default():
    with pytest.raises(InvalidInput, match="nodes: empty list and no label_selector"):
        select_nodes([], None, [], None)


def test_allow_empty():
    assert select_nodes([], "pool=gpu", None, [], allow_empty=True) == []


def test_missing_ok_leaves_out_unknown_names_for_the_caller_to_report():
    # A node deleted since the play read it: the others are still selected.
    assert names_of(select_nodes(["a", "gone"], None, nodes("a", "b"), None, missing_ok=True)) == ["a"]


def test_missing_ok_with_every_name_gone_selects_nothing_without_the_empty_error():
    assert select_nodes(["gone"], None, nodes("a"), None, missing_ok=True) == []


def test_a_bad_node_name_is_reported_under_the_option_it_came_from():
    with pytest.raises(InvalidInput, match=r"^nodes: invalid name 'kwok_gpu_0'"):
        check_node_names(["kwok_gpu_0"], "nodes")
