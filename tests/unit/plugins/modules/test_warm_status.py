# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_FIELDS
from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import LISTED_COUNT
from ansible_collections.prewarm.k8s.plugins.modules import warm_status
from ansible_collections.prewarm.k8s.tests.unit.plugins.modules.node_lister import Lister

DIGEST = "sha256:" + "c" * 64


def params(**overrides):
    base = dict(name="preload-web", namespace="prewarm", nodes=None, wait=False, timeout=600,
                require_ready=True, fail_on_cold=False, request_timeout=30, resolve_tags=True, registries={},
                node_status_max_images=50, image_list_lag=90, record_state=False)
    base.update(overrides)
    return base


def node(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {}}


@pytest.mark.parametrize("overrides, expected", [
    (dict(name="Bad_Name"), "name: invalid name 'Bad_Name'"),
    (dict(namespace="a.b"), "namespace: invalid name 'a.b'"),
    (dict(nodes=["node-1", "NODE 2"]), "nodes: invalid name 'NODE 2'"),
    (dict(timeout=0), "timeout: must be a positive number of seconds, not 0"),
    (dict(node_status_max_images=-1), "node_status_max_images: must be 0 (no cap) or the kubelet's cap, not -1"),
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


@pytest.mark.parametrize("cap", [0, 50, 200])
def test_any_cap_from_none_up_is_accepted(cap):
    warm_status.check_params(params(node_status_max_images=cap))


def test_without_resolving_the_recorded_digests_are_wanted():
    images = [{"container": "pull-0", "image": "127.0.0.1:5000/base:1", "digest": DIGEST},
              {"container": "pull-1", "image": "127.0.0.1:5000/big:1", "digest": None}]
    assert warm_status.wanted_digests(None, params(resolve_tags=False), {}, {}, images) == {"127.0.0.1:5000/base:1": DIGEST}


def test_the_node_stream_keeps_of_each_image_list_only_the_pools_repositories():
    whole = {"metadata": {"name": "web-1", "labels": {"pool": "web"}, "managedFields": [{"manager": "kubelet"}]},
             "spec": {},
             "status": {"conditions": [{"type": "Ready", "status": "True"}],
                        "images": [{"names": ["127.0.0.1:5000/base@" + DIGEST, "127.0.0.1:5000/base:1"], "sizeBytes": 9},
                                   {"names": ["registry.example/other:1"], "sizeBytes": 8}]}}
    core = Lister([whole])
    images = [{"container": "pull-0", "image": "127.0.0.1:5000/base:1", "digest": DIGEST}]
    stream = warm_status.node_stream(core, params(), {"nodeSelector": {"pool": "web"}}, images)
    assert stream.kept_fields == NODE_FIELDS
    (node,), version = stream.list()
    assert version == "5"
    assert node["status"]["images"] == [{"names": ["127.0.0.1:5000/base@" + DIGEST, "127.0.0.1:5000/base:1"]}]
    assert node["status"][LISTED_COUNT] == 2
    assert core.calls[0]["label_selector"] == "pool=web"
    warm_status.node_stream(core, params(nodes=["web-1"]), {}, images).list()
    assert core.calls[1]["field_selector"] == "metadata.name=web-1"
    warm_status.node_stream(core, params(nodes=["web-1", "web-2"]), {"nodeSelector": {"pool": "web"}}, images).list()
    assert "label_selector" not in core.calls[2] and "field_selector" not in core.calls[2]
