# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: warm_rows
short_description: The per-node summary rows of a prewarm run
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - For each node of a M(prewarm.k8s.warmup) result, its fields with C(node), C(pool) and C(result) - released,
    warm, or refused or cold with the reason.
options:
  _input:
    description: The M(prewarm.k8s.warmup) result.
    type: dict
    required: true
  pool:
    description: The pool's name.
    type: str
    required: true
  check_mode:
    description:
      - The run was in check mode - a node not warm yet is one the run would warm (C(would be warmed) and the
        warm-up's message), a warm one that would be released says so.
    type: bool
    default: false
  nodes:
    description:
      - In check mode, the nodes to warm - those without a warm-up result (the pool's preloader does not exist yet,
        and check mode creates none) get a row saying they would be warmed once it is created.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Print the per-node summary
  ansible.builtin.debug:
    msg: "{{ warmup_result | prewarm.k8s.warm_rows('gpu') | prewarm.k8s.window_summary }}"
"""

RETURN = r"""
_value:
  description: One row per node, for P(prewarm.k8s.window_summary#filter).
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import warm_rows


class FilterModule(object):
    def filters(self):
        return {"warm_rows": warm_rows}
