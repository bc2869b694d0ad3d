#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: upgrade_table
short_description: Print the per-node summary of an os_upgrade run, read from its node hosts
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The lines of P(prewarm.k8s.upgrade_summary#filter) for the hosts of an inventory group, returned as RV(msg) and
    printed at any verbosity, as M(ansible.builtin.debug) prints its C(msg) - the os_upgrade playbook's C(Per-node summary).
  - Each host's row is what the node_upgrade role left on it (C(node_upgrade_report), C(node_upgrade_state)), read by the
    action itself where Ansible keeps it; a host no batch reached says so. In check mode a node that did not fail says
    which steps the run would take it through and what its warm-up would do.
  - Runs on the controller only (an action plugin; no module is sent to a host). Run it once (C(run_once=true)).
  - The hosts are read by the action, not given to it - a template of thousands of host names, or of rows, takes a
    tenth of a second or more before the task starts (docs/benchmarks.md).
options:
  group:
    description: The inventory group of the run's node hosts (V(os_upgrade_targets)). No such group, or an empty one - V(no node).
    type: str
    required: true
  steps:
    description:
      - The node_upgrade role's steps, in order (its C(node_upgrade_steps)), which a check run's rows name.
      - Default the role's own - a play that does not include the role has no C(node_upgrade_steps) to give.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: Reads only; in check mode the rows say what the run would do.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Per-node summary
  prewarm.k8s.upgrade_table:
    group: os_upgrade_targets
  run_once: true
"""

RETURN = r"""
msg:
  description: The summary's lines - a row per node, sorted by node, then the images of each set of nodes holding the same ones.
  returned: success
  type: list
  elements: str
  sample:
    - "kwok-cpu-0 | pool cpu | maintenance 0m42s | warming 0m00s | released | images A: 2 present"
    - "images A: 127.0.0.1:5000/prewarm-test/small:5caaeb08e39c @ 31235467d341"
"""
