# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: upgrade_outcome
short_description: Which nodes of an os_upgrade run failed, and which hosts no batch reached
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - From the C(node_upgrade_report) the node_upgrade role left on each host - the reports of the nodes that failed
    (those with C(failed)), how many hosts have a report, and the hosts without one (no batch reached them, or their
    window never reported - its host became unreachable).
  - The os_upgrade playbook decides with it whether to start the next batch and whether the run fails.
extends_documentation_fragment:
  - prewarm.k8s.upgrade_hosts
"""

EXAMPLES = r"""
- name: Fail the run if a node failed
  ansible.builtin.fail:
    msg: "failed: {{ outcome.failed | map(attribute='node') | join(', ') }}"
  vars:
    outcome: "{{ groups['os_upgrade_targets'] | prewarm.k8s.upgrade_outcome(hostvars) }}"
  when: outcome.failed | length > 0
  run_once: true
"""

RETURN = r"""
_value:
  description: How the run went.
  type: dict
  contains:
    failed:
      description: The C(node_upgrade_report) of each node that failed, in the order of the hosts.
      type: list
      elements: dict
    reached:
      description: How many hosts have a C(node_upgrade_report).
      type: int
    unreached:
      description: The hosts without a C(node_upgrade_report) (or with a null one), in their order.
      type: list
      elements: str
"""

from ansible_collections.prewarm.k8s.plugins.module_utils import window_summary
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import upgrade_facts


def upgrade_outcome(hosts, hostvars):
    hosts = list(hosts)
    return window_summary.upgrade_outcome(hosts, upgrade_facts(hostvars, hosts))


class FilterModule(object):
    def filters(self):
        return {"upgrade_outcome": upgrade_outcome}
