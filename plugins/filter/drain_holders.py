# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: drain_holders
short_description: Name the PodDisruptionBudgets that hold a node's drain
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - From the pods still on a node and the cluster's PodDisruptionBudgets, the sentence naming each budget that
    allows no disruption now for one of those pods (namespace, name, its rule, its status and the pods it holds),
    or an empty string. DaemonSet pods and pods being deleted do not count.
  - The node_upgrade role appends it to the drain's failure, since the Eviction API's refusal names no budget.
options:
  _input:
    description: The pods on the node (Pod objects as dicts).
    type: list
    elements: dict
    required: true
  budgets:
    description: The PodDisruptionBudgets (as dicts).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail naming the budgets that hold the drain
  ansible.builtin.fail:
    msg: "{{ drain.msg }}{{ pods.resources | prewarm.k8s.drain_holders(budgets.resources) }}"
"""

RETURN = r"""
_value:
  description: "'; held by PodDisruptionBudget ns/name (minAvailable 1; now 1 healthy of 1 wanted, 0 disruptions allowed) for pod web-0', or ''."
  type: str
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.disruption import describe_holding, holding_budgets


def drain_holders(pods, budgets):
    return describe_holding(holding_budgets(pods, budgets))


class FilterModule(object):
    def filters(self):
        return {"drain_holders": drain_holders}
