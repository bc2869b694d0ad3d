#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: warm_status
short_description: Report, or wait until, a pool's images are present on its nodes
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Reads a preloader DaemonSet made by M(prewarm.k8s.preloader), its pods and the nodes, and
    returns per node and per image whether the image is there (V(present)), being pulled
    (V(pulling)), queued behind an earlier image (V(pending)), failing (V(failed), with the
    kubelet's reason and message such as C(ErrImagePull) or C(ImagePullBackOff)), or whether the
    node has no preloader pod (V(no_pod), with why). It also returns the digest actually pulled
    and whether the node is Ready.
  - Only the B(current) state of each pull container counts. After a node reboot the kubelet runs
    the init containers again; an earlier successful run (C(lastState)) does not make an image
    present now. An image referenced by digest counts only when the kubelet reports that digest.
  - "A preloader in mode V(volume) (see M(prewarm.k8s.preloader)) has no container per image: the kubelet pulls
    all of a pod's image volumes before it starts its C(hold) container, so that container running means every
    image was pulled, and until then an image counts as V(present) when the node's image list holds it. The
    kubelet reports a failed pull on the C(hold) container, for the pod rather than per image, quoting the
    reference of the (last) image that failed: that image is V(failed); when the message names none of the
    pool's images, every image not on the node yet is V(failed), saying so. With the kubelet's
    C(ImageVolumeWithDigest) feature gate the digest each volume mounted is read from the pod's status too.
    Pods of either mode are read as they are, also while the DaemonSet controller replaces the pods after a
    mode change."
  - A node is warm when it is Ready (see O(require_ready)), every image is present and its
    preloader pod is Ready. The last condition guards against stale statuses after a node
    restart, which the node controller marks not Ready until the kubelet reports again.
  - With O(wait=true) it lists the nodes and the preloader pods once, then follows the API's
    watch on both (no polling, no request per node), re-evaluating only the node an event
    concerns, until every node is warm or O(timeout) passes. A watch the server ends is resumed
    from its last C(resourceVersion); an expired one (HTTP 410) is replaced by a fresh list; a
    lost connection (an API server restart) is re-established after a short back-off.
  - On timeout the module fails with a message naming each cold node, each image not present and
    its reason, and still returns the full per-node result.
  - "Presence is checked twice: the pod's statuses say the kubelet pulled an image, and the node's own image list
    (C(status.images), the kubelet's report of its image store by digest) says it still holds it. An image the pod
    pulled that the node no longer lists is V(gone) (removed by hand, by an image cleaner, by image GC); one the
    node holds under its tag at another digest than the pool names now is V(stale); one missing from a list at
    the kubelet's cap is V(unknown). The list follows a pull or a removal within about a minute; for 90 seconds
    after a pull the pod's own status counts."
  - Each node gets one state - V(warm), V(stale), V(gone), V(cold) (pulling, queued, no pod, not Ready) or
    V(failed) - and RV(states) counts them, so a scheduled run can alert on drift.
  - Read-only unless O(record_state=true). Checks every option, the DaemonSet and every named node before waiting.
extends_documentation_fragment:
  - prewarm.k8s.auth
  - prewarm.k8s.controller
  - prewarm.k8s.node_image_list
  - prewarm.k8s.preloader_ref
attributes:
  check_mode:
    support: full
    description:
      - In check mode it reports and waits exactly as otherwise, and with O(record_state=true) reports the labels it
        would write without writing them.
  diff_mode:
    support: none
    description: The only change is the drift label (O(record_state)); RV(recorded) names the nodes it was written on.
options:
  nodes:
    description:
      - Names of the nodes to report on or wait for.
      - A name that is not a node of the cluster fails the run before any wait.
      - When omitted, every node the DaemonSet runs on is used, as the DaemonSet controller
        decides it from the pod template (C(nodeSelector), required node affinity, and taints
        not tolerated), at the time the module starts. An empty list means no node.
    type: list
    elements: str
  wait:
    description:
      - Whether to wait until every node is warm.
    type: bool
    default: false
  timeout:
    description:
      - With O(wait=true), how many seconds to wait in total before failing.
    type: int
    default: 600
  require_ready:
    description:
      - Whether a node must be Ready to count as warm.
      - With V(false) a NotReady node whose images are present counts as warm (the reason is still
        given in its C(message)).
    type: bool
    default: true
  fail_on_cold:
    description:
      - With O(wait=false), whether to fail when a node is not warm. The per-node result is returned either way.
      - With O(wait=true) a node still cold at the timeout always fails the run.
    type: bool
    default: false
  resolve_tags:
    description:
      - Ask the registries, once at the start, which digest each of the pool's tags names now, and count a node
        warm only when it holds that digest. A node holding what the DaemonSet recorded while the tag has moved
        since is then V(stale) (run M(prewarm.k8s.preloader) again, or the prewarm or reconcile playbook, to roll
        the new content out).
      - Credentials come from the DaemonSet's C(imagePullSecrets) in O(namespace), as for M(prewarm.k8s.preloader).
        A reference that fails to resolve fails the task, naming it and the registry's answer.
      - V(false) compares with the digests recorded on the DaemonSet when it was last applied.
    type: bool
    default: true
  registries:
    description:
      - How to reach each registry when resolving tags; see the M(prewarm.k8s.preloader) option of the same name
        (also for the environment variable E(PREWARM_REGISTRIES)).
    type: dict
  record_state:
    description:
      - Keep each node's state on the node, as the label C(warmth.prewarm.k8s/<name>=<state>) (V(warm), V(stale),
        V(gone), V(cold), V(failed)), written at the end of the run where it changed. Pod readiness does not change
        when an image goes or a tag moves; this label does, so kube-state-metrics (C(kube_node_labels), with the
        label allowed by C(--metric-labels-allowlist)) or a label selector can alert on drift.
      - The only write this module makes; it needs C(patch) on nodes. In check mode nothing is written and the
        task reports what would change.
    type: bool
    default: false
notes:
  - Needs C(get) on the DaemonSet, and C(list) and C(watch) on nodes and on pods in O(namespace).
seealso:
  - module: prewarm.k8s.preloader
  - module: prewarm.k8s.node_maintenance
"""

EXAMPLES = r"""
- name: Wait until the upgraded nodes hold every image of the web pool
  prewarm.k8s.warm_status:
    name: preload-web
    namespace: prewarm
    nodes: "{{ upgraded_nodes }}"
    wait: true
    timeout: 900

- name: Report which nodes of the pool are warm, without waiting
  prewarm.k8s.warm_status:
    name: preload-web
    namespace: prewarm
  register: warmth

- name: Show the images that are not there yet
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.message }}"
  loop: "{{ warmth.nodes | dict2items }}"
  when: not item.value.warm
"""

RETURN = r"""
nodes:
  description:
    - Per node name, its warmth.
  returned: always
  type: dict
  sample:
    node-3:
      ready: true
      warm: false
      pod: preload-web-x7k2p
      message: "127.0.0.1:5000/big:1 failed: ImagePullBackOff: Back-off pulling image \"127.0.0.1:5000/big:1\""
      images:
        - image: registry.example.com/web/base:2.1
          container: pull-0
          state: present
          digest: sha256:5d5a6e8a4b2c39ab8a2d7d2f4a4c2c1e0d9f3b1a2c4e6f8a0b2d4f6a8c0e2a4b
          reason: null
          message: null
        - image: 127.0.0.1:5000/big:1
          container: pull-1
          state: failed
          digest: null
          reason: ImagePullBackOff
          message: Back-off pulling image "127.0.0.1:5000/big:1"
  contains:
    ready:
      description: Whether the node's Ready condition is True.
      type: bool
    state:
      description:
        - V(warm), V(stale) (holds other content under a tag than the pool names now), V(gone) (an image its pod
          pulled is no longer on it), V(cold) (pulling, queued, no pod, not Ready, or unknown) or V(failed) (a pull
          or a digest failed).
      type: str
    warm:
      description: Whether the node counts as warm (see the module description).
      type: bool
    pod:
      description: Name of the preloader pod that counts on this node, or null when there is none.
      type: str
    message:
      description: Why the node is not warm (every reason, separated by C(; )), or a short confirmation.
      type: str
    images:
      description: One entry per image of the pool, in the DaemonSet's order.
      type: list
      elements: dict
      contains:
        image:
          description: The image reference as given to the preloader.
          type: str
        container:
          description: The preloader pod's init container that pulls it (mode V(init)), else null.
          type: str
        volume:
          description: The preloader pod's image volume that holds it (mode V(volume)), else null.
          type: str
        state:
          description:
            - V(present), V(pulling), V(pending) (queued behind an earlier image), V(failed), V(no_pod) (no
              preloader pod on the node), V(stale), V(gone) or V(unknown) (see the module description).
          type: str
        digest:
          description:
            - The digest the node holds, from its image list or the kubelet's C(imageID); null when not
              present or when the runtime reports no repository digest.
          type: str
        wanted:
          description:
            - The digest the pool names now for this image (resolved now, or as recorded on the
              DaemonSet); null when tags are not resolved.
          type: str
        reason:
          description:
            - The kubelet's reason (for example C(ErrImagePull), C(ImagePullBackOff)),
              C(DigestMismatch) when the pulled digest is not the one referenced,
              C(PodOutdated) when the pod predates this image, C(TagMoved) (stale),
              C(NotListed) (gone) or C(ImageListCapped) (unknown).
          type: str
        message:
          description: The kubelet's message, or what the image waits for.
          type: str
warm:
  description: Names of the warm nodes, sorted.
  returned: always
  type: list
  elements: str
  sample: [node-1, node-2]
cold:
  description: Names of the nodes not warm, sorted.
  returned: always
  type: list
  elements: str
  sample: [node-3]
recorded:
  description: With O(record_state=true), the nodes whose drift label this run wrote (would write, in check mode).
  returned: always
  type: list
  elements: str
states:
  description: How many nodes are in each state.
  returned: always
  type: dict
  sample: {warm: 997, stale: 2, gone: 1, cold: 0, failed: 0}
digests:
  description: Per image reference, the digest the pool names now (what nodes are compared with).
  returned: always
  type: dict
all_warm:
  description: Whether every node is warm (also true when there is no node).
  returned: always
  type: bool
images:
  description:
    - The pool's images and the init containers (key C(container)) or image volumes (key C(volume)) that pull
      them, as recorded on the DaemonSet.
  returned: always
  type: list
  elements: dict
  sample:
    - container: pull-0
      image: registry.example.com/web/base:2.1
mode:
  description: The preloader's mode as recorded on the DaemonSet, V(volume) or V(init).
  returned: always
  type: str
  sample: volume
msg:
  description:
    - How many nodes are warm, or, on failure, each cold node with every reason it is not warm
      (nodes separated by C( | )).
  returned: always
  type: str
  sample: "timed out after 600s: 1 of 3 nodes not warm: node-3: 127.0.0.1:5000/big:1 failed: ImagePullBackOff: Back-off pulling image"
watch:
  description:
    - How the node and pod watches fared while waiting. C(reconnects) counts the times a watch failed (its connection
      was lost or could not be reopened, for example while the API server restarted) and then delivered events
      again, resumed from the last resourceVersion it had seen; C(relists) counts the fresh LISTs made when that
      resourceVersion had expired (HTTP 410 Gone). Both 0 when the module did not wait.
  returned: always
  type: dict
  sample: {reconnects: 1, relists: 0}
elapsed:
  description: Seconds the module spent reading and waiting.
  returned: always
  type: float
  sample: 12.4
"""

import time
from functools import partial

from ansible.module_utils.basic import env_fallback

from ansible_collections.prewarm.k8s.plugins.module_utils.api_reads import api_call
from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.controller import gone as controller_gone
from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_module, build_api_client, check_reachable
from ansible_collections.prewarm.k8s.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.prewarm.k8s.plugins.module_utils.drift import state_patches, warmth_label
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, describe_api_exception
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_FIELDS
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanCoreApi
from ansible_collections.prewarm.k8s.plugins.module_utils.names import check_dns_label, check_object_name
from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import (
    DEFAULT_LIST_LAG_SECONDS,
    DEFAULT_MAX_IMAGES,
    check_image_list_options,
    narrow_images,
    repositories,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.node_patch import MERGE_PATCH
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_watch import list_preloader_pods, read_preloader, start_tracker
from ansible_collections.prewarm.k8s.plugins.module_utils.registry_auth import check_registry_options
from ansible_collections.prewarm.k8s.plugins.module_utils.resolution import parse_references, resolve_pool
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import label_selector_string, why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.transient import GaveUp, send
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import (
    preloader_mode,
    states_message,
    timeout_message,
    with_wanted_digests,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.watcher import ApiListWatch, follow

try:
    from kubernetes.client import ApiException
except ImportError:
    pass  # api_module() reports the missing library

ARGUMENT_SPEC = dict(
    # Filled in by the action plugin (plugins/action): the playbook process whose end stops the wait.
    controller=dict(type="dict", options=dict(pid=dict(type="int", required=True), start=dict(type="int", required=True))),
    name=dict(type="str", required=True),
    namespace=dict(type="str", default="prewarm-system"),
    nodes=dict(type="list", elements="str"),
    wait=dict(type="bool", default=False),
    timeout=dict(type="int", default=600),
    require_ready=dict(type="bool", default=True),
    fail_on_cold=dict(type="bool", default=False),
    resolve_tags=dict(type="bool", default=True),
    registries=dict(type="dict", fallback=(env_fallback, ["PREWARM_REGISTRIES"])),
    node_status_max_images=dict(type="int", default=DEFAULT_MAX_IMAGES),
    image_list_lag=dict(type="int", default=DEFAULT_LIST_LAG_SECONDS),
    record_state=dict(type="bool", default=False),
)


def check_params(params):
    check_object_name(params["name"], "name")
    check_dns_label(params["namespace"], "namespace")
    for node in params["nodes"] or []:
        check_object_name(node, "nodes")
    if params["timeout"] <= 0:
        raise InvalidInput("timeout: must be a positive number of seconds, not %r" % params["timeout"])
    check_image_list_options(params)
    return check_registry_options(params["registries"] or {})


def wanted_digests(api_client, params, registries, pod_spec, images):
    """{reference: digest} each of the pool's references names now (or as recorded, without resolving)."""
    recorded = dict((entry["image"], entry["digest"]) for entry in images if entry.get("digest"))
    if not params["resolve_tags"]:
        return recorded
    secrets = [ref.get("name") for ref in pod_spec.get("imagePullSecrets") or [] if ref.get("name")]
    return resolve_pool(api_client, parse_references(entry["image"] for entry in images), secrets, params["namespace"],
                        registries, {}, params["request_timeout"])


def node_stream(core, params, pod_spec, images):
    """The node LIST/WATCH, narrowed on the server where the options allow it."""
    names = params["nodes"]
    narrow = narrow_images(repositories(entry["image"] for entry in images))
    selectors = {}
    if names is not None and len(names) == 1:
        selectors["field_selector"] = "metadata.name=" + names[0]
    elif names is None and pod_spec.get("nodeSelector"):
        selectors["label_selector"] = label_selector_string({"matchLabels": pod_spec["nodeSelector"]})
    return ApiListWatch(core.list_node, params["request_timeout"], kept_fields=NODE_FIELDS, narrow=narrow, **selectors)


def target_names(params, node_items, pod_spec):
    """The nodes to report on; fails naming every unknown node before any wait."""
    if params["nodes"] is None:
        return [node["metadata"]["name"] for node in node_items if why_not_scheduled(node, pod_spec) is None]
    known = set(node["metadata"]["name"] for node in node_items)
    unknown = [name for name in params["nodes"] if name not in known]
    if unknown:
        raise InvalidInput("nodes: no such node: %s" % ", ".join(unknown))
    return list(dict.fromkeys(params["nodes"]))


def record_states(core, params, tracker, check_mode):
    """Write the drift label where it changed; returns (node names written, warnings)."""
    patches = state_patches(tracker.results, tracker.node_labels(), warmth_label(params["name"]))
    if check_mode or not patches:
        return sorted(patches), []

    def write(name):
        send(partial(core.patch_node, name, patches[name], _content_type=MERGE_PATCH, _preload_content=False,
                     _request_timeout=params["request_timeout"])).drain_conn()

    written, warnings = [], []
    for name, _result, exc in run_concurrently(write, sorted(patches)):
        if exc is None:
            written.append(name)
        else:
            cause = exc.cause if isinstance(exc, GaveUp) else exc
            warnings.append(describe_api_exception(cause, "writing the drift label on node %s" % name)
                            if isinstance(cause, ApiException) else "writing the drift label on node %s: %s" % (name, cause))
    return written, warnings


def run(module):
    params, check_mode = module.params, module.check_mode
    started = time.monotonic()
    registries = check_params(params)
    connection_warnings = []
    api_client = build_api_client(params, pool_size=4, warn=connection_warnings.append)
    check_reachable(api_client, params["request_timeout"])
    daemonset, images, pod_spec = read_preloader(api_client, params)
    # Asked before any wait: a tag moved since the preloader ran makes its nodes stale now.
    digests = wanted_digests(api_client, params, registries, pod_spec, images)
    images = with_wanted_digests(images, digests)

    core = LeanCoreApi(api_client)
    nodes = node_stream(core, params, pod_spec, images)
    node_items, node_version = api_call(api_client, "listing nodes", nodes.list)
    names = target_names(params, node_items, pod_spec)
    pods, pod_items, pod_version = list_preloader_pods(api_client, core, params, daemonset)

    tracker = start_tracker(names, images, pod_spec, daemonset, params, node_items, pod_items)
    trouble, watch = {}, {"reconnects": 0, "relists": 0}
    if params["wait"] and not tracker.all_warm:
        _done, trouble = follow([(NODES, nodes, node_version), (PODS, pods, pod_version)], tracker,
                                started + params["timeout"], counts=watch, abandoned=lambda: controller_gone(params["controller"]))

    recorded, warnings = record_states(core, params, tracker, check_mode) if params["record_state"] else ([], [])
    result = dict(changed=bool(recorded), nodes=tracker.results, warm=tracker.warm(), cold=tracker.cold(), states=tracker.states(),
                  digests=digests, all_warm=tracker.all_warm, images=images, mode=preloader_mode(images), recorded=recorded,
                  watch=watch,
                  elapsed=round(time.monotonic() - started, 3))
    result["msg"] = states_message(result["states"], len(result["nodes"]))
    warnings = connection_warnings + warnings
    if not result["nodes"] and params["nodes"] is None:
        warnings.append("DaemonSet %s/%s runs on no node: nothing to report" % (params["namespace"], params["name"]))
    failure = None
    if not tracker.all_warm and (params["wait"] or params["fail_on_cold"]):
        failure = timeout_message(tracker.results, tracker.cold(), params["timeout"] if params["wait"] else None,
                                  list(trouble.values()))
    return result, failure, warnings


def main():
    run_module(api_module(ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
