# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's defaults/main.yml and meta/argument_specs.yml say the same thing.

A default that the argument spec does not document is a setting nobody can find; a spec default that
differs from defaults/main.yml is a lie in the docs (ansible-doc shows the spec), since the role runs
with defaults/main.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

ROLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, r)))


def _load(role, *path):
    with open(os.path.join(ROLES_DIR, role, *path), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _options(role):
    """{option: [(entry point, its spec)]} over every entry point of the role."""
    found = {}
    for entry_point, spec in _load(role, "meta", "argument_specs.yml")["argument_specs"].items():
        for name, option in (spec.get("options") or {}).items():
            found.setdefault(name, []).append((entry_point, option))
    return found


def _needs_spec_default(value):
    """A default the spec must repeat: not null, not an empty list or dict, not a template (described in words)."""
    return value is not None and value not in ([], {}) and not (isinstance(value, str) and "{{" in value)


def test_every_role_is_checked():
    assert ROLES == ["kubelet_image_gc", "node_upgrade", "preload"]


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_with_the_same_value(role):
    options = _options(role)
    problems = []
    for name, value in _load(role, "defaults", "main.yml").items():
        if name not in options:
            problems.append("%s: in defaults/main.yml, in no entry point of meta/argument_specs.yml" % name)
            continue
        for entry_point, option in options[name]:
            if "default" in option and option["default"] != value:
                problems.append("%s: entry point %s says default %r, defaults/main.yml %r" % (name, entry_point, option["default"], value))
            elif "default" not in option and _needs_spec_default(value):
                problems.append("%s: entry point %s gives no default, defaults/main.yml %r" % (name, entry_point, value))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_every_optional_option_has_a_default_and_every_option_the_role_prefix(role):
    defaults = _load(role, "defaults", "main.yml")
    problems = []
    for name, specs in _options(role).items():
        for entry_point, option in specs:
            if not name.startswith(role + "_") and not name.startswith("prewarm_"):
                problems.append("%s (entry point %s): neither %s_ nor prewarm_ as prefix" % (name, entry_point, role))
            if not option.get("required") and name not in defaults:
                problems.append("%s (entry point %s): optional, but not in defaults/main.yml" % (name, entry_point))
    assert not problems, "\n".join(problems)
