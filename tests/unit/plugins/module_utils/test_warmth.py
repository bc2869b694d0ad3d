# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import IMAGES_ANNOTATION
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import (
    evaluate,
    images_from_daemonset,
    node_ready,
    pick_pod,
    pod_node_name,
    timeout_message,
)

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
IMAGES = [
    {"container": "pull-0", "image": "127.0.0.1:5000/base:1"},
    {"container": "pull-1", "image": "127.0.0.1:5000/big:1"},
    {"container": "pull-2", "image": "busybox@" + DIGEST_A},
]
DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}
RUNNING = {"running": {"startedAt": "2025-01-01T00:00:00Z"}}
INITIALIZING = {"waiting": {"reason": "PodInitializing"}}
BACKOFF = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "127.0.0.1:5000/big:1"'}}


def node(ready="True", reason=None, message=None):
    condition = {"type": "Ready", "status": ready}
    if reason:
        condition.update(reason=reason, message=message)
    return {"metadata": {"name": "node-1"}, "status": {"conditions": [condition]}}


def status(name, state, image_id=None, restarts=0, last_state=None):
    return {"name": name, "state": state, "imageID": image_id, "restartCount": restarts, "lastState": last_state or {}}


def pod(init_states, hold_state=None, pod_ready=None, phase="Running", name="preload-abc", images=None, **metadata):
    """A preloader pod; init_states maps container name to its current state (missing: no status)."""
    images = IMAGES if images is None else images
    spec_inits = [{"name": "install-agent", "image": "prewarm/agent:1"}]
    spec_inits += [{"name": entry["container"], "image": entry["image"]} for entry in images]
    ready = pod_ready if pod_ready is not None else hold_state == RUNNING
    return {
        "metadata": dict({"name": name, "uid": "uid-" + name, "creationTimestamp": "2025-01-01T00:00:00Z"}, **metadata),
        "spec": {"nodeName": "node-1", "initContainers": spec_inits, "containers": [{"name": "hold", "image": "prewarm/agent:1"}]},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "initContainerStatuses": [status(cname, state, "%s@%s" % (cname, DIGEST_A)) for cname, state in init_states.items()],
            "containerStatuses": [status("hold", hold_state or INITIALIZING)],
        },
    }


def all_done():
    return {"install-agent": DONE, "pull-0": DONE, "pull-1": DONE, "pull-2": DONE}


def states(result):
    return [image["state"] for image in result["images"]]


def test_images_from_daemonset_reads_the_annotation():
    daemonset = {"metadata": {"name": "p", "namespace": "ns", "annotations": {IMAGES_ANNOTATION: json.dumps(IMAGES)}}}
    assert images_from_daemonset(daemonset) == IMAGES


@pytest.mark.parametrize("annotations, expected", [
    ({}, "has no prewarm.k8s/images annotation"),
    ({IMAGES_ANNOTATION: "[not json"}, "is not JSON"),
    ({IMAGES_ANNOTATION: '{"container": "pull-0"}'}, "must be a JSON list"),
    ({IMAGES_ANNOTATION: '[{"container": "pull-0"}]'}, "must be a JSON list"),
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
    result = evaluate(node(), pod(all_done(), RUNNING), IMAGES)
    assert result["warm"] is True
    assert result["ready"] is True
    assert result["pod"] == "preload-abc"
    assert states(result) == ["present"] * 3
    assert [image["digest"] for image in result["images"]] == [DIGEST_A] * 3
    assert result["message"] == "warm: all 3 images present"


def test_hold_running_counts_init_containers_without_status_as_done():
    result = evaluate(node(), pod({}, RUNNING), IMAGES)
    assert states(result) == ["present"] * 3
    assert [image["digest"] for image in result["images"]] == [None] * 3
    assert result["warm"] is True


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
    local = pod(all_done(), RUNNING)
    local["status"]["initContainerStatuses"][1]["imageID"] = DIGEST_B
    result = evaluate(node(), local, IMAGES)
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
    older = pod(all_done(), RUNNING, images=IMAGES[:2])
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
