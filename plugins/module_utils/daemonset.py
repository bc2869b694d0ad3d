# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preloader DaemonSet: render it from a PreloaderSpec, and tell what a change would do.

Pod layout in mode `init` (names in constants.py; warm_status reads them):
  init  install-agent  copies a static binary into an emptyDir: the agent (agent_image) itself,
                       else busybox (copier_image) under the name `true`
  init  pull-0..N      one per preloaded image: runs the copied binary (agent `exit`, busybox
                       `true`), so it needs no shell or binary of its own (distroless and scratch
                       images work)
  main  hold           agent `pause`, else the pause image's /pause: the pod turns Ready once
                       every image is on the node, and keeps referencing them
Pod layout in mode `volume`:
  main  hold           as above, mounting volumes image-0..N (read-only, /prewarm/images/<i>):
                       one Kubernetes image volume per preloaded image. The kubelet pulls them
                       all before it starts the container; nothing runs from them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import (
    AGENT_BINARY,
    AGENT_INIT_CONTAINER,
    AGENT_INSTALLED_PATH,
    AGENT_MOUNT_PATH,
    AGENT_VOLUME,
    BUSYBOX_BINARY,
    COPIED_TRUE_PATH,
    HOLD_CONTAINER,
    IMAGE_MOUNT_ROOT,
    IMAGE_VOLUME_PREFIX,
    IMAGES_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    MODE_INIT,
    MODE_VOLUME,
    PAUSE_BINARY,
    POOL_LABEL,
    PRELOADER_LABEL,
    PULL_CONTAINER_PREFIX,
)

# The helper binary is all the emptyDir holds; the limit stops a misbehaving helper image from
# filling the node's disk (the kubelet evicts the pod instead). It reserves nothing.
AGENT_VOLUME_SIZE = "32Mi"
# The uid/gid of distroless' "nonroot" user. Set explicitly so runAsNonRoot never depends on
# the USER line of an image we preload.
RUN_AS_ID = 65532
# The agent and /pause exit on SIGTERM at once; a short grace keeps a rollout on 1,000 nodes brisk.
TERMINATION_GRACE_SECONDS = 5
# The helper images (agent, pause, copier) are pinned by the user; they need not follow image_pull_policy.
AGENT_PULL_POLICY = "IfNotPresent"

# What decides whether the DaemonSet must change. Everything else (status, resourceVersion,
# managedFields, timestamps) moves on its own.
_COMPARED_METADATA = ("labels", "annotations")


def selector_labels(name):
    return {PRELOADER_LABEL: name}


def object_labels(spec):
    labels = dict(spec.labels)
    labels.update({MANAGED_BY_LABEL: MANAGED_BY_VALUE, POOL_LABEL: spec.pool})
    labels.update(selector_labels(spec.name))
    return labels


def pull_container_name(index):
    return "%s%d" % (PULL_CONTAINER_PREFIX, index)


def image_volume_name(index):
    return "%s%d" % (IMAGE_VOLUME_PREFIX, index)


def images_annotation(spec, mode, digests=None):
    """JSON list mapping each pull container (init mode) or image volume (volume mode) to the
    image reference the user gave and its digest.

    digests: {reference: digest} the tags were resolved to. The digest is recorded also in the
    pod template, so a tag that names other content now changes the template: the DaemonSet
    controller replaces the pods and the kubelet pulls again.
    """
    entries = []
    for i, image in enumerate(spec.images):
        slot = {"volume": image_volume_name(i)} if mode == MODE_VOLUME else {"container": pull_container_name(i)}
        entry = dict(slot, image=image.original)
        digest = (digests or {}).get(image.original) or image.digest
        if digest:
            entry["digest"] = digest
        entries.append(entry)
    return json.dumps(entries, separators=(",", ":"), sort_keys=True)


def pull_policy(spec, image):
    """The pull policy of one image's container (init mode) or image volume (volume mode).

    The user's choice when given. Else a tag the pool resolved is pulled with Always: the kubelet
    then asks the registry, so a tag that already names older content on the node moves to what
    the registry serves (pulling only the layers the node lacks), and the runtime keeps the image
    under both the tag and the digest, where a reference naming the digest would leave the node's
    tag on the old content (containerd drops the tag of a tag@digest reference). Everything else
    is pulled only when missing.
    """
    if spec.image_pull_policy:
        return spec.image_pull_policy
    return "Always" if spec.resolve_tags and image.digest is None else "IfNotPresent"


def _container_security_context():
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _container(name, image, command, pull_policy, resources, mounts):
    container = {
        "name": name,
        "image": image,
        "command": command,
        "imagePullPolicy": pull_policy,
        "securityContext": _container_security_context(),
    }
    if mounts:
        container["volumeMounts"] = mounts
    if resources:
        container["resources"] = resources
    return container


def _helper_mount(writable=False):
    return [{"name": AGENT_VOLUME, "mountPath": AGENT_MOUNT_PATH, "readOnly": not writable}]


def _hold(spec, mounts):
    """The long-running container: the agent's `pause`, else the pause image's own /pause."""
    command = [AGENT_BINARY, "pause"] if spec.agent_image else [PAUSE_BINARY]
    return _container(HOLD_CONTAINER, spec.agent_image or spec.pause_image, command, AGENT_PULL_POLICY, spec.resources,
                      mounts)


def _init_layout(spec):
    """(volumes, init containers, containers) of mode init."""
    if spec.agent_image:
        copier, copy, run = spec.agent_image, [AGENT_BINARY, "install", AGENT_INSTALLED_PATH], [AGENT_INSTALLED_PATH, "exit"]
    else:
        copier, copy, run = spec.copier_image, [BUSYBOX_BINARY, "cp", BUSYBOX_BINARY, COPIED_TRUE_PATH], [COPIED_TRUE_PATH]
    install = _container(AGENT_INIT_CONTAINER, copier, copy, AGENT_PULL_POLICY, spec.resources, _helper_mount(writable=True))
    pulls = [_container(pull_container_name(i), image.original, run, pull_policy(spec, image), spec.resources,
                        _helper_mount())
             for i, image in enumerate(spec.images)]
    volumes = [{"name": AGENT_VOLUME, "emptyDir": {"sizeLimit": AGENT_VOLUME_SIZE}}]
    # The hold container runs from its own image and needs no volume.
    return volumes, [install] + pulls, [_hold(spec, None)]


def _volume_layout(spec):
    """(volumes, init containers, containers) of mode volume.

    The hold container mounts every image volume: the kubelet's image GC counts an image volume
    as in use only through a container that mounts it.
    """
    volumes = [{"name": image_volume_name(i), "image": {"reference": image.original, "pullPolicy": pull_policy(spec, image)}}
               for i, image in enumerate(spec.images)]
    mounts = [{"name": image_volume_name(i), "mountPath": "%s/%d" % (IMAGE_MOUNT_ROOT, i), "readOnly": True}
              for i in range(len(spec.images))]
    return volumes, [], [_hold(spec, mounts)]


def render_pod_spec(spec, mode):
    volumes, init_containers, containers = (_volume_layout if mode == MODE_VOLUME else _init_layout)(spec)
    pod = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumes": volumes,
        "containers": containers,
    }
    if init_containers:
        pod["initContainers"] = init_containers
    if spec.node_selector:
        pod["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod["tolerations"] = [dict(t) for t in spec.tolerations]
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    if spec.priority_class_name:
        pod["priorityClassName"] = spec.priority_class_name
    return pod


def render_daemonset(spec, mode, digests=None):
    """The whole DaemonSet manifest for a PreloaderSpec (a plain dict in API field names).

    mode: MODE_INIT or MODE_VOLUME (auto decided already, see preloader_mode.py); digests:
    {reference: digest} from resolving the pool's tags (registry.resolve_references).
    """
    if mode not in (MODE_INIT, MODE_VOLUME):
        raise ValueError("render_daemonset: mode must be %s or %s, not %r" % (MODE_INIT, MODE_VOLUME, mode))
    labels = object_labels(spec)
    annotations = {IMAGES_ANNOTATION: images_annotation(spec, mode, digests)}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": dict(annotations),
        },
        "spec": {
            "selector": {"matchLabels": selector_labels(spec.name)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": spec.max_unavailable}},
            "template": {
                "metadata": {"labels": dict(labels), "annotations": dict(annotations)},
                "spec": render_pod_spec(spec, mode),
            },
        },
    }


def managed_by_us(live):
    return ((live.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def being_deleted(live):
    return bool((live.get("metadata") or {}).get("deletionTimestamp"))


def ownership_problem(live):
    """Why this module must not touch the live DaemonSet, or None."""
    metadata = live.get("metadata") or {}
    if managed_by_us(live):
        return None
    return ("DaemonSet %s/%s exists but is not managed by %s (label %s=%s missing); refusing to change or "
            "delete another tool's DaemonSet: choose another name"
            % (metadata.get("namespace"), metadata.get("name"), MANAGED_BY_VALUE, MANAGED_BY_LABEL, MANAGED_BY_VALUE))


def compared_state(obj):
    """The part of a DaemonSet that says what it does: labels, annotations and spec."""
    if not obj:
        return {}
    metadata = obj.get("metadata") or {}
    state = {"metadata": dict((key, metadata.get(key) or {}) for key in _COMPARED_METADATA)}
    state["spec"] = obj.get("spec") or {}
    return state


def change_between(before, after):
    """(changed, diff) between two DaemonSets as the API server returned them.

    Both sides come from the server (the live object and the result of a dry-run apply), so
    defaulted fields and canonical quantities are on both sides and never count as a change.
    """
    diff = {"before": compared_state(before), "after": compared_state(after)}
    return diff["before"] != diff["after"], diff


def without_managed_fields(obj):
    """A copy of `obj` without metadata.managedFields (long, and noise in a task result)."""
    if not obj:
        return obj
    result = dict(obj)
    result["metadata"] = dict((k, v) for k, v in (obj.get("metadata") or {}).items() if k != "managedFields")
    return result
