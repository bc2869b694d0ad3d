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
  - Read-only. Checks every option, the DaemonSet and every named node before waiting.
extends_documentation_fragment:
  - prewarm.k8s.auth
  - prewarm.k8s.preloader_ref
attributes:
  check_mode:
    support: full
    description: The module never changes anything; in check mode it reports and waits exactly as otherwise.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
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
          description: The preloader pod's init container that pulls it.
          type: str
        state:
          description:
            - V(present), V(pulling), V(pending) (queued behind an earlier image), V(failed) or
              V(no_pod) (no preloader pod on the node).
          type: str
        digest:
          description:
            - The digest the node pulled, from the kubelet's C(imageID); null when not present or
              when the runtime reports no repository digest.
          type: str
        reason:
          description:
            - The kubelet's reason (for example C(ErrImagePull), C(ImagePullBackOff)),
              C(DigestMismatch) when the pulled digest is not the one referenced, or
              C(PodOutdated) when the pod predates this image.
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
all_warm:
  description: Whether every node is warm (also true when there is no node).
  returned: always
  type: bool
images:
  description: The pool's images and the init containers that pull them, as recorded on the DaemonSet.
  returned: always
  type: list
  elements: dict
  sample:
    - container: pull-0
      image: registry.example.com/web/base:2.1
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

from ansible_collections.prewarm.k8s.plugins.module_utils.api_reads import api_call, read_daemonset
from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_module, build_api_client, check_reachable
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_FIELDS, POD_FIELDS
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanCoreApi
from ansible_collections.prewarm.k8s.plugins.module_utils.names import check_dns_label, check_object_name
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import label_selector_string, why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS, WarmTracker
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import images_from_daemonset, timeout_message
from ansible_collections.prewarm.k8s.plugins.module_utils.watcher import ApiListWatch, follow

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", default="prewarm-system"),
    nodes=dict(type="list", elements="str"),
    wait=dict(type="bool", default=False),
    timeout=dict(type="int", default=600),
    require_ready=dict(type="bool", default=True),
    fail_on_cold=dict(type="bool", default=False),
)


def check_params(params):
    check_object_name(params["name"], "name")
    check_dns_label(params["namespace"], "namespace")
    for node in params["nodes"] or []:
        check_object_name(node, "nodes")
    if params["timeout"] <= 0:
        raise InvalidInput("timeout: must be a positive number of seconds, not %r" % params["timeout"])


def node_stream(core, params, pod_spec):
    """The node LIST/WATCH, narrowed on the server where the options allow it."""
    names = params["nodes"]
    if names is not None and len(names) == 1:
        return ApiListWatch(core.list_node, params["request_timeout"], kept_fields=NODE_FIELDS, field_selector="metadata.name=" + names[0])
    if names is None and pod_spec.get("nodeSelector"):
        selector = label_selector_string({"matchLabels": pod_spec["nodeSelector"]})
        return ApiListWatch(core.list_node, params["request_timeout"], kept_fields=NODE_FIELDS, label_selector=selector)
    return ApiListWatch(core.list_node, params["request_timeout"], kept_fields=NODE_FIELDS)


def target_names(params, node_items, pod_spec):
    """The nodes to report on; fails naming every unknown node before any wait."""
    if params["nodes"] is None:
        return [node["metadata"]["name"] for node in node_items if why_not_scheduled(node, pod_spec) is None]
    known = set(node["metadata"]["name"] for node in node_items)
    unknown = [name for name in params["nodes"] if name not in known]
    if unknown:
        raise InvalidInput("nodes: no such node: %s" % ", ".join(unknown))
    return list(dict.fromkeys(params["nodes"]))


def run(params):
    started = time.monotonic()
    check_params(params)
    api_client = build_api_client(params, pool_size=4)
    check_reachable(api_client, params["request_timeout"])
    daemonset = read_daemonset(api_client, params)
    images = images_from_daemonset(daemonset)
    pod_spec = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}

    core = LeanCoreApi(api_client)
    nodes = node_stream(core, params, pod_spec)
    node_items, node_version = api_call(api_client, "listing nodes", nodes.list)
    names = target_names(params, node_items, pod_spec)
    pods = ApiListWatch(core.list_namespaced_pod, params["request_timeout"], kept_fields=POD_FIELDS, namespace=params["namespace"],
                        label_selector=label_selector_string((daemonset.get("spec") or {}).get("selector")))
    pod_items, pod_version = api_call(api_client, "listing the preloader pods in %s" % params["namespace"], pods.list)

    tracker = WarmTracker(names, images, pod_spec, daemonset["metadata"].get("uid"), params["require_ready"])
    tracker.replace(NODES, node_items)
    tracker.replace(PODS, pod_items)
    trouble, watch = {}, {"reconnects": 0, "relists": 0}
    if params["wait"] and not tracker.all_warm:
        _done, trouble = follow([(NODES, nodes, node_version), (PODS, pods, pod_version)], tracker,
                                started + params["timeout"], counts=watch)

    result = dict(changed=False, nodes=tracker.results, warm=tracker.warm(), cold=tracker.cold(),
                  all_warm=tracker.all_warm, images=images, watch=watch, elapsed=round(time.monotonic() - started, 3))
    failure = None
    if not tracker.all_warm and (params["wait"] or params["fail_on_cold"]):
        failure = timeout_message(tracker.results, tracker.cold(), params["timeout"] if params["wait"] else None,
                                  list(trouble.values()))
    return result, failure


def main():
    module = api_module(ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result, failure = run(module.params)
    except PrewarmError as exc:
        module.fail_json(msg=exc.msg, changed=False, **exc.details)
    if not result["nodes"] and module.params["nodes"] is None:
        module.warn("DaemonSet %s/%s runs on no node: nothing to report" % (module.params["namespace"], module.params["name"]))
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(msg="%d of %d nodes warm" % (len(result["warm"]), len(result["nodes"])), **result)


if __name__ == "__main__":
    main()
