# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_resume
short_description: Where a node's maintenance window starts or resumes
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
extends_documentation_fragment:
  - prewarm.k8s.upgraded_node
description:
  - From the Node object - its maintenance annotation (the last step done, or the one that failed), its labels and
    its node info - the index of the first step to run, the time the node was marked, and whether it is already
    upgraded.
  - After a step done, the next one; a failed step is run again; a node not under maintenance starts at the first
    step, or, when O(skip_upgraded) and it is already upgraded (the done label, or the kernel and OS image
    expected), has nothing to do (C(start) is the number of steps).
  - A node whose annotation cannot be read fails, naming the node and the problem; so does a node that is not in
    the cluster (an empty list of resources).
options:
  _input:
    description:
      - The Node object (a dict), or the C(resources) list M(kubernetes.core.k8s_info) returned for one node name
        (an empty list when there is no such node).
    type: raw
    required: true
  steps:
    description: The window's steps, in order.
    type: list
    elements: str
    required: true
  skip_upgraded:
    description: Whether a node already upgraded has nothing to do.
    type: bool
    default: true
  name:
    description: The node's name, for the message when O(_input) is an empty list.
    type: str
"""

EXAMPLES = r"""
- name: Note the step this node starts at
  ansible.builtin.set_fact:
    resume: "{{ node.resources | prewarm.k8s.window_resume(steps, done_label=done_label, name=node_name) }}"
"""

RETURN = r"""
_value:
  description: C(start) (index of the first step to run), C(since) (when the node was marked, or null) and
    C(already_upgraded).
  type: dict
"""

# An unreadable annotation or a missing node raises InvalidInput: Ansible reports "The filter plugin 'prewarm.k8s.window_resume' failed: <why>".
from ansible_collections.prewarm.k8s.plugins.module_utils.window_state import resume_point, the_node


def window_resume(node, steps, skip_upgraded=True, done_label=None, kernel_version=None, os_image=None, name=None):
    return resume_point(the_node(node, name), list(steps), skip_upgraded, done_label, kernel_version, os_image)


class FilterModule(object):
    def filters(self):
        return {"window_resume": window_resume}
