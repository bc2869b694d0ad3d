# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which PodDisruptionBudgets hold a drain, so the failure names them.

The Eviction API refuses a pod whose budget allows no disruption now with "Cannot evict pod as it
would violate the pod's disruption budget", which names neither the budget nor its numbers. The
budgets that hold a drain are those of the pods still on the node whose status allows no
disruption. Inputs are plain dicts as the API returns them (Pod and PodDisruptionBudget).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _expression_matches(expression, labels):
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector, labels):
    """Whether a LabelSelector selects `labels`. A null selector selects nothing, an empty one everything (policy/v1)."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(expression, labels) for expression in selector.get("matchExpressions") or [])


def _evictable(pod):
    # DaemonSet pods stay on a drained node, and a pod already being deleted is on its way out.
    metadata = pod.get("metadata") or {}
    owners = metadata.get("ownerReferences") or []
    return not metadata.get("deletionTimestamp") and not any(owner.get("kind") == "DaemonSet" for owner in owners)


def holding_budgets(pods, budgets):
    """[{namespace, name, pods, rule, status}] of the budgets that allow no disruption for a pod still on the node."""
    found = []
    for budget in budgets or []:
        metadata, spec, status = budget.get("metadata") or {}, budget.get("spec") or {}, budget.get("status") or {}
        if status.get("disruptionsAllowed", 0) > 0:
            continue
        held = sorted(pod["metadata"]["name"] for pod in pods or [] if _evictable(pod)
                      and pod["metadata"].get("namespace") == metadata.get("namespace")
                      and selector_matches(spec.get("selector"), pod["metadata"].get("labels")))
        if not held:
            continue
        rule = ("minAvailable %s" % spec["minAvailable"]) if "minAvailable" in spec else ("maxUnavailable %s" % spec.get("maxUnavailable"))
        found.append({"namespace": metadata.get("namespace"), "name": metadata.get("name"), "pods": held, "rule": rule,
                      "status": "%s healthy of %s wanted, %s disruptions allowed" % (
                          status.get("currentHealthy", 0), status.get("desiredHealthy", 0), status.get("disruptionsAllowed", 0))})
    return sorted(found, key=lambda entry: (entry["namespace"], entry["name"]))


def describe_holding(budgets):
    """'' or the sentence that names each budget holding the drain, for the failure message."""
    if not budgets:
        return ""
    return "; held by PodDisruptionBudget %s" % ", ".join(
        "%s/%s (%s; now %s) for pod %s" % (b["namespace"], b["name"], b["rule"], b["status"], ", ".join(b["pods"]))
        for b in budgets)
