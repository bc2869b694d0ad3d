# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX objects of docs/awx/ load into AWX and ask for what the playbooks read.

docs/awx/controller.yml creates the job templates and the schedule with the awx.awx collection;
its surveys are the JSON files beside it. Each survey must pass AWX's own checks, and each of its
questions must set a variable the targeted playbook reads (its docs table, or a role's argument
spec), with choices and a default that agree with it; each task must use its module's options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os
import re

import ansible
import pytest
import yaml
from dateutil.rrule import rrulestr

from ansible_collections.prewarm.k8s.tests.unit.docs.awx_objects import (
    accepted_inputs,
    documented_options,
    input_problems,
    module_option_problems,
    survey_problems,
    table_variables,
    value_problems,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
AWX_DIR = os.path.join(ROOT, "docs", "awx")
# awx.awx comes with the `ansible` package, beside ansible-core.
AWX_COLLECTION = os.path.join(os.path.dirname(os.path.dirname(ansible.__file__)), "ansible_collections", "awx", "awx")
SURVEY_FILE = re.compile(r"lookup\('ansible\.builtin\.file', '([^']+)'\)")


def _read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as handle:
        return handle.read()


def _tasks():
    plays = yaml.safe_load(_read("docs", "awx", "controller.yml"))
    return [task for play in plays for task in play["tasks"]]


def _module_tasks(module):
    return [task[module] for task in _tasks() if module in task]


def _survey_file(template):
    return SURVEY_FILE.search(template["survey_spec"]).group(1)


def _load_survey(name):
    with open(os.path.join(AWX_DIR, name), encoding="utf-8") as handle:
        return json.load(handle)


def _surveyed_templates():
    return [template for template in _module_tasks("awx.awx.job_template") if "survey_spec" in template]


def _role_options():
    roles = {}
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        specs = yaml.safe_load(_read("roles", role, "meta", "argument_specs.yml"))["argument_specs"]
        roles[role] = specs["main"].get("options") or {}
    return roles


def _playbook_inputs(template):
    """What the collection playbook a job template runs reads: the site repository's
    playbooks/<name>.yml imports prewarm.k8s.<name>, documented in docs/playbooks/<name>.md."""
    name = os.path.splitext(os.path.basename(template["playbook"]))[0]
    assert os.path.isfile(os.path.join(ROOT, "playbooks", name + ".yml")), "%s: no playbook prewarm.k8s.%s" % (template["name"], name)
    return accepted_inputs(table_variables(_read("docs", "playbooks", name + ".md")), _role_options())


def _documentation(*path):
    """The DOCUMENTATION YAML of an awx.awx module or doc fragment, read without importing it."""
    with open(os.path.join(AWX_COLLECTION, "plugins", *path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "DOCUMENTATION" for target in node.targets):
            return yaml.safe_load(node.value.value)
    raise AssertionError("no DOCUMENTATION in awx.awx %s" % "/".join(path))


def _module_options(module):
    documentation = _documentation("modules", module.split(".")[-1] + ".py")
    names = documentation.get("extends_documentation_fragment") or []
    names = [names] if isinstance(names, str) else names
    fragments = [_documentation("doc_fragments", name.split(".")[-1] + ".py") for name in names]
    return documented_options(documentation, *fragments)


def _template_ids():
    return [template["name"] for template in _surveyed_templates()]


def test_each_survey_file_belongs_to_a_job_template():
    used = sorted(_survey_file(template) for template in _surveyed_templates())
    assert used == sorted(name for name in os.listdir(AWX_DIR) if name.endswith(".json"))
    assert all(template.get("survey_enabled") is True for template in _surveyed_templates())


@pytest.mark.parametrize("template", _surveyed_templates(), ids=_template_ids())
def test_survey_passes_awx_checks(template):
    assert survey_problems(_load_survey(_survey_file(template))) == []


@pytest.mark.parametrize("template", _surveyed_templates(), ids=_template_ids())
def test_survey_asks_for_what_the_playbook_reads(template):
    inputs = _playbook_inputs(template)
    problems = [problem for question in _load_survey(_survey_file(template))["spec"] for problem in input_problems(question, inputs)]
    assert problems == []


def test_os_upgrade_pools_offered_are_the_example_inventory_pools():
    template = [template for template in _surveyed_templates() if template["playbook"] == "playbooks/os_upgrade.yml"][0]
    question = [q for q in _load_survey(_survey_file(template))["spec"] if q["variable"] == "os_upgrade_pools"][0]
    example_pools = yaml.safe_load(_read("docs", "examples", "group_vars", "all.yml"))["prewarm_pools"]
    assert sorted(question["choices"]) == sorted(example_pools)


def test_extra_vars_are_variables_the_playbook_reads():
    problems = []
    for template in _module_tasks("awx.awx.job_template"):
        inputs = _playbook_inputs(template)
        problems.extend(problem for name, value in (template.get("extra_vars") or {}).items() for problem in value_problems(name, value, inputs))
    assert problems == []


@pytest.mark.parametrize("task", _tasks(), ids=[task["name"] for task in _tasks()])
def test_task_uses_its_modules_options(task):
    modules = [key for key in task if key.startswith("awx.awx.")]
    assert len(modules) == 1, "one awx.awx module per task"
    assert module_option_problems(task[modules[0]], _module_options(modules[0])) == []


def test_schedule_runs_a_template_of_the_file_on_a_valid_rule():
    templates = [template["name"] for template in _module_tasks("awx.awx.job_template")]
    schedules = _module_tasks("awx.awx.schedule")
    assert schedules
    for schedule in schedules:
        assert schedule["unified_job_template"] in templates
        # AWX's form: a DTSTART with its time zone and one RRULE, separated by a space.
        start, rule = schedule["rrule"].split(" ")
        assert start.startswith("DTSTART;TZID=") and rule.startswith("RRULE:") and "FREQ=SECONDLY" not in rule
        occurrences = rrulestr("%s\n%s" % (start, rule))
        assert occurrences[0] < occurrences[1]


def test_the_doc_points_to_the_files_and_holds_no_copy():
    doc = _read("docs", "awx.md")
    for name in sorted(os.listdir(AWX_DIR)):
        assert "awx/%s" % name in doc
    assert "awx.awx.job_template:" not in doc and '"question_name"' not in doc and "question_name:" not in doc
