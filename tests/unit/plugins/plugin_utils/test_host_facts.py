# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading what set_fact left on many hosts from Ansible's own stores, checked against Ansible's hostvars.

A real inventory, VariableManager and HostVars of the installed ansible-core: the facts are put where a playbook run
puts them (set_fact, a fact-returning action, include_vars, extra vars), and what set_facts() and the os_upgrade
filters answer is compared with what `hostvars` answers, and with what the playbook's Jinja expressions gave before
the filters replaced them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time

import pytest
from ansible.module_utils import _internal as module_utils_internal

WAS_CONTROLLER = module_utils_internal.is_controller
from ansible.inventory.manager import InventoryManager  # pylint: disable=wrong-import-position
from ansible.parsing.dataloader import DataLoader  # pylint: disable=wrong-import-position
from ansible.template import Templar, trust_as_template  # pylint: disable=wrong-import-position
from ansible.vars.hostvars import HostVars  # pylint: disable=wrong-import-position
from ansible.vars.manager import VariableManager  # pylint: disable=wrong-import-position

# Importing the controller's packages marks the whole test process as Ansible's controller, after which a module that
# another test runs in this process shows its warnings on the controller's display instead of returning them: the
# mark is put back, and set only while these tests run.
module_utils_internal.is_controller = WAS_CONTROLLER

from ansible_collections.prewarm.k8s.plugins.filter.upgrade_outcome import upgrade_outcome
from ansible_collections.prewarm.k8s.plugins.filter.upgrade_rows import upgrade_rows as upgrade_rows_filter
from ansible_collections.prewarm.k8s.plugins.filter.upgrade_summary import upgrade_summary
from ansible_collections.prewarm.k8s.plugins.module_utils import window_summary
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import set_facts, upgrade_facts, upgrade_report_input

STEPS = ["marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm"]
NAMES = ("node_upgrade_report", "node_upgrade_state", "node_upgrade_timeline")

INVENTORY = """
all:
  vars:
    prewarm_pools: {web: {images: [reg/app:1]}, gpu: {images: [reg/model:2]}}
  children:
    web:
      vars: {prewarm_pool: web}
      hosts:
        h-released: {prewarm_node_name: web-1}
        h-failed: {prewarm_node_name: web-2}
        h-upgraded: {prewarm_node_name: web-3}
        h-unreached: {prewarm_node_name: web-4}
        h-bare: {prewarm_node_name: "{{ inventory_hostname }}-node"}
    gpu:
      vars: {prewarm_pool: gpu}
      hosts:
        h-stepped-only: {prewarm_node_name: gpu-1}
        h-included: {prewarm_node_name: gpu-2}
        h-not-failed: {prewarm_node_name: gpu-3}
"""


def _timeline(step_result="done"):
    return [{"step": step, "start": "2026-12-04T10:00:0%dZ" % n, "end": "2026-12-04T10:00:0%dZ" % (n + 1),
             "result": step_result if step == "warm" else "done", "error": None} for n, step in enumerate(STEPS)]


def _state(node, pool, start=0):
    return {"node": node, "pool": pool, "start": start, "since": "2026-12-04T10:00:00Z", "failed_task": None}


class CountingHostVars(HostVars):
    """Ansible's HostVars, counting the hosts read through it (each read is a full get_vars of the host)."""

    reads = 0

    def raw_get(self, host_name):
        CountingHostVars.reads += 1
        return super(CountingHostVars, self).raw_get(host_name)


@pytest.fixture(autouse=True)
def as_the_controller(monkeypatch):
    monkeypatch.setattr(module_utils_internal, "is_controller", True)


@pytest.fixture()
def run(tmp_path):
    """(hostvars, the hosts in order, the VariableManager) after a run like os_upgrade's: what each host was left with."""
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    manager = VariableManager(loader=loader, inventory=inventory)
    hostvars = CountingHostVars(inventory=inventory, variable_manager=manager, loader=loader)
    set_fact = manager.set_nonpersistent_facts
    released = {"node": "web-1", "pool": "web", "result": "released", "warm": True, "released": True,
                "images": [{"image": "reg/app:1", "digest": "sha256:" + "a" * 64, "state": "present"}]}
    set_fact("h-released", {"node_upgrade_state": _state("web-1", "web")})
    # window_step returns its timeline as a fact (the fact cache); warm.yml's set_fact shadows it.
    manager.set_host_facts("h-released", {"node_upgrade_window": {"step": "warm"}, "node_upgrade_timeline": _timeline("running")})
    set_fact("h-released", {"node_upgrade_timeline": _timeline(), "node_upgrade_report": released})
    set_fact("h-failed", {"node_upgrade_state": _state("web-2", "web"), "node_upgrade_timeline": _timeline("failed"),
                          "node_upgrade_report": {"node": "web-2", "pool": "web", "result": "failed at warm: cold", "failed": True},
                          "node_upgrade_failure": "node web-2 failed at step warm"})
    set_fact("h-upgraded", {"node_upgrade_state": _state("web-3", "web", len(STEPS)), "node_upgrade_timeline": [],
                            "node_upgrade_report": {"node": "web-3", "pool": "web", "result": "already upgraded"}})
    set_fact("h-unreached", {"node_upgrade_state": _state("web-4", "web")})
    # A window that started, then its host was lost: the timeline only in the fact cache.
    set_fact("h-stepped-only", {"node_upgrade_state": _state("gpu-1", "gpu")})
    manager.set_host_facts("h-stepped-only", {"node_upgrade_timeline": _timeline("running")[:3]})
    set_fact("h-included", {"node_upgrade_state": _state("gpu-2", "gpu")})
    manager.set_host_variable("h-included", "node_upgrade_report", {"node": "gpu-2", "pool": "gpu", "result": "included"})
    set_fact("h-not-failed", {"node_upgrade_state": _state("gpu-3", "gpu"), "node_upgrade_timeline": _timeline(),
                              "node_upgrade_report": {"node": "gpu-3", "pool": "gpu", "result": "released", "failed": False}})
    CountingHostVars.reads = 0
    return hostvars, [host.name for host in inventory.get_hosts()], manager


def _as_hostvars_gives(hostvars, host, names):
    facts = hostvars[host]
    return dict((name, facts[name]) for name in names if name in facts)


def test_each_host_gets_what_hostvars_gives_and_hostvars_is_read_only_where_the_stores_cannot_tell(run):
    hostvars, hosts, _manager = run
    found = set_facts(hostvars, hosts, NAMES)
    # h-stepped-only has a timeline in the fact cache, h-included a report from include_vars: only those two are read
    # through hostvars (and h-bare, which has nothing at all, is not).
    assert CountingHostVars.reads == 2
    expected = dict((host, _as_hostvars_gives(hostvars, host, NAMES)) for host in hosts)
    assert dict((host, dict((name, found[host][name]) for name in NAMES if name in found[host])) for host in hosts) == expected
    assert isinstance(found["h-released"], dict) and not isinstance(found["h-stepped-only"], dict)
    assert found["h-released"]["node_upgrade_timeline"] == _timeline()  # set_fact's, not window_step's
    assert found["h-bare"] == {} and found["h-unreached"] == {"node_upgrade_state": _state("web-4", "web")}


def test_reading_a_host_without_facts_adds_nothing_to_the_store(run):
    hostvars, hosts, manager = run
    before = dict(manager._nonpersistent_fact_cache)  # pylint: disable=protected-access
    set_facts(hostvars, hosts, NAMES)
    assert "h-bare" not in manager._nonpersistent_fact_cache  # pylint: disable=protected-access
    assert dict(manager._nonpersistent_fact_cache) == before  # pylint: disable=protected-access


def test_an_extra_var_of_one_of_the_names_sends_every_host_to_hostvars(run):
    hostvars, hosts, manager = run
    manager._extra_vars = {"node_upgrade_timeline": []}  # pylint: disable=protected-access
    found = set_facts(hostvars, hosts, NAMES)
    assert CountingHostVars.reads == len(hosts)
    assert all(found[host]["node_upgrade_timeline"] == [] for host in hosts)


def test_without_ansible_stores_hostvars_is_read_as_it_is(run):
    hostvars, hosts, _manager = run
    plain = {"a": {"node_upgrade_report": {"node": "a"}}, "b": {}}
    assert set_facts(plain, ["a", "b"], NAMES) == plain

    class Elsewhere(object):
        """A HostVars of an Ansible that keeps the facts somewhere else."""
        _variable_manager = object()

        def __getitem__(self, host):
            return hostvars[host]

    found = set_facts(Elsewhere(), hosts, NAMES)
    assert CountingHostVars.reads == len(hosts)
    assert found["h-released"]["node_upgrade_report"]["result"] == "released"


def test_a_host_the_role_left_nothing_on_is_named_from_the_inventory(run):
    hostvars, hosts, _manager = run
    facts = upgrade_facts(hostvars, hosts)
    assert facts["h-bare"]["prewarm_node_name"] == "h-bare-node" and facts["h-bare"]["prewarm_pool"] == "web"
    rows = dict((row["node"], row) for row in upgrade_rows_filter(hosts, hostvars))
    assert rows["h-bare-node"] == {"node": "h-bare-node", "pool": "web", "result": window_summary.NOT_REACHED}
    assert rows["web-4"] == {"node": "web-4", "pool": "web", "result": window_summary.NOT_REACHED}


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_rows_and_the_summary_are_the_ones_hostvars_gives(run, check_mode):
    hostvars, hosts, _manager = run
    rows = upgrade_rows_filter(hosts, hostvars, check_mode, STEPS)
    reads = CountingHostVars.reads
    assert rows == window_summary.upgrade_rows(hosts, hostvars, check_mode, STEPS)
    assert reads == 3  # h-stepped-only, h-included, h-bare
    assert [row["node"] for row in rows] == ["web-1", "web-2", "web-3", "web-4", "h-bare-node", "gpu-1", "gpu-2", "gpu-3"]
    assert upgrade_summary(hosts, hostvars, check_mode, STEPS)[:8] == window_summary.summary_lines(rows)[:8]
    if not check_mode:
        assert upgrade_report_input(hostvars, hosts)[0] == rows


def _template(hostvars, manager, expression, hosts, **variables):
    """An expression of the playbook, rendered by Ansible over `hostvars` (`variables` may be templates themselves)."""
    variables.update(hostvars=hostvars, groups=manager._inventory.get_groups_dict(), hosts=hosts)  # pylint: disable=protected-access
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template("{{ %s }}" % expression))


# What the os_upgrade playbook read through hostvars before window_report read its hosts and the upgrade_outcome filter.
EVERY_HOST = trust_as_template("{{ hosts | map('extract', hostvars) | list }}")
TIMED = trust_as_template("{{ hosts | map('extract', hostvars) | selectattr('node_upgrade_timeline', 'defined') | list }}")


def test_the_timelines_are_the_ones_the_playbook_read_through_hostvars(run):
    hostvars, hosts, manager = run
    before = _template(hostvars, manager, "dict(timed | map(attribute='node_upgrade_state.node') | zip(timed | map(attribute='node_upgrade_timeline')))",
                       hosts, timed=TIMED)
    assert upgrade_report_input(hostvars, hosts)[1] == before
    assert sorted(before) == ["gpu-1", "gpu-3", "web-1", "web-2", "web-3"]
    assert before["gpu-1"] == _timeline("running")[:3]


def test_the_failures_and_the_batch_gate_are_the_ones_the_playbook_read_through_hostvars(run):
    hostvars, hosts, manager = run
    failures = _template(hostvars, manager, "every | selectattr('node_upgrade_report.failed', 'defined') | map(attribute='node_upgrade_report') | list",
                         hosts, every=EVERY_HOST)
    unreached = _template(hostvars, manager, "every | rejectattr('node_upgrade_report', 'defined') | list | length > 0", hosts, every=EVERY_HOST)
    done = _template(hostvars, manager, "every | selectattr('node_upgrade_report', 'defined') | list | length", hosts, every=EVERY_HOST)
    outcome = upgrade_outcome(hosts, hostvars)
    assert outcome["failed"] == failures and [report["node"] for report in failures] == ["web-2", "gpu-3"]
    assert (len(outcome["unreached"]) > 0) is unreached is True
    assert outcome["reached"] == done == 5
    assert outcome["unreached"] == ["h-unreached", "h-bare", "h-stepped-only"]


def test_five_thousand_hosts_are_read_in_well_under_a_second(tmp_path):
    hosts = ["host-%05d" % index for index in range(5000)]
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  vars: {prewarm_pool: web}\n  hosts:\n" + "".join("    %s: {prewarm_node_name: node-%s}\n" % (host, host[5:]) for host in hosts))
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    manager = VariableManager(loader=loader, inventory=inventory)
    hostvars = HostVars(inventory=inventory, variable_manager=manager, loader=loader)
    report = {"node": "n", "pool": "web", "result": "released", "images": [{"image": "reg/app:1", "digest": None, "state": "present"}]}
    for number, host in enumerate(hosts):
        manager.set_nonpersistent_facts(host, {"node_upgrade_state": _state("node-" + host[5:], "web"), "node_upgrade_timeline": _timeline(),
                                               "node_upgrade_report": dict(copy.deepcopy(report), node="node-" + host[5:],
                                                                           **({"failed": True} if number % 97 == 96 else {}))})
    started = time.perf_counter()
    (rows, timelines), outcome = upgrade_report_input(hostvars, hosts), upgrade_outcome(hosts, hostvars)
    took = time.perf_counter() - started
    print("\n[bench] rows, timelines and outcome of 5,000 hosts: %.3f s" % took)
    assert len(rows) == len(timelines) == 5000 and len(outcome["failed"]) == 51
    assert took < 0.5, took
