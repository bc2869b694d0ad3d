# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_live
short_description: The window states of the batch's hosts still in their maintenance window
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Of the batch's hosts (their hostvars, in batch order), the C(node_upgrade_state) of each that has one and has not
    failed since its window started.
  - A host whose task failed inside the window's block stays in the play's batch until its rescue runs, after the other
    hosts finished the block; Ansible sets its C(ansible_failed_task) at once, which tells it apart.
options:
  _input:
    description: The hostvars of the batch's hosts.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The nodes the batch-wide task is for
  ansible.builtin.debug:
    msg: "{{ ansible_play_batch | map('extract', hostvars) | prewarm.k8s.window_live | map(attribute='node') }}"
"""

RETURN = r"""
_value:
  description: The window states (C(node), C(pool), C(start), C(since), ...), in batch order.
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import live_states


def window_live(batch_facts):
    return live_states(batch_facts)


class FilterModule(object):
    def filters(self):
        return {"window_live": window_live}
