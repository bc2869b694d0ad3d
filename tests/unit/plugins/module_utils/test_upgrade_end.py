# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How an os_upgrade run ends: the role's steps, and the failure message word for word as the playbook's template gave it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from ansible.module_utils import _internal as module_utils_internal

WAS_CONTROLLER = module_utils_internal.is_controller
from ansible.parsing.dataloader import DataLoader  # pylint: disable=wrong-import-position
from ansible.template import Templar, trust_as_template  # pylint: disable=wrong-import-position

# Importing the controller's packages marks the whole test process as Ansible's controller (see test_host_facts.py):
# the mark is put back, and set only while these tests run.
module_utils_internal.is_controller = WAS_CONTROLLER

from ansible_collections.prewarm.k8s.plugins.module_utils.upgrade_end import UPGRADE_STEPS, failure_message

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

# The message of the playbook's fail task before the upgrade_failures action made it (a folded YAML scalar, `>-`, so its
# lines joined by spaces), with the task's variables: the failed nodes' reports, and whether some hosts were never reached.
FAIL_TASK_MSG = (
    "{{ os_upgrade_failures | length }} node(s) failed and stay under maintenance: "
    "{% for failure in os_upgrade_failures %}{{ failure.node }} ({{ failure.result }}){{ ' | ' if not loop.last else '' }}{% endfor %}. "
    "Fix the cause and run the playbook again: each node resumes at the step that failed. "
    "{{ 'Batches after the failure were not started. ' if os_upgrade_unreached else '' }}")

COLD = {"node": "web-2", "pool": "web", "result": "failed at warm: image reg/app:1: ErrImagePull (rpc error)", "failed": True}
DRAIN = {"node": "gpu-1", "pool": "gpu", "result": "failed at drained: Cannot evict pod web-7f9c | retry", "failed": True}


@pytest.fixture(autouse=True)
def as_the_controller(monkeypatch):
    monkeypatch.setattr(module_utils_internal, "is_controller", True)


def _templated(failed, unreached):
    templar = Templar(loader=DataLoader(), variables={"os_upgrade_failures": failed, "os_upgrade_unreached": bool(unreached)})
    return templar.template(trust_as_template(FAIL_TASK_MSG))


def test_the_steps_are_the_node_upgrade_roles():
    with open(os.path.join(ROOT, "roles", "node_upgrade", "vars", "main.yml"), encoding="utf-8") as handle:
        assert list(UPGRADE_STEPS) == yaml.safe_load(handle)["node_upgrade_steps"]


@pytest.mark.parametrize("failed, unreached", [
    ([COLD], []),
    ([COLD], ["host-00010", "host-00011"]),
    ([DRAIN, COLD], []),
    # A template prints None as nothing, and a number as it is.
    ([{"node": 7, "result": None, "failed": True}, COLD], ["host-1"]),
])
def test_the_message_is_the_one_the_fail_task_templated(failed, unreached):
    message = failure_message({"failed": failed, "reached": 3, "unreached": unreached})
    assert message == _templated(failed, unreached)


def test_the_message_says_how_many_failed_and_how_to_resume():
    assert failure_message({"failed": [DRAIN, COLD], "reached": 40, "unreached": ["host-00040"]}) == (
        "2 node(s) failed and stay under maintenance: gpu-1 (failed at drained: Cannot evict pod web-7f9c | retry) | "
        "web-2 (failed at warm: image reg/app:1: ErrImagePull (rpc error)). Fix the cause and run the playbook again: each "
        "node resumes at the step that failed. Batches after the failure were not started. ")


def test_no_node_failed_no_message():
    assert failure_message({"failed": [], "reached": 0, "unreached": ["host-1"]}) is None
    assert failure_message({"failed": [], "reached": 5, "unreached": []}) is None
