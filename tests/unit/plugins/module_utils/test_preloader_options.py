# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import (
    DEFAULT_COPIER_IMAGE,
    DEFAULT_PAUSE_IMAGE,
    MAINTENANCE_KEY,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_options import (
    DEFAULT_RESOURCES,
    build_preloader_spec,
    check_identity,
    check_max_unavailable,
    check_resources,
    check_toleration,
    merge_tolerations,
)

MAINTENANCE_TOLERATION = {"key": MAINTENANCE_KEY, "operator": "Exists"}


def params(**overrides):
    base = dict(
        name="preload-web", namespace="prewarm-system", pool=None, state="present",
        images=["nginx:1.27"], agent_image="registry.example.com/prewarm/agent:0.1.0",
        node_selector={}, scope="pool", tolerations=[], tolerate_maintenance=True,
        image_pull_secrets=[], image_pull_policy="IfNotPresent", resources=None,
        priority_class_name=None, labels={}, max_unavailable=None,
    )
    base.update(overrides)
    return base


def expect_invalid(fragment, **overrides):
    with pytest.raises(InvalidInput) as err:
        build_preloader_spec(params(**overrides))
    assert fragment in err.value.msg, err.value.msg
    return err.value.msg


def test_defaults():
    spec = build_preloader_spec(params())
    assert spec.pool == "preload-web"
    assert spec.tolerations == [MAINTENANCE_TOLERATION]
    assert spec.resources == DEFAULT_RESOURCES
    assert spec.max_unavailable == "10%"
    assert spec.node_selector == {}
    assert [i.original for i in spec.images] == ["nginx:1.27"]


def test_scope_maintenance_adds_the_maintenance_label_to_the_node_selector():
    spec = build_preloader_spec(params(scope="maintenance", node_selector={"node.kubernetes.io/pool": "web"}))
    assert spec.node_selector == {"node.kubernetes.io/pool": "web", MAINTENANCE_KEY: "true"}


def test_scope_maintenance_contradicted_by_node_selector():
    expect_invalid("contradicts scope=maintenance", scope="maintenance", node_selector={MAINTENANCE_KEY: "false"})


@pytest.mark.parametrize("overrides, fragment", [
    (dict(name="Preload"), "name: invalid name 'Preload'"),
    (dict(name="p" * 64), "at most 63"),
    (dict(namespace="prewarm.system"), "namespace: invalid name 'prewarm.system'"),
    (dict(pool="web pool"), "pool: invalid value 'web pool'"),
    (dict(images=["nginx:1.27", "Bad/Image"]), "images: invalid image reference 'Bad/Image'"),
    (dict(images=["nginx@sha256:1234"]), "images: invalid image reference 'nginx@sha256:1234'"),
    (dict(images=[]), "images: at least one image"),
    (dict(images=["busybox", "docker.io/library/busybox"]), "listed twice"),
    (dict(agent_image="Agent"), "agent_image: invalid image reference 'Agent'"),
    (dict(agent_image=None, pause_image="Pause:1"), "pause_image: invalid image reference 'Pause:1'"),
    (dict(agent_image=None, copier_image="busybox:"), "copier_image: invalid image reference 'busybox:'"),
    (dict(pause_image="registry.k8s.io/pause:3.10.2"), "pause_image: not used with agent_image"),
    (dict(copier_image="busybox:1.37.0-musl"), "copier_image: not used with agent_image"),
    (dict(mode="volumes"), "mode: 'volumes' must be one of auto, volume, init"),
    (dict(node_selector={"bad key!": "x"}), "node_selector: invalid key 'bad key!'"),
    (dict(node_selector={"pool": "not valid!"}), "node_selector[pool]: invalid value 'not valid!'"),
    (dict(node_selector={"gpu": True}), "must be a string"),
    (dict(labels={"team": "-x"}), "labels[team]: invalid value '-x'"),
    (dict(labels={"prewarm.k8s/pool": "web"}), "labels: prewarm.k8s/pool set by the module"),
    (dict(labels={"app.kubernetes.io/managed-by": "me"}), "set by the module"),
    (dict(image_pull_secrets=["Registry"]), "image_pull_secrets: invalid name 'Registry'"),
    (dict(image_pull_secrets=["a", "a"]), "lists a secret twice"),
    (dict(priority_class_name="High_Prio"), "priority_class_name: invalid name 'High_Prio'"),
    (dict(tolerations=[{"key": "a", "operator": "In"}]), "tolerations[0]: invalid operator 'In'"),
    (dict(tolerations=[{"key": "a", "effect": "NoScheduleX"}]), "invalid effect 'NoScheduleX'"),
    (dict(image_pull_policy="Sometimes"), "image_pull_policy: 'Sometimes'"),
    (dict(max_unavailable=0), "max_unavailable: invalid value 0"),
    (dict(resources={"requests": {"cpu": "ten"}}), "resources.requests.cpu: invalid quantity 'ten'"),
])
def test_bad_input_names_option_and_value(overrides, fragment):
    expect_invalid(fragment, **overrides)


def test_check_identity_is_enough_for_absent():
    check_identity(params(images=None, agent_image=None))
    with pytest.raises(InvalidInput):
        check_identity(params(name="x_y"))


@pytest.mark.parametrize("toleration, expected", [
    ({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
     {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}),
    ({"operator": "Exists"}, {"operator": "Exists"}),
    ({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
     {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
    ({"key": "a", "operator": "Exists", "value": "", "effect": None}, {"key": "a", "operator": "Exists"}),
])
def test_valid_tolerations_are_normalised(toleration, expected):
    assert check_toleration(toleration, "tolerations[0]") == expected


@pytest.mark.parametrize("toleration, fragment", [
    ("dedicated=gpu", "must be a dictionary"),
    ({"key": "a", "toleration_seconds": 5}, "unknown field(s) toleration_seconds"),
    ({"value": "x"}, "has no key"),
    ({"key": "a", "operator": "Exists", "value": "x"}, "Exists takes no value"),
    ({"key": "bad key", "operator": "Exists"}, "invalid key 'bad key'"),
    ({"key": "a", "value": "not ok!"}, "invalid value 'not ok!'"),
    ({"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}, "only to effect NoExecute"),
    ({"key": "a", "effect": "NoExecute", "tolerationSeconds": "5"}, "must be an integer"),
])
def test_bad_tolerations(toleration, fragment):
    with pytest.raises(InvalidInput) as err:
        check_toleration(toleration, "tolerations[0]")
    assert err.value.msg.startswith("tolerations[0]")
    assert fragment in err.value.msg


def test_maintenance_toleration_merged_once():
    user = [{"key": "dedicated", "operator": "Exists"}]
    assert merge_tolerations(user, True) == user + [MAINTENANCE_TOLERATION]
    assert merge_tolerations([MAINTENANCE_TOLERATION], True) == [MAINTENANCE_TOLERATION]
    assert merge_tolerations(user, False) == user
    assert merge_tolerations(None, False) == []


def test_toleration_index_in_message():
    with pytest.raises(InvalidInput) as err:
        merge_tolerations([{"operator": "Exists"}, {"key": "a", "operator": "Bad"}], True)
    assert err.value.msg.startswith("tolerations[1]")


def test_resources_numbers_become_strings():
    assert check_resources({"requests": {"cpu": 1, "memory": "64Mi"}, "limits": {"cpu": 0.5}}, "resources") == {
        "requests": {"cpu": "1", "memory": "64Mi"}, "limits": {"cpu": "0.5"}}
    assert check_resources({}, "resources") == {}


@pytest.mark.parametrize("resources, fragment", [
    ({"request": {"cpu": "1"}}, "unknown key(s) request"),
    ({"limits": ["cpu"]}, "resources.limits: must be a dictionary"),
    ({"limits": {"cpu": "-1"}}, "invalid quantity '-1'"),
    ({"limits": {"memory": "16MB"}}, "invalid quantity '16MB'"),
    ({"limits": {"bad name!": "1"}}, "invalid resource name"),
    ("small", "must be a dictionary"),
])
def test_bad_resources(resources, fragment):
    with pytest.raises(InvalidInput) as err:
        check_resources(resources, "resources")
    assert fragment in err.value.msg


@pytest.mark.parametrize("value, expected", [(1, 1), ("3", 3), ("10%", "10%"), ("100%", "100%")])
def test_max_unavailable_valid(value, expected):
    assert check_max_unavailable(value, "max_unavailable") == expected


@pytest.mark.parametrize("value", [0, -1, "0%", "101%", "ten", True, 1.5, "10 %"])
def test_max_unavailable_invalid(value):
    with pytest.raises(InvalidInput):
        check_max_unavailable(value, "max_unavailable")


def test_scope_admitted_adds_the_daemonsets_own_admission_label_to_the_node_selector():
    spec = build_preloader_spec(params(scope="admitted", node_selector={"node.kubernetes.io/pool": "web"}))
    assert spec.node_selector == {"node.kubernetes.io/pool": "web", "preload.prewarm.k8s/preload-web": "true"}


def test_scope_admitted_contradicted_by_node_selector():
    expect_invalid("preload.prewarm.k8s/preload-web='no' contradicts scope=admitted",
                   scope="admitted", node_selector={"preload.prewarm.k8s/preload-web": "no"})


def test_without_agent_image_the_public_helper_images_are_the_defaults():
    spec = build_preloader_spec(params(agent_image=None))
    assert (spec.agent_image, spec.pause_image, spec.copier_image) == (None, DEFAULT_PAUSE_IMAGE, DEFAULT_COPIER_IMAGE)
    assert spec.mode == "auto"
    own = build_preloader_spec(params(agent_image="", pause_image="mirror.example/pause:3.10.2", copier_image="mirror.example/bb:1",
                                      mode="init"))
    assert (own.agent_image, own.pause_image, own.copier_image, own.mode) == (
        None, "mirror.example/pause:3.10.2", "mirror.example/bb:1", "init")


def test_the_pool_selector_is_the_users_selector_whatever_the_scope():
    for scope in ("pool", "maintenance", "admitted"):
        spec = build_preloader_spec(params(scope=scope, node_selector={"node.kubernetes.io/pool": "web"}))
        assert spec.pool_selector == {"node.kubernetes.io/pool": "web"}
