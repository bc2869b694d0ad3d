# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_options import build_preloader_spec
from ansible_collections.prewarm.k8s.plugins.modules import preloader
from ansible_collections.prewarm.k8s.tests.unit.plugins.modules.node_lister import Lister


def spec(**overrides):
    params = dict(name="preload-web", namespace="prewarm-system", pool="web", images=["nginx:1.27"],
                  node_selector={"pool": "web"}, scope="admitted", tolerations=[], tolerate_maintenance=True,
                  image_pull_secrets=[], resources=None, labels={}, max_unavailable=None)
    params.update(overrides)
    return build_preloader_spec(params)


def test_mode_auto_lists_the_pools_nodes_by_its_own_selector_and_keeps_their_versions():
    whole = {"metadata": {"name": "web-1", "labels": {"pool": "web"}, "managedFields": [{"manager": "kubelet"}]},
             "spec": {"podCIDR": "10.0.0.0/24"},
             "status": {"nodeInfo": {"kubeletVersion": "v1.37.2", "containerRuntimeVersion": "containerd://2.4.2",
                                     "kernelVersion": "6.12.0"},
                        "images": [{"names": ["registry.example/other:1"], "sizeBytes": 8}]}}
    core = Lister([whole])
    (node,), _version = preloader.pool_node_stream(core, spec(), 30).list()
    # The admission label of scope admitted is no part of the pool: every node it may admit counts.
    assert core.calls[0]["label_selector"] == "pool=web"
    assert node == {"metadata": {"name": "web-1", "labels": {"pool": "web"}}, "spec": {},
                    "status": {"nodeInfo": {"kubeletVersion": "v1.37.2", "containerRuntimeVersion": "containerd://2.4.2"}}}
    preloader.pool_node_stream(core, spec(node_selector={}), 30).list()
    assert core.calls[1].get("label_selector") is None


def test_a_mode_given_is_used_without_asking_the_cluster():
    assert preloader.decide_mode(None, spec(mode="volume"), 30) == ("volume", "volume: set by the mode option")
    assert preloader.decide_mode(None, spec(mode="init"), 30) == ("init", "init: set by the mode option")
