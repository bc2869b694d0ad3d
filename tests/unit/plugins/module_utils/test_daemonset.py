# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import (
    AGENT_BINARY,
    AGENT_INIT_CONTAINER,
    AGENT_INSTALLED_PATH,
    AGENT_MOUNT_PATH,
    AGENT_VOLUME,
    DEFAULT_COPIER_IMAGE,
    DEFAULT_PAUSE_IMAGE,
    HOLD_CONTAINER,
    IMAGES_ANNOTATION,
    MAINTENANCE_KEY,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    POOL_LABEL,
    PRELOADER_LABEL,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.daemonset import (
    being_deleted,
    change_between,
    compared_state,
    ownership_problem,
    render_daemonset,
    without_managed_fields,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_options import build_preloader_spec

AGENT = "registry.example.com/prewarm/agent:0.1.0"
DIGEST_REF = "gcr.io/distroless/static@sha256:" + "b" * 64


def render(digests=None, mode="init", **overrides):
    params = dict(
        name="preload-web", namespace="prewarm-system", pool="web", images=["nginx:1.27", DIGEST_REF],
        agent_image=AGENT, node_selector={"node.kubernetes.io/pool": "web"}, scope="pool", tolerations=[],
        tolerate_maintenance=True, image_pull_secrets=[], image_pull_policy="IfNotPresent", resources=None,
        priority_class_name=None, labels={}, max_unavailable=None,
    )
    params.update(overrides)
    return render_daemonset(build_preloader_spec(params), mode, digests)


def pod_spec(manifest):
    return manifest["spec"]["template"]["spec"]


def all_containers(manifest):
    return pod_spec(manifest).get("initContainers", []) + pod_spec(manifest)["containers"]


def restricted_violations(pod):
    """The Pod Security Standard 'restricted' (and 'baseline') rules that apply to our pod."""
    problems = []
    context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(flag)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
                         "projected", "secret"}:
            problems.append("volume type %s" % kinds)
    if context.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        problems.append("pod seccompProfile")
    if not isinstance(context.get("runAsUser"), int) or context.get("runAsUser") == 0:
        problems.append("pod runAsUser not a numeric non-root uid")
    for container in pod.get("initContainers", []) + pod["containers"]:
        sc = container.get("securityContext", {})
        name = container["name"]
        if sc.get("privileged"):
            problems.append("%s privileged" % name)
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append("%s allowPrivilegeEscalation" % name)
        if not (sc.get("runAsNonRoot") or context.get("runAsNonRoot")):
            problems.append("%s runAsNonRoot" % name)
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append("%s capabilities drop ALL" % name)
        if set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append("%s capabilities add" % name)
        if sc.get("runAsUser") == 0:
            problems.append("%s runAsUser 0" % name)
        if any(port.get("hostPort") for port in container.get("ports", [])):
            problems.append("%s hostPort" % name)
    return problems


LAYOUTS = [dict(mode="init"), dict(mode="volume"), dict(mode="init", agent_image=None), dict(mode="volume", agent_image=None)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pod_passes_the_restricted_pod_security_standard(layout):
    assert restricted_violations(pod_spec(render(**layout))) == []


@pytest.mark.parametrize("layout", LAYOUTS)
def test_secure_defaults_on_pod_and_every_container(layout):
    pod = pod_spec(render(**layout))
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    for container in all_containers(render(**layout)):
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
        assert container["resources"] == {"requests": {"cpu": "10m", "memory": "16Mi"},
                                          "limits": {"cpu": "100m", "memory": "32Mi"}}


def test_agent_installs_first_then_one_pull_container_per_image_in_order():
    pod = pod_spec(render(images=["b:1", "a:1", DIGEST_REF]))
    install = pod["initContainers"][0]
    assert install["name"] == AGENT_INIT_CONTAINER
    assert install["image"] == AGENT
    assert install["command"] == [AGENT_BINARY, "install", AGENT_INSTALLED_PATH]
    assert install["volumeMounts"] == [{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT_PATH, "readOnly": False}]
    pulls = pod["initContainers"][1:]
    assert [(c["name"], c["image"]) for c in pulls] == [("pull-0", "b:1"), ("pull-1", "a:1"), ("pull-2", DIGEST_REF)]
    for pull in pulls:
        # The preloaded image's own binaries are never used: only the copied agent runs.
        assert pull["command"] == [AGENT_INSTALLED_PATH, "exit"]
        assert "args" not in pull
        assert pull["volumeMounts"] == [{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT_PATH, "readOnly": True}]
        assert pull["imagePullPolicy"] == "IfNotPresent"
    assert pod["volumes"] == [{"name": AGENT_VOLUME, "emptyDir": {"sizeLimit": "32Mi"}}]


def test_hold_container_runs_the_agent_pause():
    (hold,) = pod_spec(render())["containers"]
    assert (hold["name"], hold["image"], hold["command"]) == (HOLD_CONTAINER, AGENT, [AGENT_BINARY, "pause"])


def test_pull_policy_applies_to_preloaded_images_only():
    pod = pod_spec(render(image_pull_policy="Always"))
    policies = dict((c["name"], c["imagePullPolicy"]) for c in pod["initContainers"] + pod["containers"])
    assert policies == {"install-agent": "IfNotPresent", "pull-0": "Always", "pull-1": "Always",
                        "hold": "IfNotPresent"}


def test_images_annotation_maps_containers_to_references_as_given():
    manifest = render(images=["busybox", DIGEST_REF])
    # A reference by digest carries its own digest; a tag not resolved has none.
    expected = [{"container": "pull-0", "image": "busybox"},
                {"container": "pull-1", "image": DIGEST_REF, "digest": "sha256:" + "b" * 64}]
    assert json.loads(manifest["metadata"]["annotations"][IMAGES_ANNOTATION]) == expected
    assert json.loads(manifest["spec"]["template"]["metadata"]["annotations"][IMAGES_ANNOTATION]) == expected


def test_labels_and_selector():
    manifest = render(labels={"team": "shop"})
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, POOL_LABEL: "web", PRELOADER_LABEL: "preload-web", "team": "shop"}
    assert manifest["metadata"]["labels"] == labels
    assert manifest["spec"]["template"]["metadata"]["labels"] == labels
    assert manifest["spec"]["selector"] == {"matchLabels": {PRELOADER_LABEL: "preload-web"}}


def test_selector_never_depends_on_changeable_options():
    first = render()
    second = render(pool="other", labels={"x": "y"}, images=["redis:7"], node_selector={"a": "b"})
    assert first["spec"]["selector"] == second["spec"]["selector"]


def test_default_tolerations_tolerate_the_maintenance_taint():
    assert pod_spec(render())["tolerations"] == [{"key": MAINTENANCE_KEY, "operator": "Exists"}]


def test_user_tolerations_merged_with_maintenance():
    pod = pod_spec(render(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]))
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                                  {"key": MAINTENANCE_KEY, "operator": "Exists"}]


def test_no_tolerations_when_maintenance_not_tolerated():
    assert "tolerations" not in pod_spec(render(tolerate_maintenance=False))


def test_scope_pool_and_maintenance_node_selectors():
    assert pod_spec(render())["nodeSelector"] == {"node.kubernetes.io/pool": "web"}
    assert pod_spec(render(scope="maintenance"))["nodeSelector"] == {"node.kubernetes.io/pool": "web",
                                                                     MAINTENANCE_KEY: "true"}
    assert "nodeSelector" not in pod_spec(render(node_selector={}))


def test_pull_secrets_priority_and_update_strategy():
    manifest = render(image_pull_secrets=["reg-a", "reg-b"], priority_class_name="preload-high", max_unavailable=5)
    pod = pod_spec(manifest)
    assert pod["imagePullSecrets"] == [{"name": "reg-a"}, {"name": "reg-b"}]
    assert pod["priorityClassName"] == "preload-high"
    assert manifest["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 5}}
    assert "imagePullSecrets" not in pod_spec(render())
    assert "priorityClassName" not in pod_spec(render())


def test_empty_resources_render_no_resources():
    assert all("resources" not in c for c in all_containers(render(resources={})))


def server_view(manifest, resource_version="1000", generation=1):
    """The manifest as the API server returns it: defaulted, canonical, with bookkeeping."""
    live = copy.deepcopy(manifest)
    live["metadata"].update({"uid": "u-1", "resourceVersion": resource_version, "generation": generation,
                             "creationTimestamp": "2026-01-01T00:00:00Z",
                             "managedFields": [{"manager": "prewarm.k8s", "operation": "Apply"}]})
    live["metadata"]["annotations"]["deprecated.daemonset.template.generation"] = str(generation)
    spec = live["spec"]
    spec["revisionHistoryLimit"] = 10
    spec["updateStrategy"]["rollingUpdate"]["maxSurge"] = 0
    pod = spec["template"]["spec"]
    pod.update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"})
    for container in pod.get("initContainers", []) + pod["containers"]:
        container.update({"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
    for volume in pod["volumes"]:
        if "emptyDir" in volume:
            volume["emptyDir"]["medium"] = ""
    live["status"] = {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberReady": 2}
    return live


def test_same_object_with_new_bookkeeping_is_no_change():
    live = server_view(render())
    would_be = server_view(render(), resource_version="1001")
    would_be["status"]["numberReady"] = 3
    would_be["metadata"]["managedFields"].append({"manager": "kube-controller-manager"})
    changed, diff = change_between(live, would_be)
    assert changed is False
    assert diff["before"] == diff["after"]
    assert "status" not in diff["before"] and "managedFields" not in diff["before"]["metadata"]


def test_server_defaulted_fields_are_on_both_sides():
    changed, diff = change_between(server_view(render()), server_view(render()))
    assert not changed
    assert diff["after"]["spec"]["template"]["spec"]["schedulerName"] == "default-scheduler"


def test_new_image_is_a_change():
    live = server_view(render())
    would_be = server_view(render(images=["nginx:1.27", DIGEST_REF, "redis:7"]), generation=2)
    changed, diff = change_between(live, would_be)
    assert changed
    assert len(diff["after"]["spec"]["template"]["spec"]["initContainers"]) == 4


def test_label_change_is_a_change():
    assert change_between(server_view(render()), server_view(render(labels={"team": "shop"})))[0]


def test_creation_and_deletion_are_changes():
    would_be = server_view(render())
    assert change_between(None, would_be)[0]
    assert change_between(would_be, None)[0]
    assert change_between(None, None) == (False, {"before": {}, "after": {}})


def test_compared_state_of_a_bare_object():
    assert compared_state({"spec": {"a": 1}}) == {"metadata": {"labels": {}, "annotations": {}}, "spec": {"a": 1}}


def test_ownership():
    ours = server_view(render())
    assert ownership_problem(ours) is None
    theirs = copy.deepcopy(ours)
    del theirs["metadata"]["labels"][MANAGED_BY_LABEL]
    problem = ownership_problem(theirs)
    assert "prewarm-system/preload-web" in problem and "not managed by prewarm.k8s" in problem


def test_being_deleted():
    live = server_view(render())
    assert not being_deleted(live)
    live["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert being_deleted(live)


def test_without_managed_fields_leaves_the_original_alone():
    live = server_view(render())
    trimmed = without_managed_fields(live)
    assert "managedFields" not in trimmed["metadata"]
    assert "managedFields" in live["metadata"]
    assert trimmed["spec"] == live["spec"]
    assert without_managed_fields(None) is None


@pytest.mark.parametrize("images", [["busybox"], ["a:1", "b:2", "c:3", "d:4"]])
def test_container_names_unique(images):
    names = [c["name"] for c in all_containers(render(images=images))]
    assert len(names) == len(set(names)) == len(images) + 2


RESOLVED = "sha256:" + "c" * 64


def test_a_resolved_digest_is_recorded_on_the_daemonset_and_its_pod_template():
    manifest = render(images=["nginx:1.27", DIGEST_REF], digests={"nginx:1.27": RESOLVED})
    for annotations in (manifest["metadata"]["annotations"], manifest["spec"]["template"]["metadata"]["annotations"]):
        assert json.loads(annotations[IMAGES_ANNOTATION])[0] == {"container": "pull-0", "image": "nginx:1.27", "digest": RESOLVED}
    # The container keeps naming the tag, so the runtime keeps the image under the tag too.
    assert pod_spec(manifest)["initContainers"][1]["image"] == "nginx:1.27"


def test_a_moved_tag_changes_the_pod_template():
    before = render(images=["nginx:1.27"], digests={"nginx:1.27": RESOLVED})
    after = render(images=["nginx:1.27"], digests={"nginx:1.27": "sha256:" + "d" * 64})
    assert before["spec"]["template"] != after["spec"]["template"]
    assert render(images=["nginx:1.27"], digests={"nginx:1.27": RESOLVED}) == before


@pytest.mark.parametrize("policy, resolve, expected", [
    (None, True, ["Always", "IfNotPresent", "IfNotPresent"]),    # resolved tags follow the registry; digests never move
    (None, False, ["IfNotPresent", "IfNotPresent", "IfNotPresent"]),
    ("IfNotPresent", True, ["IfNotPresent"] * 3),
    ("Never", True, ["Never"] * 3),
])
def test_pull_policy_follows_the_tags_unless_the_user_chose_one(policy, resolve, expected):
    tag_and_digest = "nginx:1.27@sha256:" + "e" * 64
    pod = pod_spec(render(images=["nginx:1.27", DIGEST_REF, tag_and_digest], image_pull_policy=policy, resolve_tags=resolve))
    assert [c["imagePullPolicy"] for c in pod["initContainers"][1:]] == expected
    # The agent's own containers are pulled only when missing, whatever the pool's policy.
    assert pod["initContainers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_without_agent_image_busybox_is_copied_and_run_as_true_and_hold_is_the_pause_image():
    pod = pod_spec(render(agent_image=None, images=["b:1", DIGEST_REF]))
    install = pod["initContainers"][0]
    assert (install["name"], install["image"]) == (AGENT_INIT_CONTAINER, DEFAULT_COPIER_IMAGE)
    assert install["command"] == ["/bin/busybox", "cp", "/bin/busybox", AGENT_MOUNT_PATH + "/true"]
    assert install["volumeMounts"] == [{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT_PATH, "readOnly": False}]
    assert install["imagePullPolicy"] == "IfNotPresent"
    for pull in pod["initContainers"][1:]:
        # busybox picks its applet from argv[0]: `true` exits 0 in any image, with or without a libc.
        assert pull["command"] == [AGENT_MOUNT_PATH + "/true"]
        assert pull["volumeMounts"] == [{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT_PATH, "readOnly": True}]
    (hold,) = pod["containers"]
    assert (hold["name"], hold["image"], hold["command"], hold["imagePullPolicy"]) == (
        HOLD_CONTAINER, DEFAULT_PAUSE_IMAGE, ["/pause"], "IfNotPresent")
    assert "volumeMounts" not in hold


def test_own_helper_images_replace_the_defaults():
    pod = pod_spec(render(agent_image=None, pause_image="mirror.example/pause:3.10.2", copier_image="mirror.example/busybox:1"))
    assert pod["initContainers"][0]["image"] == "mirror.example/busybox:1"
    assert pod["containers"][0]["image"] == "mirror.example/pause:3.10.2"


@pytest.mark.parametrize("agent, hold_image, command", [
    (AGENT, AGENT, [AGENT_BINARY, "pause"]),
    (None, DEFAULT_PAUSE_IMAGE, ["/pause"]),
])
def test_volume_mode_mounts_one_image_volume_per_image_in_the_hold_container_and_runs_nothing_from_them(agent, hold_image, command):
    pod = pod_spec(render(mode="volume", agent_image=agent, images=["b:1", "a:1", DIGEST_REF]))
    assert "initContainers" not in pod
    assert pod["volumes"] == [
        {"name": "image-0", "image": {"reference": "b:1", "pullPolicy": "IfNotPresent"}},
        {"name": "image-1", "image": {"reference": "a:1", "pullPolicy": "IfNotPresent"}},
        {"name": "image-2", "image": {"reference": DIGEST_REF, "pullPolicy": "IfNotPresent"}},
    ]
    (hold,) = pod["containers"]
    assert (hold["name"], hold["image"], hold["command"]) == (HOLD_CONTAINER, hold_image, command)
    assert hold["imagePullPolicy"] == "IfNotPresent"
    assert hold["volumeMounts"] == [{"name": "image-%d" % i, "mountPath": "/prewarm/images/%d" % i, "readOnly": True}
                                    for i in range(3)]


@pytest.mark.parametrize("policy, resolve, expected", [
    (None, True, ["Always", "IfNotPresent", "IfNotPresent"]),
    (None, False, ["IfNotPresent", "IfNotPresent", "IfNotPresent"]),
    ("Always", True, ["Always"] * 3),
    ("Never", False, ["Never"] * 3),
])
def test_volume_mode_pull_policy_is_mapped_as_in_init_mode(policy, resolve, expected):
    tag_and_digest = "nginx:1.27@sha256:" + "e" * 64
    images = ["nginx:1.27", DIGEST_REF, tag_and_digest]
    volume = pod_spec(render(mode="volume", images=images, image_pull_policy=policy, resolve_tags=resolve))
    init = pod_spec(render(mode="init", images=images, image_pull_policy=policy, resolve_tags=resolve))
    assert [v["image"]["pullPolicy"] for v in volume["volumes"]] == expected
    assert [c["imagePullPolicy"] for c in init["initContainers"][1:]] == expected
    assert volume["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_volume_mode_annotation_maps_volumes_to_references_and_digests():
    manifest = render(mode="volume", images=["nginx:1.27", DIGEST_REF], digests={"nginx:1.27": RESOLVED})
    expected = [{"volume": "image-0", "image": "nginx:1.27", "digest": RESOLVED},
                {"volume": "image-1", "image": DIGEST_REF, "digest": "sha256:" + "b" * 64}]
    for annotations in (manifest["metadata"]["annotations"], manifest["spec"]["template"]["metadata"]["annotations"]):
        assert json.loads(annotations[IMAGES_ANNOTATION]) == expected
    assert [v["name"] for v in pod_spec(manifest)["volumes"]] == [entry["volume"] for entry in expected]


def test_a_mode_change_changes_the_pod_template():
    init, volume = server_view(render(mode="init")), server_view(render(mode="volume"))
    changed, diff = change_between(init, volume)
    assert changed
    assert "initContainers" in diff["before"]["spec"]["template"]["spec"]
    assert "initContainers" not in diff["after"]["spec"]["template"]["spec"]


def test_auto_is_decided_before_rendering():
    with pytest.raises(ValueError) as err:
        render(mode="auto")
    assert "mode must be init or volume, not 'auto'" in str(err.value)
