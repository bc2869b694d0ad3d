# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.drift import state_patches, warmth_label


def test_the_label_is_per_preloader():
    assert warmth_label("preload-gpu") == "warmth.prewarm.k8s/preload-gpu"


def test_only_nodes_whose_label_does_not_say_their_state_get_a_patch():
    key = warmth_label("preload-gpu")
    results = {"a": {"state": "warm"}, "b": {"state": "stale"}, "c": {"state": "gone"}, "d": {"state": "cold"}}
    labels = {"a": {key: "warm"}, "b": {key: "warm"}, "c": {"other": "x"}}
    assert state_patches(results, labels, key) == {
        "b": {"metadata": {"labels": {key: "stale"}}},
        "c": {"metadata": {"labels": {key: "gone"}}},
        "d": {"metadata": {"labels": {key: "cold"}}},
    }
    assert state_patches({"a": {"state": "warm"}}, labels, key) == {}
