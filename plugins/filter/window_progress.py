# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: window_progress
short_description: Where a host's maintenance window stands
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - C({window, at, step_started, since, timeline}) - the index of the step the host is in, since when, when the node
    was marked, and the step timeline so far; and C(reboot_started) once a record noted that the host reboots next.
  - In a rescue, the C(window) of the failed task's result when a M(prewarm.k8s.window_step) recorded the node and then
    failed it (a failed task sets no fact); else the M(prewarm.k8s.window_step) fact C(node_upgrade_window); each
    only when it is of this run of the window (its C(window) is the state's). Else the start the state gives
    (C(start), C(step_started), C(since), C(timeline)).
options:
  _input:
    description: The host's C(node_upgrade_state), as the node_upgrade role's preflight and resume set it.
    type: dict
    required: true
  window:
    description: The host's C(node_upgrade_window) fact, or null.
    type: dict
  failed:
    description: In a rescue, C(ansible_failed_result), or null.
    type: dict
"""

EXAMPLES = r"""
- name: Say which step this host is in
  ansible.builtin.debug:
    msg: "{{ (node_upgrade_state | prewarm.k8s.window_progress(ansible_facts.node_upgrade_window | default(none))).at }}"
"""

RETURN = r"""
_value:
  description: Where the window stands.
  type: dict
"""

from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import progress


def window_progress(state, window=None, failed=None):
    return progress(state, window, failed)


class FilterModule(object):
    def filters(self):
        return {"window_progress": window_progress}
