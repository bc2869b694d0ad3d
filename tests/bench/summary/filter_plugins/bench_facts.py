# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The facts the node_upgrade role leaves on a node host, made up for the summary benchmark (tests/bench/summary_bench.py).

bench_node_facts(hosts, hostvars, scenario, batch) -> [{host, state, timeline, report}], a host's number its place in
`hosts`: node_upgrade_state as preflight.yml and resume.yml leave it, node_upgrade_timeline and node_upgrade_report as
warm.yml (released) or failed.yml (failed) leave them; timeline and report None for a host no batch reached. Made in
Python: a template per host would cost more than the summary it sets up. Scenarios: `failures` (every 97th node fails its warm-up, every batch ran),
`released` (none fails), `unreached` (the first batch ran, one of its nodes failed, the rest were never reached).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "unit", "plugins", "module_utils"))
from window_report_runs import at, row_for, timeline  # pylint: disable=wrong-import-position

IMAGES = ["registry.example.com/team/model-server:4.2", "registry.example.com/team/sidecar:1.9",
          "registry.example.com/team/tokenizer:0.7"]
ERROR = "image registry.example.com/team/model-server:4.2: ErrImagePull (rpc error: code = NotFound)"


def bench_node_facts(hosts, hostvars, scenario="failures", batch=50):
    return [dict(node_facts(index, hostvars[host]["prewarm_node_name"], hostvars[host]["prewarm_pool"], scenario, int(batch)),
                 host=host)
            for index, host in enumerate(hosts)]


def node_facts(index, node, pool, scenario, batch):
    offset = (index // batch) * 300 + index % 7
    state = {"node": node, "pool": pool, "start": 0, "since": at(offset), "failed_task": None,
             "step_started": at(offset), "window": "%s host-%05d" % (at(offset), index), "timeline": []}
    reached = scenario != "unreached" or index < batch
    if not reached:
        return {"state": {"node": node, "pool": pool, "start": 0, "since": None, "failed_task": None},
                "timeline": None, "report": None}
    failing = (scenario == "failures" and index % 97 == 96) or (scenario == "unreached" and index == batch - 1)
    entries = timeline(offset, fail_at="warm" if failing else None, error=ERROR if failing else None)
    report = row_for(node, pool, entries, IMAGES, failed=failing)
    if not failing:
        report.update(warm=True, ready=True, admitted=True, released=True, pod="preload-%s-%05d" % (pool, index),
                      message="warm: all %d images present; released" % len(IMAGES))
    return {"state": state, "timeline": entries, "report": report}


class FilterModule(object):
    def filters(self):
        return {"bench_node_facts": bench_node_facts}
