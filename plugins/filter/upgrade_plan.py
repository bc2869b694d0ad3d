# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: upgrade_plan
short_description: The os_upgrade playbook's hosts, their order and its batches, with its inputs checked
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The hosts of the play that have a C(prewarm_pool), pool after pool in the order of O(pools) (inventory order within
    a pool), and the batch sizes for the play's C(serial) - with O(pool_by_pool), each pool's last batch ends at its last
    host, so a batch never mixes pools.
  - Each host's C(prewarm_pool) is read once. A bad input fails naming it - the catalogue empty, a pool of O(pools) or
    of a host that is not in it, a batch size or failure percentage that is not a whole number in range, no host with a
    pool, or none of the hosts' pools in O(pools).
options:
  _input:
    description: The play's hosts (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  catalogue:
    description: The pools (C(prewarm_pools)).
    type: dict
    required: true
  pools:
    description: Which pools, in order - a list, or a comma-separated string. None or empty - every pool of O(catalogue).
    type: raw
  batch_size:
    description: Nodes per batch.
    type: raw
    default: 1
  pool_by_pool:
    description: One pool after another (a batch never mixes pools).
    type: bool
    default: true
  max_fail_percentage:
    description: Checked only - a whole number from 0 to 100.
    type: raw
    default: 0
  pattern:
    description: The play's host pattern, for the message when no host has a pool.
    type: str
    default: all
"""

EXAMPLES = r"""
- name: Check the inputs and cut the batches
  ansible.builtin.set_fact:
    plan: "{{ ansible_play_hosts_all | prewarm.k8s.upgrade_plan(hostvars, prewarm_pools, os_upgrade_pools | default(none), 2) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: C(hosts) (in order), C(pool_of) (host to pool), C(serial) (the batch sizes), C(pools) (those with hosts, in order).
  type: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.upgrade_plan import upgrade_plan as plan_of


def upgrade_plan(hosts, hostvars, catalogue, pools=None, batch_size=1, pool_by_pool=True, max_fail_percentage=0, pattern="all"):
    # One read of each host's prewarm_pool (each hostvars read computes the host's variables).
    host_pools = [(host, hostvars[host].get("prewarm_pool")) for host in hosts]
    return plan_of(host_pools, catalogue, pools, batch_size, pool_by_pool, max_fail_percentage, pattern)


class FilterModule(object):
    def filters(self):
        return {"upgrade_plan": upgrade_plan}
