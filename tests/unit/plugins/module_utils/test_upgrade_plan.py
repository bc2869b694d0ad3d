# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The os_upgrade playbook's plan: hosts in order, batches, and its inputs checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.filter.upgrade_plan import FilterModule
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.upgrade_plan import batch_sizes, upgrade_plan

CATALOGUE = {"cpu": {"images": ["a"]}, "gpu": {"images": ["b"]}, "web": {"images": ["c"]}}
HOSTS = [("gpu-0", "gpu"), ("localhost", None), ("cpu-0", "cpu"), ("gpu-1", "gpu"), ("cpu-1", "cpu"), ("cpu-2", "cpu"),
         ("gpu-2", "gpu")]


def test_hosts_go_pool_after_pool_in_the_pools_order_and_batches_never_mix_pools():
    plan = upgrade_plan(HOSTS, CATALOGUE, "gpu, cpu", 2)
    assert plan["hosts"] == ["gpu-0", "gpu-1", "gpu-2", "cpu-0", "cpu-1", "cpu-2"]
    assert plan["serial"] == [2, 1, 2, 1]
    assert plan["pools"] == ["gpu", "cpu"]
    assert plan["pool_of"] == {"gpu-0": "gpu", "gpu-1": "gpu", "gpu-2": "gpu", "cpu-0": "cpu", "cpu-1": "cpu", "cpu-2": "cpu"}


def test_without_pools_every_pool_of_the_catalogue_in_its_order_and_hosts_of_other_pools_stay_out():
    plan = upgrade_plan(HOSTS, CATALOGUE)
    assert plan["hosts"] == ["cpu-0", "cpu-1", "cpu-2", "gpu-0", "gpu-1", "gpu-2"] and plan["serial"] == [1] * 6
    assert plan["pools"] == ["cpu", "gpu"]
    plan = upgrade_plan(HOSTS, CATALOGUE, ["gpu"], "3")
    assert plan["hosts"] == ["gpu-0", "gpu-1", "gpu-2"] and plan["serial"] == [3] and "cpu-0" not in plan["pool_of"]


def test_all_pools_together_is_batches_of_the_size_over_all_hosts():
    assert upgrade_plan(HOSTS, CATALOGUE, None, 4, pool_by_pool=False)["serial"] == [4]
    assert batch_sizes([5, 2], 2, True) == [2, 2, 1, 2] and batch_sizes([4], 2, True) == [2, 2]


@pytest.mark.parametrize("arguments, message", [
    ((HOSTS, {}), "prewarm_pools must define the pools (a mapping of pool name to its settings), got {}"),
    ((HOSTS, CATALOGUE, None, 0), "os_upgrade_batch_size 0 must be a whole number of at least 1"),
    ((HOSTS, CATALOGUE, None, "two"), "os_upgrade_batch_size two must be a whole number of at least 1"),
    ((HOSTS, CATALOGUE, None, True), "os_upgrade_batch_size True must be a whole number of at least 1"),
    ((HOSTS, CATALOGUE, None, 1, True, 101), "os_upgrade_max_fail_percentage 101 must be a whole number from 0 to 100"),
    ((HOSTS, CATALOGUE, None, 1, True, -1), "os_upgrade_max_fail_percentage -1 must be a whole number from 0 to 100"),
    ((HOSTS, CATALOGUE, "cpu,gpu-typo"), "os_upgrade_pools: gpu-typo not in prewarm_pools (cpu, gpu, web)"),
    ((HOSTS, CATALOGUE, 7), "os_upgrade_pools: must be a list of names or a comma-separated string, got int 7"),
    (([("localhost", None)], CATALOGUE, None, 1, True, 0, "nodes"), "the pattern 'nodes' matches no host that has a prewarm_pool"),
    (([("cpu-0", "cpu"), ("x-1", "nosuchpool")], CATALOGUE),
     "hosts whose prewarm_pool is not in prewarm_pools (cpu, gpu, web): x-1 (nosuchpool)"),
    ((HOSTS, CATALOGUE, ["web"]), "none of the hosts' pools (gpu, cpu) is in os_upgrade_pools (web)"),
])
def test_a_bad_input_is_refused_naming_it(arguments, message):
    with pytest.raises(InvalidInput) as failed:
        upgrade_plan(*arguments)
    assert failed.value.msg == message


def test_a_message_about_thousands_of_hosts_names_ten():
    strays = [("node-%d" % number, "old") for number in range(25)]
    with pytest.raises(InvalidInput) as failed:
        upgrade_plan(strays, CATALOGUE)
    assert failed.value.msg.endswith("node-9 (old) and 15 more")


def test_the_filter_reads_each_hosts_pool_once():
    reads = []

    class Vars(dict):
        def get(self, key, default=None):
            reads.append(key)
            return dict.get(self, key, default)

    hostvars = dict((host, Vars({"prewarm_pool": pool} if pool else {})) for host, pool in HOSTS)
    plan = FilterModule().filters()["upgrade_plan"]([host for host, dummy in HOSTS], hostvars, CATALOGUE, "cpu", 2)
    assert plan["hosts"] == ["cpu-0", "cpu-1", "cpu-2"] and plan["serial"] == [2, 1]
    assert reads == ["prewarm_pool"] * len(HOSTS)
