# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-node summary lines: durations, open windows, reboots, images, order, and the filter on top."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
from datetime import datetime, timezone

import pytest

from ansible_collections.prewarm.k8s.plugins.filter.reconcile_rows import reconcile_rows as reconcile_rows_filter
from ansible_collections.prewarm.k8s.plugins.filter.release_rows import release_rows as release_rows_filter
from ansible_collections.prewarm.k8s.plugins.filter.upgrade_rows import upgrade_rows as upgrade_rows_filter
from ansible_collections.prewarm.k8s.plugins.filter.warm_rows import warm_rows as warm_rows_filter
from ansible_collections.prewarm.k8s.plugins.filter.window_summary import window_summary
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import (format_between, format_seconds, named_by_inventory,
                                                                                 release_rows, summary_lines, upgrade_outcome, upgrade_rows,
                                                                                 upgrade_timelines, would_run, would_warm)

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, text", [
    (None, "-"), (0, "0m00s"), (59.4, "0m59s"), (125, "2m05s"), (3599, "59m59s"), (3600, "1h00m00s"),
    (3723, "1h02m03s"), (90061, "25h01m01s"), ("12.5", "0m12s"), (13.5, "0m14s"),  # half to even, as Jinja's round
])
def test_seconds_are_printed_in_minutes_or_hours(value, text):
    assert format_seconds(value) == text


def test_a_window_is_timed_from_mark_to_release_in_whole_seconds_whatever_the_timestamp_form():
    assert format_between("2026-12-04T10:00:00Z", "2026-12-04T10:02:05.900Z", NOW) == "2m05s"
    assert format_between("2026-12-04T10:00:00+00:00", "2026-12-04T11:02:03Z", NOW) == "1h02m03s"


def test_an_open_window_is_timed_until_now_and_said_to_be_still_marked():
    assert format_between("2026-12-04T11:58:30Z", None, NOW) == "1m30s (still marked)"


def test_no_start_is_no_time():
    assert format_between(None, "2026-12-04T10:02:05Z", NOW) == "-"
    assert format_between("", None, NOW) == "-"


def _row(node, **fields):
    return dict({"node": node, "pool": "web", "since": "2026-12-04T11:00:00Z", "released_at": "2026-12-04T11:05:00Z",
                 "warming_seconds": 12.0, "result": "released"}, **fields)


DIGEST_A, DIGEST_B = "sha256:" + "a1" * 32, "sha256:" + "b2" * 32


def test_one_row_per_node_in_node_order_aligned_with_the_images_listed_once_under_the_table():
    images = [{"image": "reg/app:1", "digest": DIGEST_A, "state": "present"},
              {"image": "reg/base@" + DIGEST_B, "digest": DIGEST_B, "state": "pulled"}]
    rows = [_row("web-2", images=images), _row("web-10", images=[dict(image, state="present") for image in images]),
            _row("web-1", images=[])]
    assert summary_lines(rows, NOW) == [
        "web-1  | pool web | maintenance 5m00s | warming 0m12s | released | images -",
        "web-10 | pool web | maintenance 5m00s | warming 0m12s | released | images A: 2 present",
        "web-2  | pool web | maintenance 5m00s | warming 0m12s | released | images A: 1 present, 1 pulled",
        # Digests cut to 12 hex characters; one already in the reference is not repeated.
        "images A: reg/app:1 @ a1a1a1a1a1a1",
        "          reg/base@sha256:b2b2b2b2b2b2",
    ]


def test_a_rebooted_node_shows_its_reboot_and_a_failed_one_its_result_still_marked():
    row = _row("gpu-1", pool="gpu", released_at=None, reboot_started="2026-12-04T11:01:00Z",
               reboot_ended="2026-12-04T11:02:30Z", warming_seconds=None, result="failed at warm: ImagePullBackOff")
    assert summary_lines([row, _row("gpu-2", pool="gpu")], NOW) == [
        "gpu-1 | pool gpu | maintenance 1h00m00s (still marked) | reboot 1m30s | warming -     | failed at warm: | images -",
        "    ImagePullBackOff",
        # The row still marked is longer; the others keep their columns.
        "gpu-2 | pool gpu | maintenance 5m00s    | reboot -     | warming 0m12s | released | images -"]


def test_a_long_result_goes_on_below_its_row_and_every_line_fits_the_width():
    error = "failed at upgraded: " + " ".join(["apt: could not fetch linux-image-6.8"] * 6)
    image = {"image": "r/" + "x" * 200 + ":1", "digest": DIGEST_A, "state": "present"}
    lines = summary_lines([_row("web-1", result=error, images=[image])], NOW)
    assert all(len(line) <= 120 for line in lines), lines
    assert lines[0].startswith("web-1 | pool web | maintenance 5m00s | warming 0m12s | failed at upgraded: apt")
    assert lines[0].endswith(" | images A: 1 present")
    assert all(line.startswith("    ") for line in lines[1:-1])
    said = lines[0].split(" | ")[4] + " " + " ".join(line.strip() for line in lines[1:-1])
    assert said == error
    # A reference too long for the line keeps its end (tag and digest).
    assert lines[-1].startswith("images A: ...x") and lines[-1].endswith("x:1 @ a1a1a1a1a1a1")


def test_a_node_still_marked_widens_only_its_own_row_and_a_result_left_little_room_goes_below_whole():
    long_name = "ip-10-0-12-34.ec2.internal"
    failed = _row(long_name, pool="gpu", released_at=None, reboot_started="2026-12-04T11:01:00Z",
                  reboot_ended="2026-12-04T11:02:30Z", warming_seconds=None,
                  result="failed at warm: ImagePullBackOff for registry.example/models/llm:7b")
    released = _row(long_name.replace("12-34", "12-35"), pool="gpu")
    assert summary_lines([failed, released], NOW) == [
        long_name + " | pool gpu | maintenance 1h00m00s (still marked) | reboot 1m30s | warming -     | (result below) | images -",
        "    failed at warm: ImagePullBackOff for registry.example/models/llm:7b",
        released["node"] + " | pool gpu | maintenance 5m00s    | reboot -     | warming 0m12s | released | images -"]


def test_a_node_the_run_never_reached_has_only_its_name_pool_and_result():
    assert summary_lines([{"node": "web-9", "pool": "web", "result": "not reached: still as it was"}], NOW) == [
        "web-9 | pool web | maintenance - | warming - | not reached: still as it was | images -"]


def test_five_thousand_rows_take_well_under_two_seconds():
    images = [{"image": "127.0.0.1:5000/prewarm-test/%s:047c81f956fb" % name, "digest": "sha256:" + "%02x" % n * 32,
               "state": "present"} for n, name in enumerate(("small", "noshell", "large"))]
    rows = [_row("node-%04d" % n, pool="pool-%d" % (n % 3), reboot_started="2026-12-04T11:01:00Z",
                 reboot_ended="2026-12-04T11:02:30Z" if n % 2 else None, images=images,
                 result="released" if n % 7 else "failed at drained: " + "a PodDisruptionBudget held it " * 4)
            for n in range(5000)]
    started = time.perf_counter()
    lines = window_summary(rows)
    took = time.perf_counter() - started
    print("\n[bench] summary table of 5,000 rows: %.3f s, %d lines" % (took, len(lines)))
    assert len(lines) > 5000 and all(len(line) <= 120 for line in lines)
    assert took < 2.0, took


def test_no_rows_is_said():
    assert summary_lines([], NOW) == ["no node"]
    assert window_summary([]) == ["no node"]


def test_the_filter_fails_naming_what_a_row_lacks():
    with pytest.raises(InvalidInput, match=r"^a row lacks a field or holds a bad value \(KeyError: 'node'\)$"):
        window_summary([{"pool": "web"}])


# ---------------------------------------------------------------- the release playbook's rows

def _marked(name, status):
    record = {"by": "ops@bastion", "since": "2026-12-04T03:00:00Z", "owned": {"taint": None, "label": None, "cordon": True},
              "status": status}
    return {"metadata": {"name": name, "annotations": {"prewarm.k8s/maintenance": json.dumps(record)}}}


def test_release_rows_say_what_was_done_where_each_window_was_and_the_warnings():
    released = {"web-1": {"action": "released", "warnings": []},
                "web-2": {"action": "released", "warnings": ["the cordon was not ours: left on"]},
                "web-3": {"action": "unchanged"}}
    marked = [_marked("web-1", {"step": "drained", "result": "failed", "error": "x"}), _marked("web-2", {})]
    rows = release_rows(released, marked, {"web-1": "web", "web-2": "web"}, "2026-12-04T04:00:00Z")
    assert rows == [
        {"node": "web-1", "pool": "web", "since": "2026-12-04T03:00:00Z", "released_at": "2026-12-04T04:00:00Z",
         "result": "released (was at step drained, failed)"},
        {"node": "web-2", "pool": "web", "since": "2026-12-04T03:00:00Z", "released_at": "2026-12-04T04:00:00Z",
         "result": "released; the cordon was not ours: left on"},
        {"node": "web-3", "pool": None, "since": None, "released_at": None, "result": "unchanged"},
    ]
    assert summary_lines(rows, NOW)[0] == (
        "web-1 | pool web | maintenance 1h00m00s | warming - | released (was at step drained, failed) | images -")


def test_a_release_in_check_mode_says_what_it_would_release_and_leaves_the_window_open():
    released = {"web-1": {"action": "released", "warnings": []}, "web-2": {"action": "unchanged"}}
    marked = [_marked("web-1", {"step": "ready", "result": "done"})]
    rows = release_rows(released, marked, {"web-1": "web"}, "2026-12-04T04:00:00Z", check_mode=True)
    assert [(r["node"], r["released_at"], r["result"]) for r in rows] == [
        ("web-1", None, "would be released (was at step ready, done)"), ("web-2", None, "unchanged")]
    # The table's result column is cut at a word and goes on, indented, on the next line.
    assert summary_lines(rows, NOW)[:2] == [
        "web-1 | pool web | maintenance 9h00m00s (still marked) | warming - | would be released (was at step ready, | images -",
        "    done)"]
    assert release_rows_filter(released, marked, {}, "2026-12-04T04:00:00Z", True)[0]["released_at"] is None


def test_a_release_row_says_when_the_annotation_could_not_be_read():
    marked = [{"metadata": {"name": "web-1", "annotations": {"prewarm.k8s/maintenance": "{oops"}}}]
    row = release_rows({"web-1": {"action": "released"}}, marked, {}, "2026-12-04T04:00:00Z")[0]
    assert row["result"].startswith("released (its prewarm.k8s/maintenance annotation could not be read: not valid JSON")
    assert row["since"] is None


def test_the_release_filter_finds_each_pool_in_the_inventory():
    hostvars = {"web-1": {"prewarm_pool": "web"}, "bastion": {}}
    rows = release_rows_filter({"web-1": {"action": "released"}, "db-1": {"action": "released"}}, [],
                               hostvars, "2026-12-04T04:00:00Z")
    assert [(r["node"], r["pool"]) for r in rows] == [("web-1", "web"), ("db-1", None)]


# ---------------------------------------------------------------- os_upgrade, prewarm and reconcile rows

def test_upgrade_rows_are_the_reports_and_say_which_hosts_no_batch_reached():
    report = {"node": "web-1", "pool": "web", "result": "released"}
    hostvars = {"web-1": {"node_upgrade_report": report, "prewarm_pool": "web"},
                "h2": {"prewarm_node_name": "web-2", "prewarm_pool": "web"}, "web-3": {"prewarm_pool": "web"}}
    assert upgrade_rows_filter(["web-1", "h2", "web-3"], hostvars) == [
        report, {"node": "web-2", "pool": "web", "result": "not reached: still as it was"},
        {"node": "web-3", "pool": "web", "result": "not reached: still as it was"}]


def test_a_host_no_batch_reached_is_named_as_the_role_named_it_before_the_first_batch():
    # preflight.yml left node_upgrade_state on every host: its node and pool, even where the inventory says otherwise.
    hostvars = {"h1": {"node_upgrade_state": {"node": "web-1", "pool": "web", "start": 0}, "prewarm_node_name": "other"},
                "h2": {"node_upgrade_report": None, "node_upgrade_state": {"node": "web-2", "pool": "web"}},
                "h3": {"node_upgrade_state": {"start": 0}, "prewarm_node_name": "web-3", "prewarm_pool": "web"}}
    assert upgrade_rows(["h1", "h2", "h3"], hostvars) == [
        {"node": "web-1", "pool": "web", "result": "not reached: still as it was"},
        {"node": "web-2", "pool": "web", "result": "not reached: still as it was"},
        {"node": "web-3", "pool": "web", "result": "not reached: still as it was"}]
    assert [named_by_inventory(hostvars[host]) for host in ("h1", "h2", "h3")] == [False, False, True]
    assert not named_by_inventory({"node_upgrade_report": {"node": "web-4"}})


def test_the_timelines_are_the_hosts_that_have_one_by_node_name():
    steps = [{"step": "marked", "start": "2026-12-04T10:00:00Z", "end": "2026-12-04T10:00:02Z", "result": "done", "error": None}]
    hostvars = {"h1": {"node_upgrade_state": {"node": "web-1"}, "node_upgrade_timeline": steps},
                "h2": {"node_upgrade_state": {"node": "web-2"}},
                "h3": {"node_upgrade_state": {"node": "web-3"}, "node_upgrade_timeline": []},
                "h4": {"node_upgrade_timeline": None}}
    assert upgrade_timelines(["h1", "h2", "h3", "h4"], hostvars) == {"web-1": steps, "web-3": [], "h4": None}
    assert upgrade_timelines([], hostvars) == {}


def test_the_outcome_lists_the_failed_reports_in_host_order_and_the_hosts_no_batch_reached():
    failed = {"node": "web-3", "result": "failed at drained: budget", "failed": True}
    hostvars = {"h1": {"node_upgrade_report": {"node": "web-1", "result": "released"}}, "h2": {"node_upgrade_state": {"node": "web-2"}},
                "h3": {"node_upgrade_report": failed}, "h4": {"node_upgrade_report": {"node": "web-4", "failed": False}},
                "h5": {"node_upgrade_report": None}}
    # h5's window started (the role notes a null report) and never reported: not counted as reached.
    assert upgrade_outcome(["h3", "h1", "h2", "h4", "h5"], hostvars) == {
        "failed": [failed, {"node": "web-4", "failed": False}], "reached": 3, "unreached": ["h2", "h5"]}
    assert upgrade_outcome([], hostvars) == {"failed": [], "reached": 0, "unreached": []}


def test_warm_rows_say_released_warm_refused_or_cold_with_why():
    warmup = {"nodes": {"a": {"warm": True, "released": True, "warming_seconds": 3.0},
                        "b": {"warm": True, "released": False},
                        "c": {"warm": False, "message": "not under maintenance"},
                        "d": {"warm": False, "message": "ImagePullBackOff: reg/app:1"}},
              "refused": {"c": "not under maintenance"}}
    rows = warm_rows_filter(warmup, "gpu")
    assert [(r["node"], r["pool"], r["result"]) for r in rows] == [
        ("a", "gpu", "released"), ("b", "gpu", "warm"), ("c", "gpu", "refused: not under maintenance"),
        ("d", "gpu", "cold: ImagePullBackOff: reg/app:1")]
    assert rows[0]["warming_seconds"] == 3.0
    assert warm_rows_filter({}, "gpu") == []


def test_reconcile_rows_cover_the_warmed_and_the_marked_nodes_only():
    decisions = [
        {"node": "a", "pool": "web", "warm": True, "marked": True, "since": "s", "step": "warm", "step_result": "failed"},
        {"node": "b", "pool": "web", "warm": True, "marked": False, "since": None},
        {"node": "c", "pool": "web", "warm": True, "marked": True, "since": "s"},
        {"node": "d", "pool": "web", "warm": True, "marked": False, "since": None},
        {"node": "e", "pool": "web", "warm": False, "marked": True, "since": "s", "step": "drained", "step_result": "failed",
         "error": "budget"},
        {"node": "f", "pool": "web", "warm": False, "marked": True, "since": "s", "step": None},
        {"node": "g", "pool": "web", "warm": False, "marked": False, "since": None},
    ]
    warmed = {"a": {"warm": True, "released": True, "warming_seconds": 4.0}, "b": {"warm": True, "released": False},
              "c": {"warm": True, "released": False, "message": "its marks are not ours"}}
    rows = reconcile_rows_filter(decisions, warmed)
    assert [(r["node"], r["result"]) for r in rows] == [
        ("a", "released"), ("b", "warm"), ("c", "warm, still marked: its marks are not ours"), ("d", "cold: no result"),
        ("e", "under maintenance, left alone: window at step drained (failed): budget"),
        ("f", "under maintenance, left alone: not back from an upgrade yet")]
    assert rows[0]["warming_seconds"] == 4.0 and rows[0]["since"] == "s"


# ---------------------------------------------------------------- check mode: what each run would do per node

STEPS = ["marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm"]


def test_check_mode_says_what_the_warm_up_would_do_or_that_the_preloader_comes_first():
    assert would_warm(None) == "would be warmed once its preloader is created (check mode creates none)"
    assert would_warm({}) == would_warm(None)
    assert would_warm({"warm": False, "message": "would be admitted now (check mode); no preloader pod yet"}) == (
        "would be warmed: would be admitted now (check mode); no preloader pod yet")
    assert would_warm({"warm": True, "released": True}) == "warm, would be released"
    assert would_warm({"warm": True, "released": False}) == "warm"


def test_check_mode_names_the_steps_a_node_would_run_from_where_it_stands():
    assert would_run(STEPS, 0, None) == (
        "would run every step (marked, drained, upgraded, rebooted, ready, image_gc, pruned, uncordoned, warm); "
        "would be warmed once its preloader is created (check mode creates none)")
    assert would_run(STEPS, 2, {"warm": False, "message": "waiting for a pulling slot (max_pulling 2)"}) == (
        "would resume at step upgraded (upgraded, rebooted, ready, image_gc, pruned, uncordoned, warm); "
        "would be warmed: waiting for a pulling slot (max_pulling 2)")
    assert would_run(STEPS, len(STEPS), None) == "already upgraded"


def test_upgrade_rows_in_check_mode_say_what_would_be_done_and_keep_failures_and_the_unreached():
    warmth = {"node": "web-1", "pool": "web", "warm": False, "message": "would be admitted now (check mode)",
              "images": [{"image": "reg/app:1", "digest": None, "state": "missing"}], "result": "check mode"}
    failed = {"node": "web-2", "pool": "web", "result": "failed at drained: budget", "failed": True}
    done = {"node": "web-4", "pool": "web", "result": "already upgraded"}
    no_preloader = {"node": "web-5", "pool": "web", "since": None, "result": "check mode"}
    hostvars = {"web-1": {"node_upgrade_report": warmth, "node_upgrade_state": {"start": 0}},
                "web-2": {"node_upgrade_report": failed, "node_upgrade_state": {"start": 1}},
                "web-3": {"prewarm_pool": "web"},
                "web-4": {"node_upgrade_report": done, "node_upgrade_state": {"start": len(STEPS)}},
                "web-5": {"node_upgrade_report": no_preloader, "node_upgrade_state": {"start": 8}}}
    rows = upgrade_rows_filter(["web-1", "web-2", "web-3", "web-4", "web-5"], hostvars, True, STEPS)
    assert [r["result"] for r in rows] == [
        "would run every step (%s); would be warmed: would be admitted now (check mode)" % ", ".join(STEPS),
        "failed at drained: budget", "not reached: still as it was", "already upgraded",
        "would resume at step warm (warm); would be warmed once its preloader is created (check mode creates none)"]
    assert rows[0]["images"] == warmth["images"]
    assert warmth["result"] == "check mode"  # the host's own report is left as it was


def test_warm_rows_in_check_mode_say_would_warm_and_cover_the_nodes_of_a_pool_without_preloader():
    warmup = {"nodes": {"a": {"warm": True, "released": True}, "b": {"warm": False, "message": "would be admitted now"},
                        "c": {"warm": False, "message": "not under maintenance"}},
              "refused": {"c": "not under maintenance"}}
    rows = warm_rows_filter(warmup, "gpu", True, ["a", "b", "c"])
    assert [(r["node"], r["result"]) for r in rows] == [
        ("a", "warm, would be released"), ("b", "would be warmed: would be admitted now"),
        ("c", "refused: not under maintenance")]
    # The preloader would be created first: no warm-up ran, each node to warm still has its row.
    assert [(r["node"], r["pool"], r["result"]) for r in warm_rows_filter({"skipped": True}, "cpu", True, ["x", "y"])] == [
        ("x", "cpu", "would be warmed once its preloader is created (check mode creates none)"),
        ("y", "cpu", "would be warmed once its preloader is created (check mode creates none)")]
    assert warm_rows_filter({}, "cpu", False, ["x"]) == []


def test_reconcile_rows_in_check_mode_say_what_the_warm_up_would_do():
    decisions = [{"node": "a", "pool": "web", "warm": True, "marked": True, "since": "s", "step": "ready", "step_result": "done"},
                 {"node": "b", "pool": "web", "warm": True, "marked": False, "since": None},
                 {"node": "e", "pool": "web", "warm": False, "marked": True, "since": "s", "step": "drained", "step_result": "done"}]
    warmed = {"a": {"warm": False, "message": "would be admitted now (check mode)"}}
    rows = reconcile_rows_filter(decisions, warmed, True)
    assert [(r["node"], r["result"]) for r in rows] == [
        ("a", "would be warmed: would be admitted now (check mode)"),
        ("b", "would be warmed once its preloader is created (check mode creates none)"),
        ("e", "under maintenance, left alone: window at step drained (done)")]
