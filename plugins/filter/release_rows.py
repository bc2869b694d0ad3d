# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: release_rows
short_description: The per-node summary rows of a release from maintenance
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - One row per node M(prewarm.k8s.node_maintenance) answered for - C(node), C(pool), C(since), C(released_at) and
    C(result) (what was done, the step the node's window had reached, and any warning), for
    P(prewarm.k8s.window_summary#filter).
options:
  _input:
    description:
      - The C(nodes) of M(prewarm.k8s.node_maintenance) with O(prewarm.k8s.node_maintenance#module:state=absent) - per
        node name, what was done.
    type: dict
    required: true
  marked:
    description: The Node objects under maintenance, read before the release.
    type: list
    elements: dict
    required: true
  hostvars:
    description: The inventory's C(hostvars); a node host's C(prewarm_pool) names its pool.
    type: raw
    required: true
  now:
    description: The release's time (RFC 3339, UTC).
    type: str
    required: true
  check_mode:
    description: The release ran in check mode - a node it would release says so, and is still marked.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Print the per-node summary
  ansible.builtin.debug:
    msg: "{{ released.nodes | prewarm.k8s.release_rows(marked.resources, hostvars, now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ'))
             | prewarm.k8s.window_summary }}"
"""

RETURN = r"""
_value:
  description: One row per node, in the order of O(_input).
  type: list
  elements: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import release_rows as rows_of


def release_rows(released, marked, hostvars, now, check_mode=False):
    pools = {}
    for name in released:
        if name in hostvars:
            pools[name] = hostvars[name].get("prewarm_pool")
    return rows_of(released, marked, pools, now, check_mode)


class FilterModule(object):
    def filters(self):
        return {"release_rows": release_rows}
