# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the AWX objects in docs/awx/: plain functions that return the problems they find.

- survey_problems: AWX's own rules for a survey spec (what its API refuses with a 400), plus a
  variable name Ansible can use;
- input_problems / value_problems: a survey question or an extra var against the variable the
  targeted playbook reads (its docs table, or the role argument spec the table points to);
- module_option_problems: a task's arguments against the module's documented options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import keyword
import re

import yaml
from ansible.module_utils.parsing.convert_bool import boolean

# AWX's JobTemplateSurveySpec.ALLOWED_TYPES: the Python type a question's default must have.
# bool is an int to Python, not to a survey.
SURVEY_DEFAULT_TYPES = {
    "text": (str,),
    "textarea": (str,),
    "password": (str,),
    "multiplechoice": (str,),
    "multiselect": (str,),
    "integer": (int,),
    "float": (int, float),
}
CHOICE_TYPES = ("multiplechoice", "multiselect")
TEXT_TYPES = ("text", "textarea", "password")
ANSIBLE_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The argument-spec types an answer of each question type fits. A multiplechoice answer is a
# string; the roles read booleans with `| bool`, so true/false choices fit a bool.
FITS = {
    "text": ("str", "raw", "path"),
    "textarea": ("str", "raw", "path"),
    "password": ("str", "raw", "path"),
    "integer": ("int", "raw"),
    "float": ("float", "raw"),
    "multiplechoice": ("str", "bool", "raw"),
    "multiselect": ("list",),
}
PYTHON_TYPE_NAMES = ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (list, "list"), (dict, "dict"))


def choice_list(question):
    """A question's choices as a list: AWX takes a list or a newline-separated string."""
    choices = question.get("choices", [])
    if isinstance(choices, str):
        return [line for line in choices.splitlines() if line.strip()]
    return list(choices)


def default_list(question):
    """A choice question's defaults as a list (a multiselect default is newline-separated)."""
    default = question.get("default", "")
    if isinstance(default, str):
        return [line for line in default.splitlines() if line.strip()]
    return list(default)


def survey_problems(survey):
    """What AWX would refuse in this survey spec, and variables that are no Ansible variable names."""
    if not isinstance(survey, dict):
        return ["the survey spec is not a mapping"]
    problems = []
    for field, expected in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(field), expected):
            problems.append("field %r is missing or not a %s" % (field, expected.__name__))
    questions = survey.get("spec") if isinstance(survey.get("spec"), list) else []
    if "spec" in survey and not questions:
        problems.append("'spec' has no question")
    seen = set()
    for index, question in enumerate(questions):
        problems.extend(question_problems(index, question))
        variable = question.get("variable") if isinstance(question, dict) else None
        if variable in seen:
            problems.append("question %d: variable %r asked twice" % (index, variable))
        seen.add(variable)
    return problems


def question_problems(index, question):
    """One survey question against AWX's rules."""
    where = "question %d" % index
    if not isinstance(question, dict):
        return ["%s is not a mapping" % where]
    problems = []
    for field, expected in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
        if not isinstance(question.get(field), expected):
            problems.append("%s: %r is missing or not a %s" % (where, field, expected.__name__))
    if problems:
        return problems
    where = "question %d (%s)" % (index, question["variable"])
    qtype = question["type"]
    if qtype not in SURVEY_DEFAULT_TYPES:
        return ["%s: type %r is not one of %s" % (where, qtype, ", ".join(SURVEY_DEFAULT_TYPES))]
    if not ANSIBLE_VARIABLE.match(question["variable"]) or keyword.iskeyword(question["variable"]):
        problems.append("%s: not a variable name Ansible can use" % where)
    for bound in ("min", "max"):
        value = question.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append("%s: %s %r is not an integer" % (where, bound, value))
    if problems:
        return problems
    low, high = question.get("min"), question.get("max")
    if low is not None and high is not None and low > high:
        problems.append("%s: min %d is above max %d" % (where, low, high))
    default = question.get("default", "")
    if default != "":
        if isinstance(default, bool) or not isinstance(default, SURVEY_DEFAULT_TYPES[qtype]):
            problems.append("%s: default %r is not of type %s" % (where, default, qtype))
        elif isinstance(default, str) and default.startswith("$encrypted$"):
            problems.append("%s: $encrypted$ is AWX's placeholder for a stored password, not a default" % where)
        else:
            problems.extend(_default_in_bounds(where, qtype, default, low, high))
    if qtype in CHOICE_TYPES:
        problems.extend(_choice_problems(where, question))
    return problems


def _default_in_bounds(where, qtype, default, low, high):
    """An integer or float default between min and max; a text default's length between them."""
    if qtype in TEXT_TYPES:
        measured, what = len(default), "length of the default"
    elif qtype in ("integer", "float"):
        measured, what = default, "default"
    else:
        return []
    if (low is not None and measured < low) or (high is not None and measured > high):
        return ["%s: %s %r is outside min %s - max %s" % (where, what, measured, low, high)]
    return []


def _choice_problems(where, question):
    choices = question.get("choices")
    if choices is None:
        return ["%s: a %s question needs choices" % (where, question["type"])]
    listed = choice_list(question)
    if not listed or not all(isinstance(choice, str) for choice in listed):
        return ["%s: choices must be strings, at least one" % where]
    problems = []
    if len(set(listed)) != len(listed):
        problems.append("%s: a choice is listed twice" % where)
    defaults = default_list(question)
    if question["type"] == "multiplechoice" and len(defaults) > 1:
        problems.append("%s: a multiplechoice question has one default, not %d" % (where, len(defaults)))
    unknown = [default for default in defaults if default not in listed]
    if unknown:
        problems.append("%s: default %s not among the choices %s" % (where, unknown, listed))
    return problems


def table_variables(markdown):
    """{variable or `prefix_*`: its Default cell} from the table under a doc's `## Variables` heading."""
    found = {}
    in_section = False
    for line in markdown.splitlines():
        if line.startswith("## "):
            in_section = line.strip() == "## Variables"
            continue
        if not in_section or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] == "Variable" or set(cells[0]) <= set("-: "):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            found[name] = cells[1]
    return found


def _doc_input(default_cell):
    """An input spec from a docs table's Default cell: a literal (`true`, `600`) gives the type and the default."""
    literal = re.match(r"^`([^`]*)`$", default_cell)
    if not literal:
        return {"type": None, "default": None}
    value = yaml.safe_load(literal.group(1))
    if isinstance(value, (bool, int, float)):
        return {"type": python_type_name(value), "default": value}
    return {"type": None, "default": None}


def accepted_inputs(table, role_options):
    """{variable: {type, default, choices}} a playbook reads, from its docs table.

    role_options: {role: {option: argument spec}}. A table row `role_*` stands for every option of
    that role; a variable named after a role takes that role's argument spec; any other variable
    takes what its Default cell says.
    """
    inputs = {}
    for name, default_cell in table.items():
        if name.endswith("_*"):
            inputs.update(role_options.get(name[:-2], {}))
            continue
        owner = [role for role in role_options if name.startswith(role + "_") and name in role_options[role]]
        inputs[name] = role_options[owner[0]][name] if owner else _doc_input(default_cell)
    return inputs


def python_type_name(value):
    for python_type, name in PYTHON_TYPE_NAMES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _as_spec_type(answer, spec_type):
    """A survey answer as the playbook reads it with its type, or ValueError."""
    if spec_type == "bool":
        try:
            return boolean(answer, strict=True)
        except TypeError:
            raise ValueError("%r is no boolean" % (answer,))
    if spec_type == "int":
        return int(answer)
    if spec_type == "float":
        return float(answer)
    return answer


def input_problems(question, inputs):
    """One survey question against the variables the playbook reads: name, type, choices, default."""
    variable, qtype = question["variable"], question["type"]
    if variable not in inputs:
        return ["%s: not a variable the playbook or its roles read" % variable]
    spec = inputs[variable]
    spec_type = spec.get("type")
    if spec_type is not None and spec_type not in FITS[qtype]:
        return ["%s: a %s answer does not fit a %s variable" % (variable, qtype, spec_type)]
    problems = []
    answers = choice_list(question) if qtype in CHOICE_TYPES else []
    try:
        converted = [_as_spec_type(answer, spec_type) for answer in answers]
    except ValueError as error:
        return ["%s: choice %s" % (variable, error)]
    allowed = spec.get("choices")
    if allowed:
        outside = [answer for answer, value in zip(answers, converted) if value not in allowed]
        if outside:
            problems.append("%s: choices %s are not among the variable's choices %s" % (variable, outside, allowed))
    problems.extend(_default_agrees(question, spec))
    return problems


def _default_agrees(question, spec):
    """A survey default is the variable's own default, where the variable has one."""
    if question.get("default", "") == "" or spec.get("default") is None:
        return []
    spec_type, default = spec.get("type"), question["default"]
    if question["type"] == "multiselect":
        survey_default = default_list(question)
    else:
        try:
            survey_default = _as_spec_type(default, spec_type)
        except ValueError as error:
            return ["%s: default %s" % (question["variable"], error)]
    if survey_default != spec["default"]:
        return ["%s: survey default %r, the variable's default %r" % (question["variable"], default, spec["default"])]
    return []


def value_problems(name, value, inputs):
    """An extra var the template sets: a variable the playbook reads, of its type."""
    if name not in inputs:
        return ["%s: not a variable the playbook or its roles read" % name]
    spec_type = inputs[name].get("type")
    if spec_type not in (None, "raw") and python_type_name(value) != spec_type:
        return ["%s: %r is a %s, the variable a %s" % (name, value, python_type_name(value), spec_type)]
    return []


def documented_options(*documentations):
    """{option: its documentation} from modules' or doc fragments' DOCUMENTATION mappings."""
    options = {}
    for documentation in documentations:
        options.update(documentation.get("options") or {})
    return options


def module_option_problems(arguments, options):
    """A task's module arguments against the module's options: known names, required ones, choices."""
    spelled = {}
    for name, option in options.items():
        for spelling in [name] + list(option.get("aliases") or []):
            spelled[spelling] = option
    problems = ["%s: not an option of the module" % name for name in arguments if name not in spelled]
    for name, option in options.items():
        if option.get("required") and not any(spelling in arguments for spelling in [name] + list(option.get("aliases") or [])):
            problems.append("%s: required by the module" % name)
    for name, value in arguments.items():
        choices = (spelled.get(name) or {}).get("choices")
        templated = isinstance(value, str) and "{{" in value
        if choices and not templated and value not in choices:
            problems.append("%s: %r is not one of %s" % (name, value, choices))
    return problems
