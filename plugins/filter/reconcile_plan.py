# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: reconcile_plan
short_description: What the reconcile playbook does with each node of its pools
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
extends_documentation_fragment:
  - prewarm.k8s.upgraded_node
description:
  - One row per node - C(node), C(pool), C(marked), C(drifted), C(since), C(step), C(step_result), C(error),
    C(upgraded) and C(warm) (true for a node to warm, and release when it is marked).
  - Warmed - a node whose window got past the Ready step (O(finishable_steps), done, or the warm step itself); a node
    in no window (not marked, or marked by hand) that is back from an upgrade; an unmarked node that drifted.
    Every other marked node is left to its window and reported; one whose annotation cannot be read has it in
    C(error).
options:
  _input:
    description: The results of a M(kubernetes.core.k8s_info) loop over the pools - each with C(item) (the pool)
      and C(resources) (its Node objects).
    type: list
    elements: dict
    required: true
  drifted:
    description: The names of the nodes that drifted (stale or gone).
    type: list
    elements: str
    required: true
  finishable_steps:
    description: The node_upgrade steps from which a window has only the warm-up and the release left.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Decide, node by node, what to do
  ansible.builtin.set_fact:
    nodes: "{{ listed.results | prewarm.k8s.reconcile_plan(drifted, ['ready', 'image_gc', 'warm']) }}"
"""

RETURN = r"""
_value:
  description: One row per node, in the order listed.
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_state import reconcile_plan as plan


def reconcile_plan(listed, drifted, finishable_steps, done_label=None, kernel_version=None, os_image=None):
    pools = [(result["item"], result.get("resources") or []) for result in listed]
    return plan(pools, drifted, list(finishable_steps), done_label, kernel_version, os_image)


class FilterModule(object):
    def filters(self):
        return {"reconcile_plan": reconcile_plan}
