# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_step_end
short_description: A node's step timeline with the step that just ended
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The host's timeline with one more entry - O(step) with O(result), from when the step started (the window's
    C(step_started), else now) to now, with O(error).
  - For the steps the window_step action does not record - the warm step (its release removes the annotation) and a
    step that failed.
options:
  _input:
    description: Where the host's window stands (the window_progress filter's answer) - its C(timeline) so far and
      C(step_started), when the step began.
    type: dict
    required: true
  step:
    description: The step that ended.
    type: str
    required: true
  result:
    description: How it ended.
    type: str
    choices: [done, failed]
    default: done
  error:
    description: Why it failed.
    type: str
"""

EXAMPLES = r"""
- name: Note the failed step in the timeline
  ansible.builtin.set_fact:
    node_upgrade_timeline: "{{ node_upgrade_progress | prewarm.k8s.window_step_end('drained', 'failed', 'drain: timed out') }}"
"""

RETURN = r"""
_value:
  description: The entries, oldest first, the step that ended last.
  type: list
  elements: dict
"""

from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import DONE, ended_timeline


def window_step_end(window, step, result=DONE, error=None):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ended_timeline(window, step, result, error, now)


class FilterModule(object):
    def filters(self):
        return {"window_step_end": window_step_end}
