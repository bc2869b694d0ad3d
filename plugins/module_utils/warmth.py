# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a node warm? Decided from its Node object, its preloader pod and the pool's images.

Pure functions over plain dicts in the API's JSON form (camelCase keys, as in watch events
and in ApiClient.sanitize_for_serialization output); no API calls.

In mode init the preloader pod runs one init container per image (constants.PULL_CONTAINER_PREFIX),
after the helper's installer, then the long-running HOLD_CONTAINER. The kubelet runs init
containers one at a time, so the first one not finished is the image being pulled and
the ones after it are queued. In mode volume the pod has one image volume per image
(constants.IMAGE_VOLUME_PREFIX), all pulled before the hold container starts (image_volumes.py).
Each image is read the way the pod at hand pulls it, so a pod of the other mode (made before
the DaemonSet's mode changed) is read right until the DaemonSet controller replaces it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import time

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import IMAGES_ANNOTATION, MODE_INIT, MODE_VOLUME
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import digest_from_image_id, parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.image_volumes import (
    hold_status,
    volume_progress,
    waiting_failure,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import (
    ABSENT,
    DEFAULT_LIST_LAG_SECONDS as LIST_LAG_SECONDS,
    DEFAULT_MAX_IMAGES,
    HELD,
    MAX_NAMES_PER_IMAGE,
    TAG_ELSEWHERE,
    UNKNOWN as LIST_UNKNOWN,
    NodeImages,
)

# Per image.
PRESENT = "present"
PULLING = "pulling"
PENDING = "pending"
FAILED = "failed"
NO_POD = "no_pod"
STALE = "stale"      # the node holds other content under the tag than the digest the pool names now
GONE = "gone"        # pulled by the preloader pod, no longer in the node's image list
UNKNOWN = "unknown"  # not in the node's image list, which is at the kubelet's cap: cannot tell

# Per node, worst first: what an operator acts on.
NODE_FAILED = "failed"
NODE_GONE = "gone"
NODE_STALE = "stale"
NODE_COLD = "cold"
NODE_WARM = "warm"
NODE_STATES = (NODE_WARM, NODE_STALE, NODE_GONE, NODE_COLD, NODE_FAILED)

# The kubelet's image cache refresh period: a status it reported at least this long after a pull
# ended lists what the runtime held after the pull, so from then on the list alone decides.
IMAGE_CACHE_PERIOD_SECONDS = 30

DIGEST_MISMATCH = "DigestMismatch"
POD_OUTDATED = "PodOutdated"
TAG_MOVED = "TagMoved"
NOT_LISTED = "NotListed"
LIST_CAPPED = "ImageListCapped"


def _slot(entry):
    """The pod's part that pulls an image entry: its init container or its image volume."""
    return entry.get("container") or entry.get("volume")


def _valid_entry(entry):
    if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
        return False
    slots = [key for key in ("container", "volume") if key in entry]
    return (len(slots) == 1 and isinstance(entry[slots[0]], str)
            and isinstance(entry.get("digest", ""), (str, type(None))))


def images_from_daemonset(daemonset):
    """The [{"container" or "volume", "image", "digest"}] list the preloader recorded on its DaemonSet."""
    metadata = daemonset.get("metadata") or {}
    where = "DaemonSet %s/%s" % (metadata.get("namespace"), metadata.get("name"))
    text = (metadata.get("annotations") or {}).get(IMAGES_ANNOTATION)
    if text is None:
        raise PrewarmError("%s has no %s annotation: was it created by prewarm.k8s.preloader?" % (where, IMAGES_ANNOTATION))
    try:
        images = json.loads(text)
    except ValueError as exc:
        raise PrewarmError("%s: annotation %s is not JSON: %s" % (where, IMAGES_ANNOTATION, exc))
    if not isinstance(images, list) or not all(_valid_entry(entry) for entry in images):
        raise PrewarmError('%s: annotation %s must be a JSON list of {"container" or "volume": ..., "image": ..., '
                           '"digest": ...}, not %r' % (where, IMAGES_ANNOTATION, text))
    return [dict(((key, entry[key]) for key in ("container", "volume") if key in entry), image=entry["image"],
                 digest=entry.get("digest") or _expected_digest(entry["image"]))
            for entry in images]


def preloader_mode(images):
    """The mode the DaemonSet's images were recorded in (images_from_daemonset())."""
    return MODE_VOLUME if any("volume" in entry for entry in images) else MODE_INIT


def _recorded_images(pod):
    """The image list the pod's template recorded (its copy of the DaemonSet's annotation), or None."""
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(IMAGES_ANNOTATION)
    try:
        recorded = json.loads(text) if text else None
    except ValueError:
        return None
    return [entry for entry in recorded if isinstance(entry, dict)] if isinstance(recorded, list) else None


def _made_from(recorded, images):
    """Whether a pod with the recorded image list (_recorded_images()) was made from the DaemonSet's
    current one, `images` (digests included).

    The template's annotation is copied to each pod, so a pod whose annotation differs predates
    the last change and the DaemonSet controller will replace it (rolling update).
    """
    if recorded is None:
        return False
    key = [(entry.get("container"), entry.get("volume"), entry["image"], entry.get("digest")) for entry in images]
    return key == [(entry.get("container"), entry.get("volume"), entry.get("image"),
                    entry.get("digest") or _expected_digest(entry.get("image") or ""))
                   for entry in recorded]


def _recorded_digests(recorded):
    """{("container" or "volume", name): digest} a pod's recorded image list (_recorded_images()) gives each image slot."""
    digests = {}
    for entry in recorded or []:
        for kind in ("container", "volume"):
            if isinstance(entry.get(kind), str) and isinstance(entry.get("digest"), str):
                digests[(kind, entry[kind])] = entry["digest"]
    return digests


def with_wanted_digests(images, resolved):
    """The images with "wanted": the digest each reference names now (resolved) or as recorded.

    resolved: {reference: digest} from a resolution made now, or None when tags were not resolved.
    """
    return [dict(entry, wanted=(resolved or {}).get(entry["image"]) or entry.get("digest")) for entry in images]


def _normalised(image):
    try:
        return parse_image_reference(image).normalised
    except InvalidInput:
        return image


def _expected_digest(image):
    try:
        return parse_image_reference(image).digest
    except InvalidInput:
        return None


def node_ready(node):
    """(ready, why_not): the node's Ready condition, with the kubelet's words when not True."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            if condition.get("status") == "True":
                return True, None
            details = ": ".join(part for part in (condition.get("reason"), condition.get("message")) if part)
            return False, "node is not Ready (Ready=%s%s)" % (condition.get("status"), ", " + details if details else "")
    return False, "node is not Ready (it reports no Ready condition yet)"


def pod_ready(pod):
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def pod_node_name(pod):
    """The node a preloader pod belongs to, also before the scheduler has bound it.

    The DaemonSet controller pins each pod to its node with a matchFields term on
    metadata.name, so an unschedulable pod (a full node) is still attributed to its node.
    """
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and len(field.get("values") or []) == 1:
                return field["values"][0]
    return None


def _unscheduled(pod):
    """(reason, message) when the pod is not bound to its node yet, else None."""
    if (pod.get("spec") or {}).get("nodeName"):
        return None
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
            return condition.get("reason"), condition.get("message")
    return "NotScheduled", None


def pick_pod(pods):
    """(pod, note): the pod that counts on a node among the preloader pods bound to it.

    Pods being deleted never count: after a template change the old pod's statuses say
    nothing about the new one. Of the rest the newest wins (the DaemonSet controller may
    briefly keep an old pod next to its replacement). When only terminating pods are
    left, the note says so.
    """
    live = [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]
    if live:
        newest = max(live, key=lambda pod: (pod["metadata"].get("creationTimestamp") or "", pod["metadata"]["name"]))
        return newest, None
    if pods:
        names = ", ".join(sorted(pod["metadata"]["name"] for pod in pods))
        return None, "the preloader pod (%s) is being deleted; waiting for the DaemonSet controller to replace it" % names
    return None, None


def _status_failure(status):
    """(reason, message) when the container's CURRENT state is a failure, else None.

    lastState is ignored on purpose: after a node reboot the kubelet runs the init
    containers again, and an earlier successful run says nothing about the image now.
    """
    waiting = waiting_failure(status)
    if waiting is not None:
        return waiting
    terminated = (status.get("state") or {}).get("terminated")
    if terminated is not None and terminated.get("exitCode") != 0:
        message = terminated.get("message") or "exited with code %s" % terminated.get("exitCode")
        return terminated.get("reason") or "Error", message
    return None


def _is_done(status):
    state = status.get("state") or {}
    if "running" in state:
        return True
    terminated = state.get("terminated")
    return terminated is not None and terminated.get("exitCode") == 0


def _hold_running(pod):
    return "running" in ((hold_status(pod) or {}).get("state") or {})


def _init_progress(pod):
    """Walk the pod's init containers in order: ({name: status}, {name: image}, blocker).

    blocker is (name, failure) for the first init container not done, or None when all
    are. A running hold container means the kubelet finished every init container of the
    current sandbox, even where an init status is missing.
    """
    spec_inits = (pod.get("spec") or {}).get("initContainers") or []
    statuses = {status.get("name"): status for status in (pod.get("status") or {}).get("initContainerStatuses") or []}
    hold_running = _hold_running(pod)
    blocker = None
    for container in spec_inits:
        status = statuses.get(container["name"])
        if status is None:
            if hold_running:
                continue
            blocker = (container["name"], None)
            break
        if not _is_done(status):
            blocker = (container["name"], _status_failure(status))
            break
    images = dict((container["name"], container.get("image")) for container in spec_inits)
    return statuses, images, blocker


def _find(entry, pod_images):
    """The pod's init container or image volume ({name: image}) that pulls entry["image"]: by
    recorded name, else by image."""
    wanted = _normalised(entry["image"])
    name = _slot(entry)
    if name in pod_images and (pod_images[name] == entry["image"] or _normalised(pod_images[name]) == wanted):
        return name
    for candidate, image in pod_images.items():
        if image == entry["image"] or _normalised(image) == wanted:
            return candidate
    return None


def _image_result(entry, state, digest=None, reason=None, message=None, recheck_at=None):
    result = {"image": entry["image"], "container": entry.get("container"), "volume": entry.get("volume"), "state": state,
              "digest": digest, "wanted": entry.get("wanted") or entry.get("digest"), "reason": reason, "message": message}
    if recheck_at is not None:
        result["recheck_at"] = recheck_at
    return result


def _describe_failure(failure):
    return ": ".join(part for part in failure if part)


def _timestamp(text):
    """Seconds since the epoch of an API timestamp (RFC 3339, UTC), or None."""
    if not isinstance(text, str):
        return None
    try:
        return calendar.timegm(time.strptime(text.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def _finished_at(status):
    state = (status or {}).get("state") or {}
    if "terminated" in state:
        return _timestamp(state["terminated"].get("finishedAt"))
    if "running" in state:
        return _timestamp(state["running"].get("startedAt"))
    return None


def _reported_at(node):
    """When the kubelet last reported the node's status (its Ready condition's heartbeat), or None."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return _timestamp(condition.get("lastHeartbeatTime"))
    return None


def _pulled_result(entry, status, node_images, now, made_for=None):
    """The state of an image the pod's statuses say was pulled, checked against the node's list.

    made_for: the digest the pod's template recorded for this image (what the tag named when the
    pod was made), which stands in for the pulled digest where the kubelet reports none (an image
    volume without ImageVolumeWithDigest, a simulated node) while the node's list lags.
    """
    pulled = digest_from_image_id((status or {}).get("imageID"))
    own = _expected_digest(entry["image"])
    if own and pulled and pulled != own:
        return _image_result(entry, FAILED, pulled, DIGEST_MISMATCH,
                             "the node ran %s but the reference names %s" % (pulled, own))
    try:
        ref = parse_image_reference(entry["image"])
    except InvalidInput:
        return _image_result(entry, PRESENT, pulled)
    wanted = entry.get("wanted") or entry.get("digest")
    found = node_images.lookup(ref, wanted)
    if found.kind == HELD:
        return _image_result(entry, PRESENT, found.digest or pulled)
    finished = _finished_at(status)
    reported = _reported_at(node_images.node)
    list_after_pull = reported is not None and finished is not None and reported >= finished + IMAGE_CACHE_PERIOD_SECONDS
    lag = node_images.list_lag
    if finished is not None and not list_after_pull and now - finished < lag:
        # Just pulled: the kubelet's list lags behind its image store; its own status says what it holds.
        if wanted and pulled and pulled != wanted:
            return _image_result(entry, STALE, pulled, TAG_MOVED,
                                 "the node pulled %s, the pool names %s now" % (pulled, wanted))
        if wanted and not pulled and made_for and made_for != wanted:
            return _image_result(entry, STALE, made_for, TAG_MOVED,
                                 "the pod was made when the tag named %s (the kubelet reports no digest for it), "
                                 "the pool names %s now" % (made_for, wanted))
        # The list names other content under the tag, and the pod does not say it pulled the wanted digest.
        if not (found.kind == TAG_ELSEWHERE and (pulled is None or pulled != wanted)):
            return _image_result(entry, PRESENT, pulled or made_for or wanted, recheck_at=finished + lag)
    if found.kind == TAG_ELSEWHERE:
        return _image_result(entry, STALE, found.digest, TAG_MOVED,
                             "the node holds %s under tag %s, the pool names %s now" % (found.digest, ref.tag or "latest", wanted))
    if found.kind == ABSENT:
        return _image_result(entry, GONE, None, NOT_LISTED,
                             "pulled by pod, but the node's image list no longer has it (removed by hand, by an image "
                             "cleaner or by image GC)")
    if found.kind == LIST_UNKNOWN and node_images.capped:
        return _image_result(entry, UNKNOWN, pulled, LIST_CAPPED,
                             "not in the node's image list, which is at the kubelet's cap of %d images (largest first): "
                             "cannot tell whether it is there; raise the kubelet's nodeStatusMaxImages" % node_images.max_images)
    if found.kind == LIST_UNKNOWN:
        return _image_result(entry, UNKNOWN, pulled, LIST_CAPPED,
                             "not in the node's image list, where %d image(s) have more names than the %d the kubelet lists "
                             "per image: it may be one of them, under a name cut off" % (node_images.names_capped, MAX_NAMES_PER_IMAGE))
    return _image_result(entry, STALE, found.digest, TAG_MOVED,
                         "the node holds %s but not under tag %s: a pod naming the tag would pull" % (found.digest, ref.tag))


def _held(entry, node_images):
    """The node's image list's Lookup for the image, or None for a reference that does not parse."""
    try:
        ref = parse_image_reference(entry["image"])
    except InvalidInput:
        return None
    found = node_images.lookup(ref, entry.get("wanted") or entry.get("digest"))
    return found if found.kind == HELD else None


def _evaluate_volume_image(entry, volume, progress, node_images, now, made_for):
    """One image of a volume-mode pod: the hold container's state says whether the pod's volumes
    were pulled, the node's image list which of them the node holds."""
    entry = dict(entry, volume=volume, container=None)
    if progress.running:
        status = {"imageID": progress.digests.get(volume), "state": progress.state}
        return _pulled_result(entry, status, node_images, now, made_for.get(("volume", volume)))
    held = _held(entry, node_images)
    failure = progress.failure
    if failure and volume in (progress.named or ()):
        return _image_result(entry, FAILED, reason=failure[0], message=failure[1])
    if failure and progress.named is None and held is None:
        return _image_result(entry, FAILED, reason=failure[0],
                             message="the kubelet reports image volume pull failures per pod and names none of the "
                                     "pool's images; this one is not on the node yet: %s" % (failure[1] or failure[0]))
    if held is not None:
        return _image_result(entry, PRESENT, held.digest)
    if failure:
        return _image_result(entry, PULLING, message="not in the node's image list yet; the hold container waits: "
                                                     + _describe_failure(failure))
    return _image_result(entry, PULLING)


def _evaluate_image(entry, pod, progress, volumes, node_images, now, made_for):
    statuses, pod_images, blocker = progress
    container = _find(entry, pod_images)
    if container is None:
        volume = _find(entry, volumes.volumes)
        if volume is not None:
            return _evaluate_volume_image(entry, volume, volumes, node_images, now, made_for)
        return _image_result(entry, PENDING, reason=POD_OUTDATED,
                             message="pod %s predates this image (older DaemonSet template); waiting for the "
                                     "DaemonSet controller to replace it" % pod["metadata"]["name"])
    names = list(pod_images)
    position = names.index(container)
    blocker_position = names.index(blocker[0]) if blocker else len(names)
    entry = dict(entry, container=container, volume=None)
    if position < blocker_position:
        return _pulled_result(entry, statuses.get(container), node_images, now, made_for.get(("container", container)))
    if position == blocker_position:
        failure = blocker[1]
        if failure:
            return _image_result(entry, FAILED, reason=failure[0], message=failure[1])
        return _image_result(entry, PULLING)
    queued = "queued behind %s (%s)" % (blocker[0], pod_images[blocker[0]])
    if blocker[1]:
        queued += ", which failed: " + _describe_failure(blocker[1])
    return _image_result(entry, PENDING, message=queued)


def carry_last_failure(results, pod_uid, last_failures):
    """The image results with the kubelet's last pull failure kept on images it is pulling again.

    While the kubelet retries a failing pull, the init container's waiting reason alternates
    between ErrImagePull/ImagePullBackOff and PodInitializing; a timeout that falls on a retry
    would otherwise say only "pulling" and hide why. last_failures: {(pod uid, container):
    (reason, message)} kept by the caller across evaluations, updated here; a new pod starts
    afresh, and a present image forgets its failure. In volume mode the key is the image volume.
    """
    carried = []
    for image in results:
        key = (pod_uid, _slot(image))
        if image["state"] == FAILED:
            last_failures[key] = (image["reason"], image["message"])
        elif image["state"] == PRESENT:
            last_failures.pop(key, None)
        elif image["state"] == PULLING and key in last_failures:
            reason, message = last_failures[key]
            carried.append(dict(image, reason=reason, message="pulling again; the last attempt failed: %s" % (message or reason)))
            continue
        carried.append(image)
    return carried


def describe_image(image):
    """One phrase for an image that is not present: 'ref failed: Reason: message'."""
    text = "%s %s" % (image["image"], image["state"])
    details = _describe_failure((image.get("reason"), image.get("message")))
    return text + (": " + details if details else "")


def node_state(warm, results):
    """The node's one-word state from its image results: failed, gone, stale, cold or warm."""
    states = set(image["state"] for image in results)
    if FAILED in states:
        return NODE_FAILED
    if GONE in states:
        return NODE_GONE
    if STALE in states:
        return NODE_STALE
    return NODE_WARM if warm else NODE_COLD


def evaluate(node, pod, images, require_ready=True, no_pod_note=None, last_failures=None,
             max_images=DEFAULT_MAX_IMAGES, now=None, list_lag=LIST_LAG_SECONDS):
    """The warmth of one node.

    node: the Node dict; pod: the preloader pod that counts on it (see pick_pod) or None;
    images: images_from_daemonset(), optionally with_wanted_digests(); no_pod_note: why there
    is no pod, when known; last_failures: the node's memory of pull failures (see
    carry_last_failure), or None; max_images: the kubelet's nodeStatusMaxImages (0: no cap);
    now: seconds since the epoch (default: the clock); list_lag: how long after a pull the node's
    image list may not show it yet (LIST_LAG_SECONDS), while the pod's own status counts.
    Returns {ready, warm, state, pod, images: [{image, container, state, digest, wanted,
    reason, message}], message, recheck_at}: recheck_at is when the result may change with no
    event (a fresh pull that the node's image list must show by then), or None.
    """
    now = time.time() if now is None else now
    recorded = _recorded_images(pod) if pod is not None else None
    node_images = NodeImages(node, max_images, list_lag)
    ready, not_ready = node_ready(node)
    problems = [not_ready] if not_ready and require_ready else []
    if pod is None:
        why = no_pod_note or "no preloader pod on this node yet (the DaemonSet controller has not created it)"
        results = [_image_result(entry, NO_POD, message=why) for entry in images]
        problems.append(why)
    elif _unscheduled(pod):
        # A pod the scheduler cannot place (e.g. the node is full) would otherwise look queued.
        reason, why = _unscheduled(pod)
        results = [_image_result(entry, PENDING, reason=reason, message=why) for entry in images]
        problems.append("preloader pod %s is not scheduled: %s" % (pod["metadata"]["name"], _describe_failure((reason, why))))
    else:
        progress, volumes = _init_progress(pod), volume_progress(pod)
        made_for = _recorded_digests(recorded)
        results = [_evaluate_image(entry, pod, progress, volumes, node_images, now, made_for) for entry in images]
        if last_failures is not None:
            results = carry_last_failure(results, pod["metadata"].get("uid") or pod["metadata"]["name"], last_failures)
        problems.extend(describe_image(image) for image in results if image["state"] != PRESENT)
        name = pod["metadata"]["name"]
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Failed", "Succeeded"):
            problems.append("preloader pod %s is %s; the DaemonSet controller will replace it" % (name, phase))
        elif not pod_ready(pod) and all(image["state"] == PRESENT for image in results):
            hold_failure = _status_failure(hold_status(pod) or {})
            if hold_failure:
                # Every image is there and the hold container itself fails (its image, its command).
                problems.append("preloader pod %s is not Ready: container hold: %s" % (name, _describe_failure(hold_failure)))
            else:
                # After a node restart its pods' statuses are stale until the kubelet reports again;
                # the node controller marks them not Ready meanwhile, so they prove nothing yet.
                problems.append("preloader pod %s is not Ready (its status may predate a restart of the node)" % name)
    warm = not problems
    if warm:
        message = "warm: all %d images present" % len(images)
        if not_ready:
            message += " (%s; require_ready is false)" % not_ready
    else:
        message = "; ".join(problems)
    rechecks = [image.pop("recheck_at") for image in results if "recheck_at" in image]
    return {"ready": ready, "warm": warm, "state": node_state(warm, results), "pod": pod["metadata"]["name"] if pod else None,
            "pod_current": pod is not None and _made_from(recorded, images),
            "images": results, "message": message, "recheck_at": min(rechecks) if rechecks else None}


MAX_NODES_IN_MESSAGE = 20


def states_message(states, total):
    """'3 of 5 nodes warm' with the other states that have nodes: '3 of 5 nodes warm, 1 stale, 1 gone'."""
    others = ["%d %s" % (states[state], state) for state in NODE_STATES[1:] if states.get(state)]
    return ", ".join(["%d of %d nodes warm" % (states.get(NODE_WARM, 0), total)] + others)


def timeout_message(results, cold, timeout=None, trouble=()):
    """The failure message naming each cold node and why (every reason of it).

    results: {name: evaluate() result}; cold: the cold names in the order to report;
    timeout: the seconds waited, or None when the module did not wait; trouble: messages
    about watch streams that had not recovered at the end.
    """
    head = "%d of %d nodes not warm" % (len(cold), len(results))
    if timeout is not None:
        head = "timed out after %ss: %s" % (timeout, head)
    parts = ["%s: %s" % (name, results[name]["message"]) for name in cold[:MAX_NODES_IN_MESSAGE]]
    if len(cold) > MAX_NODES_IN_MESSAGE:
        parts.append("and %d more (see nodes)" % (len(cold) - MAX_NODES_IN_MESSAGE))
    text = head + ": " + " | ".join(parts)
    if trouble:
        text += " (last watch error, with no event received since: %s)" % "; ".join(trouble)
    return text
