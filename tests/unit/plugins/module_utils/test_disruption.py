# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Naming the PodDisruptionBudgets that hold a drain."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.disruption import describe_holding, holding_budgets, selector_matches


def pod(name, namespace="shop", labels=None, owner=None, deleting=False):
    metadata = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner, "name": "x"}]
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-03T03:00:00Z"
    return {"metadata": metadata}


def budget(name, selector, allowed=0, namespace="shop", **spec):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": dict(selector=selector, **spec),
            "status": {"disruptionsAllowed": allowed, "currentHealthy": 1, "desiredHealthy": 1}}


@pytest.mark.parametrize("selector, labels, matches", [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "a"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, {"app": "api"}, True),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {}, True),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"tier": "a"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {"tier": "a"}, True),
    ({}, {"anything": "x"}, True),
    (None, {"app": "web"}, False),
])
def test_label_selectors(selector, labels, matches):
    assert selector_matches(selector, labels) is matches


def test_only_budgets_that_allow_no_disruption_for_a_pod_left_on_the_node_hold_it():
    pods = [pod("web-0", labels={"app": "web"}), pod("agent-x", labels={"app": "web"}, owner="DaemonSet"),
            pod("web-old", labels={"app": "web"}, deleting=True), pod("db-0", namespace="data", labels={"app": "web"})]
    budgets = [budget("web", {"matchLabels": {"app": "web"}}, minAvailable=1),
               budget("web-loose", {"matchLabels": {"app": "web"}}, allowed=1, maxUnavailable=1),
               budget("other", {"matchLabels": {"app": "api"}}, minAvailable=1)]
    held = holding_budgets(pods, budgets)
    assert [(b["namespace"], b["name"], b["pods"], b["rule"]) for b in held] == [("shop", "web", ["web-0"], "minAvailable 1")]


def test_the_message_names_the_budget_its_rule_and_numbers():
    message = describe_holding(holding_budgets([pod("web-0", labels={"app": "web"})],
                                               [budget("web", {"matchLabels": {"app": "web"}}, maxUnavailable=0)]))
    assert message == ("; held by PodDisruptionBudget shop/web (maxUnavailable 0; now 1 healthy of 1 wanted, 0 disruptions "
                       "allowed) for pod web-0")
    assert describe_holding(holding_budgets([pod("web-0")], [])) == ""
