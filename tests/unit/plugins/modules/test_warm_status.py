# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.modules import warm_status


def params(**overrides):
    base = dict(name="preload-web", namespace="prewarm", nodes=None, wait=False, timeout=600,
                require_ready=True, fail_on_cold=False, request_timeout=30)
    base.update(overrides)
    return base


def node(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {}}


@pytest.mark.parametrize("overrides, expected", [
    (dict(name="Bad_Name"), "name: invalid name 'Bad_Name'"),
    (dict(namespace="a.b"), "namespace: invalid name 'a.b'"),
    (dict(nodes=["node-1", "NODE 2"]), "nodes: invalid name 'NODE 2'"),
    (dict(timeout=0), "timeout: must be a positive number of seconds, not 0"),
])
def test_bad_options_are_named(overrides, expected):
    with pytest.raises(InvalidInput) as failure:
        warm_status.check_params(params(**overrides))
    assert failure.value.msg.startswith(expected)


def test_unknown_nodes_fail_naming_each_of_them():
    with pytest.raises(InvalidInput) as failure:
        warm_status.target_names(params(nodes=["node-1", "ghost-1", "ghost-2"]), [node("node-1")], {})
    assert failure.value.msg == "nodes: no such node: ghost-1, ghost-2"


def test_named_nodes_keep_their_order_without_duplicates():
    items = [node("b"), node("a")]
    assert warm_status.target_names(params(nodes=["a", "b", "a"]), items, {}) == ["a", "b"]
    assert warm_status.target_names(params(nodes=[]), items, {}) == []


def test_without_names_the_nodes_the_daemonset_runs_on_are_used():
    items = [node("web-1", {"pool": "web"}), node("db-1", {"pool": "db"})]
    assert warm_status.target_names(params(), items, {"nodeSelector": {"pool": "web"}}) == ["web-1"]
