#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: window_report
short_description: Write a run's maintenance window as one self-contained HTML report
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Renders what a run of the os_upgrade, prewarm or reconcile playbook did and left, node by node, into one HTML
    file that needs nothing else to open (inline CSS and SVG, no script, no external asset) - a timeline with a row
    per node and a bar per step coloured by result (hover a bar for its times and error; failures are listed in text
    too); the steps per node as a table; the pools' nodes x images grid of states with the digest each node holds
    (shortened, in full on hover and in a table); and the figures - time under maintenance per node (mark to
    release), warm-up per node, the most nodes pulling at once with a small chart over the run, counts by result.
  - A node with a step timeline (the node_upgrade role's C(node_upgrade_timeline)) gets a bar per step; a node
    without one is drawn from its summary row - its window from the maintenance annotation's C(since) to the release,
    its reboot, its warm-up.
  - Runs on the controller only (an action plugin; no module is sent to a host). Creates the report's directory and
    writes the file atomically (a temporary file renamed over it) with mode C(0644).
  - In check mode the report is still written - a check run's report shows what the run found - and says at its top
    that the run was a check run.
options:
  playbook:
    description: The playbook's name, in the report's title and its default file name.
    type: str
    required: true
  rows:
    description:
      - The per-node summary rows the playbook prints (P(prewarm.k8s.upgrade_rows#filter),
        P(prewarm.k8s.warm_rows#filter), P(prewarm.k8s.reconcile_rows#filter)) - C(node) (required), C(pool),
        C(result), C(failed), C(since), C(released_at), C(reboot_started), C(reboot_ended), C(admitted_at), C(warm_at),
        C(warming_seconds), C(state), C(images) (each C(image), C(digest), C(state), C(wanted)).
      - One of O(rows) and O(group) is required.
    type: list
    elements: dict
  group:
    description:
      - Instead of O(rows) and O(timelines) - the inventory group of an os_upgrade run's node hosts
        (V(os_upgrade_targets)); each host's row and timeline are what the node_upgrade role left on it, read by the
        action itself - the row as P(prewarm.k8s.upgrade_rows#filter) gives it (without check mode), the timeline its
        C(node_upgrade_timeline) (a host without one has none). No group, or an empty one - no node.
      - Thousands of rows and timelines given as task arguments take seconds to template; read by the action they do
        not (docs/benchmarks.md).
    type: str
  timelines:
    description:
      - Per node name, its steps - a list of C(step), C(start) (RFC 3339 UTC), C(end) (RFC 3339 UTC, or null while
        the step runs), C(result) (V(done), V(failed) or V(skipped)) and C(error) (or null).
    type: dict
  states:
    description:
      - Per pool, per node name, C(state) and C(images), as M(prewarm.k8s.warm_status) returns in its C(nodes) - the
        grid then shows every node of the pool. A node that a row gives images for is shown as the row says (what the
        run's warm-up left, later than a check before it). Without it the grid shows the rows' C(state) and C(images).
    type: dict
  steps:
    description:
      - The window's steps in order (the node_upgrade role's C(node_upgrade_steps)), the columns of the steps table;
        steps the timelines name beyond these follow in the order first met.
    type: list
    elements: str
    default: []
  stats_key:
    description:
      - Also give the summary (RV(summary)) to the run's custom stats under this name, as M(ansible.builtin.set_stats)
        does with C(per_host=false) - AWX shows it as the job's artifact - without a task of its own that templates
        the summary again (at 5,000 nodes that task took 0.4 s).
    type: str
  path:
    description:
      - The report file, ending in C(.html) or C(.htm); a relative path is relative to the working directory of
        C(ansible-playbook). Its directory is created.
      - Default C(prewarm-reports/<playbook>-<UTC time, 20261204T100000Z>.html), a new file per run.
    type: str
notes:
  - The report holds node names, pools, images, digests, times, results and error messages - nothing from the
    inventory's variables and no credential.
attributes:
  check_mode:
    support: full
    description: The report is written in check mode too, saying that the run was a check run.
  diff_mode:
    support: none
    description: The report is a new file of up to megabytes of HTML; a diff of it says nothing a reader can use.
"""

EXAMPLES = r"""
- name: Write the run's report
  prewarm.k8s.window_report:
    playbook: os_upgrade
    group: os_upgrade_targets
    path: /var/log/prewarm/os_upgrade-latest.html
  register: report

- name: Say where it is
  ansible.builtin.debug:
    msg: "{{ report.path }}"
"""

RETURN = r"""
path:
  description: The report's absolute path.
  returned: success
  type: str
  sample: /runner/project/prewarm-reports/os_upgrade-20261204T102500Z.html
summary:
  description: What the report says in figures, small enough for C(ansible.builtin.set_stats) (no variable of the inventory).
  returned: success
  type: dict
  sample:
    path: /runner/project/prewarm-reports/os_upgrade-20261204T102500Z.html
    playbook: os_upgrade
    generated_at: "2026-12-04T10:25:00Z"
    check_mode: false
    counts: {released: 6, failed at drained: 1}
    max_pulling: 2
    window_seconds: {max: 287.0, median: 178.0}
    warming_seconds: {max: 70.0, median: 70.0}
    nodes: {kwok-cpu-0: released, kwok-gpu-2: failed at drained}
    failed: {kwok-gpu-2: "step drained: Cannot evict pod web-7f9c: ..."}
  contains:
    counts:
      description: Nodes per result, the result without its details (V(failed at drained), V(released), V(cold)).
      type: dict
    max_pulling:
      description: The most nodes warming at the same moment of the run.
      type: int
    window_seconds:
      description: The longest and the median time under maintenance (mark to release) of the nodes released.
      type: dict
    warming_seconds:
      description: The longest and the median warm-up of the nodes that warmed.
      type: dict
    nodes:
      description: Per node, its result (as in RV(summary.counts)).
      type: dict
    failed:
      description: Per node that failed (or stayed cold, or was refused), the failed step and its error, cut at 300 characters.
      type: dict
msg:
  description: Where the report went, and how many nodes it shows.
  returned: success
  type: str
  sample: report of 7 node(s) written to /runner/project/prewarm-reports/os_upgrade-20261204T102500Z.html
"""
