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
    answer (with O(drain), each host drains its own node first, and a write takes the hosts whose drains ended by
    then). Each host then fails alone when its node could not be recorded (deleted since the batch started), or
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
  after:
    description:
      - Steps before O(step), in their order, whose work the tasks before this one did - recorded first, so a step
        that is a task of its own (a reboot) or a tasks file (the site's upgrade, a prune) needs no task to record it.
        The record's time is the end of those steps.
      - Without O(wait_timeout), in the same write as O(step) (a node is recorded with all of them or none of them);
        with it, in a write before the wait, so a run stopped during the wait resumes at O(step).
    type: list
    elements: str
  drain:
    description:
      - Drain this host's node first - the options of M(kubernetes.core.k8s_drain) but C(name) and C(state), which the
        action sets, run with this task's connection options. Then the node is recorded as soon as it is drained,
        with the nodes of the batch whose drains ended meanwhile (one write for them), not after the whole batch's.
      - A drain that fails fails this host, with C(drain_failed) in its result, and records nothing; with the task's
        C(retries), it is tried again. Not run for a node that resumes after O(step).
    type: dict
  reboot_next:
    description:
      - This host reboots in the next task - note the record's time in its window (C(reboot_started) of the fact
        C(node_upgrade_window)), as the reboot's start. The step that waits (O(wait_timeout)) then also requires of
        its node a kubelet heartbeat since the earliest reboot start of the nodes with the same expectation.
    type: bool
    default: false
  wait_timeout:
    description:
      - For the step that waits for the nodes to be back - wait (M(prewarm.k8s.node_wait), run by the host that writes)
        at most this many seconds for the nodes that ran the step to be Ready, each held to its own window state's
        expectation (C(kernel_version), C(os_image) of C(node_upgrade_state)) and, when it rebooted in this run
        (O(reboot_next)), to a kubelet heartbeat since the earliest reboot start of the nodes with the same expectation. One wait per distinct
        expectation, in turn, all within this time.
      - A node the wait did not find back is left out of the write and its host fails with the wait's message for it;
        the other nodes are recorded. A wait that fails as a whole (bad input, the API unreachable) fails every host.
      - Not given, the step waits for nothing.
    type: int
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
    steps: [marked, drained, upgraded, rebooted, ready, warm]
    uncordon_index: 5
  delegate_to: localhost

- name: Upgrade the packages
  ansible.builtin.apt:
    upgrade: dist

- name: Record the upgrade; the node reboots next
  prewarm.k8s.window_step:
    step: upgraded
    reboot_next: true
    steps: [marked, drained, upgraded, rebooted, ready, warm]
    uncordon_index: 5
  delegate_to: localhost

- name: Reboot the node
  ansible.builtin.reboot:

- name: Record the reboot done, wait until the nodes are back, record them (failing those not back in 10 minutes)
  prewarm.k8s.window_step:
    step: ready
    after: [rebooted]
    steps: [marked, drained, upgraded, rebooted, ready, warm]
    uncordon_index: 5
    wait_timeout: 600
    done_label: {key: example.com/os-upgraded, value: "2026-12"}
  delegate_to: localhost
"""

RETURN = r"""
step:
  description: The step recorded.
  returned: always
  type: str
  sample: drained
steps:
  description: The steps recorded - O(after), then O(step).
  returned: always
  type: list
  elements: str
  sample: [pruned, uncordoned]
recorded:
  description: Whether this host's node was recorded (or had nothing to record, resuming later in its window).
  returned: always
  type: bool
drain:
  description: What M(kubernetes.core.k8s_drain) said of this host's node (its C(result)), with O(drain).
  returned: when the node was drained
  type: str
drain_failed:
  description: The drain failed (nothing recorded); the node_upgrade role's rescue then names the budgets that held it.
  returned: when the drain failed
  type: bool
window:
  description:
    - On failure - where the host's window stands after the records that did name its node (a node recorded
      rebooted, then not back), for the rescue (the window_progress filter takes it); a failed task sets no fact.
  returned: when the host failed
  type: dict
writes:
  description:
    - The nodes of each write and what M(prewarm.k8s.node_maintenance) answered (its C(msg) and C(summary)); on the host
      that wrote only. The done label's patch is one more entry, with its C(done_label) (C(key=value)).
  returned: on the host that wrote
  type: list
  elements: dict
waits:
  description:
    - With O(wait_timeout), on the host that wrote - one entry per wait, its C(nodes) and M(prewarm.k8s.node_wait)'s
      C(msg).
  returned: on the host that wrote, when it waited
  type: list
  elements: dict
  sample:
    - {nodes: [worker-17], msg: "1 of 1 nodes as expected"}
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
