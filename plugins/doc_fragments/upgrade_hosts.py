# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The node hosts of an os_upgrade run and what the node_upgrade role left on them: the filters that read it
    # (upgrade_rows, upgrade_summary, upgrade_outcome).
    DOCUMENTATION = r"""
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
notes:
  - Reads what the node_upgrade role left on each host (set_fact) where Ansible keeps it, not through C(hostvars) host
    by host, which computes every variable of each host - seconds over thousands of hosts.
"""

    # A check run's rows: what the run would do with each node.
    CHECK_MODE = r"""
options:
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
