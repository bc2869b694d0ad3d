# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_timeline
short_description: A node's step timeline as its maintenance window starts or resumes
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The entries the node's maintenance annotation kept under C(steps) (each C(step), C(start), C(end), C(result),
    C(error)), and each step before O(start) it has no entry of (an annotation written before steps had times) as
    V(skipped), from now, with no end.
  - V([]) for a node not under maintenance; an annotation that cannot be read is left to M(prewarm.k8s.node_maintenance)
    and the window_resume filter to report.
options:
  _input:
    description: The Node object (a dict, as M(kubernetes.core.k8s_info) returns it).
    type: dict
    required: true
  steps:
    description: The window's steps, in order.
    type: list
    elements: str
    required: true
  start:
    description: The index of the step the window resumes at (the window_resume filter's C(start)).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Note this node's timeline so far
  ansible.builtin.set_fact:
    timeline: "{{ node.resources[0] | prewarm.k8s.window_timeline(steps, resume.start) }}"
"""

RETURN = r"""
_value:
  description: The entries, oldest first.
  type: list
  elements: dict
"""

from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.window_state import node_record
from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import resumed_timeline


def window_timeline(node, steps, start):
    record, dummy = node_record(node)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return resumed_timeline(record, list(steps), int(start), now)


class FilterModule(object):
    def filters(self):
        return {"window_timeline": window_timeline}
