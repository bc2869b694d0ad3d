"""warmup's disk check on the real node uses the thresholds its kubelet runs with (/configz), not the option.

The test kubelet keeps image GC at 85% and has evictionHard imagefs.available 5% (tests/cluster/cluster-up.sh). The
option image_gc_high_threshold is set to 100 (GC off) on purpose: a node is still refused where the kubelet's own
GC threshold, and below that its eviction threshold, would be crossed. Check mode: nothing is written.
"""
import json
import uuid

import pytest

from run_ansible import run_module

NAME = "preload-imagefs"
REGISTRY = "127.0.0.1:5000"
ADMIT_LABEL = "preload.prewarm.k8s/" + NAME


@pytest.fixture
def lacking_image(move_tag, test_images):
    """An image of this test's own repository, which the real node does not hold under that name."""
    ref = "%s/prewarm-test/imagefs-%s:v1" % (REGISTRY, uuid.uuid4().hex[:8])
    move_tag(ref, test_images["small"]["ref"])
    return ref


def _image_fs(core_v1, node):
    response = core_v1.connect_get_node_proxy_with_path(node, "stats/summary", _preload_content=False, _request_timeout=30)
    image_fs = json.loads(response.data)["node"]["runtime"]["imageFs"]
    return image_fs["capacityBytes"], image_fs["availableBytes"]


def _gc_high_threshold(core_v1, node):
    """The kubelet's image GC high threshold as it runs now (its /configz): 85 on a new test cluster, what a demo run
    set (80) after one."""
    response = core_v1.connect_get_node_proxy_with_path(node, "configz", _preload_content=False, _request_timeout=30)
    return json.loads(response.data)["kubeletconfig"]["imageGCHighThresholdPercent"]


def test_the_disk_check_uses_the_kubelets_own_gc_and_eviction_thresholds(
        core_v1, kubeconfig, namespace, test_images, real_node, lacking_image):
    created = run_module("preloader", {"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace, "scope": "admitted",
                                       "images": [lacking_image], "agent_image": test_images["agent"]["ref"],
                                       "node_selector": {"kubernetes.io/hostname": real_node},
                                       "tolerations": [{"operator": "Exists"}]})
    assert not created.get("failed"), created["msg"]
    capacity, available = _image_fs(core_v1, real_node)
    args = {"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace, "nodes": [real_node], "image_gc_high_threshold": 100}

    # To 90% usage: past the kubelet's GC threshold (85, or 80 after a demo run), short of its eviction threshold (95).
    high = _gc_high_threshold(core_v1, real_node)
    assert high < 90, "the test kubelet's image GC high threshold is %s%%: this test needs it below 90%%" % high
    to_gc = run_module("warmup", dict(args, image_sizes={lacking_image: available - capacity * 10 // 100}), check=True)
    assert to_gc.get("failed"), to_gc
    assert "at or above image_gc_high_threshold %s%% (the kubelet's /configz)" % high in to_gc["refused"][real_node], \
        to_gc["refused"]

    # To 97%: below the 5% the kubelet keeps free before DiskPressure, while the image still fits.
    to_pressure = run_module("warmup", dict(args, image_sizes={lacking_image: available - capacity * 3 // 100}), check=True)
    assert to_pressure.get("failed"), to_pressure
    assert "at or below the evictionHard imagefs.available<5% (from the kubelet's /configz)" in to_pressure["refused"][real_node], \
        to_pressure["refused"]

    # Room to spare: admitted (would be, in check mode), and nothing written.
    fits = run_module("warmup", dict(args, image_sizes={lacking_image: 1}), check=True)
    assert real_node not in fits["refused"], fits["refused"]
    assert ADMIT_LABEL not in (core_v1.read_node(real_node).metadata.labels or {})
