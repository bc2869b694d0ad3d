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
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import ALL, NODE_FIELDS, NODE_FIELDS_WITH_IMAGES, POD_FIELDS, keep
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.node_patch import release_request
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS, WarmTracker
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import evaluate, pick_pod, pod_node_name
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import admission_problem, is_admitted

DIGEST = "sha256:" + "c" * 64
IMAGES = [{"container": "pull-0", "image": "registry.example/ml/base:1"},
          {"container": "pull-1", "image": "registry.example/ml/model@" + DIGEST}]
LABEL = "preload.prewarm.k8s/preload-gpu"
NOW = "2026-01-01T00:00:00Z"
MANAGED = [{"manager": "kubelet", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:images": {}}}}]


READY_CONDITIONS = dict((ready, {"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                                 "message": "kubelet is posting ready status", "lastHeartbeatTime": NOW, "lastTransitionTime": NOW})
                        for ready in ("True", "False"))


def whole_node(name="gpu-1", ready="True", taints=None, unschedulable=None, labels=None, annotations=None):
    """A Node as the API server serves it, with the bulk a real kubelet reports."""
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
            "images": [{"names": ["registry.example/team-%d/image@sha256:%064d" % (i, i), "registry.example/team-%d/image:%d" % (i, i)],
                        "sizeBytes": 10 ** 9 + i} for i in range(60)],
            "volumesInUse": ["kubernetes.io/csi/driver^vol-%d" % i for i in range(10)],
        },
    }


def _container_status(name, state, image):
    return {"name": name, "state": state, "lastState": {}, "ready": "running" in state, "started": "running" in state,
            "restartCount": 0, "image": image, "imageID": "%s@%s" % (image.split("@")[0], DIGEST),
            "containerID": "containerd://" + "f" * 64, "volumeMounts": [{"name": "agent", "mountPath": "/agent"}],
            "resources": {"requests": {"cpu": "1m"}}, "user": {"linux": {"uid": 65532, "gid": 65532}}}


def whole_pod(node="gpu-1", pulled=2, ready=False, name="preload-gpu-x", phase="Pending", deleting=False, pinned_only=False):
    """A preloader pod as served, `pulled` of its images done, with what the API server adds."""
    done, pulling = {"terminated": {"exitCode": 0, "reason": "Completed"}}, {"running": {"startedAt": NOW}}
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
NODES_SEEN = [
    whole_node(),
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


@pytest.mark.parametrize("node", NODES_SEEN)
@pytest.mark.parametrize("pod", PODS_SEEN)
def test_warmth_is_the_same_on_kept_objects(node, pod):
    kept_pod = keep(pod, POD_FIELDS) if pod else None
    assert evaluate(keep(node, NODE_FIELDS), kept_pod, IMAGES) == evaluate(node, pod, IMAGES)
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


def test_a_tracker_fed_kept_objects_reports_as_one_fed_whole_ones():
    names = [node["metadata"]["name"] for node in NODES_SEEN[:1]] + ["gpu-2"]
    nodes = [whole_node("gpu-1"), whole_node("gpu-2")]
    pods = [whole_pod("gpu-1", pulled=2, ready=True, phase="Running"), whole_pod("gpu-2", pulled=1, name="preload-gpu-y")]
    pod_spec = dict(whole_pod()["spec"], nodeName=None, nodeSelector={"pool": "gpu"})
    whole, kept = (WarmTracker(names, IMAGES, pod_spec, "ds-uid") for _copy in range(2))
    whole.replace(NODES, nodes)
    whole.replace(PODS, pods)
    kept.replace(NODES, [keep(node, NODE_FIELDS) for node in nodes])
    kept.replace(PODS, [keep(pod, POD_FIELDS) for pod in pods])
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
