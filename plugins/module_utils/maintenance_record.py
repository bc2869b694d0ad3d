# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance annotation: who marked a node, since when, why, and which marks are ours.

It is stored as JSON under constants.MAINTENANCE_ANNOTATION. Its `owned` part is what lets a
release take off exactly what this collection put on and nothing another tool or person set:

    {"by": "ops@bastion", "since": "2024-05-01T03:00:00Z", "reason": "kernel 6.8",
     "owned": {"taint": {"key": ..., "value": ..., "effect": ...} | null,
               "label": {"key": ..., "value": ...} | null,
               "cordon": true | false},
     "status": {"step": "drain", "error": "..."}}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

NOTHING_OWNED = {"taint": None, "label": None, "cordon": False}


def parse_record(raw):
    """Return (record, problem) for the annotation's raw value.

    record is None when there is no annotation or it cannot be read; problem then says why
    it cannot be read (None when simply absent). An unreadable record owns nothing: guessing
    would risk removing marks someone else set.
    """
    if raw is None:
        return None, None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return None, "not valid JSON (%s)" % exc
    problem = _shape_problem(data)
    if problem:
        return None, problem
    record = dict(data)  # fields a newer version added are kept, not dropped on rewrite
    record.setdefault("reason", None)
    record.setdefault("status", {})
    record["owned"] = dict(NOTHING_OWNED, **data["owned"])
    return record, None


def serialise_record(record):
    """Compact, key-sorted JSON, so equal records always give the same annotation text."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _shape_problem(data):
    if not isinstance(data, dict):
        return "not a JSON object"
    for field in ("by", "since"):
        if not isinstance(data.get(field), str):
            return "field %r missing or not a string" % field
    if data.get("reason") is not None and not isinstance(data["reason"], str):
        return "field 'reason' is not a string"
    status = data.get("status", {})
    if not isinstance(status, dict) or not all(isinstance(v, str) for v in status.values()):
        return "field 'status' is not an object of strings"
    owned = data.get("owned")
    if not isinstance(owned, dict):
        return "field 'owned' missing or not an object"
    if not _is_mark(owned.get("taint"), ("key", "value", "effect")):
        return "field 'owned.taint' is neither null nor a taint"
    if not _is_mark(owned.get("label"), ("key", "value")):
        return "field 'owned.label' is neither null nor a label"
    if not isinstance(owned.get("cordon", False), bool):
        return "field 'owned.cordon' is not a boolean"
    return None


def _is_mark(value, fields):
    if value is None:
        return True
    return isinstance(value, dict) and all(isinstance(value.get(f), str) for f in fields)
