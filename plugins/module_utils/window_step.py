# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recording a step of the maintenance window, decided without touching the API.

The window_step action records a step done on every node of the batch that ran it, in one write for the
batch, and leaves on each host where its window stands (the fact node_upgrade_window: `at`, the index of
the step it is in, `step_started`, `since`, and the timeline) and its timeline (node_upgrade_timeline): one
entry per step,

    {"step": "drained", "start": "2026-12-06T03:00:00Z", "end": "2026-12-06T03:01:10Z",
     "result": "done" | "failed" | "skipped", "error": null}

The timeline is also stored in the node's maintenance annotation, under its own field `steps` (not in
`status`, which older readers require to hold strings only), so a resumed window keeps the earlier steps'
times.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"
RESULTS = (DONE, FAILED, SKIPPED)
# An annotation is bounded (256 KiB for all of a node's annotations): a node failing and resumed over and over
# keeps its latest entries.
MAX_ENTRIES = 64


def check_step_options(step, steps, uncordon_index):
    """(step, steps, uncordon_index) as window_step takes them; a bad one raises InvalidInput naming the value."""
    if not isinstance(steps, list) or not steps or not all(isinstance(name, str) for name in steps):
        raise InvalidInput("steps must be a non-empty list of step names, got %r" % (steps,))
    if step not in steps:
        raise InvalidInput("step %r is not one of steps (%s)" % (step, ", ".join(steps)))
    try:
        return step, steps, int(uncordon_index)
    except (TypeError, ValueError):
        raise InvalidInput("uncordon_index must be an integer, got %r" % (uncordon_index,))


def timeline_entry(step, start, end, result=DONE, error=None):
    if result not in RESULTS:
        raise InvalidInput("result: must be one of %s, got %r" % (", ".join(RESULTS), result))
    return {"step": step, "start": start, "end": end, "result": result, "error": error}


def check_timeline(entries, where):
    """The entries as stored: each a step entry as timeline_entry() makes; a bad one raises InvalidInput naming it."""
    if not isinstance(entries, list):
        raise InvalidInput("%s: must be a list of step entries, got %s" % (where, type(entries).__name__))
    checked = []
    for number, entry in enumerate(entries):
        problem = _entry_problem(entry)
        if problem:
            raise InvalidInput("%s[%d]: %s, got %r" % (where, number, problem, entry))
        checked.append(timeline_entry(entry["step"], entry["start"], entry.get("end"), entry["result"], entry.get("error")))
    return checked[-MAX_ENTRIES:]


def _entry_problem(entry):
    if not isinstance(entry, dict):
        return "must be an object"
    for field in ("step", "start"):
        if not isinstance(entry.get(field), str):
            return "field %r must be a string" % field
    for field in ("end", "error"):
        if entry.get(field) is not None and not isinstance(entry[field], str):
            return "field %r must be a string or null" % field
    if entry.get("result") not in RESULTS:
        return "field 'result' must be one of %s" % ", ".join(RESULTS)
    return None


def stored_timeline(record):
    """The timeline kept in a maintenance record (its `steps`), [] when it has none or one this version cannot read."""
    try:
        return check_timeline((record or {}).get("steps") or [], "steps")
    except InvalidInput:
        return []


def is_live(facts):
    """Whether a host (its facts) is still in its window: it has a window state and no failure since it started.

    A host whose task failed inside the window's block stays in the play's batch until its rescue runs, after the
    others finished the block; Ansible sets its ansible_failed_task at once. The state's `failed_task` is the one the
    host carried when its window started (an earlier failure, already handled).
    """
    state = facts.get("node_upgrade_state")
    if not state:
        return False
    failed = facts.get("ansible_failed_task") or {}
    return not failed or failed.get("uuid") == state.get("failed_task")


def live_states(batch_facts):
    """The window states of the hosts (their facts, in batch order) still in their window."""
    return [facts["node_upgrade_state"] for facts in batch_facts if is_live(facts)]


def step_writes(step, steps, uncordon_index, states):
    """The node_maintenance calls that record `step` done for the batch: [{nodes, cordon, status}].

    states: the live nodes' window states ({node, start}). The nodes that ran the step (they started at it or
    before) get it as their status; our cordon stays until the uncordon step. The first step is the mark itself:
    nodes resuming later in their window are marked again too (a lost mark put back), keeping their status, with
    our cordon only while they are before the uncordon step.
    """
    index = steps.index(step)
    writes = []
    ran = sorted(state["node"] for state in states if state["start"] <= index)
    if ran:
        writes.append({"nodes": ran, "cordon": index < uncordon_index, "status": {"step": step, "result": DONE, "error": None}})
    if index == 0:
        for cordon, chosen in ((True, lambda start: 0 < start < uncordon_index),
                               (False, lambda start: uncordon_index <= start < len(steps))):
            names = sorted(state["node"] for state in states if chosen(state["start"]))
            if names:
                writes.append({"nodes": names, "cordon": cordon, "status": None})
    return writes


def progress(state, window, failed=None):
    """Where a host's window stands: {window, at, step_started, since, timeline} (and reboot_started, once a record
    noted that the host reboots next).

    state: node_upgrade_state, as the role's preflight and resume set it (with `window`, an id of this run of the
    window, and `timeline`, what the annotation kept); window: the host's node_upgrade_window fact, which window_step
    sets (a fact, not a set_fact: set_fact's values would shadow it); failed: in a rescue, the failed task's result,
    whose `window` a window_step that recorded the node and then failed it gives (a failed task sets no fact). Each
    is taken only when it is of this window; `at` is the index of the step the host is in.
    """
    for candidate in ((failed or {}).get("window"), window):
        if isinstance(candidate, dict) and candidate.get("window") == state.get("window"):
            return candidate
    return {"window": state.get("window"), "at": state["start"], "step_started": state.get("step_started"),
            "since": state.get("since"), "timeline": list(state.get("timeline") or [])}


def advance(start, window, step, steps, ended):
    """A host's window (as progress() gives it) once the batch recorded `step` at `ended`; `start` is where it began.

    A node that ran the step gets its entry (from when its step started, else from the record) and moves to the
    next step; a node resuming later only notes that its next step starts now.
    """
    index = steps.index(step)
    if start > index:
        return dict(window, step_started=ended)
    entry = timeline_entry(step, window.get("step_started") or ended, ended)
    return dict(window, at=index + 1, step_started=ended, timeline=(list(window["timeline"]) + [entry])[-MAX_ENTRIES:])


def advance_through(start, window, done, steps, ended):
    """A host's window once the batch recorded each step of `done` (in order) at `ended`, as advance() does for one."""
    for step in done:
        window = advance(start, window, step, steps, ended)
    return window


def recorded_timelines(done, steps, windows, ended):
    """{node: its timeline once the steps of `done` are recorded at `ended`} for the nodes that ran the last of them.

    windows: (state, window) of each live host; what the write stores in each node's annotation is what
    advance_through() gives that host.
    """
    index = steps.index(done[-1])
    return dict((state["node"], advance_through(state["start"], window, done, steps, ended)["timeline"])
                for state, window in windows if state["start"] <= index)


def check_after(after, step, steps):
    """window_step's `after`: steps before `step`, in order, that the tasks before this one did and this one records
    first; [] when none. A bad one raises InvalidInput naming it."""
    if after is None or after == []:
        return []
    if not isinstance(after, list) or not all(isinstance(name, str) and name in steps for name in after):
        raise InvalidInput("after must be a list of steps (%s), got %r" % (", ".join(steps), after))
    indexes = [steps.index(name) for name in after]
    if indexes != sorted(set(indexes)) or indexes[-1] >= steps.index(step):
        raise InvalidInput("after must name steps before %r, in their order, got %r" % (step, after))
    return list(after)


def ended_timeline(window, step, result, error, ended):
    """The timeline of a host whose `step` ended at `ended` with `result` (and `error`), for the steps not recorded
    by window_step: the warm step, whose release removes the annotation, and a step that failed."""
    entry = timeline_entry(step, window.get("step_started") or ended, ended, result, error)
    return (list(window["timeline"]) + [entry])[-MAX_ENTRIES:]


def resumed_timeline(record, steps, start, now):
    """A node's timeline as its window resumes at index `start` (`now`): the entries its annotation kept, and each
    step before `start` it has none of (an annotation written before steps had times) as skipped from `now`.
    [] for a node not under maintenance."""
    if not record:
        return []
    timeline = stored_timeline(record)
    done = set(entry["step"] for entry in timeline if entry["result"] == DONE)
    missing = [timeline_entry(step, now, None, SKIPPED) for step in steps[:start] if step not in done]
    return (missing + timeline)[-MAX_ENTRIES:]


def resume_note(state, steps):
    """What the mark says of a node that resumes an earlier window (a warning: an earlier run stopped it there); None
    for a node that starts at the first step or has nothing to do."""
    start = state["start"]
    if not 0 < start < len(steps):
        return None
    return "%s resumes its window at step %s (under maintenance since %s)" % (
        state["node"], steps[start], state.get("since") or "an unknown time")


def check_drain(drain):
    """window_step's `drain`: None, or the options of kubernetes.core.k8s_drain but the node and state, which the
    action sets; a bad one raises InvalidInput naming it."""
    if drain is None:
        return None
    if not isinstance(drain, dict) or set(drain) & {"name", "state"}:
        raise InvalidInput("drain must be a dict of kubernetes.core.k8s_drain options without name and state, got %r"
                           % (drain,))
    return drain


def check_flag(value, name):
    """A yes/no option, as a bool or in Ansible's text forms; a bad one raises InvalidInput naming it."""
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise InvalidInput("%s must be true or false, got %r" % (name, value))


def host_window(state, window, steps, checkpoints):
    """A host's window after the batch's records (`checkpoints`, each {done, ended, nodes}: the steps recorded, when,
    and the nodes it moved on), up to the first that left its node out (not back, or its write failed)."""
    for checkpoint in checkpoints:
        if state["node"] not in checkpoint["nodes"]:
            break
        window = advance_through(state["start"], window, checkpoint["done"], steps, checkpoint["ended"])
    return window


def host_failure(state, index, shared):
    """Why a host fails the record of the step at `index`, None when it does not: the wait failed as a whole, its
    node is not back, or its node could not be recorded. shared: the batch's answer (window_step's _write)."""
    if shared.get("wait_failure"):
        return "the wait for the nodes failed: %s" % shared["wait_failure"]
    why = not_back(index, [state], shared.get("ready")).get(state["node"])
    if why:
        return why
    recorded, error, dummy = node_outcome(state["node"], shared["answers"], shared["failure"])
    return None if recorded else "could not be recorded: %s" % error


def node_outcome(node, answers, failure):
    """(recorded, error, annotation) of `node` after the batch's writes.

    answers: node_maintenance's per-node results of every write ({name: {action, error, annotation}}); failure:
    the message of a write that failed without per-node results (the API unreachable, a conflict), which fails
    every node. A node no write named (resuming later) counts as recorded.
    """
    if failure:
        return False, failure, None
    answer = answers.get(node)
    if answer is None:
        return True, None, None
    if answer["action"] == FAILED:
        return False, answer.get("error") or "could not be recorded", None
    return True, None, answer.get("annotation")


def check_wait_timeout(timeout):
    """window_step's `wait_timeout`: None (the step waits for nothing) or a positive number of seconds."""
    if timeout is None:
        return None
    try:
        seconds = int(timeout)
    except (TypeError, ValueError):
        seconds = 0
    if seconds <= 0 or str(seconds) != str(timeout).strip():
        raise InvalidInput("wait_timeout must be a positive whole number of seconds, got %r" % (timeout,))
    return seconds


def wait_groups(index, states):
    """The waits the step at `index` needs: one per distinct expectation of the nodes that ran it (their window started
    at it or before), each {nodes, kernel_version, os_image, ready_after}. Each node is held to its own host's
    expectation (its window state's kernel_version and os_image); ready_after is the earliest reboot start among the
    group's nodes, None when none of them rebooted in this run."""
    groups = {}
    for state in states:
        if state["start"] <= index:
            key = (state.get("kernel_version") or None, state.get("os_image") or None)
            groups.setdefault(key, []).append(state)
    waits = []
    for (kernel_version, os_image), members in sorted(groups.items(), key=lambda item: [part or "" for part in item[0]]):
        reboots = [member["reboot_started"] for member in members if member.get("reboot_started")]
        waits.append({"nodes": sorted(member["node"] for member in members), "kernel_version": kernel_version,
                      "os_image": os_image, "ready_after": min(reboots) if reboots else None})
    return waits


def merged_waits(waits, answers):
    """(the batch's wait result as `not_back` reads it, the message of a wait that failed as a whole or None) from
    node_wait's `answers`, one per group of `waits`. A node the answer names without a message of its own (none, or
    a null one) gets its group's message, not another group's."""
    matched, nodes = [], {}
    for wait, answer in zip(waits, answers):
        if "nodes" not in answer:
            return None, answer.get("msg") or "node_wait failed"
        matched.extend(answer.get("matched") or [])
        for name in wait["nodes"]:
            found = dict(answer["nodes"].get(name) or {})
            found["message"] = found.get("message") or answer.get("msg")
            nodes[name] = found
    return {"matched": matched, "nodes": nodes}, None


def not_back(index, states, ready):
    """{node: why} of the nodes that ran the step at `index` (their window started at it or before) and that the
    batch's wait (`ready`, node_wait's result) did not find back as expected. None: no wait to read, nobody fails.

    A wait skipped because no node needed it names nobody that ran the step; a node the wait has no result for
    (missing from `matched`) fails with the wait's own message.
    """
    if ready is None:
        return {}
    matched = set(ready.get("matched") or [])
    per_node = ready.get("nodes") or {}
    return dict((state["node"], (per_node.get(state["node"]) or {}).get("message") or ready.get("msg")
                 or "not back as expected (no result from the wait)")
                for state in states if state["start"] <= index and state["node"] not in matched)


def check_done_label(label):
    """The done label window_step takes: None, or {key, value}; a bad one raises InvalidInput naming it."""
    if label is None:
        return None
    if not isinstance(label, dict) or not isinstance(label.get("key"), str) or not label["key"] or label.get("value") is None:
        raise InvalidInput("done_label must be a dict with a non-empty key and a value, got %r" % (label,))
    return {"key": label["key"], "value": str(label["value"])}


def done_label_patches(label, nodes):
    """The Node patches that put the done `label` on `nodes` (sorted), for kubernetes.core.k8s state=patched."""
    return [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {label["key"]: label["value"]}}}
            for name in sorted(nodes)]


def recorded_nodes(index, states, answers, failure):
    """The nodes that ran the step at `index` and were recorded (the write named them and did not fail them)."""
    if failure:
        return []
    return sorted(state["node"] for state in states
                  if state["start"] <= index and state["node"] in answers and answers[state["node"]]["action"] != FAILED)
