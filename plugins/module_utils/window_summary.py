# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-node summary a window ends with: one line per node, in node order.

A row is what a node's run reports (node_upgrade_report, or a warmup result with node, pool, since and
result added): node, pool, since and released_at (the mark and the release, RFC 3339 UTC), reboot_started
and reboot_ended when the node rebooted, warming_seconds, result, and images ({image, digest, state}).
Built here rather than in a Jinja macro: on a pool of thousands of nodes the template took tens of seconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping
from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import MAINTENANCE_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.window_state import node_name, node_record

NO_NODE = "no node"


def format_seconds(value):
    """`1h02m03s` from an hour on, `2m05s` below it, `-` for no value; rounded to the second."""
    if value is None:
        return "-"
    seconds = int(round(float(value)))
    if seconds >= 3600:
        return "%dh%02dm%02ds" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)
    return "%dm%02ds" % (seconds // 60, seconds % 60)


def _parse(timestamp):
    # Whole seconds of an RFC 3339 UTC time, with or without fraction and zone designator.
    # (fromisoformat, not strptime: a tenth of the time, which counts over thousands of rows.)
    return datetime.fromisoformat(timestamp[:19]).replace(tzinfo=timezone.utc)


def format_between(start, end, now):
    """The time from `start` to `end` (or to `now`, marked "still marked"); `-` without a start."""
    if not start:
        return "-"
    until = _parse(end) if end else now
    text = format_seconds((until - _parse(start)).total_seconds())
    return text if end else text + STILL_MARKED


STILL_MARKED = " (still marked)"


WIDTH = 120
DIGEST_CHARS = 12
# A result too long for its row goes on below it, indented so that the node names stand out.
_INDENT = "    "
# Less room than this on its row (long node or pool names, a node still marked widening the time column): a result
# that does not fit whole goes below its row whole, rather than in scraps of a few characters.
MIN_RESULT = 20
RESULT_BELOW = "(result below)"


def short_digest(digest):
    """The first DIGEST_CHARS hex characters of a digest (`sha256:7ae7...` gives `7ae7c1d2e3f4`); the report has it whole."""
    return (digest or "").split(":", 1)[-1][:DIGEST_CHARS]


def _image_text(image, width):
    digest = image.get("digest")
    ref = image["image"]
    if digest and digest in ref:
        ref = ref.replace(digest, digest.split(":", 1)[0] + ":" + short_digest(digest))
    elif digest:
        ref = "%s @ %s" % (ref, short_digest(digest))
    return ref if len(ref) <= width else "..." + ref[len(ref) - width + 3:]


def _image_sets(rows):
    """{row index: label}, [(label, images)]: nodes holding the same images (reference and digest) share a label."""
    labels, sets, by_key = {}, [], {}
    for index, row in enumerate(rows):
        images = row.get("images") or []
        if not images:
            continue
        key = tuple((image["image"], image.get("digest")) for image in images)
        if key not in by_key:
            by_key[key] = _label(len(sets))
            sets.append((by_key[key], images))
        labels[index] = by_key[key]
    return labels, sets


def _label(number):
    # A, B, ... Z, AA, AB, ...
    text = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("A") + rest) + text
    return text


def _cells(row, now, rebooted):
    cells = [row["node"], "pool %s" % (row.get("pool") or "-"),
             "maintenance " + format_between(row.get("since"), row.get("released_at"), now)]
    if rebooted:
        ended = row.get("reboot_ended")
        cells.append("reboot " + (format_between(row.get("reboot_started"), ended, now) if ended else "-"))
    cells.append("warming " + format_seconds(row.get("warming_seconds")))
    return cells


def cut_at_space(text, width):
    """(the head of `text` that fits `width`, cut at a space where it can be, the rest)."""
    if len(text) <= width:
        return text, ""
    cut = text.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else max(width, 1)
    return text[:cut].rstrip(), text[cut:].lstrip()


def _states(images):
    """How many of the node's images are in each state, for example `2 present, 1 pulled`."""
    counts = {}
    for image in images:
        counts[str(image.get("state"))] = counts.get(str(image.get("state")), 0) + 1
    return ", ".join("%d %s" % (count, state) for state, count in counts.items())


def summary_lines(rows, now=None, width=WIDTH):
    """The summary as a table of at most `width` columns: one row per node, sorted by node; `no node` for none.

    A row: node | pool | maintenance | reboot (when a node rebooted) | warming | result | images (how many in each
    state), the columns before the result aligned; what of a long result does not fit goes on the lines below, indented
    (the whole result, when its row leaves it less than MIN_RESULT columns).
    Nodes holding the same images share a label (A, B, ...),
    listed under the table with each image and the first DIGEST_CHARS characters of its digest. `now` (aware UTC)
    ends a window still open.
    """
    if not rows:
        return [NO_NODE]
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    rows = sorted(rows, key=lambda row: row["node"])
    labels, sets = _image_sets(rows)
    rebooted = any(row.get("reboot_ended") for row in rows)
    table = [_cells(row, now, rebooted) for row in rows]
    # A node still marked does not widen its column for the others: its row alone is longer.
    widths = [max(len(cells[column][:-len(STILL_MARKED)] if cells[column].endswith(STILL_MARKED) else cells[column])
                  for cells in table) for column in range(len(table[0]))]
    lines = []
    for index, (row, cells) in enumerate(zip(rows, table)):
        prefix = " | ".join(cell.ljust(size) for cell, size in zip(cells, widths)) + " | "
        images = row.get("images") or []
        suffix = " | images " + ("%s: %s" % (labels[index], _states(images)) if images else "-")
        result = row.get("result") or "-"
        room = width - len(prefix) - len(suffix)
        if len(result) > room and room < MIN_RESULT:
            head, rest = RESULT_BELOW, result
        else:
            head, rest = cut_at_space(result, room)
        lines.append(prefix + head + suffix)
        while rest:
            more, rest = cut_at_space(rest, width - len(_INDENT))
            lines.append(_INDENT + more)
    for label, images in sets:
        head = "images %s: " % label
        for number, image in enumerate(images):
            lines.append((head if number == 0 else " " * len(head)) + _image_text(image, width - len(head)))
    return lines


def release_rows(released, marked_nodes, pools, now, check_mode=False):
    """The summary rows of a release: one per node node_maintenance answered for, in its order.

    released: node_maintenance's `nodes` (per node name, its action and warnings); marked_nodes: the Node objects read
    under maintenance before the release, for when each was marked and the step its window had reached; pools:
    {node name: pool} where the inventory says; now: the release's time (RFC 3339).
    In check mode nothing was released: a node node_maintenance would release says so, and is still marked.
    """
    by_name = {node_name(node): node for node in marked_nodes or []}
    rows = []
    for name, answer in released.items():
        record, problem = node_record(by_name.get(name))
        status = (record or {}).get("status") or {}
        released_now = answer["action"] == "released" and not check_mode
        result = "would be released" if answer["action"] == "released" and check_mode else answer["action"]
        if problem:
            result += " (its %s annotation could not be read: %s)" % (MAINTENANCE_ANNOTATION, problem)
        elif status:
            result += " (was at step %s, %s)" % (status.get("step", "?"), status.get("result", "?"))
        if answer.get("warnings"):
            result += "; " + "; ".join(answer["warnings"])
        rows.append({"node": name, "pool": pools.get(name), "since": (record or {}).get("since"),
                     "released_at": now if released_now else None, "result": result})
    return rows


NOT_REACHED = "not reached: still as it was"
# Check mode creates no preloader, so a pool whose preloader does not exist yet has no warm-up to ask.
NO_PRELOADER_YET = "would be warmed once its preloader is created (check mode creates none)"


def would_warm(warmth):
    """What a check-mode run says of a node it would warm, from the warm-up's dry run (None: the preloader is missing).

    The dry run admits and releases nothing and waits for nothing: a node not warm yet is what the real run would warm.
    """
    if not warmth:
        return NO_PRELOADER_YET
    if warmth.get("warm"):
        return "warm, would be released" if warmth.get("released") else "warm"
    return "would be warmed: " + (warmth.get("message") or "no message")


def would_run(steps, start, warmth):
    """What a check-mode os_upgrade says of a node: the steps it would run from where it stands, then its warm-up."""
    if start >= len(steps):
        return "already upgraded"
    where = "would resume at step %s" % steps[start] if start else "would run every step"
    return "%s (%s); %s" % (where, ", ".join(steps[start:]), would_warm(warmth))


# What the node_upgrade role leaves on each node host (set_fact), all that os_upgrade's summary, report and failure read.
UPGRADE_FACTS = ("node_upgrade_report", "node_upgrade_state", "node_upgrade_timeline")


def named_by_inventory(facts):
    """Whether a host's row names its node and pool from the inventory: no report, and no node_upgrade_state naming its node.

    preflight.yml leaves node_upgrade_state (the node's name and pool) on every host before the first batch, so a host
    no batch reached is named as the role named it; a host the role left nothing on, by its prewarm_node_name (else the
    host's name) and prewarm_pool.
    """
    state = facts.get("node_upgrade_state")
    return facts.get("node_upgrade_report") is None and not (isinstance(state, Mapping) and "node" in state)


def upgrade_rows(hosts, hostvars, check_mode=False, steps=None):
    """os_upgrade's rows: each node host's node_upgrade_report, or, for a host no batch reached, that it was not.

    hostvars: per host, a mapping with its UPGRADE_FACTS (hostvars itself will do), and its prewarm_node_name and
    prewarm_pool when named_by_inventory(). In check mode a node that did not fail says what the run would do with it
    (would_run, from its node_upgrade_state.start among `steps` and the warm-up fields of its report).
    """
    rows = []
    for host in hosts:
        facts = hostvars[host]
        report = facts.get("node_upgrade_report")
        if report is None:
            if named_by_inventory(facts):
                node, pool = facts.get("prewarm_node_name") or host, facts.get("prewarm_pool")
            else:
                node, pool = facts["node_upgrade_state"]["node"], facts["node_upgrade_state"].get("pool")
            report = {"node": node, "pool": pool, "result": NOT_REACHED}
        elif check_mode and not report.get("failed"):
            warmth = report if "warm" in report else None
            report = dict(report, result=would_run(list(steps), facts["node_upgrade_state"]["start"], warmth))
        rows.append(report)
    return rows


def upgrade_timelines(hosts, hostvars):
    """{node: its node_upgrade_timeline} of the hosts that have one, the node named by the host's node_upgrade_state."""
    timelines = {}
    for host in hosts:
        facts = hostvars[host]
        if "node_upgrade_timeline" in facts:
            timelines[(facts.get("node_upgrade_state") or {}).get("node", host)] = facts["node_upgrade_timeline"]
    return timelines


def upgrade_outcome(hosts, hostvars):
    """How the run went: {failed: the node_upgrade_report of each node that failed, in host order; reached: how many
    hosts have a report; unreached: the hosts without one (no batch reached them; or a null one, which the role
    notes as a window starts: its host went unreachable before the window reported)}."""
    failed, reached, unreached = [], 0, []
    for host in hosts:
        facts = hostvars[host]
        if facts.get("node_upgrade_report") is None:
            unreached.append(host)
            continue
        reached += 1
        report = facts["node_upgrade_report"]
        if isinstance(report, Mapping) and "failed" in report:
            failed.append(report)
    return {"failed": failed, "reached": reached, "unreached": unreached}


def warm_rows(warmup, pool, check_mode=False, nodes=None):
    """The prewarm playbook's rows: each node of the warmup result, released, warm, refused or cold with why.

    In check mode a node not warm yet is one the run would warm, and the nodes without a result (`nodes`: the
    ones to warm) are in a pool whose preloader would be created first.
    """
    refused = warmup.get("refused") or {}
    results = warmup.get("nodes") or {}
    rows = []
    for name, node in results.items():
        if name in refused:
            result = "refused: " + (node.get("message") or "")
        elif check_mode:
            result = would_warm(node)
        elif node.get("warm"):
            result = "released" if node.get("released") else "warm"
        else:
            result = "cold: " + (node.get("message") or "")
        rows.append(dict(node, node=name, pool=pool, result=result))
    if check_mode:
        rows.extend({"node": name, "pool": pool, "result": NO_PRELOADER_YET} for name in nodes or [] if name not in results)
    return rows


def reconcile_rows(decisions, warmed, check_mode=False):
    """reconcile's rows: the nodes it warmed (released, warm, still marked, or cold with why) and the marked ones it left.

    decisions: reconcile_plan's rows; warmed: the warm-up's per-node results by node name. In check mode a node to
    warm says what the warm-up's dry run would do (would_warm).
    """
    rows = []
    for node in decisions:
        if not (node["warm"] or node["marked"]):
            continue
        warmth = warmed.get(node["node"]) or {}
        if not node["warm"]:
            if node.get("step"):
                where = "window at step %s (%s)%s" % (node["step"], node.get("step_result"),
                                                      ": " + node["error"] if node.get("error") else "")
            else:
                where = node.get("error") or "not back from an upgrade yet"
            result = "under maintenance, left alone: " + where
        elif check_mode:
            result = would_warm(warmed.get(node["node"]))
        elif not warmth.get("warm"):
            result = "cold: " + (warmth.get("message") or "no result")
        elif warmth.get("released"):
            result = "released"
        else:
            result = "warm" + (", still marked: " + (warmth.get("message") or "") if node["marked"] else "")
        rows.append(dict(warmth, node=node["node"], pool=node["pool"], since=node.get("since"), result=result))
    return rows
