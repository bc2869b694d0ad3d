# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import (
    parse_record,
    serialise_record,
)

TAINT = {"key": "prewarm.k8s/maintenance", "value": "true", "effect": "NoSchedule"}
LABEL = {"key": "prewarm.k8s/maintenance", "value": "true"}


def record(**changes):
    base = {"by": "ops@bastion", "since": "2024-05-01T03:00:00Z", "reason": "kernel",
            "owned": {"taint": TAINT, "label": LABEL, "cordon": True}, "status": {"step": "drain"}}
    base.update(changes)
    return base


def test_absent_annotation_is_no_record_and_no_problem():
    assert parse_record(None) == (None, None)


def test_round_trip():
    parsed, problem = parse_record(serialise_record(record()))
    assert problem is None
    assert parsed == record()


def test_serialisation_is_stable_whatever_the_key_order():
    reordered = dict(reversed(list(record().items())))
    assert serialise_record(reordered) == serialise_record(record())


def test_missing_optional_fields_get_defaults():
    raw = json.dumps({"by": "a", "since": "b", "owned": {"taint": None}})
    parsed, problem = parse_record(raw)
    assert problem is None
    assert parsed["reason"] is None
    assert parsed["status"] == {}
    assert parsed["owned"] == {"taint": None, "label": None, "cordon": False}


def test_unknown_fields_written_by_a_newer_version_are_kept():
    parsed, problem = parse_record(json.dumps(record(batch="7")))
    assert problem is None
    assert parsed["batch"] == "7"


@pytest.mark.parametrize("raw, problem", [
    ("{not json", "not valid JSON"),
    ("[]", "not a JSON object"),
    (json.dumps(record(by=None)), "'by'"),
    (json.dumps(record(since=5)), "'since'"),
    (json.dumps(record(reason=["x"])), "'reason'"),
    (json.dumps(record(status={"step": 1})), "'status'"),
    (json.dumps(record(status="drain")), "'status'"),
    (json.dumps(record(owned=None)), "'owned'"),
    (json.dumps(record(owned={"taint": {"key": "k"}})), "'owned.taint'"),
    (json.dumps(record(owned={"label": "k=v"})), "'owned.label'"),
    (json.dumps(record(owned={"cordon": "yes"})), "'owned.cordon'"),
])
def test_corrupt_annotation_is_no_record_with_a_reason(raw, problem):
    parsed, found = parse_record(raw)
    assert parsed is None
    assert problem in found
