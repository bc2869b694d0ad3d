# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The os_upgrade playbook's Summary play in its two batches: the first node host alone, then all the others.

One host does every task (each is run once) and ends the play, so the second batch never starts; should that host be
out of the play (failed or unreachable in an earlier one), the second batch does it all. Through the summary
benchmark's playbook (tests/bench/summary/summary.yml), whose Summary play must be the playbook's own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import summary_bench  # pylint: disable=wrong-import-position
from run_ansible import ansible_env  # pylint: disable=wrong-import-position

HOSTS = 30
SUMMARY_TASKS = ["Per-node summary", "Write the run's report", "Say where the report is", "Fail the run if a node failed"]

# A first play that fails the first node host, as a host that failed or was unreachable in an earlier play is left out of
# the next ones; then the benchmark's plays.
FIRST_HOST_OUT = """
- name: Take the first node host out of the run
  hosts: os_upgrade_targets[0:1]
  gather_facts: false
  tasks:
    - name: Fail the first node host
      ansible.builtin.fail:
        msg: out of the run
      when: inventory_hostname == 'host-00000'

- name: The benchmark's plays
  ansible.builtin.import_playbook: %s
"""


def _run(tmp_path, playbook, scenario):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(summary_bench.inventory(HOSTS))
    report = tmp_path / "report.html"
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), str(playbook),
           "-e", "summary_bench_scenario=%s" % scenario, "-e", "summary_bench_batch=10", "-e", "prewarm_report_path=%s" % report]
    env = ansible_env()
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("no json from ansible-playbook (exit %d): %s %s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))


def _summary_plays(run):
    return [play for play in run["plays"] if play["play"]["name"] == "Summary"]


def _by_host(play):
    """{task name: {host: its result}} of the play's tasks that gave a result."""
    return dict((task["task"]["name"], task["hosts"]) for task in play["tasks"] if task["hosts"])


def _rows(lines):
    return [line for line in lines if " | pool " in line]


def test_the_first_node_host_does_it_all_and_the_second_batch_never_starts(tmp_path):
    code, run = _run(tmp_path, summary_bench.PLAYBOOK, "released")
    assert code == 0
    [play] = _summary_plays(run)
    done = _by_host(play)
    assert list(done) == SUMMARY_TASKS
    assert all(list(hosts) == ["host-00000"] for hosts in done.values())
    assert len(_rows(done["Per-node summary"]["host-00000"]["msg"])) == HOSTS
    assert done["Fail the run if a node failed"]["host-00000"]["skipped"]


def test_with_the_first_node_host_out_of_the_play_the_second_batch_does_it_all(tmp_path):
    playbook = tmp_path / "first_host_out.yml"
    playbook.write_text(FIRST_HOST_OUT % summary_bench.PLAYBOOK)
    code, run = _run(tmp_path, playbook, "released")
    assert code == 2  # the host that failed in the first play
    first, second = _summary_plays(run)
    assert _by_host(first) == {}
    done = _by_host(second)
    assert list(done) == SUMMARY_TASKS
    assert all(list(hosts) == ["host-00001"] for hosts in done.values())
    assert len(_rows(done["Per-node summary"]["host-00001"]["msg"])) == HOSTS
    assert done["Say where the report is"]["host-00001"]["msg"] == "report of %d node(s) written to %s" % (HOSTS, tmp_path / "report.html")


def _summary_play(path):
    with open(path, encoding="utf-8") as handle:
        [play] = [play for play in yaml.safe_load(handle) if play.get("name") == "Summary"]
    [task] = play.pop("tasks")
    return play, os.path.normpath(os.path.join(os.path.dirname(path), task["ansible.builtin.import_tasks"]))


def test_the_benchmark_runs_the_playbooks_own_summary_play():
    assert _summary_play(summary_bench.PLAYBOOK) == _summary_play(os.path.join(ROOT, "playbooks", "os_upgrade.yml"))
