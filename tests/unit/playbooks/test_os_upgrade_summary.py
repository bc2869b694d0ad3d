# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The os_upgrade playbook's Summary play, run by ansible-playbook without a cluster, on hosts left as the role leaves them.

The play's own tasks (playbooks/tasks/os_upgrade_summary.yml) through the summary benchmark's playbook
(tests/bench/summary/summary.yml): 30 node hosts, the first batch of 10 ran and one of its nodes failed, the others
were never reached. What the operator reads: the table, the report's path, the failure; what AWX gets: the stats.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import summary_lines, upgrade_rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench", "summary", "filter_plugins"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import summary_bench  # pylint: disable=wrong-import-position
from bench_facts import bench_node_facts  # pylint: disable=wrong-import-position
from run_ansible import ansible_env  # pylint: disable=wrong-import-position

STEPS = ["marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm"]
HOSTS = ["host-%05d" % index for index in range(30)]
FAILED = ("node-00009 (failed at warm: image registry.example.com/team/model-server:4.2: ErrImagePull (rpc error: code = "
          "NotFound))")


def _run(tmp_path, *options):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(summary_bench.inventory(len(HOSTS)))
    report = tmp_path / "report.html"
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), summary_bench.PLAYBOOK,
           "-e", "summary_bench_scenario=unreached", "-e", "summary_bench_batch=10", "-e", "prewarm_report_path=%s" % report]
    env = ansible_env({"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run(cmd + list(options), env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout), report
    except ValueError:
        raise AssertionError("no json from ansible-playbook (exit %d): %s %s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))


def _said(run, task):
    """The results of the Summary play's task of that name (a role's task: "<role> : name")."""
    return [result for play in run["plays"] if play["play"]["name"] == "Summary" for each in play["tasks"]
            if each["task"]["name"] in (task, "prewarm.k8s.node_upgrade : " + task) for result in each["hosts"].values()]


def _printed(run):
    [printed] = _said(run, "Per-node summary")
    return printed["msg"]


def _expected(check_mode=False):
    """The table the play should print: the lines of the rows of what the benchmark's first play left on each host."""
    inventory = dict((host, {"prewarm_node_name": "node-" + host[5:], "prewarm_pool": ("cpu", "gpu", "web")[index // 10]})
                     for index, host in enumerate(HOSTS))
    names = (("node_upgrade_state", "state"), ("node_upgrade_report", "report"), ("node_upgrade_timeline", "timeline"))
    facts = dict((each["host"], dict((name, each[key]) for name, key in names if each[key] is not None))
                 for each in bench_node_facts(HOSTS, inventory, "unreached", 10))
    return summary_lines(upgrade_rows(HOSTS, facts, check_mode, STEPS))


def _same(lines):
    # A window still open is timed up to now: the play printed its table a moment before this one was made.
    return [re.sub(r"maintenance \d+h\d\dm\d\ds \(still marked\)", "maintenance (still marked)", line) for line in lines]


def test_the_summary_play_prints_the_table_writes_the_report_gives_awx_the_stats_and_fails_for_the_failed_node(tmp_path):
    code, run, report = _run(tmp_path)
    assert code == 2
    assert _same(_printed(run)) == _same(_expected())
    # A host no batch reached, named as the role's preflight named it.
    assert any(line.startswith("node-00010 | pool gpu | maintenance -") and "| not reached:" in line for line in _printed(run))
    assert [result["msg"] for result in _said(run, "Say where the report is")] == ["report of 30 node(s) written to %s" % report]
    [failure] = _said(run, "Fail the run if a node failed")
    assert failure["msg"] == (
        "1 node(s) failed and stay under maintenance: %s. Fix the cause and run the playbook again: each node resumes at the "
        "step that failed. Batches after the failure were not started. " % FAILED)
    stats = run["global_custom_stats"]["prewarm_report"]
    assert stats["counts"] == {"failed at warm": 1, "not reached": 20, "released": 9} and stats["path"] == str(report)
    assert report.read_text(encoding="utf-8").count('<text class="label"') == 30


def test_a_check_run_says_what_each_node_would_go_through(tmp_path):
    code, run, report = _run(tmp_path, "--check")
    assert code == 2
    assert _same(_printed(run)) == _same(_expected(check_mode=True))
    # The role's steps reached the filter (a result goes on below its row on indented lines: read as one text).
    assert "(%s); warm, would be" % ", ".join(STEPS) in " ".join(line.strip() for line in _printed(run))
    assert run["global_custom_stats"]["prewarm_report"]["check_mode"] is True
    assert "Check mode: nothing was changed on the cluster" in report.read_text(encoding="utf-8")
