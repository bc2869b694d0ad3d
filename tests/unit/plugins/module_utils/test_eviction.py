# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disk eviction thresholds as the kubelet builds them, and image GC's high threshold against them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.eviction import (
    CONFIGZ,
    HARD,
    IMAGEFS,
    KUBELET_DEFAULT,
    NODEFS,
    SOFT,
    Threshold,
    disk_thresholds,
    from_configz,
    gc_versus_eviction,
    percent,
    pressure_floors,
)

MAIN = "/var/lib/kubelet/config.yaml"
DROPIN = "/etc/kubernetes/kubelet.conf.d/50-site.conf"
GIB = 1 << 30


def _found(layers, main_path=MAIN):
    return [(t.kind, t.signal, t.value, t.source) for t in disk_thresholds(layers, main_path)]


def test_the_kubelet_defaults_without_an_eviction_hard_in_the_main_file():
    assert _found([(MAIN, {"kind": "KubeletConfiguration"})]) == [
        (HARD, NODEFS, "10%", KUBELET_DEFAULT), (HARD, IMAGEFS, "15%", KUBELET_DEFAULT)]
    assert _found([], None) == [(HARD, NODEFS, "10%", KUBELET_DEFAULT), (HARD, IMAGEFS, "15%", KUBELET_DEFAULT)]


def test_a_main_file_eviction_hard_replaces_the_defaults_whole():
    assert _found([(MAIN, {"evictionHard": {"memory.available": "500Mi"}})]) == []
    assert _found([(MAIN, {"evictionHard": {}})]) == []


def test_merge_default_eviction_settings_adds_the_defaults_the_main_file_lacks():
    main = {"evictionHard": {"imagefs.available": "20%"}, "mergeDefaultEvictionSettings": True}
    assert _found([(MAIN, main)]) == [(HARD, IMAGEFS, "20%", MAIN), (HARD, NODEFS, "10%", KUBELET_DEFAULT)]


def test_a_dropin_merges_signal_by_signal_and_null_removes_one():
    layers = [(MAIN, {}), (DROPIN, {"evictionHard": {"imagefs.available": "25%", "nodefs.available": None}})]
    assert _found(layers) == [(HARD, IMAGEFS, "25%", DROPIN)]


def test_zero_and_hundred_percent_are_ignored_as_the_kubelet_does():
    assert _found([(MAIN, {"evictionHard": {"imagefs.available": "0%", "nodefs.available": "100%"}})]) == []


def test_soft_thresholds_count_too():
    layers = [(MAIN, {"evictionHard": {}, "evictionSoft": {"imagefs.available": "20%"}})]
    assert _found(layers) == [(SOFT, IMAGEFS, "20%", MAIN)]


def _threshold(signal, value, kind=HARD, source=KUBELET_DEFAULT):
    return Threshold(kind, signal, value, source)


def test_a_high_threshold_at_or_above_imagefs_eviction_is_refused_with_the_numbers():
    refusal, warnings = gc_versus_eviction(85, MAIN, [_threshold(IMAGEFS, "15%")], ours=True)
    assert refusal == ("nothing was changed: imageGCHighThresholdPercent 85 (from %s) is at or above 85%%, the usage at "
                       "which evictionHard imagefs.available<15%% (from kubelet default) puts the node under DiskPressure: "
                       "the kubelet would then delete every unused image at once and evict pods, and its gradual image GC "
                       "would never run first; use a high threshold below 85" % MAIN)
    assert warnings == []
    assert gc_versus_eviction(84, MAIN, [_threshold(IMAGEFS, "15%")], ours=True) == (None, [])


def test_fractional_percentages_are_compared_exactly():
    assert gc_versus_eviction(92, MAIN, [_threshold(IMAGEFS, "7.5%")], ours=True) == (None, [])
    refusal, _warnings = gc_versus_eviction(93, MAIN, [_threshold(IMAGEFS, "7.5%")], ours=True)
    assert "at or above 92.5%" in refusal and "below 92.5" in refusal


def test_the_highest_threshold_wins_and_soft_counts():
    thresholds = [_threshold(IMAGEFS, "10%"), _threshold(IMAGEFS, "20%", kind=SOFT, source=MAIN)]
    refusal, _warnings = gc_versus_eviction(85, MAIN, thresholds, ours=True)
    assert "evictionSoft imagefs.available<20%" in refusal and "imagefs.available<10%" not in refusal


def test_a_value_not_being_written_only_warns():
    refusal, warnings = gc_versus_eviction(85, KUBELET_DEFAULT, [_threshold(IMAGEFS, "15%")], ours=False)
    assert refusal is None and len(warnings) == 1 and warnings[0].startswith("imageGCHighThresholdPercent 85 (from kubelet default)")


def test_nodefs_warns_since_the_image_store_may_be_elsewhere():
    refusal, warnings = gc_versus_eviction(82, MAIN, [_threshold(NODEFS, "20%")], ours=True)
    assert refusal is None
    assert len(warnings) == 1 and warnings[0].endswith("(this counts where the image store is on the node's root filesystem)")


def test_an_absolute_threshold_warns_that_it_was_not_compared():
    refusal, warnings = gc_versus_eviction(82, MAIN, [_threshold(IMAGEFS, "10Gi")], ours=True)
    assert refusal is None and warnings[0].startswith("evictionHard imagefs.available<10Gi (from kubelet default) is an absolute amount")


@pytest.mark.parametrize("value, problem", [("x%", "is not a percentage"), ("120%", "must be between 0% and 100%"),
                                            ("-5%", "must be between 0% and 100%")])
def test_a_bad_percentage_names_the_signal_and_its_file(value, problem):
    with pytest.raises(InvalidInput) as caught:
        percent(_threshold(IMAGEFS, value, source=DROPIN))
    assert caught.value.msg.startswith("evictionHard imagefs.available %r in %s" % (value, DROPIN)) and problem in caught.value.msg


def test_configz_gives_the_high_threshold_and_the_disk_thresholds_the_kubelet_runs_with():
    config = {"imageGCHighThresholdPercent": 80, "evictionHard": {"imagefs.available": "15%", "memory.available": "100Mi",
                                                                  "nodefs.available": "0%"},
              "evictionSoft": {"nodefs.available": "20%"}}
    high, thresholds = from_configz(config)
    assert high == 80
    assert [(t.kind, t.signal, t.value, t.source) for t in thresholds] == [
        (HARD, IMAGEFS, "15%", CONFIGZ), (SOFT, NODEFS, "20%", CONFIGZ)]
    assert from_configz(None) == (None, [])
    assert from_configz({"imageGCHighThresholdPercent": "80"}) == (None, [])


def test_pressure_floors_in_bytes():
    thresholds = [_threshold(IMAGEFS, "15%"), _threshold(IMAGEFS, "10Gi", kind=SOFT), _threshold(NODEFS, "20%"),
                  _threshold(IMAGEFS, "lots")]
    assert pressure_floors(thresholds, 200 * GIB, shares_node_fs=False) == [
        ("evictionHard imagefs.available<15%", 30.0 * GIB), ("evictionSoft imagefs.available<10Gi", 10.0 * GIB)]
    assert ("evictionHard nodefs.available<20%", 40.0 * GIB) in pressure_floors(thresholds, 200 * GIB, shares_node_fs=True)
