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
