#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: upgrade_failures
short_description: Fail when nodes of an os_upgrade run failed, naming them and how to resume
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - From what the node_upgrade role left on the hosts of an inventory group (C(node_upgrade_report)), as
    P(prewarm.k8s.upgrade_outcome#filter) reads it - fails when a node failed, with a message naming each failed node
    and its result (in host order), saying that a rerun resumes each node at the step that failed, and, when some
    hosts were never reached, that the batches after the failure were not started. Skipped when no node failed.
  - The os_upgrade playbook's last task, C(Fail the run if a node failed); with O(group) V(os_upgrade_targets), the
    message is the one that playbook has always ended with.
  - Runs on the controller only (an action plugin; no module is sent to a host). Run it once (C(run_once=true)) - a
    task run once that fails fails every host of the play, as the run should.
options:
  group:
    description: The inventory group of the run's node hosts (V(os_upgrade_targets)). No such group, or an empty one - no node failed.
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: Decides the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Fail the run if a node failed
  prewarm.k8s.upgrade_failures:
    group: os_upgrade_targets
  run_once: true
"""

RETURN = r"""
msg:
  description: The failure, when a node failed.
  returned: failure
  type: str
  sample: >-
    1 node(s) failed and stay under maintenance: kwok-gpu-2 (failed at drained: Cannot evict pod web-7f9c). Fix the
    cause and run the playbook again: each node resumes at the step that failed.
"""
