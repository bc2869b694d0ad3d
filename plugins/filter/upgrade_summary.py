# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: upgrade_summary
short_description: The per-node summary lines of an os_upgrade run, from its node hosts
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The lines P(prewarm.k8s.window_summary#filter) makes of the rows P(prewarm.k8s.upgrade_rows#filter) gives, in one
    filter - the rows never pass through a template, which at thousands of rows costs seconds on its own.
extends_documentation_fragment:
  - prewarm.k8s.upgrade_hosts
  - prewarm.k8s.upgrade_hosts.check_mode
"""

EXAMPLES = r"""
- name: Print the per-node summary
  ansible.builtin.include_role:
    name: prewarm.k8s.node_upgrade
    tasks_from: summary
  vars:
    node_upgrade_summary_lines: "{{ groups['os_upgrade_targets'] | prewarm.k8s.upgrade_summary(hostvars, ansible_check_mode, node_upgrade_steps) }}"
"""

RETURN = r"""
_value:
  description: The lines, as P(prewarm.k8s.window_summary#filter) returns them.
  type: list
  elements: str
"""

from ansible_collections.prewarm.k8s.plugins.filter.window_summary import window_summary
from ansible_collections.prewarm.k8s.plugins.module_utils import window_summary as summary
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import upgrade_facts


def upgrade_summary(hosts, hostvars, check_mode=False, steps=None):
    hosts = list(hosts)
    return window_summary(summary.upgrade_rows(hosts, upgrade_facts(hostvars, hosts), check_mode, steps))


class FilterModule(object):
    def filters(self):
        return {"upgrade_summary": upgrade_summary}
