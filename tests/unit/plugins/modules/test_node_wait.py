# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_wait's options and result, the module run on a fake API (the waiting itself is tested in test_node_readiness.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.modules import node_wait
from ansible_collections.prewarm.k8s.tests.unit.plugins.modules import node_lister

HEARTBEAT = "2024-05-01T03:04:12Z"


def ready_node(name):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": HEARTBEAT}],
                       "nodeInfo": {"kernelVersion": "6.8.0-45-generic", "osImage": "Ubuntu 24.04.1 LTS"}}}


def run_main(capsys, monkeypatch, items, **args):
    """node_wait's main() against a node list of `items` (the tests never get to its watch): (rc, result, lister)."""
    return node_lister.run_main(node_wait, capsys, monkeypatch, items, args)


@pytest.mark.parametrize("option", ["nodes", "names"])
def test_the_node_list_is_nodes_and_names_still_works_as_its_alias(capsys, monkeypatch, option):
    rc, result, lister = run_main(capsys, monkeypatch, [ready_node("w1")], **{option: ["w1"]})
    assert rc == 0, result
    assert result["matched"] == ["w1"] and result["unmatched"] == []
    assert result["nodes"] == {"w1": {"ready": True, "last_heartbeat": HEARTBEAT, "kernel_version": "6.8.0-45-generic",
                                      "os_image": "Ubuntu 24.04.1 LTS", "matched": True,
                                      "message": "Ready, last heartbeat %s, kernel 6.8.0-45-generic, OS image Ubuntu 24.04.1 LTS"
                                                 % HEARTBEAT}}
    assert result["msg"] == "1 of 1 nodes Ready and as expected"
    assert lister.calls[0]["field_selector"] == "metadata.name=w1"


def test_an_empty_list_under_the_alias_waits_for_nothing_and_reads_nothing(capsys, monkeypatch):
    rc, result, lister = run_main(capsys, monkeypatch, [], names=[])
    assert rc == 0 and result["nodes"] == {} and result["msg"] == "0 of 0 nodes Ready and as expected"
    assert lister.calls == []


def test_the_node_list_is_required(capsys, monkeypatch):
    rc, result, dummy = run_main(capsys, monkeypatch, [])
    assert rc == 1 and "nodes" in result["msg"], result


def test_a_bad_name_given_under_the_alias_is_reported_under_nodes(capsys, monkeypatch):
    rc, result, lister = run_main(capsys, monkeypatch, [], names=["Worker_1"])
    assert rc == 1 and result["msg"].startswith("nodes: invalid name 'Worker_1'"), result
    assert lister.calls == []


def test_check_params_reads_the_option_nodes():
    names, expect = node_wait.check_params({"nodes": ["b", "a", "b"], "timeout": 5, "ready_after": None,
                                            "kernel_version": None, "os_image": None}, None)
    assert names == ["b", "a"] and expect == {"ready_after": None, "kernel_version": None, "os_image": None}
    with pytest.raises(InvalidInput, match="timeout: must be a positive number of seconds, not 0"):
        node_wait.check_params({"nodes": [], "timeout": 0, "ready_after": None, "kernel_version": None, "os_image": None}, None)
