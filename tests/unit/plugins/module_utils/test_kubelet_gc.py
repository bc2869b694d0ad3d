# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from collections import OrderedDict

import pytest
import yaml

from ansible_collections.prewarm.k8s.plugins.module_utils import kubelet_gc
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

MAIN = "/var/lib/kubelet/config.yaml"
OURS = "/etc/kubernetes/kubelet.conf.d/90-prewarm-image-gc.conf"

MAIN_TEXT = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# eviction tuned for big images
evictionHard:
  imagefs.available: 10%
imageGCHighThresholdPercent: 85
someFieldFromTheFuture: {x: 1}
"""


def params(**given):
    base = dict(image_gc_high_threshold=None, image_gc_low_threshold=None,
                image_minimum_gc_age=None, image_maximum_gc_age=None)
    base.update(given)
    return base


def desired(**given):
    return kubelet_gc.desired_settings(params(**given))


# --- options -------------------------------------------------------------------------------

def test_desired_keeps_only_given_options_in_field_names():
    assert desired(image_gc_high_threshold=82, image_maximum_gc_age=" 0s ") == OrderedDict(
        [("imageGCHighThresholdPercent", 82), ("imageMaximumGCAge", "0s")])


@pytest.mark.parametrize("given, message", [
    (dict(image_gc_high_threshold=101), "image_gc_high_threshold: 101 must be between 0 and 100"),
    (dict(image_gc_low_threshold=-1), "image_gc_low_threshold: -1 must be between 0 and 100"),
    (dict(image_gc_high_threshold=True), "image_gc_high_threshold: True must be an integer"),
    (dict(image_minimum_gc_age="2 minutes"), "image_minimum_gc_age: unknown unit ' minutes'"),
    (dict(image_minimum_gc_age="120"), "image_minimum_gc_age: missing unit in duration '120'"),
    (dict(image_maximum_gc_age="-1h"), "image_maximum_gc_age: '-1h' is negative"),
    (dict(image_minimum_gc_age="-5s"), "image_minimum_gc_age: '-5s' is negative"),
    (dict(), "nothing to set"),
])
def test_desired_rejects_bad_options_naming_them(given, message):
    with pytest.raises(InvalidInput, match=message):
        desired(**given)


@pytest.mark.parametrize("name", ["90-prewarm.yaml", "conf", "sub/90.conf", "", ".."])
def test_dropin_name_must_be_a_conf_file_name(name):
    with pytest.raises(InvalidInput, match="dropin_name"):
        kubelet_gc.check_dropin_name(name)


def test_dropin_name_accepts_conf_files():
    kubelet_gc.check_dropin_name("90-prewarm-image-gc.conf")
    kubelet_gc.check_dropin_name(".conf")  # Go's filepath.Ext(".conf") is ".conf": the kubelet reads it


# --- documents -----------------------------------------------------------------------------

@pytest.mark.parametrize("document, message", [
    ([1, 2], "top level is a list"),
    ("text", "top level is a str"),
    ({"kind": "KubeProxyConfiguration"}, "has kind 'KubeProxyConfiguration'"),
    ({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1"}, "has apiVersion"),
])
def test_check_document_refuses_other_things(document, message):
    with pytest.raises(InvalidInput, match=message):
        kubelet_gc.check_document(document, MAIN)


def test_pending_updates_compares_meaning_not_spelling():
    document = {"imageMinimumGCAge": "2m0s", "imageMaximumGCAge": 0, "imageGCHighThresholdPercent": 90}
    wanted = desired(image_minimum_gc_age="120s", image_maximum_gc_age="0s", image_gc_high_threshold=90)
    # imageMaximumGCAge: 0 (a number) is not a duration the kubelet reads, so it is rewritten.
    assert kubelet_gc.pending_updates(document, wanted) == {"imageMaximumGCAge": "0s"}


# --- layering ------------------------------------------------------------------------------

def test_effective_uses_defaults_then_last_file_wins_and_null_is_absent():
    layers = [(MAIN, {"imageGCHighThresholdPercent": 90, "imageMinimumGCAge": "5m"}),
              ("a.conf", {"imageGCHighThresholdPercent": 82, "imageMinimumGCAge": None}),
              ("b.conf", {"imageGCLowThresholdPercent": 60})]
    effective = kubelet_gc.effective_settings(layers)
    assert effective["imageGCHighThresholdPercent"] == (82, "a.conf")
    assert effective["imageGCLowThresholdPercent"] == (60, "b.conf")
    assert effective["imageMinimumGCAge"] == (5 * 60 * 10 ** 9, MAIN)
    assert effective["imageMaximumGCAge"] == (0, kubelet_gc.KUBELET_DEFAULT)
    assert kubelet_gc.describe_effective(effective) == OrderedDict([
        ("imageGCHighThresholdPercent", 82), ("imageGCLowThresholdPercent", 60),
        ("imageMinimumGCAge", "5m0s"), ("imageMaximumGCAge", "0s")])


@pytest.mark.parametrize("document, message", [
    ({"imageMinimumGCAge": 120}, "imageMinimumGCAge in b.conf: invalid duration 120"),
    ({"imageGCHighThresholdPercent": "85"}, "imageGCHighThresholdPercent in b.conf: '85' must be an integer"),
])
def test_effective_refuses_values_the_kubelet_cannot_read(document, message):
    with pytest.raises(InvalidInput, match=message):
        kubelet_gc.effective_settings([("b.conf", document)])


def effective(**fields):
    return kubelet_gc.effective_settings([("f.conf", fields)])


def test_check_effective_accepts_defaults_and_gc_disabled():
    kubelet_gc.check_effective(effective(), (None, None))
    kubelet_gc.check_effective(effective(imageGCHighThresholdPercent=100, imageGCLowThresholdPercent=99), (None, None))


@pytest.mark.parametrize("fields, gate, message", [
    (dict(imageGCLowThresholdPercent=85), (None, None),
     r"imageGCLowThresholdPercent 85 \(option image_gc_low_threshold; from f.conf\) must be less than "
     r"imageGCHighThresholdPercent 85 \(option image_gc_high_threshold; from kubelet default\)"),
    (dict(imageGCHighThresholdPercent=70), (None, None), "must be less than imageGCHighThresholdPercent 70"),
    (dict(imageMaximumGCAge="-1ns"), (None, None), "imageMaximumGCAge -1ns .* must not be negative"),
    (dict(imageMaximumGCAge="1m"), (None, None),
     r"imageMaximumGCAge 1m0s .* must be greater than imageMinimumGCAge 2m0s \(option image_minimum_gc_age; from kubelet default\)"),
    (dict(imageMaximumGCAge="2m", imageMinimumGCAge="120s"), (None, None), "must be greater than"),
    (dict(imageMaximumGCAge="1h"), (False, "gates.conf"), "needs the ImageMaximumGCAge feature gate, which gates.conf turns off"),
])
def test_check_effective_refuses_what_the_kubelet_refuses(fields, gate, message):
    with pytest.raises(InvalidInput, match="the kubelet would refuse to start.*" + message):
        kubelet_gc.check_effective(effective(**fields), gate)


def test_max_age_gate_is_read_from_the_last_file_setting_it():
    layers = [("a", {"featureGates": {"ImageMaximumGCAge": False}}),
              ("b", {"featureGates": {"Other": True}}),
              ("c", {"featureGates": {"ImageMaximumGCAge": True}})]
    assert kubelet_gc.max_age_gate(layers) == (True, "c")
    assert kubelet_gc.max_age_gate(layers[:2]) == (False, "a")
    assert kubelet_gc.max_age_gate([("a", {})]) == (None, None)


def test_image_gc_disabled_only_with_high_100_and_no_max_age():
    assert kubelet_gc.image_gc_disabled(effective(imageGCHighThresholdPercent=100))
    assert not kubelet_gc.image_gc_disabled(effective(imageGCHighThresholdPercent=100, imageMaximumGCAge="1h"))
    assert not kubelet_gc.image_gc_disabled(effective(imageGCHighThresholdPercent=99))


def test_split_dropins_follows_the_kubelet_walk_order():
    present = ["99-site.conf", "README", "10-base.conf", os.path.join("sub", "50.conf"), "a.conf",
               os.path.join("a", "x.conf"), "90-prewarm-image-gc.conf", "Z.conf", "notes.conf.bak"]
    before, after = kubelet_gc.split_dropins(present, "90-prewarm-image-gc.conf")
    assert before == ["10-base.conf"]
    # Byte order: digits < upper case < lower case; a directory "a" is walked before the file "a.conf".
    assert after == ["99-site.conf", "Z.conf", os.path.join("a", "x.conf"), "a.conf", os.path.join("sub", "50.conf")]
    assert kubelet_gc.split_dropins(present) == ([], ["10-base.conf"] + ["90-prewarm-image-gc.conf"] + after)


# --- plan ----------------------------------------------------------------------------------

def test_main_file_edit_keeps_everything_else():
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82, image_gc_low_threshold=75), MAIN, MAIN_TEXT, [], [], False)
    assert plan.changed
    assert plan.after == MAIN_TEXT.replace("Percent: 85", "Percent: 82") + "imageGCLowThresholdPercent: 75\n"
    assert plan.before == MAIN_TEXT
    assert plan.changes == [{"field": "imageGCHighThresholdPercent", "before": 85, "after": 82},
                            {"field": "imageGCLowThresholdPercent", "before": None, "after": 75}]
    assert plan.effective["imageGCLowThresholdPercent"] == 75
    assert plan.warnings == []
    assert not plan.image_gc_disabled


def test_second_run_is_not_a_change():
    wanted = desired(image_gc_high_threshold=82, image_minimum_gc_age="24h", image_maximum_gc_age="0s")
    first = kubelet_gc.plan_change(wanted, MAIN, MAIN_TEXT, [], [], False)
    second = kubelet_gc.plan_change(wanted, MAIN, first.after, [], [], False)
    assert not second.changed and second.after == first.after and second.changes == []
    equivalent = desired(image_gc_high_threshold=82, image_minimum_gc_age="1440m", image_maximum_gc_age="0")
    assert not kubelet_gc.plan_change(equivalent, MAIN, first.after, [], [], False).changed


def test_json_main_file_stays_json():
    text = json.dumps({"kind": "KubeletConfiguration", "port": 10250}, indent=2)
    plan = kubelet_gc.plan_change(desired(image_maximum_gc_age="168h"), MAIN, text, [], [], False)
    assert json.loads(plan.after) == {"kind": "KubeletConfiguration", "port": 10250, "imageMaximumGCAge": "168h"}


@pytest.mark.parametrize("text, message", [
    (None, "does not exist"),
    ("", "is empty"),
    ("# nothing here\n", "is empty"),
    ("kind: KubeProxyConfiguration\n", "has kind 'KubeProxyConfiguration'"),
    ("- a\n- b\n", "top level is a list"),
])
def test_main_file_must_be_a_kubelet_configuration(text, message):
    with pytest.raises(InvalidInput, match=message):
        kubelet_gc.plan_change(desired(image_gc_high_threshold=82), MAIN, text, [], [], False)


def test_low_is_checked_against_the_high_value_already_in_the_file():
    with pytest.raises(InvalidInput, match="imageGCLowThresholdPercent 85 .* must be less than imageGCHighThresholdPercent 85 .*from %s" % MAIN):
        kubelet_gc.plan_change(desired(image_gc_low_threshold=85), MAIN, MAIN_TEXT, [], [], False)


def test_low_is_checked_against_the_kubelet_default_high():
    with pytest.raises(InvalidInput, match="must be less than imageGCHighThresholdPercent 85 .*kubelet default"):
        kubelet_gc.plan_change(desired(image_gc_low_threshold=90), MAIN, "kind: KubeletConfiguration\n", [], [], False)


def test_main_file_without_kind_is_edited_with_a_warning():
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82), MAIN, "port: 10250\n", [], [], False)
    assert plan.after == "port: 10250\nimageGCHighThresholdPercent: 82\n"
    assert any("has no kind" in w for w in plan.warnings)


def test_flow_style_file_is_rewritten_in_full_with_a_warning():
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82), MAIN, "{kind: KubeletConfiguration, port: 1}\n", [], [], False)
    assert yaml.safe_load(plan.after) == {"kind": "KubeletConfiguration", "port": 1, "imageGCHighThresholdPercent": 82}
    assert any("written out in full" in w for w in plan.warnings)


def test_new_dropin_gets_header_api_version_and_kind():
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82, image_gc_low_threshold=75), OURS, None,
                                  [(MAIN, yaml.safe_load(MAIN_TEXT))], [], True)
    assert plan.changed and plan.before == ""
    assert plan.after == kubelet_gc.DROPIN_HEADER + (
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "imageGCHighThresholdPercent: 82\nimageGCLowThresholdPercent: 75\n")
    assert [c["field"] for c in plan.changes] == ["imageGCHighThresholdPercent", "imageGCLowThresholdPercent"]


def test_empty_dropin_is_filled_and_second_run_is_stable():
    wanted = desired(image_maximum_gc_age="0s")
    first = kubelet_gc.plan_change(wanted, OURS, "", [], [], True)
    assert yaml.safe_load(first.after) == {"apiVersion": kubelet_gc.API_VERSION, "kind": kubelet_gc.KIND, "imageMaximumGCAge": "0s"}
    assert not kubelet_gc.plan_change(wanted, OURS, first.after, [], [], True).changed


def test_dropin_without_kind_gets_it_added():
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82), OURS, "imageGCHighThresholdPercent: 82\n", [], [], True)
    assert plan.changed and plan.changes == []
    assert yaml.safe_load(plan.after)["kind"] == kubelet_gc.KIND


def test_dropin_read_later_overriding_ours_is_reported():
    later = [("/d/99-site.conf", {"imageGCHighThresholdPercent": 80, "imageGCLowThresholdPercent": 50})]
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82), OURS, None, [], later, True)
    assert plan.overridden == [{"field": "imageGCHighThresholdPercent", "file": "/d/99-site.conf", "value": 80}]
    assert plan.effective["imageGCHighThresholdPercent"] == 80
    assert any("/d/99-site.conf sets imageGCHighThresholdPercent to 80" in w and "has no effect" in w for w in plan.warnings)


def test_main_file_change_overridden_by_any_dropin():
    later = [("/d/10.conf", {"imageMinimumGCAge": "1m"})]
    plan = kubelet_gc.plan_change(desired(image_minimum_gc_age="1h"), MAIN, MAIN_TEXT, [], later, False)
    assert plan.overridden[0]["file"] == "/d/10.conf"
    assert plan.effective["imageMinimumGCAge"] == "1m0s"


def test_earlier_dropins_are_overridden_by_ours_silently():
    earlier = [(MAIN, {"imageGCHighThresholdPercent": 70}), ("/d/10.conf", {"imageGCHighThresholdPercent": 75})]
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=82, image_gc_low_threshold=75), OURS, None, earlier, [], True)
    assert plan.overridden == [] and plan.warnings == []
    assert plan.effective["imageGCHighThresholdPercent"] == 82


def test_a_later_dropin_making_the_result_invalid_is_refused():
    later = [("/d/99.conf", {"imageMinimumGCAge": "2h"})]
    with pytest.raises(InvalidInput, match="imageMaximumGCAge 1h0m0s .* must be greater than imageMinimumGCAge 2h0m0s .*from /d/99.conf"):
        kubelet_gc.plan_change(desired(image_maximum_gc_age="1h"), OURS, None, [], later, True)


def test_feature_gate_turned_off_in_the_main_file_is_refused():
    main = (MAIN, {"featureGates": {"ImageMaximumGCAge": False}})
    with pytest.raises(InvalidInput, match="feature gate, which %s turns off" % MAIN):
        kubelet_gc.plan_change(desired(image_maximum_gc_age="168h"), OURS, None, [main], [], True)


def test_high_100_disables_image_gc():
    # Only where imagefs eviction is off: else disk pressure would always come before image GC.
    text = MAIN_TEXT.replace("imagefs.available: 10%", 'imagefs.available: "0%"')
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=100), MAIN, text, [], [], False)
    assert plan.image_gc_disabled


def test_a_high_threshold_at_the_eviction_threshold_is_refused_before_writing():
    # MAIN_TEXT's evictionHard: imagefs.available 10%, so disk pressure starts at 90% usage.
    with pytest.raises(InvalidInput) as caught:
        kubelet_gc.plan_change(desired(image_gc_high_threshold=90), MAIN, MAIN_TEXT, [], [], False)
    assert caught.value.msg.startswith("nothing was changed: imageGCHighThresholdPercent 90 (from %s) is at or above 90%%" % MAIN)
    assert "evictionHard imagefs.available<10%% (from %s)" % MAIN in caught.value.msg
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=89), MAIN, MAIN_TEXT, [], [], False)
    assert plan.changed and plan.eviction == [{"kind": "evictionHard", "signal": "imagefs.available", "value": "10%", "source": MAIN}]


def test_a_dropin_is_checked_against_the_kubelet_default_eviction_of_a_main_file_without_one():
    main = (MAIN, {"kind": "KubeletConfiguration"})
    with pytest.raises(InvalidInput, match=r"at or above 85%, .*evictionHard imagefs.available<15% \(from kubelet default\)"):
        kubelet_gc.plan_change(desired(image_gc_high_threshold=85), OURS, None, [main], [], True, main_path=MAIN)
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=84), OURS, None, [main], [], True, main_path=MAIN)
    assert [(t["signal"], t["value"]) for t in plan.eviction] == [("nodefs.available", "10%"), ("imagefs.available", "15%")]
    assert plan.warnings == []


def test_a_high_threshold_another_file_sets_only_warns():
    later = [("/etc/kubernetes/kubelet.conf.d/99-site.conf", {"imageGCHighThresholdPercent": 95})]
    plan = kubelet_gc.plan_change(desired(image_gc_high_threshold=80), OURS, None, [(MAIN, {})], later, True, main_path=MAIN)
    assert any(w.startswith("imageGCHighThresholdPercent 95 (from /etc/kubernetes/kubelet.conf.d/99-site.conf) is at or above 85%")
               for w in plan.warnings)
