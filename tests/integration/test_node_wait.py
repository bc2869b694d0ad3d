"""prewarm.k8s.node_wait against kwok nodes: Ready, a heartbeat since a moment, kernel and OS image as the nodes report them.

kwok posts a node's status once and then leaves its heartbeat alone, so a heartbeat is posted here the way a
kubelet posts one when it starts: a status update of the Ready condition (Ready stays True, so nothing else changes).
"""
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from run_ansible import run_module


@pytest.fixture
def kwok_node(core_v1, kwok_pools):
    pool = sorted(kwok_pools)[-1]
    return sorted(n.metadata.name for n in core_v1.list_node(label_selector="type=kwok,pool=" + pool).items)[-1]


def node_wait(kubeconfig, names, **args):
    return run_module("node_wait", dict({"kubeconfig": kubeconfig, "nodes": names}, **args))


def post_heartbeat(core_v1, name):
    """What a kubelet does right after it starts: report Ready with a fresh heartbeat."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    core_v1.patch_node_status(name, {"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "heartbeat posted by test_node_wait",
         "lastHeartbeatTime": now}]}})
    return now


def test_ready_nodes_match_and_report_what_the_nodes_say(core_v1, kubeconfig):
    names = sorted(n.metadata.name for n in core_v1.list_node(label_selector="type=kwok").items)
    info = core_v1.read_node(names[0]).status.node_info
    result = node_wait(kubeconfig, names, kernel_version=info.kernel_version, os_image=info.os_image, timeout=30)

    assert not result.get("failed"), result["msg"]
    assert result["matched"] == names and result["unmatched"] == [] and not result["changed"]
    assert result["msg"] == "%d of %d nodes Ready and as expected" % (len(names), len(names))
    for name in names:
        node = result["nodes"][name]
        assert node["ready"] and node["matched"] and node["kernel_version"] == info.kernel_version
        ready = [c for c in core_v1.read_node(name).status.conditions if c.type == "Ready"][0]
        assert node["last_heartbeat"] == ready.last_heartbeat_time.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_wrong_kernel_times_out_naming_the_node_and_both_kernels(core_v1, kubeconfig, kwok_node):
    kernel = core_v1.read_node(kwok_node).status.node_info.kernel_version
    result = node_wait(kubeconfig, [kwok_node], kernel_version="6.8.0-99-generic", timeout=3)
    assert result.get("failed")
    assert result["msg"] == ("timed out after 3s: 1 of 1 nodes not as expected: %s: kernel is %r, expected '6.8.0-99-generic'"
                             % (kwok_node, kernel))
    assert result["unmatched"] == [kwok_node] and result["nodes"][kwok_node]["ready"]


def test_ready_after_needs_a_heartbeat_since_then_and_sees_it_through_the_watch(core_v1, kubeconfig, kwok_node):
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = node_wait(kubeconfig, [kwok_node], ready_after=since, timeout=2)
    # A node that was Ready all along but has not reported since: not proof the kubelet came back.
    ready = [c for c in core_v1.read_node(kwok_node).status.conditions if c.type == "Ready"][0]
    if ready.last_heartbeat_time.strftime("%Y-%m-%dT%H:%M:%SZ") < since:
        assert stale.get("failed") and "no kubelet heartbeat since %s yet" % since in stale["msg"], stale["msg"]

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(node_wait, kubeconfig, [kwok_node], ready_after=since, timeout=60)
        posted = post_heartbeat(core_v1, kwok_node)
        result = waiting.result()
    assert not result.get("failed"), result["msg"]
    assert result["ready_after"] == since and result["nodes"][kwok_node]["last_heartbeat"] == posted
    assert result["elapsed"] < 60


def test_ready_after_now_is_resolved_when_the_module_starts(kubeconfig, kwok_node):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = node_wait(kubeconfig, [kwok_node], ready_after="now", timeout=1)
    resolved = datetime.fromisoformat(result["ready_after"].replace("Z", "+00:00"))
    assert before <= resolved <= datetime.now(timezone.utc)


def test_a_node_that_does_not_exist_is_waited_for_and_named(kubeconfig):
    result = node_wait(kubeconfig, ["no-such-node-nw"], timeout=2)
    assert result.get("failed")
    assert "no-such-node-nw: the node does not exist" in result["msg"]


def test_bad_ready_after_fails_naming_option_and_value(kubeconfig, kwok_node):
    result = node_wait(kubeconfig, [kwok_node], ready_after="yesterday")
    assert result.get("failed") and result["msg"].startswith("ready_after: 'yesterday' is not an RFC 3339 time")


def test_no_names_is_nothing_to_wait_for(kubeconfig):
    result = node_wait(kubeconfig, [])
    assert not result.get("failed") and result["nodes"] == {} and result["matched"] == []
