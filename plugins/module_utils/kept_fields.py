# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fields of Nodes and preloader Pods that a warm wait reads, and a function that keeps only them.

warmup and warm_status hold every node of the pool and its preloader pod in memory for the whole
wait, and replace them at each watch event. Most of a Node's JSON is status nothing here reads
(the image list, addresses, capacity, attached volumes), and most of a Pod's is its volumes,
security context and container details: at 1,000 nodes the fields below are a fraction of it.
A field read by warmth, scheduling, maintenance or waves must be listed here; the unit tests run
those decisions on kept objects to hold this list to what they read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ALL = True

_METADATA = dict.fromkeys(("name", "namespace", "uid", "resourceVersion", "labels", "annotations", "ownerReferences",
                           "creationTimestamp", "deletionTimestamp"), ALL)
_CONDITION = dict.fromkeys(("type", "status", "reason", "message"), ALL)
_CONTAINER = dict.fromkeys(("name", "image"), ALL)
_CONTAINER_STATUS = dict.fromkeys(("name", "image", "imageID", "state", "lastState", "ready", "started", "restartCount"), ALL)

# lastHeartbeatTime: when the kubelet last reported the node's status, image list included (warmth).
_NODE_CONDITION = dict(_CONDITION, lastHeartbeatTime=ALL)

NODE_FIELDS = {
    "metadata": _METADATA,
    "spec": dict.fromkeys(("taints", "unschedulable"), ALL),
    "status": {"conditions": _NODE_CONDITION},
}

# warmup's first LIST: the images' sizes too, for the image filesystem check before any admission.
NODE_FIELDS_WITH_IMAGES = dict(NODE_FIELDS, status=dict(NODE_FIELDS["status"], images=ALL))

# The preloader's mode auto: which nodes the pool selects, and what they run (preloader_mode.py).
NODE_INFO_FIELDS = {
    "metadata": dict.fromkeys(("name", "labels"), ALL),
    "spec": dict.fromkeys(("taints",), ALL),
    "status": {"nodeInfo": dict.fromkeys(("kubeletVersion", "containerRuntimeVersion"), ALL)},
}

# Volume mode: the image volumes (name, reference) and, per mount of the hold container, the
# digest the kubelet reports it mounted (volumeStatus.image.imageRef, ImageVolumeWithDigest).
_VOLUME = dict.fromkeys(("name", "image"), ALL)
_HOLD_STATUS = dict(_CONTAINER_STATUS, volumeMounts=dict.fromkeys(("name", "volumeStatus"), ALL))

POD_FIELDS = {
    "metadata": _METADATA,
    "spec": dict(dict.fromkeys(("nodeName", "nodeSelector", "affinity", "tolerations", "hostNetwork"), ALL),
                 initContainers=_CONTAINER, containers=_CONTAINER, volumes=_VOLUME),
    "status": dict(phase=ALL, conditions=_CONDITION, initContainerStatuses=_CONTAINER_STATUS,
                   containerStatuses=_HOLD_STATUS),
}


def keep(obj, fields):
    """A copy of `obj` with only `fields`: {key: ALL or the fields of its value}; lists take the fields of each item."""
    if fields is ALL:
        return obj
    if isinstance(obj, list):
        return [keep(item, fields) for item in obj]
    if not isinstance(obj, dict):
        return obj
    return dict((key, keep(obj[key], kept)) for key, kept in fields.items() if key in obj)
