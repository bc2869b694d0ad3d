# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: reconcile_rows
short_description: The per-node summary rows of a reconcile run
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - For each node reconcile warmed (released, warm, warm and still marked, or cold with the reason) or left under
    maintenance (the step its window is at, and its error), a row with the warm-up's fields for that node.
  - Nodes it neither warmed nor found marked are left out.
options:
  _input:
    description: The rows of P(prewarm.k8s.reconcile_plan#filter).
    type: list
    elements: dict
    required: true
  warmed:
    description: The warm-up's per-node results, by node name.
    type: dict
    required: true
  check_mode:
    description:
      - The run was in check mode - a node to warm says what the warm-up's dry run would do with it, or that its
        pool's preloader would be created first.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Print the per-node summary
  ansible.builtin.debug:
    msg: "{{ plan | prewarm.k8s.reconcile_rows(preload_results | default({})) | prewarm.k8s.window_summary }}"
"""

RETURN = r"""
_value:
  description: One row per node warmed or left marked, for P(prewarm.k8s.window_summary#filter).
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import reconcile_rows


class FilterModule(object):
    def filters(self):
        return {"reconcile_rows": reconcile_rows}
