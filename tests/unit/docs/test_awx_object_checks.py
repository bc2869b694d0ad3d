# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks test_awx_objects.py runs find what AWX and the playbooks would refuse."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.tests.unit.docs.awx_objects import (
    accepted_inputs,
    input_problems,
    module_option_problems,
    survey_problems,
    table_variables,
    value_problems,
)


def _survey(*questions):
    return {"name": "n", "description": "d", "spec": list(questions)}


def _question(**fields):
    question = {"question_name": "q", "variable": "v", "type": "text", "required": True}
    question.update(fields)
    return question


def test_a_valid_survey_has_no_problem():
    survey = _survey(
        _question(variable="a", type="integer", min=1, max=5, default=3),
        _question(variable="b", type="multiselect", choices="x\ny\n", default="y\nx"),
        _question(variable="c", type="multiplechoice", choices=["true", "false"], default="false"),
        _question(variable="d", type="float", default=2),
        _question(variable="e", type="text", min=2, max=4, default="abc", required=False),
        _question(variable="f", type="password", default=""),
    )
    assert survey_problems(survey) == []


@pytest.mark.parametrize(
    "survey, problem",
    [
        ({"name": "n", "spec": [_question()]}, "field 'description' is missing or not a str"),
        (_survey(), "'spec' has no question"),
        (_survey(_question(), _question()), "question 1: variable 'v' asked twice"),
        (_survey({"question_name": "q", "variable": "v", "type": "text"}), "question 0: 'required' is missing or not a bool"),
        (_survey(_question(required="yes")), "question 0: 'required' is missing or not a bool"),
        (_survey(_question(type="number")), "question 0 (v): type 'number' is not one of"),
        (_survey(_question(variable="node-count")), "question 0 (node-count): not a variable name Ansible can use"),
        (_survey(_question(variable="class")), "question 0 (class): not a variable name Ansible can use"),
        (_survey(_question(min="1")), "question 0 (v): min '1' is not an integer"),
        (_survey(_question(min=5, max=2)), "question 0 (v): min 5 is above max 2"),
        (_survey(_question(type="integer", default="5")), "question 0 (v): default '5' is not of type integer"),
        (_survey(_question(type="integer", default=True)), "question 0 (v): default True is not of type integer"),
        (_survey(_question(type="integer", min=1, max=10, default=0)), "question 0 (v): default 0 is outside min 1 - max 10"),
        (_survey(_question(min=3, default="ab")), "question 0 (v): length of the default 2 is outside min 3 - max None"),
        (_survey(_question(type="text", default="$encrypted$")), "question 0 (v): $encrypted$ is AWX's placeholder"),
        (_survey(_question(type="multiselect", default="x")), "question 0 (v): a multiselect question needs choices"),
        (_survey(_question(type="multiplechoice", choices=[])), "question 0 (v): choices must be strings, at least one"),
        (_survey(_question(type="multiplechoice", choices=["x", "x"])), "question 0 (v): a choice is listed twice"),
        (_survey(_question(type="multiplechoice", choices=["x", "y"], default="x\ny")), "question 0 (v): a multiplechoice question has one default, not 2"),
        (_survey(_question(type="multiselect", choices=["x", "y"], default="x\nz")), "question 0 (v): default ['z'] not among the choices ['x', 'y']"),
    ],
)
def test_what_awx_refuses_is_found(survey, problem):
    problems = survey_problems(survey)
    assert any(found.startswith(problem) for found in problems), problems


MARKDOWN = """# Playbook

## Variables

| Variable | Default | Meaning |
|---|---|---|
| `pb_size` | `1` | nodes per batch |
| `pb_ordered` | `true` | keep order |
| `pb_pools` | all pools | which pools |
| `role_a_*`, `other_limit` | | the roles' variables |

## Next

| `not_a_variable` | `2` | |
"""
ROLES = {
    "role_a": {"role_a_mode": {"type": "str", "choices": ["fast", "slow"], "default": "fast"}, "role_a_reboot": {"type": "bool", "default": True}},
    "other": {"other_limit": {"type": "int", "default": 10}, "other_hidden": {"type": "str"}},
}


def test_table_variables_reads_only_the_variables_table():
    assert table_variables(MARKDOWN) == {"pb_size": "`1`", "pb_ordered": "`true`", "pb_pools": "all pools", "role_a_*": "", "other_limit": ""}


def test_accepted_inputs_take_literal_defaults_and_role_specs():
    inputs = accepted_inputs(table_variables(MARKDOWN), ROLES)
    assert inputs["pb_size"] == {"type": "int", "default": 1}
    assert inputs["pb_ordered"] == {"type": "bool", "default": True}
    assert inputs["pb_pools"] == {"type": None, "default": None}
    assert inputs["role_a_mode"] == ROLES["role_a"]["role_a_mode"]
    assert inputs["other_limit"] == ROLES["other"]["other_limit"]
    assert "other_hidden" not in inputs


INPUTS = accepted_inputs(table_variables(MARKDOWN), ROLES)


def test_questions_that_fit_the_playbook_have_no_problem():
    questions = [
        _question(variable="pb_size", type="integer", default=1),
        _question(variable="pb_ordered", type="multiplechoice", choices=["true", "false"], default="true"),
        _question(variable="pb_pools", type="multiselect", choices=["a", "b"], default="a"),
        _question(variable="role_a_mode", type="multiplechoice", choices=["fast", "slow"], default="fast"),
        _question(variable="role_a_reboot", type="multiplechoice", choices=["yes", "no"]),
        _question(variable="other_limit", type="integer"),
    ]
    assert [problem for question in questions for problem in input_problems(question, INPUTS)] == []


@pytest.mark.parametrize(
    "question, problem",
    [
        (_question(variable="pb_typo", type="integer"), "pb_typo: not a variable the playbook or its roles read"),
        (_question(variable="other_hidden"), "other_hidden: not a variable the playbook or its roles read"),
        (_question(variable="pb_size", type="text"), "pb_size: a text answer does not fit a int variable"),
        (_question(variable="role_a_mode", type="multiselect", choices=["fast"]), "role_a_mode: a multiselect answer does not fit a str variable"),
        (_question(variable="role_a_mode", type="multiplechoice", choices=["fast", "faster"]), "role_a_mode: choices ['faster'] are not among"),
        (_question(variable="pb_ordered", type="multiplechoice", choices=["true", "maybe"]), "pb_ordered: choice 'maybe' is no boolean"),
        (_question(variable="pb_size", type="integer", default=5), "pb_size: survey default 5, the variable's default 1"),
        (_question(variable="role_a_reboot", type="multiplechoice", choices=["true", "false"], default="false"), "role_a_reboot: survey default 'false'"),
    ],
)
def test_what_the_playbook_would_not_read_is_found(question, problem):
    problems = input_problems(question, INPUTS)
    assert any(found.startswith(problem) for found in problems), problems


def test_extra_vars_must_be_read_and_of_their_type():
    assert value_problems("other_limit", 600, INPUTS) == []
    assert value_problems("pb_pools", ["a"], INPUTS) == []
    assert value_problems("other_limit", "600", INPUTS) == ["other_limit: '600' is a str, the variable a int"]
    assert value_problems("pb_typo", 1, INPUTS) == ["pb_typo: not a variable the playbook or its roles read"]


OPTIONS = {
    "name": {"type": "str", "required": True},
    "job_type": {"type": "str", "choices": ["run", "check"]},
    "allow_simultaneous": {"type": "bool", "aliases": ["concurrent_jobs_enabled"]},
}


def test_module_arguments_are_checked_against_the_options():
    assert module_option_problems({"name": "t", "job_type": "{{ kind }}", "concurrent_jobs_enabled": False}, OPTIONS) == []
    assert module_option_problems({"job_type": "walk", "forks": 5}, OPTIONS) == [
        "forks: not an option of the module",
        "name: required by the module",
        "job_type: 'walk' is not one of ['run', 'check']",
    ]
