#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_maintenance
short_description: Mark Kubernetes nodes as under maintenance and release them
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Marks nodes as under maintenance with a taint, a label and an annotation, and optionally
    cordons them; releases them again.
  - Each node gets one JSON Patch that sets the taint, the label, the annotation and the cordon
    at once, each change guarded by a test of the value it was planned from; a write to any other
    field of the node (the kubelet's status, another label) does not stop it. When another writer
    changed one of those fields in between (HTTP 422), the node is read again, the change recomputed and
    retried, up to 10 attempts. A request refused with HTTP 500, 502, 503 or 504, or whose
    connection failed, is sent again up to 3 more times after a short random back-off; one refused
    with HTTP 429 (the API server shedding load) up to 9 more times, after the server's
    C(Retry-After).
  - The annotation C(prewarm.k8s/maintenance) records, as JSON, who marked the node (C(by)),
    since when (C(since), RFC 3339 UTC), why (C(reason)), free-form C(status) fields, and which
    marks this collection put on (C(owned)). A release takes off only those marks, and only
    while they are still as they were set, then removes the annotation. So a release never
    undoes a taint, label or cordon that another tool or person set, even one with the same
    key.
  - Marking never claims a mark that is already there. A taint with the same key and effect set
    by someone else stays theirs (and stays on release); a taint with the same key and another
    effect is a different taint and is left alone. A label with the same key and another value
    set by someone else is a conflict that fails the run before any node changes.
  - Many nodes are patched concurrently by a bounded worker pool (O(workers)); all nodes are
    read with one list request (two when both O(nodes) and O(label_selector) are given).
  - Every option and every selected node is checked before the first write. Nodes that fail
    during the writes (deleted mid-run, conflicts that do not settle) do not stop the others;
    the module then fails naming each failed node and why.
  - Why not M(kubernetes.core.k8s_taint) - it handles one node per call, writes the whole taint
    list without a conflict check (a concurrent writer's taint can be lost), and records no
    ownership, so a release cannot tell its own taint from someone else's.
extends_documentation_fragment:
  - prewarm.k8s.auth
attributes:
  check_mode:
    support: full
    description: Reads the nodes and reports, per node, what would change; writes nothing.
  diff_mode:
    support: full
    description:
      - Per changed node, before and after of its taints, the labels this module handles,
        the maintenance annotation and C(unschedulable).
options:
  nodes:
    description:
      - Names of the nodes to mark or release.
      - A name that is not a node of the cluster fails the run before any change.
      - Combined with O(label_selector), the nodes of both are used.
      - C(names) is the option's old name, kept as an alias.
    type: list
    elements: str
    aliases: [names]
  label_selector:
    description:
      - Label selector (as in C(kubectl get nodes -l)) of the nodes to mark or release.
      - Combined with O(nodes), the nodes of both are used.
    type: str
  allow_empty:
    description:
      - Whether a selection with no node at all (empty O(nodes), O(label_selector) matching
        nothing) is fine. By default it fails the run, because a typo in a selector would
        otherwise look like success.
    type: bool
    default: false
  missing:
    description:
      - What a name in O(nodes) that is no node of the cluster does.
      - V(fail) fails the run before any node changes (a typo must not look like success).
      - V(report) changes the other nodes and reports each missing one as V(failed) in
        RV(nodes), with the error C(no such node); the run then fails with that per-node
        result. For plays that read their nodes earlier, where a node deleted since must not stop
        the others.
    type: str
    choices: [fail, report]
    default: fail
  state:
    description:
      - V(present) marks the nodes, V(absent) releases them.
      - Releasing uses the annotation, not the O(taint), O(label) and O(cordon) options, to
        know what to take off. A node without the annotation is left unchanged.
    type: str
    choices: [ present, absent ]
    default: present
  taint:
    description:
      - The taint that keeps user pods off a marked node.
      - Changing it between runs moves the mark; the old taint is taken off if it was ours.
    type: dict
    suboptions:
      key:
        description: Taint key.
        type: str
        default: prewarm.k8s/maintenance
      value:
        description: Taint value (may be empty).
        type: str
        default: "true"
      effect:
        description:
          - Taint effect. V(NoExecute) also evicts running pods that do not tolerate it.
        type: str
        choices: [ NoSchedule, PreferNoSchedule, NoExecute ]
        default: NoSchedule
  label:
    description:
      - The label that lets selectors (a preloader DaemonSet, C(kubectl get nodes -l)) find marked nodes.
    type: dict
    suboptions:
      key:
        description: Label key.
        type: str
        default: prewarm.k8s/maintenance
      value:
        description: Label value.
        type: str
        default: "true"
  cordon:
    description:
      - Whether to also cordon the node (set C(spec.unschedulable)).
      - A cordon set by this module is recorded as ours; with O(cordon=false) and
        O(state=present) it is lifted again, as is every cordon of ours on release. A node
        that was already cordoned by someone else stays cordoned in every case.
      - To have a release uncordon after a drain, mark with O(cordon=true) before draining
        (the drain then finds the node already cordoned).
    type: bool
    default: false
  reason:
    description:
      - Why the nodes are under maintenance, recorded in the annotation.
      - When omitted on a node already marked, the recorded reason is kept.
    type: str
  by:
    description:
      - Who marks the nodes, recorded in the annotation.
      - Defaults to C(user@host) of the process running the module (the controller when the task
        runs on localhost). A node already marked keeps its recorded C(by) unless this is given.
    type: str
  status:
    description:
      - Free-form fields merged into the annotation's C(status), for example the step a
        maintenance run reached and its last error, so a later run can resume from there.
      - Values are strings (numbers and booleans are written as text); V(null) removes a field.
      - Only with O(state=present).
    type: dict
  steps:
    description:
      - Per node name, the timeline of its maintenance window to keep in the annotation's own field C(steps) (not
        in C(status)), so a resumed window keeps the earlier steps' times; a node not named keeps what it has.
      - Each entry C({step, start, end, result, error}) - C(start) an RFC 3339 UTC time, C(end) one or V(null),
        C(result) V(done), V(failed) or V(skipped), C(error) a string or V(null). The latest 64 entries are kept.
      - Only with O(state=present). The prewarm.k8s.window_step action writes it for the node_upgrade role.
    type: dict
  workers:
    description:
      - How many nodes are patched at the same time (and the size of the HTTP connection pool).
    type: int
    default: 32
notes:
  - The annotation keeps the first C(since) when an already marked node is marked again, so
    the time a node spent under maintenance stays measurable.
  - A node that carries a taint or label exactly like ours but no annotation is left alone on
    release, with a warning, because nothing records that this collection put it there.
  - An unreadable annotation is treated as owning nothing, with a warning; marking replaces it,
    releasing removes it without taking off any taint, label or cordon.
  - When the cluster cordons a node, the node controller adds the taint
    C(node.kubernetes.io/unschedulable); it is not ours and is kept as it is.
seealso:
  - module: kubernetes.core.k8s_drain
  - module: kubernetes.core.k8s_taint
"""

EXAMPLES = r"""
- name: Mark the nodes of a batch before their OS upgrade, cordoned so the release uncordons them
  prewarm.k8s.node_maintenance:
    nodes: "{{ groups['upgrade_batch'] }}"
    cordon: true
    reason: "kernel 6.8 upgrade, change CHG-1234"

- name: Mark every node of the gpu pool with a NoExecute taint
  prewarm.k8s.node_maintenance:
    label_selector: pool=gpu
    taint:
      effect: NoExecute
    reason: driver upgrade

- name: Record the step a node reached, so a rerun can resume
  prewarm.k8s.node_maintenance:
    nodes: [worker-17]
    status:
      step: drain
      error: "{{ drain_result.msg | default(omit) }}"

- name: Release the nodes once their images are warm
  prewarm.k8s.node_maintenance:
    nodes: "{{ groups['upgrade_batch'] }}"
    state: absent

- name: Release whatever is still marked, fine if nothing is
  prewarm.k8s.node_maintenance:
    label_selector: prewarm.k8s/maintenance
    allow_empty: true
    state: absent
"""

RETURN = r"""
msg:
  description: A summary of what was done (or would be done in check mode).
  returned: always
  type: str
  sample: "marked 3 nodes, 1 unchanged"
nodes:
  description:
    - Per node name, what was done (or would be done in check mode), for every selected node.
    - Keyed by node name, as the C(nodes) of M(prewarm.k8s.node_wait), M(prewarm.k8s.warm_status) and
      M(prewarm.k8s.warmup) are; sorted by name.
  returned: always
  type: dict
  sample:
    worker-17:
      action: marked
      changed: true
      error: null
      warnings: []
      annotation:
        by: ops@bastion
        since: "2024-05-01T03:00:00Z"
        reason: kernel upgrade
        owned:
          taint: {key: prewarm.k8s/maintenance, value: "true", effect: NoSchedule}
          label: {key: prewarm.k8s/maintenance, value: "true"}
          cordon: true
        status: {step: drain}
  contains:
    action:
      description:
        - V(marked), V(released), V(unchanged) or V(failed).
        - In check mode, what would be done.
      type: str
      sample: marked
    changed:
      description: Whether the node changed (would change in check mode).
      type: bool
    error:
      description: Why the node failed; null unless RV(nodes.action) is V(failed).
      type: str
    warnings:
      description: Marks left alone because they are someone else's, unreadable annotations, and the like.
      type: list
      elements: str
    annotation:
      description:
        - The maintenance record on the node after the run (null once released or when failed).
        - C(owned.taint) and C(owned.label) are null when the mark was already there and is someone else's.
      type: dict
summary:
  description: How many nodes ended in each action.
  returned: always
  type: dict
  sample: {marked: 3, released: 0, unchanged: 1, failed: 0}
"""

import getpass
import socket
from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.client import (
    api_host,
    api_module,
    build_api_client,
    check_reachable,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import (
    MAINTENANCE_KEY,
    MAINTENANCE_LABEL_VALUE,
    MAINTENANCE_TAINT_EFFECT,
    MAINTENANCE_TAINT_VALUE,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import (
    ApiFailure,
    PrewarmError,
    describe_api_exception,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanCoreApi
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import (
    FAILED,
    MarkConflict,
    build_request,
    plan_node,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.node_patch import apply_plan
from ansible_collections.prewarm.k8s.plugins.module_utils.paging import list_all
from ansible_collections.prewarm.k8s.plugins.module_utils.node_selection import check_node_names, select_nodes
from ansible_collections.prewarm.k8s.plugins.module_utils.names import TAINT_EFFECTS

try:
    from kubernetes.client import ApiException
except ImportError:
    pass  # api_module() reports the missing library


ARGUMENT_SPEC = dict(
    nodes=dict(type="list", elements="str", aliases=["names"]),
    label_selector=dict(type="str"),
    allow_empty=dict(type="bool", default=False),
    missing=dict(type="str", choices=["fail", "report"], default="fail"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    taint=dict(type="dict", apply_defaults=True, options=dict(
        key=dict(type="str", default=MAINTENANCE_KEY, no_log=False),
        value=dict(type="str", default=MAINTENANCE_TAINT_VALUE),
        effect=dict(type="str", choices=list(TAINT_EFFECTS), default=MAINTENANCE_TAINT_EFFECT),
    )),
    label=dict(type="dict", apply_defaults=True, options=dict(
        key=dict(type="str", default=MAINTENANCE_KEY, no_log=False),
        value=dict(type="str", default=MAINTENANCE_LABEL_VALUE),
    )),
    cordon=dict(type="bool", default=False),
    reason=dict(type="str"),
    by=dict(type="str"),
    status=dict(type="dict"),
    steps=dict(type="dict"),
    workers=dict(type="int", default=32),
)


def main():
    run_module(api_module(ARGUMENT_SPEC, supports_check_mode=True, required_one_of=[("nodes", "label_selector")]), run)


def run(module):
    params = module.params
    if params["workers"] < 1:
        raise PrewarmError("workers: must be at least 1, got %d" % params["workers"])
    names = check_node_names(params["nodes"])
    request = build_request(params, now=_utc_now(), default_by=_who())
    api_client = build_api_client(params, pool_size=params["workers"], warn=module.warn)
    timeout = params["request_timeout"]
    check_reachable(api_client, timeout)
    core = LeanCoreApi(api_client)
    selector = params["label_selector"]
    nodes = select_nodes(
        names, selector,
        listed=_list_nodes(core, None, timeout) if names else None,
        selected=_list_nodes(core, selector, timeout) if selector else None,
        allow_empty=params["allow_empty"],
        missing_ok=params["missing"] == "report",
    )
    plans = _plan_all(nodes, request)
    if module.check_mode:
        outcomes = [(plan, None) for plan in plans]
    else:
        outcomes = [(result or plan, exc) for plan, result, exc in run_concurrently(
            lambda plan: apply_plan(core, plan, request, timeout), plans, params["workers"])]
    found = set(node["metadata"]["name"] for node in nodes)
    outcomes.extend((_gone(name), PrewarmError("no such node (deleted since the play read it?)")) for name in names if name not in found)
    result = _result(sorted(outcomes, key=lambda outcome: outcome[0]["name"]), module.check_mode, module._diff)
    failed = [(name, node["error"]) for name, node in result["nodes"].items() if node["action"] == FAILED]
    failure = "%s; failed: %s" % (result["msg"], "; ".join("%s: %s" % pair for pair in failed)) if failed else None
    return result, failure, result.pop("warnings")


def _gone(name):
    """The plan-shaped entry of a named node that is not in the cluster."""
    return {"name": name, "action": FAILED, "patch": None, "record": None, "warnings": [], "before": None, "after": None}


def _plan_all(nodes, request):
    """Plan every node before the first write: one node's conflict stops the whole run unchanged."""
    plans, conflicts = [], []
    for node in nodes:
        try:
            plans.append(plan_node(node, request))
        except MarkConflict as exc:
            conflicts.append("%s: %s" % (node["metadata"]["name"], exc.msg))
    if conflicts:
        raise PrewarmError("no node changed; cannot mark %d of %d nodes: %s" % (len(conflicts), len(nodes), "; ".join(conflicts)))
    return plans


def _list_nodes(core, selector, timeout):
    """All nodes (matching selector), as plain dicts."""
    try:
        return list_all(core.list_node, timeout, label_selector=selector)[0]
    except ApiException as exc:
        action = "listing nodes" + (" with label_selector %r" % selector if selector else "")
        raise ApiFailure(describe_api_exception(exc, action, api_host(core.api_client)))


def _result(outcomes, check_mode, diff_mode):
    """The module's result; its `nodes` is keyed by node name, in the order of `outcomes` (sorted by name)."""
    nodes, warnings = {}, []
    diff = {"before": {}, "after": {}}
    for plan, exc in outcomes:
        changed = exc is None and plan["patch"] is not None
        nodes[plan["name"]] = {
            "action": FAILED if exc else plan["action"],
            "changed": changed,
            "error": _error_text(exc) if exc else None,
            "warnings": plan["warnings"],
            "annotation": None if exc else plan["record"],
        }
        warnings.extend(plan["warnings"])
        if changed:
            diff["before"][plan["name"]] = plan["before"]
            diff["after"][plan["name"]] = plan["after"]
    summary = {action: 0 for action in ("marked", "released", "unchanged", FAILED)}
    for node in nodes.values():
        summary[node["action"]] += 1
    result = dict(changed=any(n["changed"] for n in nodes.values()), nodes=nodes, summary=summary,
                  msg=_message(summary, check_mode), warnings=warnings)
    if diff_mode:
        result["diff"] = diff
    return result


def _error_text(exc):
    return exc.msg if isinstance(exc, PrewarmError) else "%s: %s" % (type(exc).__name__, exc)


def _message(summary, check_mode):
    """For example "marked 3 nodes, 1 failed, 996 unchanged"."""
    parts = []
    for action, verb in (("marked", "mark"), ("released", "release")):
        if summary[action]:
            parts.append("%s %s" % ("would " + verb if check_mode else action, _nodes(summary[action])))
    if summary[FAILED]:
        parts.append("%d failed" % summary[FAILED])
    if summary["unchanged"] or not parts:
        parts.append("%d unchanged" % summary["unchanged"])
    return ", ".join(parts)


def _nodes(count):
    return "%d node%s" % (count, "" if count == 1 else "s")


def _utc_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _who():
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor the password database
        user = "unknown"
    return "%s@%s" % (user, socket.gethostname())


if __name__ == "__main__":
    main()
