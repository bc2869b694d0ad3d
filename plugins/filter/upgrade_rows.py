# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: upgrade_rows
short_description: The per-node summary rows of an os_upgrade run
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - For each node host, its C(node_upgrade_report) (what the node_upgrade role reports); a host no batch reached
    (the run stopped after too many failures) gets a row saying so, with its node name and pool.
options:
  _input:
    description: The node hosts, in the run's order.
    type: list
    elements: str
    required: true
  hostvars:
    description: The inventory's C(hostvars).
    type: raw
    required: true
  check_mode:
    description:
      - The run was in check mode - a node that did not fail says which steps the run would take it through (from
        the step its C(node_upgrade_state) starts at) and what its warm-up would do.
    type: bool
    default: false
  steps:
    description: The node_upgrade role's steps, in order (its C(node_upgrade_steps)); required with O(check_mode).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Print the per-node summary
  ansible.builtin.debug:
    msg: "{{ groups['os_upgrade_targets'] | prewarm.k8s.upgrade_rows(hostvars) | prewarm.k8s.window_summary }}"
"""

RETURN = r"""
_value:
  description: One row per host, for P(prewarm.k8s.window_summary#filter).
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import upgrade_rows


class FilterModule(object):
    def filters(self):
        return {"upgrade_rows": upgrade_rows}
