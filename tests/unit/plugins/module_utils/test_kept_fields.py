# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Objects cut down to kept_fields must lead every decision of a warm wait to the same answer as whole ones."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.image_fs import image_sizes, missing_images
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import (
    ALL,
    NODE_FIELDS,
    NODE_FIELDS_WITH_IMAGES,
    NODE_INFO_FIELDS,
    POD_FIELDS,
    keep,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import narrow_images, repositories
from ansible_collections.prewarm.k8s.plugins.module_utils.node_patch import release_request
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_mode import choose_mode, pool_nodes
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS, WarmTracker
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import LIST_LAG_SECONDS, evaluate, pick_pod, pod_node_name, with_wanted_digests
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import admission_problem, is_admitted

DIGEST = "sha256:" + "c" * 64
DIGEST_BASE = "sha256:" + "b" * 64   # what registry.example/ml/base:1 named when the pods pulled it
DIGEST_NEW = "sha256:" + "e" * 64    # what it names after the tag moved
DIGEST_AGENT = "sha256:" + "a" * 64
IMAGES = [{"container": "pull-0", "image": "registry.example/ml/base:1", "digest": DIGEST_BASE},
          {"container": "pull-1", "image": "registry.example/ml/model@" + DIGEST, "digest": DIGEST}]
# The same pool after its tag moved (warm_status with resolve_tags), and without recorded digests (an old annotation).
MOVED = with_wanted_digests(IMAGES, {"registry.example/ml/base:1": DIGEST_NEW})
UNRECORDED = [dict(entry, digest=None) for entry in IMAGES[:1]] + IMAGES[1:]
PULLED = {"registry.example/ml/base": DIGEST_BASE, "registry.example/ml/model": DIGEST, "registry.example/prewarm/agent": DIGEST_AGENT}
LABEL = "preload.prewarm.k8s/preload-gpu"
NOW = "2026-01-01T00:00:00Z"
NOW_SECONDS = 1767225600  # NOW, when the pods' pulls finished
# What the watcher keeps of a node: NODE_FIELDS, and of its image list the pool's repositories.
NARROW = narrow_images(repositories(entry["image"] for entry in IMAGES))


def kept_node(node):
    return NARROW(node, keep(node, NODE_FIELDS))


MANAGED = [{"manager": "kubelet", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:images": {}}}}]


READY_CONDITIONS = dict((ready, {"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                                 "message": "kubelet is posting ready status", "lastHeartbeatTime": NOW, "lastTransitionTime": NOW})
                        for ready in ("True", "False"))


POOL_LISTED = [
    {"names": ["registry.example/ml/base@" + DIGEST_BASE, "registry.example/ml/base:1"], "sizeBytes": 3 * 10 ** 9},
    {"names": ["registry.example/ml/model@" + DIGEST], "sizeBytes": 2 * 10 ** 10},
    {"names": ["registry.example/prewarm/agent@" + DIGEST_AGENT, "registry.example/prewarm/agent:1"], "sizeBytes": 10 ** 7},
]


def whole_node(name="gpu-1", ready="True", taints=None, unschedulable=None, labels=None, annotations=None, pool=None,
               others=60):
    """A Node as the API server serves it, with the bulk a real kubelet reports.

    pool: the list entries of the pool's images (what its preloader pod pulled); others: how
    many images of other workloads it lists besides.
    """
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": "uid-" + name, "resourceVersion": "4711", "creationTimestamp": NOW,
                     "labels": dict({"pool": "gpu", "kubernetes.io/hostname": name}, **(labels or {})),
                     "annotations": dict({"node.alpha.kubernetes.io/ttl": "0"}, **(annotations or {})),
                     "managedFields": MANAGED * 4},
        "spec": {"podCIDR": "10.0.0.0/24", "providerID": "kwok://" + name, "taints": taints or [],
                 "unschedulable": unschedulable},
        "status": {
            "capacity": {"cpu": "64", "memory": "512Gi", "nvidia.com/gpu": "8", "pods": "110"},
            "allocatable": {"cpu": "63", "memory": "500Gi", "nvidia.com/gpu": "8", "pods": "110"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.%d" % i} for i in range(4)],
            "conditions": [{"type": kind, "status": "False", "reason": "Fine", "message": "no pressure",
                            "lastHeartbeatTime": NOW, "lastTransitionTime": NOW}
                           for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")] + [READY_CONDITIONS[ready]],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12", "kubeletVersion": "v1.34.4",
                         "containerRuntimeVersion": "containerd://1.7", "machineID": "m" * 32},
            "images": list(POOL_LISTED if pool is None else pool) + [
                {"names": ["registry.example/team-%d/image@sha256:%064d" % (i, i), "registry.example/team-%d/image:%d" % (i, i)],
                 "sizeBytes": 10 ** 9 + i} for i in range(others)],
            "volumesInUse": ["kubernetes.io/csi/driver^vol-%d" % i for i in range(10)],
        },
    }


def _image_id(image):
    repo = image.split("@")[0].rsplit(":", 1)[0]
    return "%s@%s" % (repo, PULLED[repo])


def _container_status(name, state, image):
    started = "running" in state or "terminated" in state
    return {"name": name, "state": state, "lastState": {}, "ready": "running" in state, "started": "running" in state,
            "restartCount": 0, "image": image, "imageID": _image_id(image) if started else "",
            "containerID": "containerd://" + "f" * 64, "volumeMounts": [{"name": "agent", "mountPath": "/agent"}],
            "resources": {"requests": {"cpu": "1m"}}, "user": {"linux": {"uid": 65532, "gid": 65532}}}


def whole_pod(node="gpu-1", pulled=2, ready=False, name="preload-gpu-x", phase="Pending", deleting=False, pinned_only=False):
    """A preloader pod as served, `pulled` of its images done, with what the API server adds."""
    done = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": NOW, "finishedAt": NOW}}
    pulling = {"running": {"startedAt": NOW}}
    inits = [{"name": "install-agent", "image": "registry.example/prewarm/agent:1"}] + \
            [{"name": entry["container"], "image": entry["image"]} for entry in IMAGES]
    statuses = [_container_status("install-agent", done, inits[0]["image"])] + \
               [_container_status(entry["container"], done if i < pulled else pulling, entry["image"])
                for i, entry in enumerate(IMAGES)]
    bulky = {"volumeMounts": [{"name": "agent", "mountPath": "/agent"}], "resources": {"requests": {"cpu": "1m", "memory": "8Mi"}},
             "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
             "command": ["/agent/pull-done"], "terminationMessagePath": "/dev/termination-log"}
    metadata = {"name": name, "namespace": "prewarm", "uid": "uid-" + name, "resourceVersion": "99", "creationTimestamp": NOW,
                "generateName": "preload-gpu-", "labels": {"app.kubernetes.io/name": "preload-gpu"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "preload-gpu", "uid": "ds-uid",
                                     "controller": True}],
                "managedFields": MANAGED * 3}
    if deleting:
        metadata["deletionTimestamp"] = NOW
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": {"nodeName": None if pinned_only else node, "affinity": affinity, "nodeSelector": {LABEL: "true"},
                 "initContainers": [dict(container, **bulky) for container in inits],
                 "containers": [dict({"name": "hold", "image": inits[0]["image"]}, **bulky)],
                 "tolerations": [{"key": "prewarm.k8s/maintenance", "operator": "Exists", "effect": "NoSchedule"}],
                 "volumes": [{"name": "agent", "emptyDir": {}}, {"name": "kube-api-access", "projected": {"sources": [
                     {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
                 "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                 "serviceAccountName": "default", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"},
        "status": {"phase": phase, "hostIP": "10.0.0.1", "podIP": "10.1.0.9", "qosClass": "Burstable", "startTime": NOW,
                   "conditions": [{"type": "PodScheduled", "status": "False" if pinned_only else "True",
                                   "reason": "Unschedulable" if pinned_only else None, "message": "0/1 nodes are available",
                                   "lastTransitionTime": NOW},
                                  {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": NOW}],
                   "initContainerStatuses": statuses,
                   "containerStatuses": [_container_status("hold", {"running": {"startedAt": NOW}} if ready else
                                                           {"waiting": {"reason": "PodInitializing"}}, inits[0]["image"])]},
    }


def _size(obj):
    return len(json.dumps(obj))


def test_keep_takes_only_the_listed_fields_and_leaves_the_original_alone():
    obj = {"a": {"b": 1, "c": 2}, "d": [{"e": 1, "f": 2}, {"e": 3}], "g": 4}
    before = copy.deepcopy(obj)
    assert keep(obj, {"a": {"b": ALL}, "d": {"e": ALL}, "x": ALL}) == {"a": {"b": 1}, "d": [{"e": 1}, {"e": 3}]}
    assert obj == before
    assert keep({"a": None, "d": "text"}, {"a": {"b": ALL}, "d": {"e": ALL}}) == {"a": None, "d": "text"}


def test_a_kept_node_and_pod_are_a_fraction_of_the_whole_ones():
    node, pod = whole_node(), whole_pod()
    assert _size(keep(node, NODE_FIELDS)) < _size(node) / 10
    assert _size(keep(pod, POD_FIELDS)) < _size(pod) / 2
    assert "managedFields" not in keep(node, NODE_FIELDS)["metadata"]


OUR_RECORD = {"reason": "os upgrade", "since": NOW, "by": "prewarm.k8s",
              "owned": {"taint": {"key": "prewarm.k8s/maintenance", "value": "true", "effect": "NoSchedule"},
                        "label": {"key": "prewarm.k8s/maintenance", "value": "true"}, "cordon": True}}
MOVED_LISTED = [dict(POOL_LISTED[0], names=["registry.example/ml/base@" + DIGEST_NEW, "registry.example/ml/base:1"])] + POOL_LISTED[1:]
NODES_SEEN = [
    whole_node(),
    whole_node(pool=MOVED_LISTED),                       # the new content under the tag: stale for IMAGES
    whole_node(pool=POOL_LISTED[1:], others=10),        # base:1 removed, the list short: gone
    whole_node(pool=POOL_LISTED[1:]),                   # base:1 not listed in a list at the cap: unknown
    whole_node(pool=POOL_LISTED[:1] + POOL_LISTED[2:], others=0),
    whole_node(pool=[dict(POOL_LISTED[0], names=["registry.example/ml/base@" + DIGEST_BASE])] + POOL_LISTED[1:], others=3),
    whole_node(ready="False"),
    whole_node(taints=[{"key": "gpu", "value": "a100", "effect": "NoSchedule"}]),
    whole_node(taints=[{"key": "prewarm.k8s/maintenance", "value": "true", "effect": "NoSchedule"}], unschedulable=True,
               labels={"prewarm.k8s/maintenance": "true", LABEL: "true"},
               annotations={"prewarm.k8s/maintenance": json.dumps(OUR_RECORD)}),
    whole_node(labels={"pool": "cpu"}),
]
PODS_SEEN = [
    None,
    whole_pod(pulled=0),
    whole_pod(pulled=1),
    whole_pod(pulled=2, ready=True, phase="Running"),
    whole_pod(pulled=2, ready=True, phase="Running", deleting=True),
    whole_pod(pulled=2, ready=False, phase="Failed"),
    whole_pod(pulled=0, pinned_only=True),
]


# Long after the pulls, and within the node's image list lag after them.
WHEN = [NOW_SECONDS + 3600, NOW_SECONDS + LIST_LAG_SECONDS // 2]


@pytest.mark.parametrize("node", NODES_SEEN)
@pytest.mark.parametrize("pod", PODS_SEEN)
@pytest.mark.parametrize("images", [IMAGES, MOVED, UNRECORDED])
@pytest.mark.parametrize("now", WHEN)
def test_warmth_is_the_same_on_kept_objects(node, pod, images, now):
    kept_pod = keep(pod, POD_FIELDS) if pod else None
    assert evaluate(kept_node(node), kept_pod, images, now=now) == evaluate(node, pod, images, now=now)
    # With a custom cap, or none, too.
    for max_images in (0, 10, 100):
        assert evaluate(kept_node(node), kept_pod, images, max_images=max_images, now=now) == \
            evaluate(node, pod, images, max_images=max_images, now=now)
    if pod:
        assert pod_node_name(kept_pod) == pod_node_name(pod)
        assert pick_pod([kept_pod])[1] == pick_pod([pod])[1]


@pytest.mark.parametrize("node", NODES_SEEN)
def test_scheduling_admission_and_release_are_the_same_on_kept_nodes(node):
    kept = keep(node, NODE_FIELDS)
    pod_spec = whole_pod()["spec"]
    pod_spec["nodeName"] = None
    pod_spec["nodeSelector"] = {"pool": "gpu"}
    assert why_not_scheduled(kept, pod_spec) == why_not_scheduled(node, pod_spec)
    assert admission_problem(kept, pod_spec, LABEL) == admission_problem(node, pod_spec, LABEL)
    assert is_admitted(kept, LABEL) == is_admitted(node, LABEL)
    release = release_request(NOW, "prewarm.k8s warmup")
    assert plan_node(kept, release) == plan_node(node, release)
    mark = build_request({"state": "present", "taint": {"key": "prewarm.k8s/maintenance", "value": "true", "effect": "NoSchedule"},
                          "label": {"key": "prewarm.k8s/maintenance", "value": "true"}, "reason": "os upgrade", "by": None,
                          "cordon": True, "status": None}, now=NOW, default_by="prewarm.k8s")
    assert plan_node(kept, mark) == plan_node(node, mark)


def test_the_cases_above_cover_every_state():
    seen, image_states = set(), set()
    for node in NODES_SEEN:
        for pod in PODS_SEEN:
            for images in (IMAGES, MOVED):
                result = evaluate(kept_node(node), keep(pod, POD_FIELDS) if pod else None, images, now=WHEN[0])
                seen.add(result["state"])
                image_states.update(image["state"] for image in result["images"])
    assert seen == set(["warm", "stale", "gone", "cold"])
    assert set(["present", "stale", "gone", "unknown", "pending", "no_pod"]) <= image_states
    # And the lag: a fresh pull the node does not list yet.
    fresh = evaluate(kept_node(NODES_SEEN[2]), keep(PODS_SEEN[3], POD_FIELDS), IMAGES, now=WHEN[1])
    assert fresh["warm"] is True and fresh["recheck_at"] == NOW_SECONDS + LIST_LAG_SECONDS


def test_a_kept_node_has_no_image_list_and_a_narrowed_one_only_the_pools_part():
    node = whole_node()
    assert "images" not in keep(node, NODE_FIELDS)["status"]
    narrowed = kept_node(node)
    assert narrowed["status"]["images"] == [{"names": entry["names"]} for entry in POOL_LISTED[:2]]
    assert narrowed["status"]["imagesListed"] == 63
    assert _size(narrowed) < _size(node) / 10


def test_a_tracker_fed_kept_objects_reports_as_one_fed_whole_ones():
    names = [node["metadata"]["name"] for node in NODES_SEEN[:1]] + ["gpu-2", "gpu-3", "gpu-4"]
    nodes = [whole_node("gpu-1"), whole_node("gpu-2"), whole_node("gpu-3", pool=POOL_LISTED[1:], others=5),
             whole_node("gpu-4", pool=POOL_LISTED[1:], others=5)]
    pods = [whole_pod("gpu-1", pulled=2, ready=True, phase="Running"), whole_pod("gpu-2", pulled=1, name="preload-gpu-y"),
            whole_pod("gpu-3", pulled=2, ready=True, phase="Running", name="preload-gpu-z"),
            whole_pod("gpu-4", pulled=2, ready=True, phase="Running", name="preload-gpu-w")]
    # gpu-4 pulled a moment ago, gpu-3 long ago: neither lists base:1.
    for status in pods[3]["status"]["initContainerStatuses"]:
        status["state"]["terminated"] = dict(status["state"]["terminated"], finishedAt="2026-01-01T01:00:00Z")
    pod_spec = dict(whole_pod()["spec"], nodeName=None, nodeSelector={"pool": "gpu"})
    clock = {"now": NOW_SECONDS + 3630}

    def now():
        return clock["now"]

    whole, kept = (WarmTracker(names, IMAGES, pod_spec, "ds-uid", clock=now) for _copy in range(2))
    whole.replace(NODES, nodes)
    whole.replace(PODS, pods)
    kept.replace(NODES, [kept_node(node) for node in nodes])
    kept.replace(PODS, [keep(pod, POD_FIELDS) for pod in pods])
    assert kept.results == whole.results
    assert kept.warm() == whole.warm() == ["gpu-1", "gpu-4"]
    assert kept.states() == whole.states() == {"warm": 2, "stale": 0, "gone": 1, "cold": 1, "failed": 0}
    assert kept.wake_in() == whole.wake_in() == 60
    clock["now"] += 60
    assert kept.tick() == whole.tick() == ["gpu-4"]
    assert kept.results == whole.results
    assert kept.warm() == whole.warm() == ["gpu-1"]


def test_the_image_checks_are_the_same_on_nodes_kept_with_their_images():
    nodes = [whole_node("gpu-1"), whole_node("gpu-2")]
    refs = ["registry.example/team-3/image:3", "registry.example/team-7/image@sha256:%064d" % 7, "registry.example/new:1"]
    kept = [keep(node, NODE_FIELDS_WITH_IMAGES) for node in nodes]
    assert image_sizes(refs, kept) == image_sizes(refs, nodes)
    assert image_sizes(refs, kept)["registry.example/team-3/image:3"] == 10 ** 9 + 3
    assert [missing_images(node, refs) for node in kept] == [missing_images(node, refs) for node in nodes]
    assert _size(kept[0]) < _size(nodes[0])


VOLUME_IMAGES = [{"volume": "image-%d" % i, "image": entry["image"], "digest": entry["digest"]} for i, entry in enumerate(IMAGES)]


def whole_volume_pod(hold_state, image_refs=False, name="preload-gpu-v"):
    """A volume-mode preloader pod as served; image_refs: its status reports the mounted digests."""
    pod = whole_pod(name=name, phase="Running" if "running" in hold_state else "Pending")
    spec, status = pod["spec"], pod["status"]
    del spec["initContainers"], status["initContainerStatuses"]
    mounts = [{"name": entry["volume"], "mountPath": "/prewarm/images/%d" % i, "readOnly": True} for i, entry in enumerate(VOLUME_IMAGES)]
    spec["containers"][0]["volumeMounts"] = mounts
    spec["volumes"] = [{"name": entry["volume"], "image": {"reference": entry["image"], "pullPolicy": "IfNotPresent"}}
                       for entry in VOLUME_IMAGES] + spec["volumes"][1:]
    hold = _container_status("hold", hold_state, spec["containers"][0]["image"])
    hold["volumeMounts"] = [dict(mount, recursiveReadOnly="Disabled") for mount in mounts]
    if image_refs:
        for mount, entry in zip(hold["volumeMounts"], VOLUME_IMAGES):
            mount["volumeStatus"] = {"image": {"imageRef": _image_id(entry["image"])}}
    status["containerStatuses"] = [hold]
    status["conditions"][1]["status"] = "True" if "running" in hold_state else "False"
    pod["metadata"]["annotations"] = {"prewarm.k8s/images": json.dumps(VOLUME_IMAGES)}
    return pod


VOLUME_PODS_SEEN = [
    whole_volume_pod({"running": {"startedAt": NOW}}),
    whole_volume_pod({"running": {"startedAt": NOW}}, image_refs=True),
    whole_volume_pod({"waiting": {"reason": "ContainerCreating"}}),
    whole_volume_pod({"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "registry.example/ml/base:1"'}}),
    whole_volume_pod({"waiting": {"reason": "ErrImagePull", "message": "rpc error: no space left on device"}}),
]


@pytest.mark.parametrize("node", NODES_SEEN)
@pytest.mark.parametrize("pod", VOLUME_PODS_SEEN)
@pytest.mark.parametrize("images", [VOLUME_IMAGES, IMAGES])
@pytest.mark.parametrize("now", WHEN)
def test_warmth_of_volume_pods_is_the_same_on_kept_objects(node, pod, images, now):
    assert evaluate(kept_node(node), keep(pod, POD_FIELDS), images, now=now) == evaluate(node, pod, images, now=now)


def test_the_volume_cases_above_cover_every_volume_state():
    image_states = set()
    for node in NODES_SEEN:
        for pod in VOLUME_PODS_SEEN:
            result = evaluate(kept_node(node), keep(pod, POD_FIELDS), VOLUME_IMAGES, now=WHEN[0])
            image_states.update(image["state"] for image in result["images"])
    assert set(["present", "pulling", "failed", "stale", "gone", "unknown"]) <= image_states


def test_the_mode_decision_is_the_same_on_nodes_kept_with_their_node_info():
    nodes = NODES_SEEN + [whole_node("gpu-new")]
    nodes[-1]["status"]["nodeInfo"].update(kubeletVersion="v1.37.2", containerRuntimeVersion="containerd://2.4.2")
    tolerations = [{"key": "prewarm.k8s/maintenance", "operator": "Exists"}]
    kept = [keep(node, NODE_INFO_FIELDS) for node in nodes]
    version = {"gitVersion": "v1.37.2"}
    assert choose_mode(version, pool_nodes(kept, {"pool": "gpu"}, tolerations)) == \
        choose_mode(version, pool_nodes(nodes, {"pool": "gpu"}, tolerations))
    assert choose_mode(version, pool_nodes(kept[-1:], {"pool": "gpu"}, tolerations))[0] == "volume"
    assert _size(kept[0]) < _size(nodes[0]) / 10
