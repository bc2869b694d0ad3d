# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""name_list: the node and pool names a playbook is given as a list or a comma-separated string."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.filter.name_list import name_list as name_list_filter
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.names import name_list, unique_in_order


@pytest.mark.parametrize("value, expected", [
    ("node-1,node-2", ["node-1", "node-2"]),
    (" node-1 , node-2 ,", ["node-1", "node-2"]),  # as typed on a command line or in a survey
    ("node-1", ["node-1"]),
    ("", []),  # an empty survey answer
    (" , ,", []),
    (["gpu", "web"], ["gpu", "web"]),
    (("gpu", " web "), ["gpu", "web"]),
    ([], []),
])
def test_names_from_a_string_or_a_list(value, expected):
    assert name_list(value) == expected


def test_the_order_is_kept_and_repeats_are_dropped():
    # The order of pools is the order os_upgrade works in: the first occurrence keeps its place.
    assert name_list("web,batch,web, batch,gpu") == ["web", "batch", "gpu"]
    assert name_list(["b", "a", "b"]) == ["b", "a"]


@pytest.mark.parametrize("value, named", [
    (None, "NoneType None"),
    (7, "int 7"),
    ({"web": 1}, "dict {'web': 1}"),
    (b"web", "bytes b'web'"),
])
def test_anything_else_fails_naming_the_option_and_the_value(value, named):
    with pytest.raises(InvalidInput) as caught:
        name_list(value, "release_nodes")
    assert str(caught.value) == "release_nodes: must be a list of names or a comma-separated string, got %s" % named


def test_a_list_holding_something_else_than_strings_fails_naming_the_item():
    with pytest.raises(InvalidInput, match=r"^prune_pools: every name must be a string, got int 3$"):
        name_list(["web", 3], "prune_pools")


def test_the_filter_gives_the_same_names_and_fails_naming_the_variable():
    assert name_list_filter("a, b") == ["a", "b"]
    with pytest.raises(InvalidInput, match=r"^warm_nodes: must be a list"):
        name_list_filter(5, "warm_nodes")


def test_unique_in_order_keeps_each_first_occurrence():
    assert unique_in_order(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert unique_in_order(iter(["x", "x"])) == ["x"]
