# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's report as one self-contained HTML page: what each node went through, and what it holds now.

build_report(run) -> (html, summary). `run` is plain data:
  playbook      the playbook's name (os_upgrade, prewarm, reconcile)
  generated_at  RFC 3339 UTC time of the report; a step still running is drawn up to it
  check_mode    whether the run was a check run (said at the top of the page)
  steps         the window's steps in order (node_upgrade's node_upgrade_steps), for the legend and the order
  rows          the summary rows (window_summary.py): node, pool, result, failed, since, released_at,
                reboot_started, reboot_ended, admitted_at, warm_at, warming_seconds, state, images
  timelines     optional {node: [{step, start, end, result, error}]} (node_upgrade_timeline); a node without one
                is drawn from what its row says (its window, reboot and warm-up)
  states        optional {pool: {node: {state, images}}} (warm_status' nodes), the grid's nodes besides the rows'

The page needs no network and no script: hover text is SVG <title> and HTML title attributes, and every
figure the hover shows is also in a table. Every value is escaped; the output depends on the input alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from calendar import timegm
from functools import lru_cache

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import format_seconds as summary_seconds

DONE, FAILED, SKIPPED, RUNNING = "done", "failed", "skipped", "running"
RESULT_TEXT = {DONE: "done", FAILED: "failed", SKIPPED: "skipped / not run", RUNNING: "still running"}
RESULT_COLOUR = {DONE: "#2e7d32", FAILED: "#c62828", SKIPPED: "#b0bec5", RUNNING: "#f9a825", "other": "#6d4c41"}
# Every other done step a lighter green, so neighbouring steps stay apart in the timeline.
DONE_ALTERNATE = "#66bb6a"
# The image states of warmth.py and the node states of warm_status (docs/drift.md).
STATE_COLOUR = {
    "present": "#a5d6a7", "warm": "#a5d6a7", "pulling": "#90caf9", "pending": "#e3f2fd", "failed": "#ef9a9a",
    "stale": "#ffcc80", "gone": "#ce93d8", "cold": "#cfd8dc", "no_pod": "#eeeeee", "unknown": "#fff59d",
}
# Results of a summary row that mean the node did not get where the run wanted it.
_BAD_RESULTS = ("failed", "cold", "refused")
_GOOD_RESULTS = ("released", "warm", "already upgraded")

LABEL_WIDTH = 210
CHART_WIDTH = 860
ROW_HEIGHT = 16
AXIS_HEIGHT = 26
PULL_CHART_HEIGHT = 110
DIGEST_SHOWN = 12
NAME_SHOWN = 30
_TICKS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)

_TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")
# Characters XML (and so the SVG) does not allow, HTML treats as errors, or UTF-8 cannot hold (lone surrogates, as
# undecodable bytes become).
_CONTROL = re.compile(u"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def parse_time(value):
    """Seconds since the epoch of an RFC 3339 / ISO 8601 time (UTC when it names no zone); None when it is not one."""
    return _parse_text(value) if isinstance(value, str) else None


# A run's times repeat (each step's end is the next one's start): parsed once each.
@lru_cache(maxsize=65536)
def _parse_text(value):
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        seconds = timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    zone = match.group(8)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        seconds += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds + (float(match.group(7)) if match.group(7) else 0.0)


def text(value):
    """A value as page text: escaped for HTML and XML, its control characters replaced."""
    value = u"%s" % ("-" if value is None else value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")
    return _CONTROL.sub(u"\ufffd", value) if _CONTROL.search(value) else value


def format_seconds(value):
    """As the summary prints a duration (2m05s), but under 10 s to the hundredth (0.27s): a warm-up can be that short."""
    if value is not None and float(value) < 10:
        return "%.2fs" % float(value)
    return summary_seconds(value)


def short_digest(digest):
    """The first hex digits of a digest (sha256:5d5a6e8a4b2c...), `-` without one."""
    if not digest:
        return "-"
    value = u"%s" % digest
    return value.split(":", 1)[-1][:DIGEST_SHOWN]


def _shorten(value, limit):
    value = u"%s" % value
    return value if len(value) <= limit else value[:limit - 1] + u"\u2026"


def result_head(row):
    """A row's result without its details ("failed at drain: ..." -> "failed at drain"), what the counts count."""
    result = u"%s" % (row.get("result") or "-")
    return re.split(r"[:(;]", result, maxsplit=1)[0].strip() or "-"


def outcome(row):
    """failed, done or other: whether the row's node got where the run wanted it."""
    head = result_head(row)
    if row.get("failed") or head.startswith(_BAD_RESULTS):
        return FAILED
    return DONE if head.startswith(_GOOD_RESULTS) else "other"


def _step_result(entry):
    result = entry.get("result")
    if result in (FAILED, SKIPPED):
        return result
    if not entry.get("end"):
        return RUNNING
    return DONE if result == DONE else "other"


def _bar(step, start, end, result, error=None, note=None):
    return {"step": step, "start": start, "end": end, "result": result, "error": error, "note": note}


def timeline_bars(timeline):
    """The bars of a node_upgrade_timeline: one per entry, in its order."""
    bars = []
    for entry in timeline or []:
        if not isinstance(entry, dict):
            continue
        step_bar = _bar(entry.get("step"), entry.get("start"), entry.get("end"), _step_result(entry), entry.get("error"))
        step_bar["given"] = entry.get("result")
        bars.append(step_bar)
    return bars


def row_bars(row, check_mode=False):
    """Bars from what a summary row says when the node has no timeline: its window, its reboot, its warm-up.

    In a check run a window that was not released is one the run would have opened: not run, not still running.
    """
    bad = outcome(row) == FAILED
    bars = []
    if row.get("since"):
        released = row.get("released_at")
        result = DONE if released else FAILED if bad else SKIPPED if check_mode else RUNNING
        note = "check mode: the mark this run would have made" if result == SKIPPED else "mark to release, from the maintenance annotation"
        bars.append(_bar("window", row["since"], released, result, row.get("result") if bad else None, note=note))
    if row.get("reboot_started"):
        bars.append(_bar("rebooted", row["reboot_started"], row.get("reboot_ended"),
                         DONE if row.get("reboot_ended") else RUNNING))
    if row.get("admitted_at"):
        warm = row.get("warm_at")
        bars.append(_bar("warm", row["admitted_at"], warm, DONE if warm else FAILED if bad else RUNNING,
                         None if warm else row.get("message") or row.get("result"), note="admitted to warm"))
    if row.get("released_at"):
        bars.append(_bar("released", row["released_at"], row["released_at"], DONE))
    return bars


def _between(start, end):
    first, last = parse_time(start), parse_time(end)
    return last - first if first is not None and last is not None else None


def _window(row, bars, timed):
    """(start, end) of the node's window: the mark (since, else its first step) to the release (None: open)."""
    start = row.get("since") or (bars[0]["start"] if timed and bars else None)
    end = row.get("released_at")
    if not end and timed:
        end = next((step_bar["end"] for step_bar in bars if step_bar["step"] == "released" and step_bar["result"] == DONE), None)
    return start, end


def _pulling(row, bars):
    """(start, end) of the node's warm-up: admitted to warm, else its timeline's warm step; None when unknown."""
    if row.get("admitted_at"):
        return row["admitted_at"], row.get("warm_at") or row.get("released_at")
    warm = next((step_bar for step_bar in bars if step_bar["step"] == "warm" and step_bar["result"] != SKIPPED), None)
    return (warm["start"], warm["end"]) if warm else None


def node_view(row, timeline, now, check_mode=False):
    """Everything the page shows of one node."""
    timed = timeline is not None
    bars = timeline_bars(timeline) if timed else row_bars(row, check_mode)
    for step_bar in bars:
        step_bar["from"] = parse_time(step_bar["start"])
        step_bar["to"] = parse_time(step_bar["end"]) if step_bar["end"] else (now if step_bar["result"] == RUNNING else step_bar["from"])
    start, end = _window(row, bars, timed)
    warming = row.get("warming_seconds")
    pulling = _pulling(row, bars)
    if warming is None and pulling and pulling[1]:
        warming = _between(*pulling)
    failures = [(step_bar["step"], step_bar["error"] or step_bar["given"]) for step_bar in bars if timed and step_bar["result"] == FAILED]
    if outcome(row) == FAILED and not failures:
        failures.append((None, row.get("result")))
    return {
        "node": u"%s" % row.get("node"), "pool": row.get("pool"), "result": row.get("result"), "head": result_head(row),
        "outcome": outcome(row), "timed": timed, "bars": bars, "since": start, "released_at": end,
        "window_seconds": _between(start, end), "window_open": bool(start) and not end and not check_mode,
        "warming_seconds": warming, "pulling": pulling, "failures": failures,
    }


def pulling_curve(intervals):
    """[(time, nodes pulling from then on)] from (start, end) epoch pairs; an end before a start at the same time."""
    events = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((end, -1))
    events.sort()
    curve, count = [], 0
    for moment, change in events:
        count += change
        if curve and curve[-1][0] == moment:
            curve[-1] = (moment, count)
        else:
            curve.append((moment, count))
    return curve


def _pull_intervals(views, now):
    intervals = []
    for view in views:
        if not view["pulling"]:
            continue
        start = parse_time(view["pulling"][0])
        end = parse_time(view["pulling"][1]) if view["pulling"][1] else now
        if start is not None and end is not None and end >= start:
            intervals.append((start, end))
    return intervals


def _clock(epoch):
    seconds = int(epoch) % 86400
    return "%02d:%02d:%02d" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)


def _tick_step(span):
    return next((step for step in _TICKS if span / step <= 8), _TICKS[-1] * (int(span // (_TICKS[-1] * 8)) + 1))


def _axis(first, span, height):
    step = _tick_step(span)
    tick = (int(first) // step + 1) * step if first % step else first
    parts = []
    while tick <= first + span:
        x = LABEL_WIDTH + (tick - first) / span * CHART_WIDTH
        parts.append('<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (x, AXIS_HEIGHT - 6, x, height))
        parts.append('<text class="tick" x="%.1f" y="%d">%s</text>' % (x, AXIS_HEIGHT - 10, _clock(tick)))
        tick += step
    return parts


def _bar_title(view, step_bar):
    lines = [u"%s \u00b7 %s \u00b7 %s" % (view["node"], step_bar["step"], RESULT_TEXT.get(step_bar["result"], step_bar.get("given") or step_bar["result"]))]
    if step_bar["end"] and step_bar["end"] != step_bar["start"]:
        seconds = step_bar["to"] - step_bar["from"] if step_bar["from"] is not None and step_bar["to"] is not None else None
        lines.append(u"%s \u2192 %s (%s)" % (step_bar["start"], step_bar["end"], format_seconds(seconds)))
    elif step_bar["result"] == RUNNING:
        lines.append(u"since %s, still running" % step_bar["start"])
    else:
        lines.append(u"%s" % step_bar["start"])
    if step_bar.get("note"):
        lines.append(step_bar["note"])
    if step_bar["error"]:
        lines.append(u"error: %s" % step_bar["error"])
    return text(u"\n".join(lines))


def timeline_svg(views, first, span):
    """The timeline: a row per node, a bar per step, coloured by result, the details in each bar's <title>."""
    height = AXIS_HEIGHT + ROW_HEIGHT * len(views) + 4
    width = LABEL_WIDTH + CHART_WIDTH + 10
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d">'
             % (width, height, width, height)]
    parts.append('<title>Timeline of the run: a row per node, a bar per step</title>')
    parts.extend(_axis(first, span, height))
    for index, view in enumerate(views):
        y = AXIS_HEIGHT + index * ROW_HEIGHT
        parts.append('<g class="node %s">' % view["outcome"])
        parts.append('<text class="label" x="4" y="%d">%s<title>%s \u00b7 %s</title></text>'
                     % (y + 12, text(_shorten(view["node"], NAME_SHOWN)), text(view["node"]), text(view["result"])))
        for number, step_bar in enumerate(view["bars"]):
            if step_bar["from"] is None or step_bar["to"] is None:
                continue
            x = LABEL_WIDTH + (step_bar["from"] - first) / span * CHART_WIDTH
            w = max((step_bar["to"] - step_bar["from"]) / span * CHART_WIDTH, 2.0)
            colour = DONE_ALTERNATE if step_bar["result"] == DONE and number % 2 else RESULT_COLOUR.get(step_bar["result"], RESULT_COLOUR["other"])
            parts.append('<rect class="bar %s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>'
                         % (text(step_bar["result"]), x, y + 2, w, ROW_HEIGHT - 4, colour, _bar_title(view, step_bar)))
            if w >= 7 * len(u"%s" % step_bar["step"]) + 4:
                parts.append('<text class="step" x="%.1f" y="%d">%s</text>' % (x + 3, y + 12, text(step_bar["step"])))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def step_names(steps, views):
    """The run's steps in order, then any other step a timeline names, in the order first met."""
    names = list(steps)
    # The longest timelines first: a node that resumed mid-window would put its first step before the earlier ones.
    for view in sorted((view for view in views if view["timed"]), key=lambda view: -len(view["bars"])):
        for step_bar in view["bars"]:
            if step_bar["step"] not in names:
                names.append(step_bar["step"])
    return names


def steps_html(views, names):
    """Per node, each step's result and time: the timeline's bars as a table (a node without a timeline says so)."""
    parts = ['<table class="steps"><thead><tr><th>node</th>']
    parts.extend("<th>%s</th>" % text(name) for name in names)
    parts.append("</tr></thead><tbody>")
    empty = '<td class="skipped" colspan="%d">no step record: drawn from the summary row</td>' % max(len(names), 1)
    for view in views:
        parts.append('<tr><th class="node">%s</th>' % text(view["node"]))
        if not view["timed"]:
            parts.append(empty)
        else:
            by_step = dict((step_bar["step"], step_bar) for step_bar in view["bars"])
            for name in names:
                step_bar = by_step.get(name)
                if step_bar is None:
                    parts.append('<td class="notrun" title="not run">-</td>')
                    continue
                if step_bar["result"] == DONE:
                    seconds = step_bar["to"] - step_bar["from"] if step_bar["from"] is not None and step_bar["to"] is not None else None
                    parts.append('<td class="done">%s</td>' % format_seconds(seconds))
                else:
                    # The timeline's bar has the times; here the error, on hover and in the failures below.
                    shown = step_bar["result"] if step_bar["result"] in RESULT_TEXT else step_bar.get("given")
                    parts.append('<td class="%s" title="%s">%s</td>' % (text(step_bar["result"]), _bar_title(view, step_bar), text(shown)))
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def pulling_svg(curve, first, span):
    """Nodes pulling at once over the run, as a step line."""
    peak = max(count for _moment, count in curve) or 1
    height = AXIS_HEIGHT + PULL_CHART_HEIGHT
    width = LABEL_WIDTH + CHART_WIDTH + 10
    scale = (PULL_CHART_HEIGHT - 10) / float(peak)
    points, previous = [], 0
    for moment, count in curve:
        x = LABEL_WIDTH + (moment - first) / span * CHART_WIDTH
        points.append("%.1f,%.1f" % (x, height - previous * scale))
        points.append("%.1f,%.1f" % (x, height - count * scale))
        previous = count
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="pulling" width="%d" height="%d" viewBox="0 0 %d %d">'
             % (width, height + 4, width, height + 4),
             '<title>Nodes pulling at once: at most %d</title>' % peak]
    parts.extend(_axis(first, span, height))
    parts.append('<text class="count" x="4" y="%d">%d pulling</text>' % (height - peak * scale + 4, peak))
    parts.append('<text class="count" x="4" y="%d">0</text>' % height)
    parts.append('<polyline class="curve" fill="none" stroke="#1565c0" stroke-width="1.5" points="%s"/>' % " ".join(points))
    parts.append("</svg>")
    return "".join(parts)


def image_grid(states, rows):
    """{pool: {node: {state, images}}}: the states given, and each row's node as the run left it.

    A row's images are what the run's warm-up saw last, later than a check before it; a row without any (a window that
    failed before warming) adds its node with nothing when the states do not have it.
    """
    pools = dict((pool, dict(nodes or {})) for pool, nodes in (states or {}).items())
    for row in rows:
        known = pools.get(u"%s" % row.get("pool"), {}).get(u"%s" % row.get("node"))
        if known is not None and not row.get("images"):
            continue
        pools.setdefault(u"%s" % row.get("pool"), {})[u"%s" % row.get("node")] = {"state": row.get("state"), "images": row.get("images") or []}
    return pools


def _image_title(node, image):
    lines = [u"%s \u00b7 %s" % (node, image.get("image")), u"state: %s" % image.get("state"),
             u"digest: %s" % (image.get("digest") or "-")]
    if image.get("wanted"):
        lines.append(u"wanted: %s" % image["wanted"])
    for key in ("reason", "message"):
        if image.get(key):
            lines.append(u"%s: %s" % (key, image[key]))
    return text(u"\n".join(lines))


def _cell(state, content, title):
    colour = STATE_COLOUR.get(state, "#ffffff")
    return '<td class="state" style="background:%s" title="%s">%s</td>' % (colour, title, content)


def grid_html(pools):
    """Per pool, a nodes x images table of states with the digest held, shortened; then every digest in full."""
    parts, digests = [], []
    for pool in sorted(pools):
        nodes = pools[pool] or {}
        images = []
        for name in sorted(nodes):
            for image in (nodes[name] or {}).get("images") or []:
                if image.get("image") not in images:
                    images.append(image.get("image"))
        parts.append('<h3>Pool %s: %d node(s) \u00d7 %d image(s)</h3>' % (text(pool), len(nodes), len(images)))
        parts.append('<table class="grid"><thead><tr><th>node</th><th>state</th>')
        parts.extend('<th title="%s">%s</th>' % (text(image), text(_shorten(u"%s" % image, 40)))
                     for image in images)
        parts.append("</tr></thead><tbody>")
        for name in sorted(nodes):
            node = nodes[name] or {}
            by_image = dict((image.get("image"), image) for image in node.get("images") or [])
            parts.append('<tr><th class="node">%s</th>' % text(name))
            parts.append(_cell(node.get("state"), text(node.get("state")), text(u"%s \u00b7 %s" % (name, node.get("state")))))
            for image_name in images:
                image = by_image.get(image_name)
                if image is None:
                    parts.append('<td class="state">-</td>')
                    continue
                parts.append(_cell(image.get("state"), u"%s <code>%s</code>" % (text(image.get("state")), text(short_digest(image.get("digest")))),
                                   _image_title(name, image)))
                digests.append((pool, name, image))
            parts.append("</tr>")
        parts.append("</tbody></table>")
    if not parts:
        return "<p>No image state was reported in this run.</p>"
    rows = "".join('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td><td><code>%s</code></td></tr>'
                   % (text(pool), text(node), text(image.get("image")), text(image.get("state")), text(image.get("digest")),
                      text(image.get("wanted")))
                   for pool, node, image in digests)
    parts.append('<details><summary>Every image and digest in full (%d)</summary><table class="text"><thead><tr><th>pool</th>'
                 '<th>node</th><th>image</th><th>state</th><th>digest held</th><th>digest wanted</th></tr></thead><tbody>%s'
                 '</tbody></table></details>' % (len(digests), rows))
    return "".join(parts)


def _median(values):
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0


def _spread(values):
    """{max, median} of some seconds, to the tenth; nulls without any."""
    if not values:
        return {"max": None, "median": None}
    return {"max": round(max(values), 1), "median": round(_median(values), 1)}


def _failure_text(view):
    step, error = view["failures"][0]
    return _shorten(u"%s%s" % ("step %s: " % step if step else "", error), 300)


def _drawn_from(timed, nodes):
    if timed == nodes:
        return u"bars from each node's steps"
    if not timed:
        return u"bars from the summary rows (window, reboot, warm-up): no step was recorded"
    return u"bars from the steps of %d node(s), from the summary rows for the others" % timed


def _figure(label, value):
    return '<div class="figure"><div class="value">%s</div><div class="what">%s</div></div>' % (text(value), text(label))


def _counts(views):
    counts = {}
    for view in views:
        counts[view["head"]] = counts.get(view["head"], 0) + 1
    return dict(sorted(counts.items()))


def _legend():
    items = [(RESULT_COLOUR[key], RESULT_TEXT[key]) for key in (DONE, FAILED, SKIPPED, RUNNING)]
    return "".join('<span class="key"><span class="swatch" style="background:%s"></span>%s</span>' % (colour, text(label))
                   for colour, label in items)


def _state_legend():
    return "".join('<span class="key"><span class="swatch" style="background:%s"></span>%s</span>' % (colour, text(state))
                   for state, colour in sorted(STATE_COLOUR.items()))


_STYLE = """
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px 20px;color:#212121;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:14px 0 4px}
.meta{color:#555}.check{background:#fff3e0;border:1px solid #fb8c00;padding:6px 10px;margin:8px 0;font-weight:600}
.figures{display:flex;flex-wrap:wrap;gap:8px}.figure{border:1px solid #ddd;border-radius:4px;padding:6px 10px;min-width:120px}
.figure .value{font-size:18px;font-weight:600}.figure .what{color:#555;font-size:12px}
.key{margin-right:12px;white-space:nowrap}.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;border:1px solid #999}
svg text{font:11px system-ui,sans-serif;fill:#212121}svg .tick{fill:#666;text-anchor:middle}svg .step{fill:#fff;font-size:10px;pointer-events:none}
svg .grid{stroke:#e0e0e0}svg .node.failed .label{fill:#c62828;font-weight:600}svg rect.bar{stroke:#fff;stroke-width:.5}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f5f5f5}th.node{background:#fafafa;font-weight:normal}td.state{white-space:nowrap}code{font-size:11px}
table.steps td{white-space:nowrap;text-align:right}table.steps td.done{background:#c8e6c9}table.steps td.failed{background:#ef9a9a}
table.steps td.skipped,table.steps td.notrun{background:#eceff1;color:#607d8b}table.steps td.running{background:#ffe082}
table.nodes td{white-space:nowrap}table.nodes td.result{white-space:normal;min-width:240px}
.failures li{margin:2px 0}.failures code{white-space:pre-wrap;word-break:break-word}
"""


def _nodes_table(views):
    rows = "".join('<tr class="%s"><td>%s</td><td>%s</td><td class="result">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                   % (view["outcome"], text(view["node"]), text(view["pool"]), text(view["result"]),
                      text(view["since"]), text(format_seconds(view["window_seconds"]) if not view["window_open"] else "still marked"),
                      text(format_seconds(view["warming_seconds"])))
                   for view in views)
    return ('<table class="text nodes"><thead><tr><th>node</th><th>pool</th><th>result</th><th>marked at</th>'
            '<th>window (mark to release)</th><th>warm-up</th></tr></thead><tbody>%s</tbody></table>' % rows)


def _failures_html(views):
    items = []
    for view in views:
        for step, error in view["failures"]:
            where = u" at step %s" % step if step else u""
            items.append(u"<li><b>%s</b>%s: <code>%s</code></li>" % (text(view["node"]), text(where), text(error)))
    if not items:
        return "<p>No node failed.</p>"
    return '<ul class="failures">%s</ul>' % "".join(items)


def build_report(run):
    """(html, summary) of a run (see the module's docstring); summary is small plain data for set_stats."""
    generated = run.get("generated_at")
    now = parse_time(generated)
    timelines = run.get("timelines") or {}
    rows = sorted(run.get("rows") or [], key=lambda row: u"%s" % row.get("node"))
    views = [node_view(row, timelines.get(u"%s" % row.get("node")), now, bool(run.get("check_mode"))) for row in rows]
    moments = [moment for view in views for step_bar in view["bars"] for moment in (step_bar["from"], step_bar["to"]) if moment is not None]
    first = min(moments) if moments else now
    span = max((max(moments) - first) if moments else 0, 1.0)
    curve = pulling_curve(_pull_intervals(views, now))
    peak = max([count for _moment, count in curve] or [0])
    windows = [view["window_seconds"] for view in views if view["window_seconds"] is not None]
    warming = [view["warming_seconds"] for view in views if view["warming_seconds"] is not None]
    counts = _counts(views)
    steps = [u"%s" % step for step in run.get("steps") or []]
    drawn_from = sum(1 for view in views if view["timed"])
    title = u"prewarm.k8s %s \u00b7 %s" % (run.get("playbook"), generated)

    page = [u'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">', u"<title>%s</title>" % text(title),
            u'<meta name="viewport" content="width=device-width, initial-scale=1"><style>%s</style></head><body>' % _STYLE,
            u"<h1>%s</h1>" % text(title),
            u'<p class="meta">%d node(s) \u00b7 report made %s UTC \u00b7 %s</p>' % (len(views), text(generated), _drawn_from(drawn_from, len(views)))]
    if run.get("check_mode"):
        page.append(u'<p class="check">Check mode: nothing was changed on the cluster; each step reported what it would do.</p>')
    page.append(u"<h2>Figures</h2><div class=\"figures\">")
    page.append(_figure("nodes", len(views)))
    for head, count in counts.items():
        page.append(_figure(head, count))
    page.append(_figure("longest window (mark to release)", format_seconds(max(windows) if windows else None)))
    page.append(_figure("median window", format_seconds(_median(windows))))
    page.append(_figure("longest warm-up", format_seconds(max(warming) if warming else None)))
    page.append(_figure("median warm-up", format_seconds(_median(warming))))
    page.append(_figure("most nodes pulling at once", peak))
    page.append(u"</div>")

    page.append(u"<h2>Timeline</h2>")
    if views:
        names = step_names(steps, views)
        page.append(u"<p>%s</p><p class=\"meta\">%sHover a bar for its times and error.</p>"
                    % (_legend(), u"Steps: %s. " % text(", ".join(names)) if names else u""))
        page.append(timeline_svg(views, first, span))
    else:
        page.append(u"<p>No node in this run.</p>")
    if drawn_from:
        page.append(u"<h3>Steps per node</h3>")
        page.append(steps_html(views, names))
    page.append(u"<h3>Failures</h3>")
    page.append(_failures_html(views))

    page.append(u"<h2>Nodes pulling at once</h2>")
    page.append(pulling_svg(curve, first, span) if curve else u"<p>No warm-up was recorded in this run.</p>")

    page.append(u"<h2>Images on the nodes</h2><p>%s</p>" % _state_legend())
    page.append(grid_html(image_grid(run.get("states"), rows)))

    page.append(u"<h2>Per node</h2>")
    page.append(_nodes_table(views) if views else u"<p>No node in this run.</p>")
    page.append(u"</body></html>\n")

    summary = {
        "playbook": run.get("playbook"), "generated_at": generated, "check_mode": bool(run.get("check_mode")),
        "counts": counts, "max_pulling": peak,
        "window_seconds": _spread(windows), "warming_seconds": _spread(warming),
        "nodes": dict((view["node"], view["head"]) for view in views),
        "failed": dict((view["node"], _failure_text(view)) for view in views if view["failures"]),
    }
    return u"".join(page), summary
