# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_error
short_description: The error a failed window step leaves on its node
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
extends_documentation_fragment:
  - prewarm.k8s.failed_task
description:
  - From a rescue's C(ansible_failed_result) and C(ansible_failed_task), what the failed task said - its C(msg), for a
    loop its first failed item's; a task run once for the batch, which gives its result to one host only, is named
    instead.
  - A failed drain (a M(kubernetes.core.k8s_drain) task, or a M(prewarm.k8s.window_step) whose drain failed) says how
    often it was tried and names each PodDisruptionBudget that allows no disruption now for one of the pods left on
    the node (the Eviction API's refusal names none).
  - At most 900 characters (cut at a word), without trailing dots - it goes into the node's maintenance annotation.
options:
  pods:
    description: For a failed drain - the pods still on the node (Pod objects as dicts).
    type: list
    elements: dict
  budgets:
    description: For a failed drain - the cluster's PodDisruptionBudgets (as dicts).
    type: list
    elements: dict
  drain_tries:
    description: For a failed drain - how many times it was tried.
    type: int
  drain_delay:
    description: For a failed drain - seconds between the tries.
    type: int
"""

EXAMPLES = r"""
- name: Record the failed step's error
  ansible.builtin.set_fact:
    failed_step_error: "{{ ansible_failed_result | prewarm.k8s.window_error(ansible_failed_task) }}"
"""

RETURN = r"""
_value:
  description: >-
    For example "drain: Cannot evict pod as it would violate the pod's disruption budget (after 3 tries, 10 s apart);
    held by PodDisruptionBudget shop/web (minAvailable 2; now 2 healthy of 2 wanted, 0 disruptions allowed) for pod web-0".
  type: str
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_error import window_error


class FilterModule(object):
    def filters(self):
        return {"window_error": window_error}
