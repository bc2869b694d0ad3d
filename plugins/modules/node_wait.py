#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_wait
short_description: Wait until Kubernetes nodes are Ready again after a restart, reboot or upgrade
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Waits until every named node is Ready and, optionally, has sent a kubelet heartbeat since a given time
    (O(ready_after)) and reports the expected kernel (O(kernel_version)) and OS image (O(os_image)).
  - The kubelet posts the node's status, with a fresh heartbeat on the C(Ready) condition, right after it
    starts, and then at least every C(nodeStatusReportFrequency) (5 minutes by default). A heartbeat newer than
    the moment a kubelet restart or a reboot began shows that the kubelet came back, not merely that the node
    was still marked Ready from before.
  - Lists the nodes once and then follows the API's watch on them (no polling, no request per node). A watch the
    server ends is resumed, an expired one (HTTP 410) replaced by a fresh list, a lost connection (an API server
    restart) re-established after a short back-off.
  - A named node that does not exist is waited for (a re-imaged machine may register again under its name); at
    the timeout the module fails naming each node and what it lacks.
  - Read-only.
extends_documentation_fragment:
  - prewarm.k8s.auth
  - prewarm.k8s.controller
attributes:
  check_mode:
    support: full
    description: The module never changes anything; in check mode it waits exactly as otherwise.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  nodes:
    description:
      - Names of the nodes to wait for. An empty list means nothing to wait for.
      - C(names) is the option's old name, kept as an alias.
    type: list
    elements: str
    required: true
    aliases: [names]
  ready_after:
    description:
      - Also require a heartbeat of the node's C(Ready) condition at or after this time (whole seconds).
      - An RFC 3339 time such as V(2024-05-01T03:00:00Z) or V(2024-05-01T05:00:00+02:00), or V(now) for the
        moment the module starts.
      - To prove that a restart or reboot happened and the kubelet came back, give the time taken B(before) the
        restart (for example C({{ now(utc=true).isoformat() }}) registered before it). With V(now), a kubelet
        that already posted its status before the module started is only seen at its next status report.
    type: str
  kernel_version:
    description:
      - Also require the node to report exactly this kernel (C(status.nodeInfo.kernelVersion), as in
        C(kubectl get node -o wide)), for example V(6.8.0-45-generic).
    type: str
  os_image:
    description:
      - Also require the node to report exactly this OS image (C(status.nodeInfo.osImage)), for example
        V(Ubuntu 24.04.1 LTS).
    type: str
  timeout:
    description:
      - How many seconds to wait in total before failing.
    type: int
    default: 600
notes:
  - Needs C(list) and C(watch) on nodes.
seealso:
  - module: prewarm.k8s.node_maintenance
  - module: prewarm.k8s.warmup
"""

EXAMPLES = r"""
- name: Note the time before restarting the kubelet
  ansible.builtin.set_fact:
    kubelet_restarted_at: "{{ now(utc=true).strftime('%Y-%m-%dT%H:%M:%SZ') }}"

- name: Restart the kubelet
  ansible.builtin.service:
    name: kubelet
    state: restarted
  become: true

- name: Wait until the kubelet is back and the node Ready
  prewarm.k8s.node_wait:
    nodes: ["{{ prewarm_node_name }}"]
    ready_after: "{{ kubelet_restarted_at }}"
    timeout: 300
  delegate_to: localhost

- name: Wait until the batch is back on the new kernel after the reboot
  prewarm.k8s.node_wait:
    nodes: "{{ ansible_play_batch }}"
    kernel_version: 6.8.0-45-generic
    os_image: Ubuntu 24.04.1 LTS
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
nodes:
  description: Per node name, what it reports.
  returned: always
  type: dict
  sample:
    worker-17:
      ready: true
      last_heartbeat: "2024-05-01T03:04:12Z"
      kernel_version: 6.8.0-45-generic
      os_image: Ubuntu 24.04.1 LTS
      matched: true
      message: Ready, last heartbeat 2024-05-01T03:04:12Z, kernel 6.8.0-45-generic, OS image Ubuntu 24.04.1 LTS
  contains:
    ready:
      description: Whether the node's Ready condition is True.
      type: bool
    last_heartbeat:
      description: The C(lastHeartbeatTime) of the node's Ready condition (RFC 3339 UTC), null when none.
      type: str
    kernel_version:
      description: The kernel the node reports (C(status.nodeInfo.kernelVersion)), null when the node does not exist.
      type: str
    os_image:
      description: The OS image the node reports (C(status.nodeInfo.osImage)), null when the node does not exist.
      type: str
    matched:
      description: Whether the node is everything asked for.
      type: bool
    message:
      description: What the node lacks (every reason, separated by C(; )), or a short confirmation.
      type: str
matched:
  description: Names of the nodes that are everything asked for, in the order given.
  returned: always
  type: list
  elements: str
  sample: [worker-17]
unmatched:
  description: Names of the nodes that are not, in the order given.
  returned: always
  type: list
  elements: str
  sample: []
ready_after:
  description: O(ready_after) resolved (V(now) replaced by the module's start time), truncated to whole seconds; null when not given.
  returned: always
  type: str
  sample: "2024-05-01T03:03:58Z"
elapsed:
  description: Seconds the module spent reading and waiting.
  returned: always
  type: float
  sample: 14.2
msg:
  description: How many nodes are as expected, or, on failure, each node and what it lacks (nodes separated by C( | )).
  returned: always
  type: str
  sample: "timed out after 300s: 1 of 1 nodes not as expected: worker-17: no kubelet heartbeat since 2024-05-01T03:03:58Z yet"
"""

import time
from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.api_reads import api_call
from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.controller import gone as controller_gone
from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_module, build_api_client, check_reachable
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanCoreApi
from ansible_collections.prewarm.k8s.plugins.module_utils.node_readiness import (
    NodeWaitTracker,
    format_time,
    resolve_ready_after,
    wait_failure,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.node_selection import check_node_names
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES
from ansible_collections.prewarm.k8s.plugins.module_utils.watcher import ApiListWatch, follow

ARGUMENT_SPEC = dict(
    # Filled in by the action plugin (plugins/action): the playbook process whose end stops the wait.
    controller=dict(type="dict", options=dict(pid=dict(type="int", required=True), start=dict(type="int", required=True))),
    nodes=dict(type="list", elements="str", required=True, aliases=["names"]),
    ready_after=dict(type="str"),
    kernel_version=dict(type="str"),
    os_image=dict(type="str"),
    timeout=dict(type="int", default=600),
)


def check_params(params, now):
    """The expectations, checked; raises InvalidInput naming the bad option and value."""
    if params["timeout"] <= 0:
        raise InvalidInput("timeout: must be a positive number of seconds, not %r" % params["timeout"])
    return check_node_names(params["nodes"]), {
        "ready_after": resolve_ready_after(params["ready_after"], now),
        "kernel_version": params["kernel_version"],
        "os_image": params["os_image"],
    }


def run(module):
    params = module.params
    started = time.monotonic()
    names, expect = check_params(params, datetime.now(timezone.utc))
    tracker = NodeWaitTracker(names, expect)
    trouble, warnings = {}, []
    if names:
        api_client = build_api_client(params, pool_size=2, warn=warnings.append)
        check_reachable(api_client, params["request_timeout"])
        core = LeanCoreApi(api_client)
        # One node: the server sends only its events. More: one stream of all nodes beats one per node.
        selectors = dict(field_selector="metadata.name=" + names[0]) if len(names) == 1 else {}
        nodes = ApiListWatch(core.list_node, params["request_timeout"], **selectors)
        items, version = api_call(api_client, "listing nodes", nodes.list)
        tracker.replace(NODES, items)
        if not tracker.all_warm:
            _done, trouble = follow([(NODES, nodes, version)], tracker, started + params["timeout"],
                                    abandoned=lambda: controller_gone(params["controller"]))
    result = dict(changed=False, nodes=tracker.results, matched=tracker.matched(), unmatched=tracker.unmatched(),
                  ready_after=format_time(expect["ready_after"]), elapsed=round(time.monotonic() - started, 3),
                  msg="%d of %d nodes Ready and as expected" % (len(tracker.matched()), len(names)))
    failure = None
    if not tracker.all_warm:
        failure = wait_failure(tracker.results, tracker.unmatched(), params["timeout"], list(trouble.values()))
    return result, failure, warnings


def main():
    run_module(api_module(ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
