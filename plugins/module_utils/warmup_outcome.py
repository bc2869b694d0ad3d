# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What warmup decides before and after its wait: which nodes it refuses, and what it reports per node and in all.

The module reads (nodes, pods, each node's kubelet stats) and writes (admission labels,
releases); these functions only decide, from what it read and from the Waves run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.image_fs import image_fs_verdict, missing_images
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import ADMIT_LABEL_VALUE, admission_problem, is_admitted

# A failure or warning names at most this many nodes: at 3 a.m. a 1,000-name sentence helps no one.
MAX_NODES_IN_MESSAGE = 20


def timestamp(seconds):
    """An epoch time as RFC 3339 UTC with milliseconds, or None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def admission_refusals(nodes, pod_spec, label, refs):
    """({name: why} of the nodes not yet admitted that the preloader cannot run on, {name: [refs missing]} of the others).

    Only the second, the nodes that still lack some of the pool's images, need their image
    filesystem checked.
    """
    refused, lacking = {}, {}
    for node in nodes:
        if is_admitted(node, label):
            continue
        name = node["metadata"]["name"]
        why = admission_problem(node, pod_spec, label)
        if why:
            refused[name] = why
            continue
        missing = missing_images(node, refs)
        if missing:
            lacking[name] = missing
    return refused, lacking


def image_fs_refusals(reads, lacking, sizes, gc_high_threshold):
    """({name: why} of the nodes whose image filesystem cannot take what they lack, warnings).

    reads: {name: (stats summary or None, kubelet config or None, problems)}, as read for each
    node of `lacking`; a node whose stats are unreadable is not refused, but named in a warning.
    """
    refused, warnings, unreadable, no_config = {}, [], [], []
    for name in lacking:
        summary, kubelet_config, problems = reads.get(name) or (None, None, ["not read"])
        refusal, notes = image_fs_verdict(summary, lacking[name], sizes, gc_high_threshold, kubelet_config=kubelet_config)
        if refusal:
            refused[name] = refusal
        if summary is None:
            unreadable.append("%s (%s)" % (name, problems[0]))
            continue
        if problems:
            no_config.append("%s (%s)" % (name, problems[0]))
        warnings.extend("node %s: %s" % (name, note) for note in notes)
    if unreadable:
        warnings.append("image filesystem not checked on %d node(s), their stats are unreadable: %s"
                        % (len(unreadable), "; ".join(unreadable[:MAX_NODES_IN_MESSAGE])))
    if no_config:
        warnings.append("kubelet configuration unreadable on %d node(s), so their disk check used image_gc_high_threshold "
                        "%d and no eviction threshold: %s"
                        % (len(no_config), gc_high_threshold, "; ".join(no_config[:MAX_NODES_IN_MESSAGE])))
    return refused, warnings


def node_result(waves, plans, name, timed_out, dry_run):
    """The per-node result of a warmup run; plans: the release plans by node name (NodeActions.plans)."""
    base = waves.tracker.results[name]
    admitted_at, warm_at, released_at = (stamps.get(name) for stamps in (waves.admitted_at, waves.warm_at, waves.released_at))
    released = released_at is not None and bool(plans[name]["patch"])
    message = waves.node_message(name, timed_out)
    if dry_run and name in waves.admitted_at:
        message = "would be admitted now (check mode); " + message
    if released_at is not None:
        message += "; released" if released else "; nothing to release (no maintenance marks of ours)"
    if not released:
        released_at = None
    return {
        "warm": warm_at is not None, "state": base["state"], "ready": base["ready"], "pod": base["pod"], "images": base["images"],
        "admitted": name in waves.admitted and waves.gated, "released": released, "repulled": name in waves.repulled_at,
        "admitted_at": timestamp(admitted_at), "warm_at": timestamp(warm_at), "released_at": timestamp(released_at),
        "warming_seconds": round(warm_at - admitted_at, 3) if admitted_at and warm_at else None,
        "release_delay_seconds": round(released_at - warm_at, 3) if warm_at and released_at else None,
        "message": message,
    }


def outcome_diff(waves, plans):
    """--diff: per node, the admission label and the maintenance marks before and after."""
    diff = {"before": {}, "after": {}}
    for name in waves.names:
        plan = plans.get(name)
        if name in waves.admitted_at:
            diff["before"].setdefault(name, {})["admission_label"] = None
            diff["after"].setdefault(name, {})["admission_label"] = {waves.label: ADMIT_LABEL_VALUE}
        if plan is not None and plan["patch"]:
            diff["before"].setdefault(name, {})["maintenance"] = plan["before"]
            diff["after"].setdefault(name, {})["maintenance"] = plan["after"]
    return diff


def failure_message(waves, result, timeout, timed_out):
    """Why the run failed (nodes not warm, refused, failed writes), or None; names at most MAX_NODES_IN_MESSAGE of each."""
    parts = []
    cold = result["cold"]
    if cold:
        head = "%d of %d nodes not warm" % (len(cold), len(waves.names))
        if timed_out:
            head = "timed out after %ss: %s" % (timeout, head)
        parts.append(head + ": " + " | ".join("%s: %s" % (name, result["nodes"][name]["message"]) for name in cold[:MAX_NODES_IN_MESSAGE]))
    if result["refused"]:
        parts.append("refused %d node(s), left marked: %s" % (
            len(result["refused"]), " | ".join("%s: %s" % item for item in sorted(result["refused"].items())[:MAX_NODES_IN_MESSAGE])))
    failed = [name for name in waves.names if name in waves.errors and name not in cold]
    if failed:
        parts.append("failed: " + " | ".join("%s: %s" % (name, waves.errors[name]) for name in failed[:MAX_NODES_IN_MESSAGE]))
    return "; ".join(parts) or None
