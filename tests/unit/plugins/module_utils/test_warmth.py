# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import time

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import IMAGES_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import (
    LIST_LAG_SECONDS,
    NODE_STATES,
    evaluate,
    images_from_daemonset,
    node_ready,
    pick_pod,
    pod_node_name,
    states_message,
    timeout_message,
    with_wanted_digests,
)

DIGEST_A = "sha256:" + "a" * 64      # busybox, the digest its reference names
DIGEST_B = "sha256:" + "b" * 64      # other content
DIGEST_BASE = "sha256:" + "c" * 64   # what 127.0.0.1:5000/base:1 names
DIGEST_BIG = "sha256:" + "d" * 64    # what 127.0.0.1:5000/big:1 names
DIGEST_AGENT = "sha256:" + "e" * 64
IMAGES = [
    {"container": "pull-0", "image": "127.0.0.1:5000/base:1"},
    {"container": "pull-1", "image": "127.0.0.1:5000/big:1"},
    {"container": "pull-2", "image": "busybox@" + DIGEST_A},
]
# The digest each repository's content has in the fixtures' registry.
DIGEST_OF = {"127.0.0.1:5000/base": DIGEST_BASE, "127.0.0.1:5000/big": DIGEST_BIG,
             "docker.io/library/busybox": DIGEST_A, "docker.io/prewarm/agent": DIGEST_AGENT}
DONE = {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2025-01-01T00:00:05Z"}}
RUNNING = {"running": {"startedAt": "2025-01-01T00:00:00Z"}}
INITIALIZING = {"waiting": {"reason": "PodInitializing"}}
BACKOFF = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "127.0.0.1:5000/big:1"'}}


def image_id(image, digest=None):
    """The kubelet's imageID for a pulled image: <normalised repository>@<digest>."""
    name = parse_image_reference(image).name
    return "%s@%s" % (name, digest or DIGEST_OF[name])


def listed(image, digest=None, tagged=True):
    """A node.status.images entry for `image`, as containerd names it (by tag and by digest, or by digest only)."""
    ref = parse_image_reference(image)
    names = ["%s@%s" % (ref.name, digest or ref.digest or DIGEST_OF[ref.name])]
    if tagged and not ref.digest:
        names.append("%s:%s" % (ref.name, ref.tag or "latest"))
    return {"names": names, "sizeBytes": 10 ** 8}


# What a node lists once the preloader pod pulled every image of IMAGES (and the agent).
LISTED = [listed("prewarm/agent:1")] + [listed(entry["image"]) for entry in IMAGES]


def node(ready="True", reason=None, message=None, images=None):
    condition = {"type": "Ready", "status": ready}
    if reason:
        condition.update(reason=reason, message=message)
    return {"metadata": {"name": "node-1"},
            "status": {"conditions": [condition], "images": LISTED if images is None else images}}


def status(name, state, image_id=None, restarts=0, last_state=None):
    return {"name": name, "state": state, "imageID": image_id, "restartCount": restarts, "lastState": last_state or {}}


def pod(init_states, hold_state=None, pod_ready=None, phase="Running", name="preload-abc", images=None, **metadata):
    """A preloader pod; init_states maps container name to its current state (missing: no status)."""
    images = IMAGES if images is None else images
    spec_inits = [{"name": "install-agent", "image": "prewarm/agent:1"}]
    spec_inits += [{"name": entry["container"], "image": entry["image"]} for entry in images]
    spec_image = dict((container["name"], container["image"]) for container in spec_inits)
    ready = pod_ready if pod_ready is not None else hold_state == RUNNING
    return {
        "metadata": dict({"name": name, "uid": "uid-" + name, "creationTimestamp": "2025-01-01T00:00:00Z"}, **metadata),
        "spec": {"nodeName": "node-1", "initContainers": spec_inits, "containers": [{"name": "hold", "image": "prewarm/agent:1"}]},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "initContainerStatuses": [status(cname, state, image_id(spec_image[cname]) if _started(state) else "")
                                      for cname, state in init_states.items()],
            "containerStatuses": [status("hold", hold_state or INITIALIZING)],
        },
    }


def _started(state):
    # The kubelet reports an imageID once the image is pulled (the container ran or runs).
    return "running" in state or "terminated" in state


def all_done():
    return {"install-agent": DONE, "pull-0": DONE, "pull-1": DONE, "pull-2": DONE}


def states(result):
    return [image["state"] for image in result["images"]]


def test_images_from_daemonset_reads_the_annotation():
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": {IMAGES_ANNOTATION: json.dumps(IMAGES)}}}
    # Each entry carries the digest recorded for it, else its reference's own digest, else None.
    assert images_from_daemonset(daemonset) == [dict(IMAGES[0], digest=None), dict(IMAGES[1], digest=None),
                                                dict(IMAGES[2], digest=DIGEST_A)]


def test_images_from_daemonset_keeps_the_recorded_digests():
    recorded = [dict(IMAGES[0], digest=DIGEST_BASE), dict(IMAGES[1], digest=None), dict(IMAGES[2], digest=DIGEST_A),
                {"container": "pull-3", "image": "127.0.0.1:5000/model:2@" + DIGEST_B, "extra": "dropped"}]
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": {IMAGES_ANNOTATION: json.dumps(recorded)}}}
    assert images_from_daemonset(daemonset) == recorded[:3] + [
        {"container": "pull-3", "image": "127.0.0.1:5000/model:2@" + DIGEST_B, "digest": DIGEST_B}]


def test_with_wanted_digests_prefers_a_resolution_made_now_to_the_recorded_digest():
    images = [dict(IMAGES[0], digest=DIGEST_BASE), dict(IMAGES[1], digest=None), dict(IMAGES[2], digest=DIGEST_A)]
    resolved = {"127.0.0.1:5000/base:1": DIGEST_B, "busybox@" + DIGEST_A: DIGEST_A}
    assert [entry["wanted"] for entry in with_wanted_digests(images, resolved)] == [DIGEST_B, None, DIGEST_A]
    # Tags not resolved: the recorded digests are what the pool wants.
    assert [entry["wanted"] for entry in with_wanted_digests(images, None)] == [DIGEST_BASE, None, DIGEST_A]
    # A reference missing from the resolution keeps its recorded digest; the input is left alone.
    assert with_wanted_digests(images, {})[0] == dict(images[0], wanted=DIGEST_BASE)
    assert "wanted" not in images[0]


@pytest.mark.parametrize("annotations, expected", [
    ({}, "has no prewarm.k8s/images annotation"),
    ({IMAGES_ANNOTATION: "[not json"}, "is not JSON"),
    ({IMAGES_ANNOTATION: '{"container": "pull-0"}'}, "must be a JSON list"),
    ({IMAGES_ANNOTATION: '[{"container": "pull-0"}]'}, "must be a JSON list"),
    ({IMAGES_ANNOTATION: '[{"container": "pull-0", "image": "busybox", "digest": 7}]'}, "must be a JSON list"),
])
def test_images_from_daemonset_rejects_bad_annotations(annotations, expected):
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": annotations}}
    with pytest.raises(PrewarmError) as failure:
        images_from_daemonset(daemonset)
    assert expected in failure.value.msg
    assert "ns/p" in failure.value.msg


def test_node_ready_reports_the_kubelet_reason():
    assert node_ready(node()) == (True, None)
    ready, why = node_ready(node("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."))
    assert ready is False
    assert why == "node is not Ready (Ready=Unknown, NodeStatusUnknown: Kubelet stopped posting node status.)"
    assert node_ready({"metadata": {"name": "n"}, "status": {}}) == (False, "node is not Ready (it reports no Ready condition yet)")


def test_every_image_present_makes_the_node_warm_with_digests():
    # The images as images_from_daemonset gives them: busybox's reference names its digest.
    recorded = [dict(IMAGES[0], digest=None), dict(IMAGES[1], digest=None), dict(IMAGES[2], digest=DIGEST_A)]
    result = evaluate(node(), pod(all_done(), RUNNING), recorded)
    assert result["warm"] is True
    assert result["ready"] is True
    assert result["pod"] == "preload-abc"
    assert states(result) == ["present"] * 3
    assert [image["digest"] for image in result["images"]] == [DIGEST_BASE, DIGEST_BIG, DIGEST_A]
    assert [image["wanted"] for image in result["images"]] == [None, None, DIGEST_A]
    assert result["message"] == "warm: all 3 images present"
    assert result["state"] == "warm"
    assert result["recheck_at"] is None


def test_hold_running_counts_init_containers_without_status_as_done():
    result = evaluate(node(), pod({}, RUNNING), IMAGES)
    assert states(result) == ["present"] * 3
    # No imageID to read: the digests are the ones the node's image list holds.
    assert [image["digest"] for image in result["images"]] == [DIGEST_BASE, DIGEST_BIG, DIGEST_A]
    assert result["warm"] is True


def test_hold_running_without_statuses_and_without_the_images_listed_is_gone():
    # No status, so no pull time: the node's list is all there is, and it does not have them.
    result = evaluate(node(images=[listed("prewarm/agent:1")]), pod({}, RUNNING), IMAGES)
    assert states(result) == ["gone"] * 3
    assert result["warm"] is False and result["state"] == "gone"


def test_the_first_unfinished_image_is_pulling_and_later_ones_pending():
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE, "pull-1": INITIALIZING, "pull-2": INITIALIZING}), IMAGES)
    assert states(result) == ["present", "pulling", "pending"]
    assert result["images"][2]["message"] == "queued behind pull-1 (127.0.0.1:5000/big:1)"
    assert result["warm"] is False
    assert "127.0.0.1:5000/big:1 pulling" in result["message"]


def test_a_running_init_container_means_its_image_is_present():
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": RUNNING}), IMAGES)
    assert states(result) == ["present", "pulling", "pending"]


def test_no_status_at_all_queues_every_image_behind_the_agent():
    result = evaluate(node(), pod({}), IMAGES)
    assert states(result) == ["pending"] * 3
    assert result["images"][0]["message"] == "queued behind install-agent (prewarm/agent:1)"


def test_pull_failure_carries_the_kubelet_reason_and_message():
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE, "pull-1": BACKOFF, "pull-2": INITIALIZING}), IMAGES)
    assert states(result) == ["present", "failed", "pending"]
    failed = result["images"][1]
    assert failed["reason"] == "ImagePullBackOff"
    assert failed["message"] == 'Back-off pulling image "127.0.0.1:5000/big:1"'
    assert 'queued behind pull-1 (127.0.0.1:5000/big:1), which failed: ImagePullBackOff' in result["images"][2]["message"]
    assert result["message"].startswith('127.0.0.1:5000/big:1 failed: ImagePullBackOff: Back-off pulling image')


@pytest.mark.parametrize("reason", ["ErrImagePull", "InvalidImageName", "ErrImageNeverPull", "CreateContainerError",
                                    "RegistryUnavailable", "SignatureValidationFailed", "CrashLoopBackOff"])
def test_every_non_progress_waiting_reason_is_a_failure(reason):
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": {"waiting": {"reason": reason, "message": "m"}}}), IMAGES)
    assert result["images"][0]["state"] == "failed"
    assert result["images"][0]["reason"] == reason


def test_non_zero_exit_is_a_failure_with_the_exit_code():
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": {"terminated": {"exitCode": 2}}}), IMAGES)
    assert result["images"][0]["state"] == "failed"
    assert result["images"][0]["reason"] == "Error"
    assert result["images"][0]["message"] == "exited with code 2"


def test_failed_agent_shows_in_every_queued_image():
    agent_failed = {"waiting": {"reason": "ErrImagePull", "message": "not found"}}
    result = evaluate(node(), pod({"install-agent": agent_failed}), IMAGES)
    assert states(result) == ["pending"] * 3
    assert "install-agent (prewarm/agent:1), which failed: ErrImagePull: not found" in result["images"][0]["message"]


def test_restarted_init_containers_count_only_their_current_state():
    # After a node reboot the sandbox is recreated: the earlier successful run is lastState only.
    before = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    restarted = pod({"install-agent": DONE})
    restarted["status"]["initContainerStatuses"] += [
        status("pull-0", INITIALIZING, restarts=1, last_state=before),
        status("pull-1", INITIALIZING, restarts=1, last_state=before),
    ]
    restarted["status"]["containerStatuses"] = [status("hold", INITIALIZING, restarts=1, last_state={"terminated": {"exitCode": 0}})]
    result = evaluate(node(), restarted, IMAGES)
    assert states(result) == ["pulling", "pending", "pending"]
    assert result["warm"] is False


def test_pulled_digest_matching_the_reference_is_present():
    result = evaluate(node(), pod(all_done(), RUNNING), IMAGES)
    assert result["images"][2]["state"] == "present"
    assert result["images"][2]["digest"] == DIGEST_A


def test_pulled_digest_not_matching_the_reference_fails():
    mismatched = pod(all_done(), RUNNING)
    mismatched["status"]["initContainerStatuses"][3]["imageID"] = "docker.io/library/busybox@" + DIGEST_B
    result = evaluate(node(), mismatched, IMAGES)
    image = result["images"][2]
    assert image["state"] == "failed"
    assert image["reason"] == "DigestMismatch"
    assert image["digest"] == DIGEST_B
    assert DIGEST_A in image["message"]
    assert result["warm"] is False


def test_bare_image_id_has_no_digest_but_counts_as_present():
    # An image imported into the runtime has no repository digest: the node lists it by tag only.
    local = pod(all_done(), RUNNING)
    local["status"]["initContainerStatuses"][1]["imageID"] = DIGEST_B
    imported = [{"names": ["127.0.0.1:5000/base:1"], "sizeBytes": 10 ** 8}] + LISTED[2:]
    result = evaluate(node(images=imported), local, IMAGES)
    assert result["images"][0]["state"] == "present"
    assert result["images"][0]["digest"] is None


def test_not_ready_node_is_cold_even_with_every_image():
    result = evaluate(node("False", "KubeletNotReady", "container runtime is down"), pod(all_done(), RUNNING), IMAGES)
    assert result["ready"] is False
    assert result["warm"] is False
    assert states(result) == ["present"] * 3
    assert result["message"] == "node is not Ready (Ready=False, KubeletNotReady: container runtime is down)"


def test_not_ready_node_counts_as_warm_when_readiness_is_not_required():
    result = evaluate(node("Unknown"), pod(all_done(), RUNNING), IMAGES, require_ready=False)
    assert result["warm"] is True
    assert "require_ready is false" in result["message"]


def test_pod_not_ready_makes_present_images_unproven():
    result = evaluate(node(), pod(all_done(), RUNNING, pod_ready=False), IMAGES)
    assert states(result) == ["present"] * 3
    assert result["warm"] is False
    assert "preloader pod preload-abc is not Ready" in result["message"]


def test_no_pod_explains_itself():
    result = evaluate(node(), None, IMAGES, no_pod_note="no preloader pod: the node has the taint x:NoSchedule")
    assert states(result) == ["no_pod"] * 3
    assert result["pod"] is None
    assert result["message"] == "no preloader pod: the node has the taint x:NoSchedule"
    assert "has not created it" in evaluate(node(), None, IMAGES)["message"]


def test_pod_from_an_older_template_leaves_new_images_pending():
    older = pod({"install-agent": DONE, "pull-0": DONE, "pull-1": DONE}, RUNNING, images=IMAGES[:2])
    result = evaluate(node(), older, IMAGES)
    assert states(result) == ["present", "present", "pending"]
    assert result["images"][2]["reason"] == "PodOutdated"


def test_images_are_matched_by_normalised_reference_when_names_moved():
    # The pod pulls busybox as pull-0 while the annotation says pull-2, written differently.
    moved = [{"container": "pull-0", "image": "docker.io/library/busybox@" + DIGEST_A}]
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE}, RUNNING, images=moved), [IMAGES[2]])
    assert states(result) == ["present"]
    assert result["images"][0]["container"] == "pull-0"


def test_unscheduled_pod_reports_the_scheduler_message():
    waiting = pod({})
    waiting["spec"]["nodeName"] = None
    waiting["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                        "message": "0/1 nodes are available: 1 Insufficient cpu."}]
    result = evaluate(node(), waiting, IMAGES)
    assert states(result) == ["pending"] * 3
    assert result["images"][0]["reason"] == "Unschedulable"
    assert "is not scheduled: Unschedulable: 0/1 nodes are available" in result["message"]


def test_failed_pod_is_cold():
    result = evaluate(node(), pod(all_done(), {"terminated": {"exitCode": 137}}, phase="Failed"), IMAGES)
    assert result["warm"] is False
    assert "preloader pod preload-abc is Failed" in result["message"]


def test_pick_pod_ignores_terminating_pods_and_prefers_the_newest():
    old = pod({}, name="old", creationTimestamp="2025-01-01T00:00:00Z")
    new = pod({}, name="new", creationTimestamp="2025-01-02T00:00:00Z")
    going = pod({}, name="going", creationTimestamp="2025-01-03T00:00:00Z", deletionTimestamp="2025-01-03T00:01:00Z")
    assert pick_pod([old, going, new]) == (new, None)
    chosen, note = pick_pod([going])
    assert chosen is None
    assert "(going) is being deleted" in note
    assert pick_pod([]) == (None, None)


def test_pod_node_name_falls_back_to_the_daemonset_affinity():
    pinned = pod({})
    pinned["spec"]["nodeName"] = None
    pinned["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-7"]}]}]}}}
    assert pod_node_name(pinned) == "node-7"
    assert pod_node_name(pod({})) == "node-1"
    pinned["spec"]["affinity"] = None
    assert pod_node_name(pinned) is None


def test_timeout_message_names_each_cold_node_and_reason():
    results = {"node-1": evaluate(node(), pod(all_done(), RUNNING), IMAGES),
               "node-3": evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE, "pull-1": BACKOFF}), IMAGES)}
    text = timeout_message(results, ["node-3"], 600, ["watching pods: cannot reach the API server: refused"])
    assert text.startswith("timed out after 600s: 1 of 2 nodes not warm: node-3: 127.0.0.1:5000/big:1 failed: "
                           'ImagePullBackOff: Back-off pulling image "127.0.0.1:5000/big:1"')
    assert text.endswith("(last watch error, with no event received since: watching pods: cannot reach the API server: refused)")
    assert "node-1" not in text.split("not warm:")[1]


def test_timeout_message_caps_the_list_of_nodes():
    cold = evaluate(node(), None, IMAGES)
    results = dict(("node-%03d" % index, cold) for index in range(25))
    text = timeout_message(results, sorted(results), None)
    assert text.startswith("25 of 25 nodes not warm: node-000: ")
    assert "node-019" in text
    assert "node-020" not in text
    assert text.endswith("and 5 more (see nodes)")


ERR_PULL = {"waiting": {"reason": "ErrImagePull", "message": "failed to resolve reference: not found"}}


def test_a_retry_keeps_the_last_pull_failure_in_the_message():
    # The kubelet shows PodInitializing while it pulls again after a failure (seen on kubelet 1.34).
    memory = {}
    first = evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE, "pull-1": ERR_PULL}), IMAGES, last_failures=memory)
    assert states(first) == ["present", "failed", "pending"]
    retry = evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE, "pull-1": INITIALIZING}), IMAGES, last_failures=memory)
    pulling = retry["images"][1]
    assert pulling["state"] == "pulling" and pulling["reason"] == "ErrImagePull"
    assert pulling["message"] == "pulling again; the last attempt failed: failed to resolve reference: not found"
    assert retry["message"].startswith("127.0.0.1:5000/big:1 pulling: ErrImagePull: pulling again; the last attempt failed: "
                                       "failed to resolve reference: not found")


def test_a_present_image_or_a_new_pod_forgets_the_failure():
    memory = {}
    evaluate(node(), pod({"install-agent": DONE, "pull-0": ERR_PULL}), IMAGES, last_failures=memory)
    done = evaluate(node(), pod({"install-agent": DONE, "pull-0": DONE, "pull-1": INITIALIZING}), IMAGES, last_failures=memory)
    assert done["images"][0]["state"] == "present" and done["images"][1]["reason"] is None
    assert not memory
    evaluate(node(), pod({"install-agent": DONE, "pull-0": ERR_PULL}), IMAGES, last_failures=memory)
    fresh = evaluate(node(), pod({"install-agent": DONE, "pull-0": INITIALIZING}, name="preload-new"), IMAGES, last_failures=memory)
    assert fresh["images"][0]["state"] == "pulling" and fresh["images"][0]["reason"] is None


def test_without_memory_a_retry_is_plain_pulling():
    result = evaluate(node(), pod({"install-agent": DONE, "pull-0": INITIALIZING}), IMAGES)
    assert result["images"][0]["state"] == "pulling" and result["images"][0]["reason"] is None


# The node's own image list: stale, gone, unknown, and the lag after a pull.

T0 = calendar.timegm((2026, 3, 1, 12, 0, 0))  # when the pull of interest finished
LONG_AFTER = T0 + 3600
BASE = "127.0.0.1:5000/base:1"
BASE_RECORDED = [{"container": "pull-0", "image": BASE, "digest": DIGEST_BASE}]
AGENT_LISTED = listed("prewarm/agent:1")


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def done_at(seconds):
    return {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": iso(seconds - 1), "finishedAt": iso(seconds)}}


def running_since(seconds):
    return {"running": {"startedAt": iso(seconds)}}


def base_pod(state=None, pulled=DIGEST_BASE):
    """A Ready preloader pod that pulled only 127.0.0.1:5000/base:1, at digest `pulled`."""
    ready = pod({"install-agent": done_at(T0 - 10), "pull-0": state or done_at(T0)}, RUNNING, images=BASE_RECORDED)
    ready["status"]["initContainerStatuses"][1]["imageID"] = image_id(BASE, pulled)
    return ready


def listing(*entries):
    return node(images=[AGENT_LISTED] + list(entries))


def wanting(digest, images=None):
    """The images as warm_status has them after resolving the tags: base:1 names `digest` now."""
    return with_wanted_digests(images or BASE_RECORDED, {BASE: digest})


def images_from_daemonset_like(images):
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": {IMAGES_ANNOTATION: json.dumps(images)}}}
    return images_from_daemonset(daemonset)


def fillers(count):
    return [{"names": ["registry.example/other-%d@sha256:%064x" % (index, index), "registry.example/other-%d:1" % index],
             "sizeBytes": 10 ** 10} for index in range(count)]


def test_a_moved_tag_makes_the_image_and_the_node_stale():
    result = evaluate(listing(listed(BASE)), base_pod(), wanting(DIGEST_B), now=LONG_AFTER)
    image = result["images"][0]
    assert (image["state"], image["reason"], image["digest"], image["wanted"]) == ("stale", "TagMoved", DIGEST_BASE, DIGEST_B)
    assert image["message"] == "the node holds %s under tag 1, the pool names %s now" % (DIGEST_BASE, DIGEST_B)
    assert result["warm"] is False
    assert result["state"] == "stale"
    assert result["message"] == "127.0.0.1:5000/base:1 stale: TagMoved: " + image["message"]
    assert evaluate(listing(listed(BASE)), base_pod(), wanting(DIGEST_B), require_ready=False, now=LONG_AFTER)["warm"] is False


def test_the_new_content_under_the_tag_is_present_whatever_the_pod_pulled_back_then():
    result = evaluate(listing(listed(BASE, DIGEST_B)), base_pod(pulled=DIGEST_BASE), wanting(DIGEST_B), now=LONG_AFTER)
    assert states(result) == ["present"]
    assert result["images"][0]["digest"] == DIGEST_B and result["images"][0]["wanted"] == DIGEST_B
    assert result["warm"] is True and result["state"] == "warm"


def test_the_recorded_digest_counts_when_tags_are_not_resolved():
    recorded = [dict(BASE_RECORDED[0], digest=DIGEST_B)]
    result = evaluate(listing(listed(BASE)), base_pod(), with_wanted_digests(recorded, None), now=LONG_AFTER)
    image = result["images"][0]
    assert (image["state"], image["digest"], image["wanted"]) == ("stale", DIGEST_BASE, DIGEST_B)
    assert result["state"] == "stale"
    # The same without with_wanted_digests: the recorded digest is what is wanted.
    assert evaluate(listing(listed(BASE)), base_pod(), recorded, now=LONG_AFTER)["images"][0] == image


def test_the_wanted_digest_held_but_not_under_the_tag_is_stale():
    result = evaluate(listing(listed(BASE, DIGEST_B, tagged=False)), base_pod(pulled=DIGEST_B), wanting(DIGEST_B), now=LONG_AFTER)
    image = result["images"][0]
    assert (image["state"], image["reason"], image["digest"], image["wanted"]) == ("stale", "TagMoved", DIGEST_B, DIGEST_B)
    assert image["message"] == "the node holds %s but not under tag 1: a pod naming the tag would pull" % DIGEST_B
    assert result["warm"] is False and result["state"] == "stale"


def test_an_image_the_pod_pulled_long_ago_that_the_node_no_longer_lists_is_gone():
    ready = pod({"install-agent": done_at(T0 - 30), "pull-0": done_at(T0 - 20), "pull-1": done_at(T0 - 10), "pull-2": done_at(T0)},
                RUNNING)
    assert ready["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    without_big = [entry for entry in LISTED if "127.0.0.1:5000/big:1" not in entry["names"]]
    result = evaluate(node(images=without_big), ready, IMAGES, now=LONG_AFTER)
    assert states(result) == ["present", "gone", "present"]
    gone = result["images"][1]
    assert (gone["reason"], gone["digest"], gone["wanted"]) == ("NotListed", None, None)
    assert gone["message"].startswith("pulled by pod, but the node's image list no longer has it")
    assert result["warm"] is False
    assert result["state"] == "gone"
    assert result["message"].startswith("127.0.0.1:5000/big:1 gone: NotListed: pulled by pod")
    assert result["recheck_at"] is None


def test_a_digest_reference_no_longer_listed_is_gone():
    result = evaluate(node(images=LISTED[:3]), pod(all_done(), RUNNING), images_from_daemonset_like(IMAGES))
    assert states(result) == ["present", "present", "gone"]
    assert result["images"][2]["wanted"] == DIGEST_A
    assert result["state"] == "gone"


@pytest.mark.parametrize("state", ["terminated", "running"])
def test_a_fresh_pull_not_listed_yet_is_present_until_the_list_lag_is_over(state):
    fresh = base_pod(done_at(T0) if state == "terminated" else running_since(T0))
    assert LIST_LAG_SECONDS == 90
    for now in (T0, T0 + 30, T0 + 89):
        result = evaluate(listing(), fresh, BASE_RECORDED, now=now)
        assert states(result) == ["present"]
        assert result["images"][0]["digest"] == DIGEST_BASE
        assert "recheck_at" not in result["images"][0]
        assert result["recheck_at"] == T0 + LIST_LAG_SECONDS
        assert result["warm"] is True and result["state"] == "warm"
    late = evaluate(listing(), fresh, BASE_RECORDED, now=T0 + LIST_LAG_SECONDS)
    assert states(late) == ["gone"]
    assert late["recheck_at"] is None
    assert late["warm"] is False and late["state"] == "gone"
    # Listed by then: present for good, nothing to check again.
    settled = evaluate(listing(listed(BASE)), fresh, BASE_RECORDED, now=T0 + 30)
    assert states(settled) == ["present"] and settled["recheck_at"] is None


def test_the_earliest_pull_in_its_lag_sets_the_recheck():
    images = images_from_daemonset_like(IMAGES)
    fresh = pod({"install-agent": done_at(T0 - 60), "pull-0": done_at(T0), "pull-1": done_at(T0 + 20), "pull-2": done_at(T0 + 25)},
                RUNNING)
    result = evaluate(node(images=[AGENT_LISTED, LISTED[3]]), fresh, images, now=T0 + 30)
    assert states(result) == ["present"] * 3
    assert result["recheck_at"] == T0 + LIST_LAG_SECONDS
    later = evaluate(node(images=[AGENT_LISTED, LISTED[3]]), fresh, images, now=T0 + LIST_LAG_SECONDS)
    assert states(later) == ["gone", "present", "present"]
    assert later["recheck_at"] == T0 + 20 + LIST_LAG_SECONDS


def test_within_the_lag_the_list_may_still_show_the_old_content_under_the_tag():
    # The pod just pulled the new content; the list still names the old one under the tag.
    fresh = base_pod(done_at(T0), pulled=DIGEST_B)
    result = evaluate(listing(listed(BASE, DIGEST_BASE)), fresh, wanting(DIGEST_B), now=T0 + 10)
    assert states(result) == ["present"]
    assert result["images"][0]["digest"] == DIGEST_B
    assert result["recheck_at"] == T0 + LIST_LAG_SECONDS
    late = evaluate(listing(listed(BASE, DIGEST_BASE)), fresh, wanting(DIGEST_B), now=T0 + LIST_LAG_SECONDS)
    assert states(late) == ["stale"] and late["images"][0]["digest"] == DIGEST_BASE


def test_a_fresh_pull_of_other_content_than_wanted_is_stale_at_once():
    fresh = base_pod(done_at(T0), pulled=DIGEST_BASE)
    result = evaluate(listing(), fresh, wanting(DIGEST_B), now=T0 + 10)
    image = result["images"][0]
    assert (image["state"], image["reason"], image["digest"], image["wanted"]) == ("stale", "TagMoved", DIGEST_BASE, DIGEST_B)
    assert image["message"] == "the node pulled %s, the pool names %s now" % (DIGEST_BASE, DIGEST_B)
    assert result["warm"] is False and result["state"] == "stale"
    assert result["recheck_at"] is None


def test_a_pulled_digest_other_than_the_reference_names_still_fails_when_listed():
    mismatched = pod(all_done(), RUNNING)
    mismatched["status"]["initContainerStatuses"][3]["imageID"] = image_id("busybox", DIGEST_B)
    result = evaluate(node(images=LISTED + [listed("busybox", DIGEST_B)]), mismatched, IMAGES)
    assert result["images"][2]["state"] == "failed" and result["images"][2]["reason"] == "DigestMismatch"
    assert result["state"] == "failed"


def test_not_listed_in_a_list_at_the_cap_is_unknown_and_the_node_cold():
    full = [AGENT_LISTED] + fillers(49)
    result = evaluate(node(images=full), base_pod(), BASE_RECORDED, now=LONG_AFTER)
    image = result["images"][0]
    assert (image["state"], image["reason"], image["digest"]) == ("unknown", "ImageListCapped", DIGEST_BASE)
    assert "at the kubelet's cap of 50 images" in image["message"] and "nodeStatusMaxImages" in image["message"]
    assert result["warm"] is False
    assert result["state"] == "cold"
    assert result["message"].startswith("127.0.0.1:5000/base:1 unknown: ImageListCapped: ")
    # One entry short of the cap, the list is complete: gone.
    assert states(evaluate(node(images=full[:-1]), base_pod(), BASE_RECORDED, now=LONG_AFTER)) == ["gone"]


def test_the_cap_is_the_kubelets_setting():
    full = [AGENT_LISTED] + fillers(59)
    assert states(evaluate(node(images=full), base_pod(), BASE_RECORDED, now=LONG_AFTER)) == ["unknown"]
    assert states(evaluate(node(images=full), base_pod(), BASE_RECORDED, max_images=100, now=LONG_AFTER)) == ["gone"]
    assert states(evaluate(node(images=full), base_pod(), BASE_RECORDED, max_images=60, now=LONG_AFTER)) == ["unknown"]
    assert states(evaluate(node(images=full), base_pod(), BASE_RECORDED, max_images=0, now=LONG_AFTER)) == ["gone"]
    message = evaluate(node(images=full), base_pod(), BASE_RECORDED, max_images=60, now=LONG_AFTER)["images"][0]["message"]
    assert "cap of 60 images" in message
    # Listed, the cap does not matter; within the lag, the pod's own status counts.
    assert states(evaluate(node(images=full + [listed(BASE)]), base_pod(), BASE_RECORDED, now=LONG_AFTER)) == ["present"]
    fresh = evaluate(node(images=full), base_pod(), BASE_RECORDED, now=T0 + 5)
    assert states(fresh) == ["present"] and fresh["recheck_at"] == T0 + LIST_LAG_SECONDS


STALE_BASE = dict(IMAGES[0], digest=DIGEST_B)   # base:1 names DIGEST_B now; the node holds DIGEST_BASE
WITHOUT_BIG = [entry for entry in LISTED if "127.0.0.1:5000/big:1" not in entry["names"]]


@pytest.mark.parametrize("inits, images, listed_images, expected_states, expected", [
    (all_done(), IMAGES, LISTED, ["present"] * 3, "warm"),
    (all_done(), [STALE_BASE] + IMAGES[1:], LISTED, ["stale", "present", "present"], "stale"),
    (all_done(), IMAGES, WITHOUT_BIG, ["present", "gone", "present"], "gone"),
    (all_done(), [STALE_BASE] + IMAGES[1:], WITHOUT_BIG, ["stale", "gone", "present"], "gone"),
    ({"install-agent": DONE, "pull-0": DONE, "pull-1": BACKOFF}, [STALE_BASE] + IMAGES[1:], LISTED,
     ["stale", "failed", "pending"], "failed"),
    ({"install-agent": DONE, "pull-0": DONE, "pull-1": BACKOFF}, IMAGES, LISTED[:1], ["gone", "failed", "pending"], "failed"),
    ({"install-agent": DONE, "pull-0": DONE, "pull-1": INITIALIZING}, IMAGES, LISTED, ["present", "pulling", "pending"], "cold"),
    ({"install-agent": DONE, "pull-0": DONE, "pull-1": INITIALIZING}, IMAGES, [], ["gone", "pulling", "pending"], "gone"),
    (all_done(), IMAGES, LISTED[:1] + fillers(49), ["unknown"] * 3, "cold"),
])
def test_the_node_state_is_the_worst_of_its_images(inits, images, listed_images, expected_states, expected):
    result = evaluate(node(images=listed_images), pod(inits, RUNNING), images)
    assert states(result) == expected_states
    assert result["state"] == expected
    assert result["warm"] is (expected == "warm")


def test_a_node_without_pod_or_not_ready_is_cold():
    assert evaluate(node(), None, IMAGES)["state"] == "cold"
    assert evaluate(node("False"), pod(all_done(), RUNNING), IMAGES)["state"] == "cold"
    assert evaluate(node(), pod(all_done(), RUNNING, pod_ready=False), IMAGES)["state"] == "cold"


def test_states_message_names_only_the_states_with_nodes():
    assert set(NODE_STATES) == set(["warm", "stale", "gone", "cold", "failed"])
    assert states_message({"warm": 3, "stale": 1, "gone": 1, "cold": 0, "failed": 0}, 5) == "3 of 5 nodes warm, 1 stale, 1 gone"
    assert states_message({"warm": 0, "stale": 0, "gone": 0, "cold": 2, "failed": 1}, 3) == "0 of 3 nodes warm, 2 cold, 1 failed"
    assert states_message(dict.fromkeys(NODE_STATES, 0), 0) == "0 of 0 nodes warm"


def _reported(node_dict, when):
    """The node with its Ready heartbeat at `when` (seconds since the epoch): when the kubelet last reported its status."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
    for condition in node_dict["status"]["conditions"]:
        condition["lastHeartbeatTime"] = stamp
    return node_dict


def test_a_list_reported_a_cache_period_after_the_pull_decides_at_once():
    fresh = base_pod(done_at(T0))
    # Reported 30 s after the pull ended: the kubelet's image cache had been refreshed since, so a missing image is gone
    # although the pull is only 40 s old.
    result = evaluate(_reported(listing(), T0 + 30), fresh, BASE_RECORDED, now=T0 + 40)
    assert states(result) == ["gone"] and result["recheck_at"] is None
    # Reported sooner, the list may predate the pull: the pod's own status still counts.
    early = evaluate(_reported(listing(), T0 + 29), fresh, BASE_RECORDED, now=T0 + 40)
    assert states(early) == ["present"] and early["recheck_at"] == T0 + LIST_LAG_SECONDS
