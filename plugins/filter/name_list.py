# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: name_list
short_description: Names from a list or a comma-separated string
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The names of nodes or pools given to a playbook either as a list (vars file, AWX extra vars) or as a
    comma-separated string (C(-e release_nodes=node-1,node-2), an AWX survey text answer).
  - Each name is trimmed; empty ones and repeats are dropped; the first occurrence keeps its place.
  - Anything else (a number, a mapping, a list holding something other than strings) fails, naming the value.
options:
  _input:
    description: A list of names, or a comma-separated string of them.
    type: raw
    required: true
  option:
    description: The variable's name, for the failure message.
    type: str
    default: names
"""

EXAMPLES = r"""
- name: Release the named nodes
  prewarm.k8s.node_maintenance:
    state: absent
    nodes: "{{ release_nodes | prewarm.k8s.name_list('release_nodes') }}"
"""

RETURN = r"""
_value:
  description: The names, in their order, e.g. V([node-1, node-2]) for C(' node-1, node-2,').
  type: list
  elements: str
"""

# A bad value raises InvalidInput, which Ansible reports as "The filter plugin 'prewarm.k8s.name_list' failed: <why>".
# (Importing ansible.errors here would switch module_utils into controller mode in any process that imports this.)
from ansible_collections.prewarm.k8s.plugins.module_utils.names import name_list as names_of


def name_list(value, option="names"):
    return names_of(value, option)


class FilterModule(object):
    def filters(self):
        return {"name_list": name_list}
