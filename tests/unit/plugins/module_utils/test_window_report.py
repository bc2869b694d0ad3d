# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's HTML report: its structure, its escaping, runs with no node, one node, failures, and its pace."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import random
import re
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.window_report import (build_report, format_seconds, parse_time,
                                                                                pulling_curve, short_digest)
from ansible_collections.prewarm.k8s.tests.unit.plugins.module_utils.window_report_runs import (DIGESTS, STEPS, at, demo_run,
                                                                                                synthetic_run, timeline)

SVG = "{http://www.w3.org/2000/svg}"
VOID = {"meta", "br", "img", "input", "link", "hr", "wbr"}


class Page(HTMLParser):
    """The page's tags (checked to nest), its text, and every title attribute."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.open, self.tags, self.text, self.titles = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.titles.extend(value for name, value in attrs if name == "title")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.titles.extend(value for name, value in attrs if name == "title")

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, "</%s> closes <%s>" % (tag, self.open[-1] if self.open else None)
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    page = Page()
    page.feed(html)
    page.close()
    assert page.open == []
    return page


def svgs(html):
    """Each inline <svg> parsed as XML: the SVG must be well-formed on its own."""
    found, start = [], html.find("<svg")
    while start != -1:
        end = html.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(html[start:end]))
        start = html.find("<svg", end)
    return found


def bars(svg):
    return svg.findall(".//%srect" % SVG)


def test_the_demo_run_has_a_timeline_row_per_node_and_a_bar_per_step_it_ran():
    run = demo_run()
    html, summary = build_report(run)
    page = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    # Self-contained: nothing to fetch, no script.
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags) and not re.search(r"\s(src|href)=", html)
    timeline_svg, pulling = svgs(html)
    assert timeline_svg.get("class") == "timeline" and pulling.get("class") == "pulling"
    labels = [element.text for element in timeline_svg.iter(SVG + "text") if element.get("class") == "label"]
    assert labels == sorted(row["node"] for row in run["rows"])
    assert len(bars(timeline_svg)) == sum(len(entries) for entries in run["timelines"].values())
    # Every bar says on hover whose step it is and how it went.
    titles = [rect.find(SVG + "title").text for rect in bars(timeline_svg)]
    assert "kwok-cpu-0 \u00b7 marked \u00b7 done\n2026-12-04T10:00:00Z \u2192 2026-12-04T10:00:02Z (2.00s)" in titles
    assert sum(1 for title in titles if " \u00b7 rebooted \u00b7 skipped / not run" in title) == 5
    # Every node and step is in the page's text too: the steps table, the grid, the per-node table.
    text = "".join(page.text)
    for step in STEPS:
        assert step in text
    assert summary["counts"] == {"failed at drained": 1, "released": 6}
    assert summary["nodes"]["prewarm-real"] == "released" and summary["max_pulling"] == 2


def test_a_failed_step_is_red_with_its_error_on_hover_and_in_the_text_below():
    html, summary = build_report(demo_run())
    timeline_svg = svgs(html)[0]
    failed = [rect for rect in bars(timeline_svg) if rect.get("class") == "bar failed"]
    assert len(failed) == 1 and failed[0].get("fill") == "#c62828"
    error = "Cannot evict pod web-7f9c: disruption budget web-pdb needs 2 healthy pods, 1 is"
    assert failed[0].find(SVG + "title").text.endswith("error: " + error)
    assert "kwok-gpu-2 at step drained: " + error in "".join(parse(html).text)
    assert summary["failed"] == {"kwok-gpu-2": "step drained: " + error}


def test_hostile_node_names_and_messages_stay_text():
    hostile = u'<script>alert("x")</script>&\'\x1b[31m\x00\udc80'
    entries = timeline(0, fail_at="upgraded", error=u"</title></rect><svg onload=alert(1)>" + hostile)
    row = {"node": hostile, "pool": u"<b>pool</b>", "since": entries[0]["start"], "failed": True,
           "result": u"failed at upgraded: <img src=x onerror=alert(1)>",
           "images": [{"image": u"reg/<i>x</i>:1", "digest": u"sha256:<u>" + "a" * 60, "state": u"<em>stale</em>"}]}
    html, summary = build_report({"playbook": "<os>", "generated_at": at(600), "rows": [row], "timelines": {hostile: entries}})
    html.encode("utf-8")  # the lone surrogate is gone: the page can be written
    page = parse(html)
    assert not {"script", "img", "i", "u", "em"} & set(page.tags)
    assert page.tags.count("svg") == 1  # the timeline; the node never got to warm
    for svg in svgs(html):  # well-formed XML although the input held control characters and markup
        assert svg.tag == SVG + "svg"
    text = "".join(page.text)
    assert u'<script>alert("x")</script>&\'\x1b' not in text and u'<script>alert("x")</script>&\'\ufffd[31m\ufffd\ufffd' in text
    assert u"</title></rect><svg onload=alert(1)>" in text and u"<b>pool</b>" in text
    assert any(u"reg/<i>x</i>:1" in title for title in page.titles)
    assert list(summary["nodes"]) == [hostile]


def test_a_run_with_no_node_says_so():
    html, summary = build_report({"playbook": "prewarm", "generated_at": at(0), "rows": []})
    page = parse(html)
    assert "svg" not in page.tags
    text = "".join(page.text)
    assert "No node in this run." in text and "No warm-up was recorded in this run." in text
    assert summary["nodes"] == {} and summary["counts"] == {} and summary["max_pulling"] == 0
    assert summary["window_seconds"] == {"max": None, "median": None}


def test_one_node_whose_steps_took_no_time_still_gets_its_bars():
    entries = [{"step": "marked", "start": at(0), "end": at(0), "result": "done", "error": None}]
    run = {"playbook": "os_upgrade", "generated_at": at(0), "steps": STEPS, "timelines": {"n1": entries},
           "rows": [{"node": "n1", "pool": "p", "result": "warm, still marked: x"}]}
    html, _summary = build_report(run)
    rect = bars(svgs(html)[0])
    assert len(rect) == 1 and float(rect[0].get("width")) == 2.0


def test_a_step_still_running_is_drawn_up_to_the_report_time():
    entries = timeline(0, running_from="warm")
    row = {"node": "n1", "pool": "p", "since": at(0), "result": "warm, still marked: warming"}
    html, summary = build_report({"playbook": "os_upgrade", "generated_at": at(1000), "rows": [row], "timelines": {"n1": entries}})
    last = bars(svgs(html)[0])[-1]
    assert last.get("class") == "bar running"
    assert last.find(SVG + "title").text.endswith("since %s, still running" % entries[-1]["start"])
    assert float(last.get("x")) + float(last.get("width")) == pytest.approx(210 + 860, abs=0.2)
    assert summary["window_seconds"] == {"max": None, "median": None}


def test_in_a_check_run_a_window_not_released_is_one_that_was_not_run():
    row = {"node": "n1", "pool": "p", "since": at(0), "result": "check mode: nothing changed, each step reported what it would do"}
    html, summary = build_report({"playbook": "os_upgrade", "generated_at": at(300), "check_mode": True, "rows": [row]})
    (window,) = bars(svgs(html)[0])
    assert window.get("class") == "bar skipped" and float(window.get("width")) == 2.0
    assert window.find(SVG + "title").text.endswith("check mode: the mark this run would have made")
    assert "still marked" not in html and summary["counts"] == {"check mode": 1} and summary["check_mode"]


def test_without_a_timeline_the_node_is_drawn_from_its_summary_row():
    row = {"node": "gpu-1", "pool": "gpu", "since": at(0), "admitted_at": at(60), "warm_at": at(100), "released_at": at(101),
           "warming_seconds": 40.0, "result": "released", "state": "warm",
           "images": [{"image": "reg/model:1", "digest": DIGESTS[0], "state": "present"}]}
    cold = {"node": "gpu-2", "pool": "gpu", "admitted_at": at(60), "result": "cold: image reg/model:1 pulling", "state": "cold"}
    html, summary = build_report({"playbook": "prewarm", "generated_at": at(200), "rows": [cold, row]})
    titles = [rect.find(SVG + "title").text.split("\n")[0] for rect in bars(svgs(html)[0])]
    assert titles == ["gpu-1 \u00b7 window \u00b7 done", "gpu-1 \u00b7 warm \u00b7 done", "gpu-1 \u00b7 released \u00b7 done",
                      "gpu-2 \u00b7 warm \u00b7 failed"]
    assert "Steps per node" not in html
    assert summary["window_seconds"] == {"max": 101.0, "median": 101.0}
    assert summary["failed"] == {"gpu-2": "cold: image reg/model:1 pulling"}
    assert summary["max_pulling"] == 2


def test_the_grid_shortens_digests_and_gives_them_in_full_on_hover_and_in_a_table():
    run = demo_run()
    html, _summary = build_report(run)
    page = parse(html)
    stale = [title for title in page.titles if title.startswith("prewarm-real \u00b7 127.0.0.1:5000/prewarm-test/small:1")]
    assert stale == ["prewarm-real \u00b7 127.0.0.1:5000/prewarm-test/small:1\nstate: stale\ndigest: %s\nwanted: %s"
                     % (DIGESTS[0], DIGESTS[5])]
    assert "stale %s" % short_digest(DIGESTS[0]) in html.replace("<code>", "").replace("</code>", "")
    text = "".join(page.text)
    assert text.count(DIGESTS[0]) == 6  # the full table: the small image on each of the six nodes that warmed
    # The node whose window failed before warming is in its pool's grid, with nothing to show.
    assert "Pool gpu: 3 node(s)" in text


def test_states_given_add_the_pools_other_nodes_and_a_row_shows_what_the_run_left():
    states = {"gpu": {"gpu-1": {"state": "stale", "images": [{"image": "m:1", "digest": DIGESTS[1], "state": "stale"}]},
                      "gpu-9": {"state": "warm", "images": [{"image": "m:1", "digest": DIGESTS[0], "state": "present"}]}}}
    row = {"node": "gpu-1", "pool": "gpu", "result": "released", "state": "warm",
           "images": [{"image": "m:1", "digest": DIGESTS[0], "state": "present"}]}
    html, _summary = build_report({"playbook": "reconcile", "generated_at": at(0), "rows": [row], "states": states})
    titles = parse(html).titles
    assert "gpu-1 \u00b7 m:1\nstate: present\ndigest: %s" % DIGESTS[0] in titles
    assert "gpu-9 \u00b7 m:1\nstate: present\ndigest: %s" % DIGESTS[0] in titles


def test_the_page_depends_on_its_input_alone():
    run = demo_run()
    shuffled = copy.deepcopy(run)
    random.Random(7).shuffle(shuffled["rows"])
    assert build_report(run) == build_report(shuffled)
    assert build_report({"playbook": "x", "generated_at": at(5), "check_mode": True, "rows": []})[0].count("Check mode") == 1


@pytest.mark.parametrize("value, seconds", [
    ("2026-12-04T10:00:00Z", 0), ("2026-12-04T10:00:00.250Z", 0.25), ("2026-12-04T12:00:00+02:00", 0),
    ("2026-12-04T10:00:00", 0), ("2026-12-04 10:00:00+0000", 0),
])
def test_times_are_read_in_their_rfc_3339_forms(value, seconds):
    assert parse_time(value) - parse_time("2026-12-04T10:00:00Z") == seconds


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-45T99:00:00Z", 17, ["2026-12-04T10:00:00Z"]])
def test_what_is_not_a_time_is_none(value):
    assert parse_time(value) is None


@pytest.mark.parametrize("seconds, shown", [(None, "-"), (0.05, "0.05s"), (9.994, "9.99s"), (10, "0m10s"), (125, "2m05s")])
def test_durations_under_ten_seconds_are_shown_to_the_hundredth(seconds, shown):
    assert format_seconds(seconds) == shown


def test_nodes_pulling_at_once_count_a_node_that_ends_as_another_starts_once():
    assert pulling_curve([(0, 10), (5, 20), (10, 30)]) == [(0, 1), (5, 2), (10, 2), (20, 1), (30, 0)]
    assert pulling_curve([]) == []


def test_five_thousand_nodes_render_and_are_written_in_under_two_seconds(tmp_path):
    from ansible_collections.prewarm.k8s.plugins.plugin_utils.report_file import write_atomically

    run = synthetic_run(5000, images_per_node=5)
    # The bound is on the process's CPU time (user + sys, the write included): the wall time on a shared machine
    # also counts the other processes it waits behind. Both are printed.
    started, cpu_started = time.perf_counter(), time.process_time()
    html, summary = build_report(run)
    write_atomically(str(tmp_path / "report.html"), html)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print("\n5,000 nodes x 5 images, 9 steps each: rendered and written in %.2f s CPU, %.2f s wall (%.1f MB)"
          % (cpu_seconds, seconds, len(html) / 1e6))
    assert len(summary["nodes"]) == 5000 and summary["counts"]["released"] == 5000 - 5000 // 97
    assert (tmp_path / "report.html").stat().st_size >= len(html)
    assert cpu_seconds < 2.0
