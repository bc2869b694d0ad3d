# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warmth of nodes whose preloader pod pulls its images as image volumes (mode volume)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import time

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import IMAGES_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.image_volumes import named_in, spellings, volume_progress
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import (
    LIST_LAG_SECONDS,
    evaluate,
    images_from_daemonset,
    preloader_mode,
    with_wanted_digests,
)

DIGEST_BASE = "sha256:" + "c" * 64
DIGEST_BIG = "sha256:" + "d" * 64
DIGEST_OTHER = "sha256:" + "b" * 64
DIGEST_BUSYBOX = "sha256:" + "a" * 64
BASE, BIG, BUSYBOX = "127.0.0.1:5000/base:1", "127.0.0.1:5000/big:1", "busybox@" + DIGEST_BUSYBOX
PAUSE = "registry.k8s.io/pause:3.10.2"
IMAGES = [{"volume": "image-0", "image": BASE, "digest": DIGEST_BASE},
          {"volume": "image-1", "image": BIG, "digest": DIGEST_BIG},
          {"volume": "image-2", "image": BUSYBOX, "digest": DIGEST_BUSYBOX}]
DIGEST_OF = {BASE: DIGEST_BASE, BIG: DIGEST_BIG, BUSYBOX: DIGEST_BUSYBOX}
T0 = calendar.timegm((2026, 3, 1, 12, 0, 0))  # when the hold container started
LONG_AFTER = T0 + 3600


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


RUNNING = {"running": {"startedAt": iso(T0)}}
CREATING = {"waiting": {"reason": "ContainerCreating"}}


def listed(image, digest=None):
    ref = parse_image_reference(image)
    names = ["%s@%s" % (ref.name, digest or DIGEST_OF[image])]
    if not ref.digest:
        names.append("%s:%s" % (ref.name, ref.tag))
    return {"names": names, "sizeBytes": 10 ** 8}


ALL_LISTED = [listed(PAUSE, DIGEST_OTHER)] + [listed(entry["image"]) for entry in IMAGES]


def node(images=None):
    return {"metadata": {"name": "node-1"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": iso(T0)}],
                       "images": ALL_LISTED if images is None else images}}


def pod(hold_state, images=None, image_refs=None, name="preload-abc"):
    """A volume-mode preloader pod; image_refs: {volume: imageRef} as ImageVolumeWithDigest reports them."""
    images = IMAGES if images is None else images
    hold = {"name": "hold", "state": hold_state, "imageID": "", "restartCount": 0, "lastState": {}}
    if image_refs is not None:
        hold["volumeMounts"] = [{"name": volume, "mountPath": "/prewarm/images/%d" % index,
                                 "volumeStatus": {"image": {"imageRef": image_refs[volume]}}}
                                for index, volume in enumerate(sorted(image_refs))]
    return {
        "metadata": {"name": name, "uid": "uid-" + name, "creationTimestamp": iso(T0 - 60),
                     "annotations": {IMAGES_ANNOTATION: json.dumps(images)}},
        "spec": {"nodeName": "node-1",
                 "volumes": [{"name": entry["volume"], "image": {"reference": entry["image"], "pullPolicy": "IfNotPresent"}}
                             for entry in images],
                 "containers": [{"name": "hold", "image": PAUSE}]},
        "status": {"phase": "Running" if "running" in hold_state else "Pending",
                   "conditions": [{"type": "Ready", "status": "True" if "running" in hold_state else "False"}],
                   "containerStatuses": [hold]},
    }


def failing(reason, message):
    return {"waiting": {"reason": reason, "message": message}}


def states(result):
    return [image["state"] for image in result["images"]]


def test_the_annotation_maps_volumes_to_images_and_tells_the_mode():
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": {IMAGES_ANNOTATION: json.dumps(
        [{"volume": "image-0", "image": BASE}, {"volume": "image-1", "image": BUSYBOX, "digest": None}])}}}
    images = images_from_daemonset(daemonset)
    assert images == [{"volume": "image-0", "image": BASE, "digest": None},
                      {"volume": "image-1", "image": BUSYBOX, "digest": DIGEST_BUSYBOX}]
    assert preloader_mode(images) == "volume"
    assert preloader_mode([{"container": "pull-0", "image": BASE, "digest": None}]) == "init"


@pytest.mark.parametrize("entries", [
    [{"volume": "image-0", "container": "pull-0", "image": BASE}],
    [{"image": BASE}],
    [{"volume": 0, "image": BASE}],
])
def test_an_entry_names_either_its_container_or_its_volume(entries):
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": {IMAGES_ANNOTATION: json.dumps(entries)}}}
    with pytest.raises(PrewarmError) as err:
        images_from_daemonset(daemonset)
    assert 'must be a JSON list of {"container" or "volume"' in err.value.msg


def test_a_running_hold_container_means_every_volume_was_pulled():
    result = evaluate(node(), pod(RUNNING), IMAGES, now=LONG_AFTER)
    assert states(result) == ["present"] * 3
    assert [(image["volume"], image["container"]) for image in result["images"]] == [
        ("image-0", None), ("image-1", None), ("image-2", None)]
    assert [image["digest"] for image in result["images"]] == [DIGEST_BASE, DIGEST_BIG, DIGEST_BUSYBOX]
    assert result["warm"] is True and result["state"] == "warm" and result["pod_current"] is True


def test_the_mounted_digest_is_used_where_the_kubelet_reports_it():
    refs = {"image-0": "127.0.0.1:5000/base@" + DIGEST_BASE, "image-1": "127.0.0.1:5000/big@" + DIGEST_BIG,
            "image-2": "docker.io/library/busybox@" + DIGEST_OTHER}
    result = evaluate(node(), pod(RUNNING, image_refs=refs), IMAGES, now=LONG_AFTER)
    assert states(result) == ["present", "present", "failed"]
    mismatch = result["images"][2]
    assert (mismatch["reason"], mismatch["digest"]) == ("DigestMismatch", DIGEST_OTHER)
    assert mismatch["message"] == "the node ran %s but the reference names %s" % (DIGEST_OTHER, DIGEST_BUSYBOX)
    assert result["state"] == "failed"


def test_within_the_list_lag_the_mounted_digest_says_what_the_node_holds():
    # Just started: the node's list does not show the tag's new content yet, the mount does.
    refs = {"image-0": "127.0.0.1:5000/base@" + DIGEST_OTHER}
    images = with_wanted_digests(IMAGES[:1], {BASE: DIGEST_OTHER})
    fresh = evaluate(node([listed(BASE)]), pod(RUNNING, images=IMAGES[:1], image_refs=refs), images, now=T0 + 10)
    assert states(fresh) == ["present"]
    assert fresh["images"][0]["digest"] == DIGEST_OTHER
    assert fresh["recheck_at"] == T0 + LIST_LAG_SECONDS
    # Without the mounted digest, a list naming older content under the tag cannot be overruled.
    unknown = evaluate(node([listed(BASE)]), pod(RUNNING, images=IMAGES[:1]), images, now=T0 + 10)
    assert states(unknown) == ["stale"]


def test_a_volume_the_node_no_longer_lists_is_gone_after_the_lag():
    without_big = [entry for entry in ALL_LISTED if "127.0.0.1:5000/big:1" not in entry["names"]]
    assert states(evaluate(node(without_big), pod(RUNNING), IMAGES, now=T0 + 30)) == ["present"] * 3
    result = evaluate(node(without_big), pod(RUNNING), IMAGES, now=LONG_AFTER)
    assert states(result) == ["present", "gone", "present"]
    assert result["state"] == "gone"


def test_a_moved_tag_is_stale_in_volume_mode_too():
    images = with_wanted_digests(IMAGES, {BASE: DIGEST_OTHER})
    result = evaluate(node(), pod(RUNNING), images, now=LONG_AFTER)
    assert states(result) == ["stale", "present", "present"]
    assert result["state"] == "stale"


def test_before_the_hold_container_starts_the_nodes_list_says_which_images_are_there():
    result = evaluate(node([listed(BASE)]), pod(CREATING), IMAGES, now=T0)
    assert states(result) == ["present", "pulling", "pulling"]
    assert result["warm"] is False and result["state"] == "cold"
    assert result["message"] == "127.0.0.1:5000/big:1 pulling; %s pulling" % BUSYBOX
    assert states(evaluate(node([]), pod({}), IMAGES, now=T0)) == ["pulling"] * 3


@pytest.mark.parametrize("message", [
    'Back-off pulling image "127.0.0.1:5000/big:1": ErrImagePull: not found',
    'failed to pull and unpack image "127.0.0.1:5000/big:1": failed to resolve reference: not found',
    "image pull failed for 127.0.0.1:5000/big:1 because the registry is unavailable: dial tcp: refused",
])
def test_a_failure_naming_one_image_is_that_images(message):
    result = evaluate(node([listed(BASE)]), pod(failing("ImagePullBackOff", message)), IMAGES, now=T0)
    assert states(result) == ["present", "failed", "pulling"]
    big, busybox = result["images"][1], result["images"][2]
    assert (big["reason"], big["message"]) == ("ImagePullBackOff", message)
    assert busybox["message"] == "not in the node's image list yet; the hold container waits: ImagePullBackOff: " + message
    assert result["state"] == "failed"
    assert "127.0.0.1:5000/big:1 failed: ImagePullBackOff: " + message in result["message"]


def test_a_failure_naming_a_normalised_reference_is_found():
    message = 'failed to pull and unpack image "docker.io/library/busybox@%s": not found' % DIGEST_BUSYBOX
    result = evaluate(node([listed(BASE), listed(BIG)]), pod(failing("ErrImagePull", message)), IMAGES, now=T0)
    assert states(result) == ["present", "present", "failed"]


def test_a_failure_naming_no_image_of_the_pool_is_every_missing_images():
    result = evaluate(node([listed(BASE)]), pod(failing("ErrImagePull", "rpc error: code = Unknown desc = no space left")),
                      IMAGES, now=T0)
    assert states(result) == ["present", "failed", "failed"]
    for image in result["images"][1:]:
        assert image["reason"] == "ErrImagePull"
        assert image["message"] == ("the kubelet reports image volume pull failures per pod and names none of the pool's "
                                    "images; this one is not on the node yet: rpc error: code = Unknown desc = no space left")
    assert result["state"] == "failed"


def test_a_failure_of_the_hold_containers_own_image_is_not_blamed_on_the_pool():
    message = 'Back-off pulling image "%s": ErrImagePull: forbidden' % PAUSE
    missing = evaluate(node([listed(BASE)]), pod(failing("ImagePullBackOff", message)), IMAGES, now=T0)
    assert states(missing) == ["present", "pulling", "pulling"]
    everything = evaluate(node(), pod(failing("ImagePullBackOff", message)), IMAGES, now=T0)
    assert states(everything) == ["present"] * 3
    assert everything["warm"] is False
    assert everything["message"] == "preloader pod preload-abc is not Ready: container hold: ImagePullBackOff: " + message


def test_a_crash_of_the_hold_container_is_the_containers_not_an_images():
    crash = failing("CrashLoopBackOff", "back-off 10s restarting failed container=hold pod=preload-abc_prewarm(uid-preload-abc)")
    result = evaluate(node([listed(BASE)]), pod(crash), IMAGES, now=T0)
    assert states(result) == ["present", "pulling", "pulling"]
    assert result["images"][1]["message"] == ("not in the node's image list yet; the hold container waits: CrashLoopBackOff: "
                                              + crash["waiting"]["message"])
    everything = evaluate(node(), pod(crash), IMAGES, now=T0)
    assert everything["message"] == ("preloader pod preload-abc is not Ready: container hold: CrashLoopBackOff: "
                                     + crash["waiting"]["message"])
    assert everything["state"] == "cold"


def test_a_volume_the_runtime_cannot_mount_is_that_images_failure():
    message = 'failed to mount image volume "127.0.0.1:5000/big:1": not supported'
    result = evaluate(node(), pod(failing("ImageVolumeMountFailed", message)), IMAGES, now=T0)
    assert states(result) == ["present", "failed", "present"]
    assert result["images"][1]["reason"] == "ImageVolumeMountFailed"


def test_the_last_failure_is_kept_while_the_kubelet_retries_a_volume():
    memory = {}
    message = 'Back-off pulling image "127.0.0.1:5000/big:1"'
    evaluate(node([listed(BASE)]), pod(failing("ImagePullBackOff", message)), IMAGES, last_failures=memory, now=T0)
    retry = evaluate(node([listed(BASE)]), pod(CREATING), IMAGES, last_failures=memory, now=T0 + 10)
    big = retry["images"][1]
    assert (big["state"], big["reason"]) == ("pulling", "ImagePullBackOff")
    assert big["message"] == "pulling again; the last attempt failed: " + message
    assert retry["images"][2]["message"] is None


def test_a_pod_of_the_init_layout_is_read_by_its_init_containers():
    # The DaemonSet switched to volume mode; the node still runs the pod of the init template.
    done = {"terminated": {"exitCode": 0, "finishedAt": iso(T0)}}
    recorded = [{"container": "pull-%d" % i, "image": entry["image"], "digest": entry["digest"]} for i, entry in enumerate(IMAGES)]
    old = {"metadata": {"name": "preload-old", "uid": "u-old", "annotations": {IMAGES_ANNOTATION: json.dumps(recorded)}},
           "spec": {"nodeName": "node-1",
                    "initContainers": [{"name": "pull-%d" % i, "image": entry["image"]} for i, entry in enumerate(IMAGES)],
                    "containers": [{"name": "hold", "image": PAUSE}]},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                      "initContainerStatuses": [{"name": "pull-%d" % i, "state": done, "imageID": ""} for i in range(3)],
                      "containerStatuses": [{"name": "hold", "state": RUNNING}]}}
    result = evaluate(node(), old, IMAGES, now=LONG_AFTER)
    assert states(result) == ["present"] * 3
    assert [(image["container"], image["volume"]) for image in result["images"]] == [
        ("pull-0", None), ("pull-1", None), ("pull-2", None)]
    assert result["pod_current"] is False
    # And the other way round: a volume pod while the DaemonSet went back to init.
    back = evaluate(node(), pod(RUNNING), recorded, now=LONG_AFTER)
    assert states(back) == ["present"] * 3 and back["pod_current"] is False


def test_an_image_the_pod_has_no_volume_for_waits_for_the_new_pod():
    extra = IMAGES + [{"volume": "image-3", "image": "127.0.0.1:5000/new:1", "digest": None}]
    result = evaluate(node(), pod(RUNNING), extra, now=LONG_AFTER)
    assert states(result) == ["present"] * 3 + ["pending"]
    assert result["images"][3]["reason"] == "PodOutdated"


@pytest.mark.parametrize("reference, message, found", [
    ("nginx", 'Back-off pulling image "nginx:latest"', True),
    ("nginx", 'failed to pull and unpack image "docker.io/library/nginx:latest": x', True),
    ("nginx", 'Back-off pulling image "nginx:1.27"', False),
    ("nginx", 'Back-off pulling image "my-nginx:latest"', False),
    ("nginx", 'Back-off pulling image "registry.example/nginx:latest"', False),
    ("nginx:1.27", "image pull failed for nginx:1.27 because the registry is unavailable", True),
    ("nginx:1.27", "cannot pull nginx:1.27.", True),
    ("nginx:1.2", "cannot pull nginx:1.2.7", False),
    ("nginx:1.2", 'Back-off pulling image "nginx:1.27"', False),
    ("127.0.0.1:5000/big:1", 'Failed to pull image "127.0.0.1:5000/big:1": not found', True),
    ("127.0.0.1:5000/big:1", None, False),
])
def test_named_in(reference, message, found):
    assert named_in(message, reference) is found


def test_spellings_of_a_reference():
    assert spellings("nginx") == set(["nginx", "nginx:latest", "docker.io/library/nginx:latest"])
    assert spellings("Not A Reference") == set(["Not A Reference"])


def test_volume_progress_of_a_pod_without_image_volumes():
    progress = volume_progress({"spec": {"containers": [{"name": "hold", "image": PAUSE}]}, "status": {}})
    assert (progress.volumes, progress.running, progress.failure, progress.named, progress.digests) == ({}, False, None, set(), {})


def test_within_the_list_lag_a_pod_made_for_the_old_digest_is_stale_when_the_kubelet_reports_none():
    # The tag moved right after the pull: the list does not show the pulled image yet and no
    # mount reports its digest; the pod's template says which digest it was made for.
    images = with_wanted_digests(IMAGES[:1], {BASE: DIGEST_OTHER})
    result = evaluate(node([]), pod(RUNNING, images=IMAGES[:1]), images, now=T0 + 3)
    assert states(result) == ["stale"]
    assert (result["images"][0]["digest"], result["images"][0]["wanted"]) == (DIGEST_BASE, DIGEST_OTHER)
    assert "the pod was made when the tag named %s" % DIGEST_BASE in result["images"][0]["message"]
    # Made for the digest the pool names now: present, to be checked against the list later.
    current = evaluate(node([]), pod(RUNNING, images=IMAGES[:1]), IMAGES[:1], now=T0 + 3)
    assert states(current) == ["present"] and current["images"][0]["digest"] == DIGEST_BASE
    assert current["recheck_at"] == T0 + LIST_LAG_SECONDS
