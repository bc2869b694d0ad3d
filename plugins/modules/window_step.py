#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: window_step
short_description: Record a step of the maintenance window on every node of the batch that ran it, in one write
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - The bookkeeping of the node_upgrade role, one task per step. Runs for each host of the batch (the action plugin,
    on the controller); the first host to get there writes the step for the whole batch with one
    M(prewarm.k8s.node_maintenance) run (the nodes named at once, patched concurrently), the other hosts read its
    answer. Each host then fails alone when its node could not be recorded (deleted since the batch started), or
    all fail with the write's error when it failed as a whole (the API unreachable).
  - The nodes written are those of the batch still in their window (the window_live filter) that ran the step (their
    window started at it or before); the step becomes their C(status) (C(step), C(result=done)), our cordon stays
    until O(uncordon_index), and their step timeline is stored in the annotation's C(steps) field.
  - The first step of O(steps) is the mark itself - new nodes are marked (taint, label, our cordon, O(reason)); nodes
    resuming later in their window are marked again (a lost mark put back) with their status kept.
  - Sets on each host the facts C(node_upgrade_window) (C(at), the index of the step the host is in now,
    C(step_started), C(since) from the annotation, C(timeline), and C(window), the id of this run of the window that
    C(node_upgrade_state.window) gives) and C(node_upgrade_timeline), a list of C({step, start, end, result, error}),
    the step just recorded last. Facts, not set_fact variables, which would shadow them; the role's set_fact tasks
    never set these names before the window ends.
  - Must run delegated to the controller (C(delegate_to=localhost)) in a play with the linear strategy; every other
    option goes to M(prewarm.k8s.node_maintenance) unchanged.
extends_documentation_fragment:
  - prewarm.k8s.auth
attributes:
  check_mode:
    support: full
    description: Reports what would be recorded (M(prewarm.k8s.node_maintenance) in check mode) and writes nothing.
  diff_mode:
    support: full
    description: The host that wrote shows each node's change.
options:
  step:
    description: The step to record as done, one of O(steps).
    type: str
    required: true
  steps:
    description: The window's steps, in order.
    type: list
    elements: str
    required: true
  uncordon_index:
    description: Index in O(steps) of the step that lifts our cordon; nodes before it stay cordoned.
    type: int
    required: true
  taint:
    description: The maintenance taint, as for M(prewarm.k8s.node_maintenance).
    type: dict
  label:
    description: The maintenance label, as for M(prewarm.k8s.node_maintenance).
    type: dict
  reason:
    description: Why the nodes are under maintenance, recorded when they are marked.
    type: str
  ready:
    description:
      - For the step that waits for the nodes to be back - the batch's M(prewarm.k8s.node_wait) result (registered, run
        once). A node that ran the step and is not in its C(matched) is left out of the write and its host fails with
        the wait's message for it; the other nodes are recorded.
    type: dict
  done_label:
    description:
      - A label (C(key), C(value)) put on the nodes recorded by this step, in one M(kubernetes.core.k8s) patch after
        the write; it stays after the release. If it cannot be set, every host of the batch fails with that error.
    type: dict
  workers:
    description: How many nodes are patched at the same time.
    type: int
    default: 32
notes:
  - One write per batch and step, whatever the number of hosts; the hosts meet in a file under Ansible's controller
    temporary directory (removed when the playbook ends).
"""

EXAMPLES = r"""
- name: Drain the node
  kubernetes.core.k8s_drain:
    name: "{{ inventory_hostname }}"
    state: drain
  delegate_to: localhost

- name: Record the drain
  prewarm.k8s.window_step:
    step: drained
    steps: [marked, drained, upgraded]
    uncordon_index: 3
  delegate_to: localhost

- name: Record that the nodes are back, failing those the wait did not find, and label them as upgraded
  prewarm.k8s.window_step:
    step: ready
    steps: [marked, drained, upgraded, rebooted, ready, warm]
    uncordon_index: 5
    ready: "{{ waited }}"
    done_label: {key: example.com/os-upgraded, value: "2026-12"}
  delegate_to: localhost
"""

RETURN = r"""
step:
  description: The step recorded.
  returned: always
  type: str
  sample: drained
recorded:
  description: Whether this host's node was recorded (or had nothing to record, resuming later in its window).
  returned: always
  type: bool
writes:
  description:
    - The nodes of each write and what M(prewarm.k8s.node_maintenance) answered (its C(msg) and C(summary)); on the host
      that wrote only. The done label's patch is one more entry, with its C(done_label) (C(key=value)).
  returned: on the host that wrote
  type: list
  elements: dict
ansible_facts:
  description: The host's window.
  returned: when its node was recorded
  type: dict
  contains:
    node_upgrade_window:
      description: Where the window stands - C(window), C(at), C(step_started), C(since), C(timeline).
      type: dict
    node_upgrade_timeline:
      description: One entry per step - C(step), C(start), C(end) (RFC 3339 UTC), C(result) (V(done), V(failed), V(skipped)), C(error).
      type: list
      elements: dict
      sample:
        - {step: marked, start: "2026-12-06T03:00:00Z", end: "2026-12-06T03:00:01Z", result: done, error: null}
"""
