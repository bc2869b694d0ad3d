# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_summary
short_description: The per-node summary lines of a maintenance window
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - One line per node, sorted by node name - pool, time under maintenance (mark to release, or to now with
    C((still marked))), the reboot's duration when the node rebooted, time spent warming, result, and each image
    with the digest the node holds and its state. V([no node]) for no rows.
  - The summary entry point of the node_upgrade role prints it.
options:
  _input:
    description:
      - One dict per node - C(node), C(pool), C(since), C(released_at), C(reboot_started), C(reboot_ended),
        C(warming_seconds), C(result), C(images) (each C(image), C(digest), C(state)); only C(node) is required.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Print the per-node summary
  ansible.builtin.debug:
    msg: "{{ rows | prewarm.k8s.window_summary }}"
"""

RETURN = r"""
_value:
  description: "The lines, e.g. V(node-1 | pool web | maintenance 2m05s | warming 0m12s | released | images: ...)."
  type: list
  elements: str
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import summary_lines


def window_summary(rows):
    try:
        return summary_lines(rows)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("a row lacks a field or holds a bad value (%s: %s)" % (type(exc).__name__, exc))


class FilterModule(object):
    def filters(self):
        return {"window_summary": window_summary}
