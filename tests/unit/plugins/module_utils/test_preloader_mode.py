# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_mode import (
    choose_mode,
    node_problem,
    parse_version,
    pool_nodes,
    server_version,
)

SERVER_137 = {"major": "1", "minor": "37", "gitVersion": "v1.37.2"}


def node(name="node-1", kubelet="v1.37.2", runtime="containerd://2.4.2", labels=None, taints=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []},
            "status": {"nodeInfo": {"kubeletVersion": kubelet, "containerRuntimeVersion": runtime}}}


# What kwok's node-initialize stage puts in a simulated node's nodeInfo (kustomize/stage/node).
KWOK = node("kwok-1", kubelet="fake", runtime="")


@pytest.mark.parametrize("text, expected", [
    ("v1.37.2", (1, 37)), ("1.35.0", (1, 35)), ("v1.35.1+k3s1", (1, 35)), ("v1.36.0-eks-7c3f2a", (1, 36)),
    ("2.1.0-rc.1", (2, 1)), ("v2.0", (2, 0)), ("fake", None), ("", None), (None, None), ("v1", None), ("1.35x", None),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("info, expected", [
    (SERVER_137, (1, 37)),
    ({"major": "1", "minor": "35+", "gitVersion": "v1.35.3-gke.1200"}, (1, 35)),
    ({"major": "1", "minor": "36+"}, (1, 36)),
    ({}, None),
    (None, None),
])
def test_server_version(info, expected):
    assert server_version(info) == expected


@pytest.mark.parametrize("kubelet, runtime, supported", [
    ("v1.37.2", "containerd://2.4.2", True),
    ("v1.35.0", "containerd://2.1.0", True),
    ("v1.35.0", "containerd://v2.1.1", True),
    ("v1.37.2", "containerd://2.0.5", False),
    ("v1.37.2", "containerd://1.7.27", False),
    ("v1.35.0", "cri-o://1.31.0", True),
    ("v1.35.0", "cri-o://1.30.4", False),
    ("v1.34.4", "containerd://2.4.2", False),
    ("v1.34.4", "cri-o://1.34.0", False),
    ("v1.37.2", "docker://27.1.1", False),
    ("v1.37.2", "containerd://", False),
    ("fake", "", False),
])
def test_node_support(kubelet, runtime, supported):
    problem = node_problem(node(kubelet=kubelet, runtime=runtime))
    assert (problem is None) is supported
    if problem:
        assert problem.startswith("node node-1 ")


def test_node_problems_name_the_node_and_the_version():
    assert node_problem(node(kubelet="v1.34.4")) == "node node-1 runs kubelet v1.34.4; image volumes need kubelet 1.35 or later"
    assert node_problem(node(runtime="containerd://2.0.5")) == (
        "node node-1 runs containerd://2.0.5; image volumes need containerd 2.1 or later or CRI-O 1.31 or later")
    assert node_problem(node(runtime="cri-o://1.30.4")) == (
        "node node-1 runs cri-o://1.30.4; image volumes need containerd 2.1 or later or CRI-O 1.31 or later")
    assert node_problem(node(runtime="docker://27.1.1")) == (
        "node node-1 reports container runtime 'docker://27.1.1'; image volumes need containerd 2.1 or later or "
        "CRI-O 1.31 or later")
    assert node_problem(KWOK) == "node kwok-1 reports kubelet version 'fake', which is not a Kubernetes version"
    assert "container runtime ''" in node_problem(node(runtime=""))


def test_volume_when_the_api_server_and_every_node_support_image_volumes():
    mode, reason = choose_mode(SERVER_137, [node("a"), node("b", runtime="cri-o://1.31.0")])
    assert mode == "volume"
    assert reason == ("volume: the API server is v1.37.2 and all 2 node(s) of the pool run kubelet 1.35 or later and "
                      "containerd://2.4.2, cri-o://1.31.0, which mount image volumes")


@pytest.mark.parametrize("info, version", [
    ({"major": "1", "minor": "34", "gitVersion": "v1.34.4"}, "v1.34.4"),
    ({}, "of unknown version"),
])
def test_init_when_the_api_server_is_older_than_1_35(info, version):
    assert choose_mode(info, [node()]) == (
        "init", "init: the API server is %s; image volumes need Kubernetes 1.35 or later" % version)


def test_init_when_the_pool_has_no_node():
    mode, reason = choose_mode(SERVER_137, [])
    assert mode == "init"
    assert "the pool selects no node" in reason


def test_a_mixed_pool_is_init_naming_the_first_node_that_cannot():
    nodes = [node("c", runtime="containerd://2.0.5"), node("a"), node("b", kubelet="v1.34.4"), node("d")]
    assert choose_mode(SERVER_137, nodes) == (
        "init", "init: node b runs kubelet v1.34.4; image volumes need kubelet 1.35 or later (and 1 more of the 4 nodes cannot)")
    assert choose_mode(SERVER_137, [node("a"), node("c", runtime="containerd://2.0.5")]) == (
        "init", "init: node c runs containerd://2.0.5; image volumes need containerd 2.1 or later or CRI-O 1.31 or later")


def test_simulated_kwok_nodes_are_init():
    assert choose_mode(SERVER_137, [node("a"), KWOK]) == (
        "init", "init: node kwok-1 reports kubelet version 'fake', which is not a Kubernetes version")


def test_pool_nodes_are_those_the_pool_selects_and_whose_taints_its_pods_tolerate():
    nodes = [node("web-1", labels={"pool": "web"}), node("cpu-1", labels={"pool": "cpu"}),
             node("web-2", labels={"pool": "web"}, taints=[{"key": "gpu", "value": "a100", "effect": "NoSchedule"}]),
             node("web-3", labels={"pool": "web"}, taints=[{"key": "prewarm.k8s/maintenance", "value": "true", "effect": "NoSchedule"}]),
             node("web-4", labels={"pool": "web"}, taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])]
    tolerations = [{"key": "prewarm.k8s/maintenance", "operator": "Exists"}]
    assert [n["metadata"]["name"] for n in pool_nodes(nodes, {"pool": "web"}, tolerations)] == ["web-1", "web-3", "web-4"]
    assert [n["metadata"]["name"] for n in pool_nodes(nodes, {}, [{"operator": "Exists"}])] == [
        "web-1", "cpu-1", "web-2", "web-3", "web-4"]
