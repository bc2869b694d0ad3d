# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image filesystem check before a node is admitted: sizes, what is missing, and the kubelet's GC threshold."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_fs import (
    check_image_sizes,
    image_fs_verdict,
    image_sizes,
    missing_images,
    same_image,
    usage_percent,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
GIB = 1 << 30
SMALL = "127.0.0.1:5000/prewarm-test/small:1"
BIG = "registry.example.com/ml/model@" + DIGEST


def node(*images):
    return {"metadata": {"name": "n"}, "status": {"images": [{"names": list(names), "sizeBytes": size} for names, size in images]}}


def summary(capacity, available):
    return {"node": {"runtime": {"imageFs": {"capacityBytes": capacity, "availableBytes": available, "usedBytes": 1}}}}


@pytest.mark.parametrize("wanted, listed, same", [
    ("busybox", "docker.io/library/busybox:latest", True),
    ("busybox:1.36", "docker.io/library/busybox:latest", False),
    (BIG, "registry.example.com/ml/model@" + DIGEST, True),
    (BIG, "registry.example.com/ml/model@" + OTHER, False),
    (BIG, "registry.example.com/other@" + DIGEST, False),
    ("registry.example.com/ml/model:4@" + DIGEST, "registry.example.com/ml/model@" + DIGEST, True),
    (SMALL, "127.0.0.1:5000/prewarm-test/small@" + DIGEST, False),
    (SMALL, "sha256:" + "c" * 64, False),
])
def test_same_image(wanted, listed, same):
    assert same_image(parse_image_reference(wanted), listed) is same


def test_missing_images_keeps_the_order_and_matches_any_listed_name():
    held = node(((SMALL, "127.0.0.1:5000/prewarm-test/small@" + OTHER), 1000))
    assert missing_images(held, [BIG, SMALL, "busybox"]) == [BIG, "busybox"]
    assert missing_images({"metadata": {"name": "kwok"}, "status": {}}, [SMALL]) == [SMALL]


def test_sizes_come_from_the_user_first_then_the_largest_any_node_reports():
    nodes = [node(((SMALL,), 1000)), node(((SMALL,), 1200), (("registry.example.com/ml/model@" + DIGEST,), 5 * GIB))]
    sizes = image_sizes([SMALL, BIG, "busybox"], nodes, given={"docker.io/library/busybox:latest": 7})
    assert sizes == {SMALL: 1200, BIG: 5 * GIB, "busybox": 7}
    assert image_sizes([SMALL], [], None) == {SMALL: None}


def test_check_image_sizes_names_the_bad_entry():
    assert check_image_sizes({SMALL: 10}, "image_sizes") == {SMALL: 10}
    with pytest.raises(InvalidInput, match="image_sizes: size of .* must be a whole number of bytes >= 0, not '1G'"):
        check_image_sizes({SMALL: "1G"}, "image_sizes")
    with pytest.raises(InvalidInput, match="image_sizes: invalid image reference 'Bad'"):
        check_image_sizes({"Bad": 1}, "image_sizes")


def test_usage_is_computed_like_the_kubelet():
    assert usage_percent(100, 15) == 85
    assert usage_percent(1000, 151) == 85  # 100 - 15 (integer division of 15.1)


def test_refused_at_or_above_the_high_threshold_with_the_numbers():
    refusal, warnings = image_fs_verdict(summary(100 * GIB, 20 * GIB), [BIG], {BIG: 5 * GIB}, 85)
    assert warnings == []
    assert refusal.startswith("preloading would bring image filesystem usage to 85%, at or above image_gc_high_threshold 85%")
    assert "80.0 GiB of 100.0 GiB used (80%%), missing images need 5.0 GiB (%s)" % BIG in refusal


def test_admitted_below_the_threshold():
    assert image_fs_verdict(summary(100 * GIB, 20 * GIB), [BIG], {BIG: 4 * GIB}, 85) == (None, [])


def test_nothing_missing_needs_no_stats():
    assert image_fs_verdict(None, [], {}, 85) == (None, [])


def test_threshold_100_disables_gc_so_only_a_pull_that_does_not_fit_is_refused():
    assert image_fs_verdict(summary(100 * GIB, 5 * GIB), [BIG], {BIG: 4 * GIB}, 100) == (None, [])
    refusal, _warnings = image_fs_verdict(summary(100 * GIB, 5 * GIB), [BIG], {BIG: 6 * GIB}, 100)
    assert refusal.startswith("the images do not fit") and "only 5.0 GiB available" in refusal


def test_unknown_sizes_warn_and_the_known_ones_still_count():
    refusal, warnings = image_fs_verdict(summary(100 * GIB, 20 * GIB), [SMALL, BIG], {SMALL: None, BIG: 1 * GIB}, 85)
    assert refusal is None
    assert warnings == ["size unknown (no node holds it yet; give it in image_sizes) of %s: the check counts only the others" % SMALL]
    refusal, _warnings = image_fs_verdict(summary(100 * GIB, 20 * GIB), [SMALL, BIG], {SMALL: None, BIG: 6 * GIB}, 85)
    assert refusal is not None


@pytest.mark.parametrize("stats, why", [
    (None, "no stats summary"),
    ({"node": {"runtime": None}}, "no runtime.imageFs"),
    ({"node": {"runtime": {"imageFs": {"capacityBytes": 0, "availableBytes": 0}}}}, "no runtime.imageFs"),
])
def test_unreadable_stats_warn_and_never_refuse(stats, why):
    refusal, warnings = image_fs_verdict(stats, [BIG], {BIG: 500 * GIB}, 85)
    assert refusal is None
    assert len(warnings) == 1 and why in warnings[0]


# --- the kubelet's own thresholds, from its /configz ---------------------------------------


def summary_with_node_fs(capacity, available, node_fs_capacity):
    stats = summary(capacity, available)
    stats["node"]["fs"] = {"capacityBytes": node_fs_capacity, "availableBytes": available}
    return stats


def test_the_kubelets_own_high_threshold_replaces_the_option():
    config = {"imageGCHighThresholdPercent": 78, "evictionHard": {}}
    refusal, _warnings = image_fs_verdict(summary(100 * GIB, 25 * GIB), [BIG], {BIG: 4 * GIB}, 85, kubelet_config=config)
    assert refusal.startswith("preloading would bring image filesystem usage to 79%, at or above image_gc_high_threshold 78% "
                              "(the kubelet's /configz)")
    assert image_fs_verdict(summary(100 * GIB, 25 * GIB), [BIG], {BIG: 2 * GIB}, 85, kubelet_config=config) == (None, [])


def test_a_pull_into_imagefs_eviction_is_refused_even_with_gc_off():
    config = {"imageGCHighThresholdPercent": 100, "evictionHard": {"imagefs.available": "15%", "memory.available": "100Mi"}}
    refusal, _warnings = image_fs_verdict(summary(100 * GIB, 20 * GIB), [BIG], {BIG: 5 * GIB}, 85, kubelet_config=config)
    assert refusal.startswith("preloading would leave 15.0 GiB available on the image filesystem, at or below the "
                              "evictionHard imagefs.available<15% (from the kubelet's /configz)")
    assert image_fs_verdict(summary(100 * GIB, 20 * GIB), [BIG], {BIG: 4 * GIB}, 85, kubelet_config=config) == (None, [])


def test_soft_and_absolute_thresholds_count():
    config = {"imageGCHighThresholdPercent": 100, "evictionSoft": {"imagefs.available": "30Gi"}}
    refusal, _warnings = image_fs_verdict(summary(100 * GIB, 40 * GIB), [BIG], {BIG: 11 * GIB}, 85, kubelet_config=config)
    assert "evictionSoft imagefs.available<30Gi" in refusal
    assert image_fs_verdict(summary(100 * GIB, 40 * GIB), [BIG], {BIG: 9 * GIB}, 85, kubelet_config=config) == (None, [])


def test_nodefs_counts_only_where_the_image_store_is_the_nodes_filesystem():
    config = {"imageGCHighThresholdPercent": 100, "evictionHard": {"nodefs.available": "30%", "imagefs.available": "5%"}}
    separate = summary_with_node_fs(100 * GIB, 40 * GIB, 50 * GIB)
    assert image_fs_verdict(separate, [BIG], {BIG: 20 * GIB}, 85, kubelet_config=config) == (None, [])
    shared = summary_with_node_fs(100 * GIB, 40 * GIB, 100 * GIB)
    refusal, _warnings = image_fs_verdict(shared, [BIG], {BIG: 20 * GIB}, 85, kubelet_config=config)
    assert "evictionHard nodefs.available<30%" in refusal
