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
    (the run stopped after too many failures) gets a row saying so, with its node name and pool (from its
    C(node_upgrade_state), which the role's preflight leaves on every host, else from its C(prewarm_node_name) and
    C(prewarm_pool)).
extends_documentation_fragment:
  - prewarm.k8s.upgrade_hosts
  - prewarm.k8s.upgrade_hosts.check_mode
"""

EXAMPLES = r"""
# The per-node summary itself: prewarm.k8s.upgrade_summary, which does not hand thousands of rows to another filter.
- name: Note the rows of the nodes that failed
  ansible.builtin.set_fact:
    failed_rows: "{{ groups['os_upgrade_targets'] | prewarm.k8s.upgrade_rows(hostvars) | selectattr('failed', 'defined') | list }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: One row per host, for P(prewarm.k8s.window_summary#filter).
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils import window_summary
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import upgrade_facts


def upgrade_rows(hosts, hostvars, check_mode=False, steps=None):
    hosts = list(hosts)
    return window_summary.upgrade_rows(hosts, upgrade_facts(hostvars, hosts), check_mode, steps)


class FilterModule(object):
    def filters(self):
        return {"upgrade_rows": upgrade_rows}
