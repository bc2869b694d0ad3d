# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import (
    label_selector_string,
    untolerated_taint,
    why_not_scheduled,
)


def node(labels=None, taints=None, name="node-1"):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def affinity(*terms):
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}}


def test_label_selector_string_covers_labels_and_expressions():
    selector = {"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "c", "operator": "In", "values": ["x", "y"]},
        {"key": "d", "operator": "NotIn", "values": ["z"]},
        {"key": "e", "operator": "Exists"},
        {"key": "f", "operator": "DoesNotExist"},
    ]}
    assert label_selector_string(selector) == "a=1,b=2,c in (x,y),d notin (z),e,!f"
    assert label_selector_string(None) == ""


def test_node_selector_mismatch_names_the_missing_labels():
    spec = {"nodeSelector": {"pool": "web", "zone": "a"}}
    assert why_not_scheduled(node({"pool": "web", "zone": "a"}), spec) is None
    assert why_not_scheduled(node({"pool": "db"}), spec) == "the node does not match the preloader's nodeSelector (pool=web, zone=a)"


@pytest.mark.parametrize("expression, labels, matches", [
    ({"key": "pool", "operator": "In", "values": ["web"]}, {"pool": "web"}, True),
    ({"key": "pool", "operator": "In", "values": ["web"]}, {}, False),
    ({"key": "pool", "operator": "NotIn", "values": ["web"]}, {}, True),
    ({"key": "pool", "operator": "NotIn", "values": ["web"]}, {"pool": "web"}, False),
    ({"key": "gpu", "operator": "Exists"}, {"gpu": ""}, True),
    ({"key": "gpu", "operator": "DoesNotExist"}, {"gpu": ""}, False),
    ({"key": "cores", "operator": "Gt", "values": ["8"]}, {"cores": "16"}, True),
    ({"key": "cores", "operator": "Lt", "values": ["8"]}, {"cores": "16"}, False),
    ({"key": "cores", "operator": "Gt", "values": ["8"]}, {"cores": "many"}, False),
])
def test_required_node_affinity_expressions(expression, labels, matches):
    why = why_not_scheduled(node(labels), affinity({"matchExpressions": [expression]}))
    assert (why is None) is matches
    if not matches:
        assert why == "the node does not match the preloader's required node affinity"


def test_affinity_terms_are_ored_and_match_fields_use_the_name():
    spec = affinity({"matchExpressions": [{"key": "pool", "operator": "In", "values": ["web"]}]},
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]})
    assert why_not_scheduled(node(name="node-1"), spec) is None
    assert why_not_scheduled(node(name="node-2"), spec) is not None


def test_untolerated_taint_keeps_the_pod_off():
    taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    assert why_not_scheduled(node(taints=[taint]), {}) == \
        "the node has the taint dedicated=db:NoSchedule, which the preloader does not tolerate"
    assert untolerated_taint(node(taints=[taint]), {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}) is None
    assert untolerated_taint(node(taints=[taint]), {"tolerations": [{"key": "dedicated", "value": "db"}]}) is None
    assert untolerated_taint(node(taints=[taint]), {"tolerations": [{"key": "dedicated", "value": "web"}]}) == taint
    assert untolerated_taint(node(taints=[taint]), {"tolerations": [{"operator": "Exists"}]}) is None
    assert untolerated_taint(node(taints=[taint]), {"tolerations": [{"key": "dedicated", "operator": "Exists",
                                                                     "effect": "NoExecute"}]}) == taint


def test_taints_a_daemonset_tolerates_anyway_do_not_count():
    taints = [{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
              {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
              {"key": "soft", "effect": "PreferNoSchedule"}]
    assert why_not_scheduled(node(taints=taints), {}) is None
    # Not tolerated, but gone once the node is Ready: a rebooting node must not be refused for good.
    unhealthy = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                 {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]
    assert why_not_scheduled(node(taints=unhealthy), {}) is None
    network = [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]
    assert untolerated_taint(node(taints=network), {}) == network[0]
    assert untolerated_taint(node(taints=network), {"hostNetwork": True}) is None
