# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which nodes a DaemonSet runs on, and label selectors as the API server reads them.

warm_status uses this to find the nodes a preloader targets when none are named, and to
say why a node has no preloader pod. Objects are plain dicts in the API's JSON form.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Taints that never keep a DaemonSet pod off a node for good. The DaemonSet controller
# tolerates the pressure and unschedulable taints on every DaemonSet pod by itself, and
# not-ready/unreachable with effect NoExecute. With effect NoSchedule, not-ready and
# unreachable are not tolerated, but they are the node lifecycle controller's word for an
# unhealthy node and go once it is Ready: the pod comes then. Counting them here would
# refuse a node that is still rebooting for good; the readiness check reports it instead.
DAEMONSET_DEFAULT_TOLERATED = frozenset([
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure",
    "node.kubernetes.io/unschedulable",
])
# Tolerated by the controller only for pods on the host network.
HOST_NETWORK_TOLERATED = "node.kubernetes.io/network-unavailable"
# PreferNoSchedule taints never keep a DaemonSet pod off a node.
_BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def label_selector_string(selector):
    """A metav1.LabelSelector dict as the `labelSelector` query parameter."""
    selector = selector or {}
    parts = ["%s=%s" % (key, value) for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif operator == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def _labels(node):
    return (node.get("metadata") or {}).get("labels") or {}


def _numeric(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _requirement_holds(value, present, operator, values):
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        number, bound = _numeric(value), _numeric(values[0] if values else None)
        if number is None or bound is None:
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def _term_matches(node, term):
    labels = _labels(node)
    for expression in term.get("matchExpressions") or []:
        key = expression["key"]
        if not _requirement_holds(labels.get(key), key in labels, expression["operator"], expression.get("values") or []):
            return False
    name = (node.get("metadata") or {}).get("name")
    for expression in term.get("matchFields") or []:
        # metadata.name is the only field node affinity supports.
        if not _requirement_holds(name, True, expression["operator"], expression.get("values") or []):
            return False
    return True


def _required_node_terms(pod_spec):
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    return required.get("nodeSelectorTerms") or []


def _tolerates(toleration, taint):
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if not toleration.get("key"):
        # An empty key with Exists tolerates every taint.
        return toleration.get("operator") == "Exists"
    if toleration["key"] != taint.get("key"):
        return False
    if toleration.get("operator") == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(node, pod_spec):
    """The first NoSchedule/NoExecute taint on `node` that keeps the pod off it, or None."""
    tolerations = pod_spec.get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in _BLOCKING_EFFECTS:
            continue
        key = taint.get("key")
        if key in DAEMONSET_DEFAULT_TOLERATED or (key == HOST_NETWORK_TOLERATED and pod_spec.get("hostNetwork")):
            continue
        if not any(_tolerates(toleration, taint) for toleration in tolerations):
            return taint
    return None


def _describe_taint(taint):
    value = taint.get("value")
    return "%s%s:%s" % (taint.get("key"), "=" + value if value else "", taint.get("effect"))


def why_not_scheduled(node, pod_spec):
    """Why a DaemonSet with this pod template runs no pod on `node`, or None when it should run one."""
    labels = _labels(node)
    mismatched = ["%s=%s" % (key, value) for key, value in sorted((pod_spec.get("nodeSelector") or {}).items())
                  if labels.get(key) != value]
    if mismatched:
        return "the node does not match the preloader's nodeSelector (%s)" % ", ".join(mismatched)
    terms = _required_node_terms(pod_spec)
    if terms and not any(_term_matches(node, term) for term in terms):
        return "the node does not match the preloader's required node affinity"
    taint = untolerated_taint(node, pod_spec)
    if taint:
        return "the node has the taint %s, which the preloader does not tolerate" % _describe_taint(taint)
    return None
