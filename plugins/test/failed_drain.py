# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: failed_drain
short_description: Whether a failed task is a drain that failed
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
extends_documentation_fragment:
  - prewarm.k8s.failed_task
description:
  - True when a rescue's failed task is a drain that failed - a M(kubernetes.core.k8s_drain) task, or a
    M(prewarm.k8s.window_step) that drains and whose drain failed (its result says C(drain_failed)). The same
    question the P(prewarm.k8s.window_error#filter) filter asks before it names the budgets that held a drain.
"""

EXAMPLES = r"""
- name: Read what held the drain
  ansible.builtin.include_tasks: drain_failed.yml
  when: ansible_failed_result is prewarm.k8s.failed_drain(ansible_failed_task)
"""

RETURN = r"""
_value:
  description: Whether the failed task is a drain that failed.
  type: bool
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_error import is_drain


def failed_drain(result, task):
    return is_drain(task, result)


class TestModule(object):
    def tests(self):
        return {"failed_drain": failed_drain}
