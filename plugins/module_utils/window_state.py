# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a node stands in its maintenance window, from the Node object alone.

The node_upgrade role asks where a node resumes (resume_point); the reconcile playbook asks what to do
with each node of a pool (reconcile_decision). Both read the maintenance annotation (maintenance_record)
and both ask whether the node is already upgraded (is_upgraded), so the two agree by construction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import MAINTENANCE_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance_record import parse_record

# The step whose result is not "done" while the node is still being warmed, yet finishes the window once warm.
WARM_STEP = "warm"


def _metadata(node):
    return (node or {}).get("metadata") or {}


def node_name(node):
    return _metadata(node).get("name")


def raw_record(node):
    """The maintenance annotation's text, or None when the node is not under maintenance."""
    return (_metadata(node).get("annotations") or {}).get(MAINTENANCE_ANNOTATION)


def node_record(node):
    """(record, problem): the parsed annotation ({} when there is none), or None and why it cannot be read."""
    raw = raw_record(node)
    if raw is None:
        return {}, None
    return parse_record(raw)


def is_upgraded(node, done_label=None, kernel_version=None, os_image=None):
    """Whether the node carries the done label, or reports the kernel and OS image expected (when either is given).

    done_label: {key, value}; its value compares as text (a label value always is). An empty kernel_version
    or os_image means "any".
    """
    labels = _metadata(node).get("labels") or {}
    if done_label and labels.get(done_label["key"]) == str(done_label["value"]):
        return True
    if not (kernel_version or os_image):
        return False
    info = ((node or {}).get("status") or {}).get("nodeInfo") or {}
    kernel, image = info.get("kernelVersion") or "", info.get("osImage") or ""
    return kernel == (kernel_version or kernel) and image == (os_image or image)


def resume_index(steps, status):
    """The index of the first step to run: after a step done, the next one; a failed step again; else 0."""
    step = (status or {}).get("step")
    if step not in steps:
        return 0
    return steps.index(step) + (1 if status.get("result") == "done" else 0)


def the_node(found, name=None):
    """The Node object out of a Node or the resources a read of one node name returned; no node fails, naming it."""
    if isinstance(found, dict):
        return found
    found = list(found or [])
    if len(found) != 1:
        raise InvalidInput("there is no node %r in the cluster (set prewarm_node_name to the node's Kubernetes name); "
                           "nothing was changed on it" % (name or "?") if not found else
                           "%d nodes were read for the name %r, expected one" % (len(found), name or "?"))
    return found[0]


def resume_point(node, steps, skip_upgraded=True, done_label=None, kernel_version=None, os_image=None):
    """Where the window of `node` starts: {start, since, already_upgraded}.

    start is len(steps) for a node with nothing to do: not under maintenance and already upgraded (when
    skip_upgraded). A node whose annotation cannot be read is refused: guessing its step could skip the drain.
    """
    record, problem = node_record(node)
    if problem:
        raise InvalidInput("node %s: its %s annotation cannot be read (%s); release the node (the release playbook) "
                           "or fix the annotation, then run again" % (node_name(node), MAINTENANCE_ANNOTATION, problem))
    already = bool(skip_upgraded) and not record and is_upgraded(node, done_label, kernel_version, os_image)
    start = len(steps) if already else resume_index(steps, record.get("status"))
    return {"start": start, "since": record.get("since"), "already_upgraded": already}


def reconcile_decision(node, pool, finishable_steps, drifted, done_label=None, kernel_version=None, os_image=None):
    """What reconcile does with one node of `pool`: the row it reports, with `warm` true for a node to warm (and release).

    A node whose window got to a finishable step (done, or the warm step itself) is finished; a node in no window
    (not marked, or marked by hand) is warmed when it is back from an upgrade, and an unmarked one when it drifted.
    Any other node under maintenance is its window's: left alone and reported, one whose annotation cannot be
    read included (its error says why).
    """
    marked = raw_record(node) is not None
    record, problem = node_record(node)
    record = record or {}
    status = record.get("status") or {}
    step = status.get("step")
    upgraded = is_upgraded(node, done_label, kernel_version, os_image)
    error = status.get("error")
    if problem:
        warm, error = False, "the %s annotation cannot be read (%s)" % (MAINTENANCE_ANNOTATION, problem)
    elif step is not None:
        warm = step in finishable_steps and (status.get("result") == "done" or step == WARM_STEP)
    else:
        warm = upgraded
    return {"node": node_name(node), "pool": pool, "marked": marked, "drifted": drifted, "since": record.get("since"),
            "step": step, "step_result": status.get("result"), "error": error, "upgraded": upgraded,
            "warm": warm or (drifted and not marked)}


def reconcile_plan(listed, drifted, finishable_steps, done_label=None, kernel_version=None, os_image=None):
    """reconcile_decision for every node of every pool: listed is [(pool, [Node])], drifted the names of drifted nodes."""
    drifted = set(drifted or [])
    return [reconcile_decision(node, pool, finishable_steps, node_name(node) in drifted, done_label, kernel_version, os_image)
            for pool, nodes in listed for node in nodes]
