"""prewarm.k8s.warm_status against preloader pods on the real kubelet (real pulls, real digests, real pull failures) and on kwok.

The preloader DaemonSets are made with prewarm.k8s.preloader, each in its own fresh namespace (deleted afterwards with
its pods). What warm_status says is compared with what the cluster and the registry say: the pods' statuses, the
digests of images.json (computed when the images were pushed) and the kubelet's events.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from preloader_helpers import by_digest, kubelet_pull_events, really_pulled, remove_from_real_node
from run_ansible import run_module

NAME = "warm-it"
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")
# A label of the real node's that gates the DaemonSet: nothing runs there until the test sets it.
GATE_LABEL = "prewarm-it.test/warm-gate"


@pytest.fixture
def preload(kubeconfig, namespace, test_images):
    """Create the preloader DaemonSet NAME in the test namespace; fails the test when the module fails."""
    def create(images, **args):
        result = run_module("preloader", dict({"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace, "images": images,
                                               "agent_image": test_images["agent"]["ref"]}, **args))
        assert not result.get("failed"), result["msg"]
        return result
    return create


@pytest.fixture
def warm_status(kubeconfig, namespace):
    def run(**args):
        return run_module("warm_status", dict({"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace}, **args))
    return run


@pytest.fixture
def real_node_gate(core_v1, real_node, namespace):
    """open(): label the real node so the gated DaemonSet lands there; the label is removed afterwards."""
    def open_gate():
        core_v1.patch_node(real_node, {"metadata": {"labels": {GATE_LABEL: namespace}}})
    yield open_gate
    core_v1.patch_node(real_node, {"metadata": {"labels": {GATE_LABEL: None}}})


def _on_real_node(real_node, **extra):
    # Tolerate every taint: the real node may carry marks of tests running alongside, and these tests are about pulls.
    return dict({"node_selector": {"kubernetes.io/hostname": real_node}, "tolerations": [{"operator": "Exists"}]}, **extra)


@pytest.mark.parametrize("mode", ["init", "volume"])
def test_wait_follows_the_real_pulls_until_warm_and_reports_the_real_digests(core_v1, cluster_dir, namespace, preload, warm_status,
                                                                             real_node, real_node_gate, test_images, watch_until,
                                                                             mode):
    wanted = [test_images["small"], test_images["noshell"], test_images["large"]]
    refs = [test_images["small"]["ref"], by_digest(test_images["noshell"]), test_images["large"]["ref"]]
    remove_from_real_node(cluster_dir, wanted)
    # Gated: the DaemonSet exists but has no pod yet, so warm_status starts while the node is certainly cold.
    selector = _on_real_node(real_node)
    selector["node_selector"][GATE_LABEL] = namespace
    preload(refs, mode=mode, **selector)

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(warm_status, nodes=[real_node], wait=True, timeout=300)
        real_node_gate()
        opened = time.monotonic()
        result = waiting.result()
    seconds = time.monotonic() - opened

    assert not result.get("failed"), result["msg"]
    assert result["all_warm"] and result["warm"] == [real_node] and result["cold"] == []
    node = result["nodes"][real_node]
    assert node["ready"] and node["warm"]
    assert [(i["image"], i["state"], i["digest"]) for i in node["images"]] == [(ref, "present", image["digest"])
                                                                               for ref, image in zip(refs, wanted)]
    # What it reported is what the kubelet did: each image fetched from the registry just now (events are posted asynchronously).
    watch_until(core_v1.list_namespaced_event,
                lambda _e: all(really_pulled(kubelet_pull_events(core_v1, namespace, node["pod"]), ref) for ref in refs),
                60, namespace=namespace)
    events = kubelet_pull_events(core_v1, namespace, node["pod"])
    large_pulled = [m for r, m in events if r == "Pulled" and test_images["large"]["ref"] in m]
    print("\nreal node %s: preloader scheduled there -> warm_status all_warm in %.1fs (large image, %d MB; kubelet: %s)"
          % (real_node, seconds, test_images["large"]["size"] // 10 ** 6, large_pulled[0]))


def _node_lists(node, digest):
    return any(any(name.endswith("@" + digest) for name in image.names or []) for image in node.status.images or [])


@pytest.mark.parametrize("mode", ["init", "volume"])
def test_missing_image_reports_the_kubelets_pull_failure(core_v1, namespace, preload, warm_status, real_node, test_images, watch_until,
                                                         mode):
    small, missing = test_images["small"]["ref"], test_images["missing"]["ref"]
    # resolve_tags false: the pull must fail on the node (resolving would refuse the missing tag before any write).
    preload([small, missing], resolve_tags=False, mode=mode, **_on_real_node(real_node))

    # init: the second pull container waits with the pull failure; volume: the kubelet reports the failed image volume
    # on the one container that mounts it.
    failing = {"init": ("init_container_statuses", "pull-1"), "volume": ("container_statuses", "hold")}[mode]

    def pull_failing(pod):
        return any(s.name == failing[1] and s.state.waiting and s.state.waiting.reason in PULL_FAILURES
                   for s in getattr(pod.status, failing[0]) or [])
    pod = watch_until(core_v1.list_namespaced_pod, pull_failing, 180, namespace=namespace, label_selector="prewarm.k8s/preloader=" + NAME)
    if mode == "volume":
        # No container ran, so the pod says nothing of the image that was pulled: the node's own list does, once it lists it.
        watch_until(core_v1.list_node, lambda n: _node_lists(n, test_images["small"]["digest"]), 120,
                    field_selector="metadata.name=" + real_node)

    result = warm_status(nodes=[real_node], resolve_tags=False)
    assert not result.get("failed"), result["msg"]
    assert not result["all_warm"] and result["cold"] == [real_node]
    node = result["nodes"][real_node]
    assert node["pod"] == pod.metadata.name and node["ready"] and not node["warm"]
    present, failed = node["images"]
    assert (present["image"], present["state"], present["digest"]) == (small, "present", test_images["small"]["digest"])
    assert (failed["image"], failed["state"], failed["digest"]) == (missing, "failed", None)
    assert failed["reason"] in PULL_FAILURES
    # The kubelet's message names the image it could not pull.
    assert missing in failed["message"], failed

    result = warm_status(nodes=[real_node], wait=True, timeout=20, resolve_tags=False)
    assert result.get("failed")
    assert result["msg"].startswith("timed out after 20s: 1 of 1 nodes not warm: %s: " % real_node), result["msg"]
    assert "%s failed: " % missing in result["msg"]
    assert any(reason in result["msg"] for reason in PULL_FAILURES), result["msg"]
    assert 20 <= result["elapsed"] < 40


def test_kwok_pool_becomes_warm(core_v1, preload, warm_status, kwok_taint_key, test_images):
    nodes = sorted(n.metadata.name for n in core_v1.list_node(label_selector="pool=cpu").items)
    preload([test_images["small"]["ref"], by_digest(test_images["noshell"])], pool="cpu", node_selector={"pool": "cpu"},
            tolerations=[{"key": kwok_taint_key, "operator": "Exists"}])

    # No node named: the nodes the DaemonSet targets, i.e. the whole cpu pool and nothing else.
    result = warm_status(wait=True, timeout=120)
    assert not result.get("failed"), result["msg"]
    assert result["all_warm"] and result["warm"] == nodes and sorted(result["nodes"]) == nodes
    for name in nodes:
        assert [i["state"] for i in result["nodes"][name]["images"]] == ["present", "present"]


def test_unknown_node_fails_naming_it(preload, warm_status, real_node, test_images):
    preload([test_images["small"]["ref"]], **_on_real_node(real_node))
    result = warm_status(nodes=[real_node, "no-such-node-7f3a"], wait=True, timeout=30)
    assert result.get("failed")
    assert result["msg"] == "nodes: no such node: no-such-node-7f3a"
