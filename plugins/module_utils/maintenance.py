# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Marking a node under maintenance and releasing it, decided without touching the API.

plan_node() turns the node as the API returned it (a dict) and a request into the one JSON
merge patch that brings the node where it should be, or None when it already is there.

Ownership rule: a mark (taint, label, cordon) is ours only if this collection put it on and
the annotation says so. Marking never claims a mark that was already there; releasing takes
off only what the annotation owns and only while it is still exactly as we set it. So a
release never undoes another tool's taint, label or cordon.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import MAINTENANCE_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.guarded_patch import guarded_json_patch
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import (
    NOTHING_OWNED,
    parse_record,
    serialise_record,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import check_timeline
from ansible_collections.prewarm.k8s.plugins.module_utils.names import (
    check_label_key,
    check_label_value,
    check_taint_effect,
)

MARKED = "marked"
RELEASED = "released"
UNCHANGED = "unchanged"
FAILED = "failed"


class MarkConflict(PrewarmError):
    """The node holds something that marking would have to take from someone else."""


def build_request(params, now, default_by):
    """Check the module's marking options and return the request plan_node() works from.

    now: RFC 3339 UTC time recorded as `since` on nodes marked by this run.
    default_by: who marks, when the `by` option is not given.
    """
    taint = dict(params["taint"])
    label = dict(params["label"])
    check_label_key(taint["key"], "taint.key")
    check_label_value(taint["value"], "taint.value")
    check_taint_effect(taint["effect"], "taint.effect")
    check_label_key(label["key"], "label.key")
    check_label_value(label["value"], "label.value")
    for option in ("status", "steps"):
        if params["state"] == "absent" and params.get(option):
            raise InvalidInput("%s: only recorded when marking (state=present); "
                               "a release removes the whole annotation" % option)
    return {
        "state": params["state"],
        "taint": {"key": taint["key"], "value": taint["value"], "effect": taint["effect"]},
        "label": {"key": label["key"], "value": label["value"]},
        "reason": params.get("reason"),
        "by": params.get("by") or None,
        "default_by": default_by,
        "cordon": bool(params.get("cordon")),
        "status": _check_status(params.get("status")),
        "steps": dict((name, check_timeline(entries, "steps.%s" % name)) for name, entries in (params.get("steps") or {}).items()),
        "now": now,
    }


def _check_status(status):
    """Status values are strings; numbers and booleans are written as text, null removes a key."""
    checked = {}
    for key, value in (status or {}).items():
        if value is None or isinstance(value, str):
            checked[key] = value
        elif isinstance(value, (bool, int, float)):
            checked[key] = str(value)
        else:
            raise InvalidInput("status.%s: must be a string or null, got %s %r"
                               % (key, type(value).__name__, value))
    return checked


def plan_node(node, request):
    """Decide what to do with one node.

    Returns {name, action, patch, operations, before, after, record, warnings}: patch is the
    change as a JSON merge patch (None when nothing changes), operations the same change as the
    JSON Patch to send, guarded by what was read of each field it changes (guarded_patch.py);
    before/after summarise the node for diff mode, record is the maintenance annotation after the
    change (None when released).
    Raises MarkConflict when marking would have to overwrite another owner's label.
    """
    name = (node.get("metadata") or {}).get("name")
    before = _view(node)
    warnings = []
    if request["state"] == "present":
        after = _marked(before, request, warnings, request["steps"].get(name))
        action = MARKED
    else:
        after = _released(before, request, warnings)
        action = RELEASED
    patch = merge_patch(before, after)
    label_keys = {request["label"]["key"]}
    for view in (before, after):
        if view["record"] and view["record"]["owned"]["label"]:
            label_keys.add(view["record"]["owned"]["label"]["key"])
    return {
        "name": name,
        "action": action if patch else UNCHANGED,
        "patch": patch,
        "operations": guarded_json_patch(node, patch) if patch else None,
        "before": _summary(before, label_keys),
        "after": _summary(after, label_keys),
        "record": after["record"],
        "warnings": ["node %s: %s" % (name, w) for w in warnings],
    }


def merge_patch(before, after):
    """The JSON merge patch from view `before` to view `after`, or None if they are equal.

    spec.taints is replaced as a whole list, so a taint someone else added since we read the
    node would be lost: the patch is sent as a JSON Patch that tests the list read first
    (guarded_patch.py). Labels and annotations carry only the keys that change; null deletes one.
    """
    patch = {}
    if after["taints"] != before["taints"]:
        patch.setdefault("spec", {})["taints"] = after["taints"]
    if after["unschedulable"] != before["unschedulable"]:
        patch.setdefault("spec", {})["unschedulable"] = True if after["unschedulable"] else None
    labels = {}
    for key in set(before["labels"]) | set(after["labels"]):
        if before["labels"].get(key) != after["labels"].get(key):
            labels[key] = after["labels"].get(key)
    if labels:
        patch.setdefault("metadata", {})["labels"] = labels
    if after["annotation"] != before["annotation"]:
        patch.setdefault("metadata", {})["annotations"] = {MAINTENANCE_ANNOTATION: after["annotation"]}
    return patch or None


def _view(node):
    """The parts of a node this module reads or writes, as fresh copies."""
    metadata = node.get("metadata") or {}
    spec = node.get("spec") or {}
    raw = (metadata.get("annotations") or {}).get(MAINTENANCE_ANNOTATION)
    record, problem = parse_record(raw)
    return {
        "taints": copy.deepcopy(spec.get("taints") or []),
        "labels": dict(metadata.get("labels") or {}),
        "unschedulable": bool(spec.get("unschedulable")),
        "annotation": raw,
        "record": record,
        "problem": problem,
    }


def _marked(before, request, warnings, steps):
    old = before["record"]
    owned = old["owned"] if old else NOTHING_OWNED
    if before["problem"]:
        warnings.append("annotation %s is unreadable (%s): treated as owning nothing and replaced"
                        % (MAINTENANCE_ANNOTATION, before["problem"]))
    taints, owned_taint = _mark_taint(before["taints"], request["taint"], owned["taint"], warnings)
    labels, owned_label = _mark_label(before["labels"], request["label"], owned["label"], warnings)
    unschedulable, owned_cordon = _mark_cordon(before["unschedulable"], request["cordon"], owned["cordon"])
    record = dict(old or {})
    record.update(
        by=request["by"] or (old["by"] if old else request["default_by"]),
        since=old["since"] if old else request["now"],  # re-marking keeps the time under maintenance measurable
        reason=request["reason"] if request["reason"] is not None else (old or {}).get("reason"),
        owned={"taint": owned_taint, "label": owned_label, "cordon": owned_cordon},
        status=_merged_status((old or {}).get("status") or {}, request["status"]),
    )
    if steps is not None:
        record["steps"] = steps  # the node's step timeline: a field of its own, `status` stays strings only
    # Compare records, not text: an equal record written differently is not a change.
    annotation = before["annotation"] if record == old else serialise_record(record)
    return dict(before, taints=taints, labels=labels, unschedulable=unschedulable,
                annotation=annotation, record=record, problem=None)


def _released(before, request, warnings):
    old = before["record"]
    owned = old["owned"] if old else NOTHING_OWNED
    if before["problem"]:
        warnings.append("annotation %s is unreadable (%s): removed, but no taint, label or cordon "
                        "is taken off since it cannot tell which are ours" % (MAINTENANCE_ANNOTATION, before["problem"]))
    taints = before["taints"]
    if owned["taint"]:
        taints = _take_off_taint(taints, owned["taint"], warnings)
    labels = before["labels"]
    if owned["label"]:
        labels = _take_off_label(labels, owned["label"], warnings)
    unschedulable = before["unschedulable"] and not owned["cordon"]
    _warn_foreign_marks(taints, labels, unschedulable, request, warnings)
    return dict(before, taints=taints, labels=labels, unschedulable=unschedulable,
                annotation=None, record=None, problem=None)


def _mark_taint(taints, want, owned, warnings):
    """Return (taints, owned taint or None) with the requested taint on the node."""
    if owned and _taint_id(owned) != _taint_id(want):
        taints = _take_off_taint(taints, owned, warnings)  # the taint options changed since marking
    taints = list(taints)
    index = _find_taint(taints, want)
    if index is None:
        taints.append(dict(want))
        return taints, dict(want)
    current = taints[index]
    if owned and _taint_id(owned) == _taint_id(want):
        if _taint_value(current) == owned["value"]:
            if _taint_value(current) != want["value"]:
                taints[index] = dict(current, value=want["value"])
            return taints, dict(want)
        warnings.append("taint %s was changed by someone else to %s since it was marked: it is theirs "
                        "now and a release will leave it" % (_describe_taint(owned), _describe_taint(current)))
    elif _taint_value(current) != want["value"]:
        warnings.append("taint %s is already on the node (not ours): left as it is instead of %s"
                        % (_describe_taint(current), _describe_taint(want)))
    return taints, None


def _take_off_taint(taints, owned, warnings):
    index = _find_taint(taints, owned)
    if index is None:
        return taints  # already gone
    if _taint_value(taints[index]) != owned["value"]:
        warnings.append("taint %s was changed by someone else since it was marked (now %s): left in place"
                        % (_describe_taint(owned), _describe_taint(taints[index])))
        return taints
    return taints[:index] + taints[index + 1:]


def _mark_label(labels, want, owned, warnings):
    """Return (labels, owned label or None) with the requested label on the node."""
    if owned and owned["key"] != want["key"]:
        labels = _take_off_label(labels, owned, warnings)  # the label options changed since marking
    labels = dict(labels)
    current = labels.get(want["key"])
    still_ours = bool(owned) and owned["key"] == want["key"] and current == owned["value"]
    if current is None or still_ours:
        labels[want["key"]] = want["value"]
        return labels, dict(want)
    if current == want["value"]:
        return labels, None  # someone else's label that already says what we would say
    # Overwriting it would take another owner's label away, and a release could not give it
    # back; leaving it would keep the node out of selectors on our label.
    raise MarkConflict("label %s=%s was set by someone else; marking needs %s=%s. Remove that label "
                       "or choose another label.key" % (want["key"], current, want["key"], want["value"]))


def _take_off_label(labels, owned, warnings):
    current = labels.get(owned["key"])
    if current is None:
        return labels
    if current != owned["value"]:
        warnings.append("label %s was changed by someone else since it was marked (now %s=%s): left in place"
                        % (_describe_label(owned), owned["key"], current))
        return labels
    return {k: v for k, v in labels.items() if k != owned["key"]}


def _mark_cordon(unschedulable, cordon, owned):
    """Return (unschedulable, we own the cordon): only a cordon we set is ours to lift."""
    if cordon:
        if unschedulable:
            return True, owned  # ours if we set it earlier, else someone else's
        return True, True
    # Declarative: cordon=false lifts our own cordon, never someone else's.
    return unschedulable and not owned, False


def _warn_foreign_marks(taints, labels, unschedulable, request, warnings):
    """After a release, say which marks like ours stay because they are not ours."""
    want = request["taint"]
    index = _find_taint(taints, want)
    if index is not None and _taint_value(taints[index]) == want["value"]:
        warnings.append("taint %s stays: this collection did not put it on (remove it with "
                        "'kubectl taint node <node> %s:%s-' if it is a leftover)"
                        % (_describe_taint(want), want["key"], want["effect"]))
    if labels.get(request["label"]["key"]) == request["label"]["value"]:
        warnings.append("label %s stays: this collection did not put it on" % _describe_label(request["label"]))
    if unschedulable:
        warnings.append("node stays cordoned: someone else cordoned it")


def _merged_status(old, update):
    status = dict(old)
    for key, value in update.items():
        if value is None:
            status.pop(key, None)
        else:
            status[key] = value
    return status


def _summary(view, label_keys):
    """What diff mode shows for a node: only the fields this module touches."""
    return {
        "taints": view["taints"],
        "labels": {k: view["labels"][k] for k in sorted(label_keys) if k in view["labels"]},
        "annotation": view["record"] if view["record"] is not None else view["annotation"],
        "unschedulable": view["unschedulable"],
    }


def _taint_id(taint):
    # The API allows one taint per (key, effect): that pair is a taint's identity.
    return taint.get("key"), taint.get("effect")


def _taint_value(taint):
    return taint.get("value") or ""


def _find_taint(taints, taint):
    for index, candidate in enumerate(taints):
        if _taint_id(candidate) == _taint_id(taint):
            return index
    return None


def _describe_taint(taint):
    return "%s=%s:%s" % (taint.get("key"), _taint_value(taint), taint.get("effect"))


def _describe_label(label):
    return "%s=%s" % (label["key"], label["value"])
