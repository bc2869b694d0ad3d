# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a volume-mode preloader pod's status says about its image volumes.

The kubelet pulls every image volume of a pod before it starts any of its containers, so the hold
container running means each of them was pulled for the current sandbox. A failed pull is
reported on the containers that mount the volume, not per volume: the hold container waits
with the kubelet's reason (ErrImagePull, ImagePullBackOff, ...) and the message of the last
volume that failed, which quotes that volume's reference. Where the reference can be found in
the message, the failure is that image's; where not, any image not on the node yet may be the
one. Any other failure of the hold container (its own image, CrashLoopBackOff, ...) is the
container's, not an image's. The digest mounted is reported per mount only with the ImageVolumeWithDigest feature gate
(alpha, off by default), as volumeMounts[].volumeStatus.image.imageRef.
Pure functions over pod dicts in the API's JSON form; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import HOLD_CONTAINER
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import DEFAULT_TAG, parse_image_reference

# Waiting reasons of a container the kubelet is still working on normally. Any other reason
# (ErrImagePull, ImagePullBackOff, CreateContainerError, CrashLoopBackOff, ...) is a failure the
# user must see.
PROGRESS_REASONS = frozenset(["", "PodInitializing", "ContainerCreating"])
# The reasons the kubelet and the CRI give a failure to get an image (kubelet images/types.go,
# cri-api errors.go): only these can be a volume's.
IMAGE_FAILURE_REASONS = frozenset(["ErrImagePull", "ImagePullBackOff", "ImageInspectError", "ErrImageNeverPull",
                                   "InvalidImageName", "RegistryUnavailable", "SignatureValidationFailed",
                                   "ImageVolumeMountFailed"])
# Characters that continue an image reference: a spelling found in a message counts only when
# none of them is next to it, so "nginx" is not found in "nginx:1.27" or "my-nginx" (a "." or ":"
# after it continues it only when more of a name follows: "nginx:1.27." ends a sentence).
_BEFORE = r"(?<![\w./:@-])"
_AFTER = r"(?![\w/@-]|[.:]\w)"

VolumeProgress = namedtuple("VolumeProgress", ["volumes", "running", "state", "failure", "named", "digests"])


def pod_image_volumes(pod):
    """{volume name: image reference} of the pod's image volumes, in the pod spec's order."""
    return dict((volume.get("name"), volume["image"].get("reference"))
                for volume in (pod.get("spec") or {}).get("volumes") or [] if isinstance(volume.get("image"), dict))


def hold_status(pod):
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == HOLD_CONTAINER:
            return status
    return None


def hold_image(pod):
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") == HOLD_CONTAINER:
            return container.get("image")
    return None


def mounted_digests(status):
    """{volume name: imageRef} the kubelet reports for the container's image volume mounts."""
    digests = {}
    for mount in (status or {}).get("volumeMounts") or []:
        image_ref = (((mount.get("volumeStatus") or {}).get("image")) or {}).get("imageRef")
        if image_ref:
            digests[mount.get("name")] = image_ref
    return digests


def spellings(reference):
    """The ways the kubelet and the runtime write `reference` in a message: as given, with the
    default tag the kubelet adds, and fully qualified (docker.io/library/...)."""
    found = set([reference])
    try:
        ref = parse_image_reference(reference)
    except InvalidInput:
        return found
    if not ref.tag and not ref.digest:
        found.add("%s:%s" % (reference, DEFAULT_TAG))
    found.add(ref.normalised)
    return found


def named_in(message, reference):
    """Whether `message` names the image `reference`, in any of its spellings."""
    return any(re.search(_BEFORE + re.escape(spelling) + _AFTER, message or "") for spelling in spellings(reference))


def waiting_failure(status):
    """(reason, message) while the container waits with a reason other than normal progress, else None."""
    waiting = ((status or {}).get("state") or {}).get("waiting")
    if waiting is not None and (waiting.get("reason") or "") not in PROGRESS_REASONS:
        return waiting.get("reason"), waiting.get("message")
    return None


def volume_progress(pod):
    """The pod's image volumes and what its hold container's status says about them.

    running: the hold container runs (every volume was pulled); state: its current state;
    failure: (reason, message) while it waits with a failure, or None; named: the volumes the
    failure is blamed on - those whose image its message names; none (an empty set) when it is no
    image failure or names the hold's own image; None when it is an image failure naming no image,
    so that it may be any image's; digests: {volume: imageRef} where the kubelet reports them.
    """
    status = hold_status(pod)
    volumes = pod_image_volumes(pod)
    failure = waiting_failure(status)
    named = set()
    if failure and failure[0] in IMAGE_FAILURE_REASONS:
        named = set(name for name, reference in volumes.items() if reference and named_in(failure[1], reference))
        if not named and not (hold_image(pod) and named_in(failure[1], hold_image(pod))):
            named = None
    state = (status or {}).get("state") or {}
    return VolumeProgress(volumes, "running" in state, state, failure, named, mounted_digests(status))
