#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: warmup
short_description: Warm a batch of nodes in waves and release each node the moment it is warm
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Warms the named nodes with a preloader DaemonSet made by M(prewarm.k8s.preloader), never letting more than
    O(max_pulling) of them pull at once, and releases each node (takes off the maintenance marks of
    M(prewarm.k8s.node_maintenance)) as soon as it is warm, in one module run.
  - "Waves need the preloader's O(prewarm.k8s.preloader#module:scope=admitted): its pods run only on nodes
    labelled C(preload.prewarm.k8s/<name>=true). This module adds that label (a merge patch on the label alone)
    to at most O(max_pulling) nodes that are not warm yet, and admits the next node each time one turns warm.
    Nodes that already carry the label count as pulling. The label stays after the release, so the preloader pod
    stays and keeps the images referenced (the kubelet's image GC does not delete images in use)."
  - With a preloader of scope V(pool) or V(maintenance) every node already has its pod, so waves cannot be
    enforced; the module warns, then waits and releases as above.
  - A node is warm as M(prewarm.k8s.warm_status) decides it (every image present, the preloader pod Ready, the node
    Ready unless O(require_ready=false)). The release is exactly M(prewarm.k8s.node_maintenance) with
    O(prewarm.k8s.node_maintenance#module:state=absent) - it takes off only the marks the node's maintenance
    annotation says are ours, with one patch per node and a re-read and retry when another writer changed its taints, labels or annotation in between.
    Admissions and releases refused with HTTP 429 (after the server's C(Retry-After), up to 10 requests)
    or 500/502/503/504, or whose connection failed (up to 4 requests), are sent again.
  - Before a node is admitted, with O(image_fs_check=true), its image filesystem is checked through the API
    server's node proxy (the kubelet's C(/stats/summary), C(node.runtime.imageFs), and its C(/configz) for the
    thresholds it runs with). A node where the images it lacks would bring usage to the kubelet's
    C(imageGCHighThresholdPercent) or more, or its available space to the C(imagefs.available) eviction
    threshold (hard or soft; C(nodefs.available) too where the stats give the image filesystem the node's own
    capacity) or less, is refused - it is not admitted and stays marked, and the module fails naming it with the
    numbers - because the kubelet's image GC would then delete images, possibly the ones just preloaded, or the
    node would get DiskPressure. O(image_gc_high_threshold) stands in where C(/configz) cannot be read. Image sizes come from O(image_sizes), else from
    C(status.images) of any node that already holds the image. Unknown sizes and unreadable stats (a node
    without a kubelet, a proxy that is not allowed) give a warning, not a refusal.
  - A node that would get no preloader pod even when admitted (it does not match the DaemonSet's node selector,
    or has a taint the pods do not tolerate) is refused too, instead of holding a slot until the timeout.
  - Lists the nodes and the preloader pods once, then follows the API's watch on both (no polling, no request per
    node). Admissions and releases of several nodes at the same moment run concurrently (O(workers)).
  - At O(timeout) the module fails naming each node that is not warm and why (each image not present and its
    reason, or that it waited for a pulling slot). Nodes that are not warm are never released.
  - Every option, the DaemonSet and every named node are checked before the first write.
extends_documentation_fragment:
  - prewarm.k8s.auth
  - prewarm.k8s.controller
  - prewarm.k8s.node_image_list
  - prewarm.k8s.preloader_ref
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and runs the checks, then reports what would be done now - the first wave it would
        admit and the nodes already warm that it would release - without writing or waiting.
  diff_mode:
    support: full
    description:
      - Per node admitted or released, before and after of the admission label and of the maintenance marks.
options:
  nodes:
    description:
      - Names of the nodes to warm and release, admitted in this order. An empty list means nothing to do.
      - A name that is not a node of the cluster fails the run before any change.
    type: list
    elements: str
    required: true
  max_pulling:
    description:
      - The most nodes of O(nodes) pulling at the same time (admitted and not warm yet).
    type: int
    default: 10
  release:
    description:
      - Whether to take the maintenance marks off each node as soon as it is warm.
    type: bool
    default: true
  timeout:
    description:
      - How many seconds to wait in total before failing.
    type: int
    default: 1800
  require_ready:
    description:
      - Whether a node must be Ready to count as warm.
    type: bool
    default: true
  image_fs_check:
    description:
      - Whether to check each node's image filesystem before admitting it (see the description).
    type: bool
    default: true
  image_gc_high_threshold:
    description:
      - The kubelet's C(imageGCHighThresholdPercent) on these nodes (set by M(prewarm.k8s.kubelet_config)), used for a
        node whose C(/configz) cannot be read (the module warns); a node is refused when the images it lacks would
        bring its image filesystem usage to this percentage or more. Where C(/configz) can be read, the kubelet's own
        value is used instead.
      - V(100) means the kubelet's image GC is off; then only images that do not fit at all refuse a node.
    type: int
    default: 85
  image_sizes:
    description:
      - Sizes in bytes of the preloaded images, by image reference, for the image filesystem check. A size given
        here is used instead of what the nodes report.
      - Needed for an image that no node holds yet; without it the check counts only the images of known size.
    type: dict
  workers:
    description:
      - How many nodes are patched, and image filesystems read, at the same time.
    type: int
    default: 32
  repull:
    description:
      - Pull again on a node whose preloader pod, made from the DaemonSet's current template, pulled an image that
        the node no longer holds (V(gone)) or whose tag there names other content than the DaemonSet records
        (V(stale)) - by deleting that pod, once per node and run, so the DaemonSet controller makes a new one that
        pulls. At most O(max_pulling) nodes pull again at once. A stale node whose pod predates the template is
        left to the DaemonSet controller's rolling update.
      - V(false) only reports such nodes.
    type: bool
    default: true
notes:
  - Needs C(get) on the DaemonSet, C(list) and C(watch) on nodes and on pods in O(namespace), C(patch) on nodes,
    and for O(image_fs_check) C(get) on C(nodes/proxy).
  - The kubelet lists at most C(nodeStatusMaxImages) (50 by default) images of a node, largest first; a small image
    missing from that list counts as missing, which only makes the check more careful.
seealso:
  - module: prewarm.k8s.preloader
  - module: prewarm.k8s.warm_status
  - module: prewarm.k8s.node_maintenance
"""

EXAMPLES = r"""
- name: Preloader for the gpu pool that only runs on admitted nodes
  prewarm.k8s.preloader:
    name: preload-gpu
    scope: admitted
    node_selector:
      pool: gpu
    images: "{{ gpu_pool_images }}"

- name: Warm the upgraded batch, two nodes pulling at a time, and release each node once warm
  prewarm.k8s.warmup:
    name: preload-gpu
    nodes: "{{ ansible_play_batch }}"
    max_pulling: 2
    timeout: 3600
    image_sizes:
      registry.example.com/ml/model-server:4.2: 9663676416
  delegate_to: localhost
  run_once: true
  register: warmup

- name: Show how long each node spent warming
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.warming_seconds }}s, {{ item.value.message }}"
  loop: "{{ warmup.nodes | dict2items }}"
"""

RETURN = r"""
nodes:
  description: Per node name, its warmth and what this run did with it.
  returned: always
  type: dict
  sample:
    gpu-7:
      warm: true
      state: warm
      ready: true
      pod: preload-gpu-x7k2p
      admitted: true
      released: true
      admitted_at: "2024-05-01T03:10:02.114Z"
      warm_at: "2024-05-01T03:12:40.503Z"
      released_at: "2024-05-01T03:12:40.611Z"
      warming_seconds: 158.389
      release_delay_seconds: 0.108
      message: "warm: all 2 images present; released"
      images:
        - image: registry.example.com/ml/model-server:4.2
          container: pull-0
          state: present
          digest: sha256:5d5a6e8a4b2c39ab8a2d7d2f4a4c2c1e0d9f3b1a2c4e6f8a0b2d4f6a8c0e2a4b
          reason: null
          message: null
  contains:
    warm:
      description: Whether the node was warm at some moment of this run (it is then no longer pulling).
      type: bool
    state:
      description:
        - The node's state at the end - V(warm), V(stale), V(gone), V(cold) or V(failed), as in
          M(prewarm.k8s.warm_status).
      type: str
    ready:
      description: Whether the node's Ready condition is True at the end.
      type: bool
    pod:
      description: Name of the node's preloader pod at the end, or null.
      type: str
    admitted:
      description: Whether the node carries the admission label at the end (always false for scopes other than V(admitted)).
      type: bool
    released:
      description: Whether this run took the node's maintenance marks off (would, in check mode).
      type: bool
    repulled:
      description: Whether this run deleted the node's preloader pod to pull a gone or stale image again (see O(repull)).
      type: bool
    admitted_at:
      description: When this run admitted the node (RFC 3339 UTC); null when it was admitted before, or not at all.
      type: str
    warm_at:
      description: When this run first saw the node warm (RFC 3339 UTC), or null.
      type: str
    released_at:
      description: When this run released the node (RFC 3339 UTC), or null.
      type: str
    warming_seconds:
      description: Seconds from RV(nodes.admitted_at) to RV(nodes.warm_at), when both are known.
      type: float
    release_delay_seconds:
      description: Seconds from RV(nodes.warm_at) to RV(nodes.released_at), when both are known.
      type: float
    message:
      description: Why the node is not warm, why it was refused, the error of a failed patch, or a short confirmation.
      type: str
    images:
      description:
        - One entry per image of the pool, as returned by M(prewarm.k8s.warm_status) (image, container or volume, state,
          digest, reason, message).
      type: list
      elements: dict
warm:
  description: Names of the nodes warm at some moment of this run, in the order given.
  returned: always
  type: list
  elements: str
  sample: [gpu-7, gpu-8]
cold:
  description: Names of the nodes never warm in this run (refused ones excluded), in the order given.
  returned: always
  type: list
  elements: str
  sample: []
released:
  description: Names of the nodes whose maintenance marks this run took off (would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [gpu-7, gpu-8]
admitted:
  description: Names of the nodes this run admitted (would admit now, in check mode).
  returned: always
  type: list
  elements: str
  sample: [gpu-7, gpu-8]
repulled:
  description: Names of the nodes whose preloader pod this run deleted to pull a gone or stale image again.
  returned: always
  type: list
  elements: str
  sample: [gpu-3]
refused:
  description: Per refused node, why it was not admitted.
  returned: always
  type: dict
  sample:
    gpu-9: "preloading would bring image filesystem usage to 91%, at or above image_gc_high_threshold 85%, ..."
mode:
  description: The preloader's mode as recorded on the DaemonSet, V(volume) or V(init); null when no node was given.
  returned: always
  type: str
  sample: volume
scope:
  description: The preloader's scope, V(admitted), V(maintenance) or V(pool), read from its node selector.
  returned: always
  type: str
  sample: admitted
max_pulling_seen:
  description: The largest number of the given nodes pulling (admitted and not warm) at the same moment.
  returned: always
  type: int
  sample: 2
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
  description: Seconds the module spent.
  returned: always
  type: float
  sample: 312.5
msg:
  description: A summary, or on failure each cold, refused or failed node and why (nodes separated by C( | )).
  returned: always
  type: str
  sample: "2 of 2 nodes warm, 2 released, at most 2 pulling at once (max_pulling 2)"
"""

import json
import time
from functools import partial

from ansible_collections.prewarm.k8s.plugins.module_utils.api_reads import api_call
from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.controller import gone as controller_gone
from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_module, build_api_client, check_reachable
from ansible_collections.prewarm.k8s.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError, describe_api_exception
from ansible_collections.prewarm.k8s.plugins.module_utils.image_fs import (
    check_image_sizes,
    image_sizes,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_FIELDS, NODE_FIELDS_WITH_IMAGES, keep
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanCoreApi
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.names import check_dns_label, check_object_name
from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import (
    DEFAULT_LIST_LAG_SECONDS,
    DEFAULT_MAX_IMAGES,
    check_image_list_options,
    narrow_images,
    repositories,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.node_patch import MERGE_PATCH, apply_plan, node_failure, release_request
from ansible_collections.prewarm.k8s.plugins.module_utils.node_selection import check_node_names
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_watch import list_preloader_pods, read_preloader, start_tracker
from ansible_collections.prewarm.k8s.plugins.module_utils.transient import GaveUp, send
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import preloader_mode
from ansible_collections.prewarm.k8s.plugins.module_utils.warmup_outcome import (
    admission_refusals,
    failure_message,
    image_fs_refusals,
    node_result,
    outcome_diff,
    timestamp,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.watcher import ApiListWatch, follow
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import (
    ADMIT_LABEL_VALUE,
    ADMITTED,
    MAINTENANCE,
    Waves,
    admission_label,
    preloader_scope,
)

try:
    from kubernetes import client as k8s_client
except ImportError:
    k8s_client = None  # api_module() fails with the missing-library message

ARGUMENT_SPEC = dict(
    # Filled in by the action plugin (plugins/action): the playbook process whose end stops the wait.
    controller=dict(type="dict", options=dict(pid=dict(type="int", required=True), start=dict(type="int", required=True))),
    name=dict(type="str", required=True),
    namespace=dict(type="str", default="prewarm-system"),
    nodes=dict(type="list", elements="str", required=True),
    max_pulling=dict(type="int", default=10),
    release=dict(type="bool", default=True),
    timeout=dict(type="int", default=1800),
    require_ready=dict(type="bool", default=True),
    image_fs_check=dict(type="bool", default=True),
    image_gc_high_threshold=dict(type="int", default=85),
    image_sizes=dict(type="dict"),
    workers=dict(type="int", default=32),
    node_status_max_images=dict(type="int", default=DEFAULT_MAX_IMAGES),
    image_list_lag=dict(type="int", default=DEFAULT_LIST_LAG_SECONDS),
    repull=dict(type="bool", default=True),
)


def check_params(params):
    """The node names and image sizes, checked; raises InvalidInput naming the bad option and value."""
    check_object_name(params["name"], "name")
    check_dns_label(params["namespace"], "namespace")
    for option in ("max_pulling", "timeout", "workers"):
        if params[option] < 1:
            raise InvalidInput("%s: must be at least 1, not %r" % (option, params[option]))
    if not 1 <= params["image_gc_high_threshold"] <= 100:
        raise InvalidInput("image_gc_high_threshold: must be a percentage from 1 to 100, not %r" % params["image_gc_high_threshold"])
    check_image_list_options(params)
    return check_node_names(params["nodes"], "nodes"), check_image_sizes(params["image_sizes"], "image_sizes")


class NodeActions(object):
    """The writes Waves decides on: admit (label) and release (maintenance marks), a batch at a time.

    dry_run: record what would be done and write nothing (check mode); keep_views: keep each
    release's before and after views for the diff (a 1,000-node run without --diff keeps only
    whether a node had anything to release).
    """

    def __init__(self, core, label, timeout, workers, dry_run, keep_views, namespace=None):
        self.core, self.label, self.timeout, self.workers, self.dry_run = core, label, timeout, workers, dry_run
        self.namespace, self.repull_pods = namespace, {}
        self.keep_views = keep_views
        self.request = release_request(timestamp(time.time()), "prewarm.k8s warmup")
        self.plans, self.warnings = {}, []

    def _each(self, func, items):
        outcomes = {}
        for item, _result, exc in run_concurrently(func, items, self.workers):
            name = item if isinstance(item, str) else item["metadata"]["name"]
            outcomes[name] = None if exc is None else (exc.msg if isinstance(exc, PrewarmError) else "%s: %s" % (type(exc).__name__, exc))
        return outcomes

    def admit(self, names):
        return self._each(self._admit, names)

    def _admit(self, name):
        if self.dry_run:
            return
        patch = {"metadata": {"labels": {self.label: ADMIT_LABEL_VALUE}}}
        try:
            send(partial(self.core.patch_node, name, patch, _content_type=MERGE_PATCH, _preload_content=False,
                         _request_timeout=self.timeout)).drain_conn()
        except GaveUp as exc:
            raise node_failure(exc.cause, "admitting (labelling)", name, self.core, exc.attempts)
        except k8s_client.ApiException as exc:
            raise node_failure(exc, "admitting (labelling)", name, self.core)

    def release(self, nodes):
        return self._each(self._release, nodes)

    def repull(self, pods):
        """Delete the named nodes' preloader pods ({node: pod}), so their replacements pull again."""
        self.repull_pods = dict(pods)
        return self._each(self._repull, list(pods))

    def _repull(self, name):
        if self.dry_run:
            return
        pod = self.repull_pods[name]
        try:
            send(partial(self.core.delete_namespaced_pod, pod, self.namespace, _preload_content=False,
                         _request_timeout=self.timeout)).drain_conn()
        except GaveUp as exc:
            raise node_failure(exc.cause, "deleting preloader pod %s to pull again" % pod, name, self.core, exc.attempts)
        except k8s_client.ApiException as exc:
            if exc.status != 404:  # replaced meanwhile: what we wanted
                raise node_failure(exc, "deleting preloader pod %s to pull again" % pod, name, self.core)

    def _release(self, node):
        plan = plan_node(node, self.request)
        if not self.dry_run:
            plan = apply_plan(self.core, plan, self.request, self.timeout)
        self.plans[plan["name"]] = plan if self.keep_views else {"patch": bool(plan["patch"])}
        self.warnings.extend(plan["warnings"])


def _read_kubelet(core, name, path, what, timeout):
    """(decoded JSON or None, problem or None): one kubelet endpoint through the API server's node proxy."""
    try:
        response = core.connect_get_node_proxy_with_path(name, path, _preload_content=False, _request_timeout=timeout)
        return json.loads(response.data), None
    except k8s_client.ApiException as exc:
        return None, describe_api_exception(exc, "reading the kubelet %s of node %s" % (what, name))
    except Exception as exc:  # a kubelet that answers slowly or not with JSON
        return None, "reading the kubelet %s of node %s: %s" % (what, name, exc)


def read_image_fs(core, name, timeout):
    """(stats summary or None, kubeletconfig of /configz or None, problems) for one node.

    /configz gives the image GC and eviction thresholds the kubelet runs with (flags included).
    """
    summary, problem = _read_kubelet(core, name, "stats/summary", "stats summary", timeout)
    if summary is None:
        return None, None, [problem]
    configz, config_problem = _read_kubelet(core, name, "configz", "configuration (/configz)", timeout)
    kubelet_config = (configz or {}).get("kubeletconfig") if isinstance(configz, dict) else None
    return summary, kubelet_config, [config_problem] if config_problem else []


def refusals(core, params, names, node_items, pod_spec, refs, given_sizes):
    """{name: why} for the nodes to be admitted that must not be, and warnings; reads, but no writes."""
    by_name, label = dict((node["metadata"]["name"], node) for node in node_items), admission_label(params["name"])
    refused, lacking = admission_refusals([by_name[name] for name in names], pod_spec, label, refs)
    if not params["image_fs_check"]:
        return refused, []
    reads = run_concurrently(lambda name: read_image_fs(core, name, params["request_timeout"]), list(lacking), params["workers"])
    fs_refused, warnings = image_fs_refusals(dict((name, read) for name, read, _exc in reads if read), lacking,
                                             image_sizes(refs, node_items, given_sizes), params["image_gc_high_threshold"])
    refused.update(fs_refused)
    return refused, warnings


def run(module):
    params, check_mode, diff_mode = module.params, module.check_mode, module._diff
    started = time.monotonic()
    names, given_sizes = check_params(params)
    if not names:
        return dict(changed=False, nodes={}, warm=[], cold=[], released=[], admitted=[], repulled=[], refused={}, scope=None, mode=None,
                    max_pulling_seen=0, watch={"reconnects": 0, "relists": 0}, elapsed=0.0, msg="no nodes given: nothing to do"), None, []
    warnings = []
    api_client = build_api_client(params, pool_size=params["workers"] + 4, warn=warnings.append)
    check_reachable(api_client, params["request_timeout"])
    daemonset, images, pod_spec = read_preloader(api_client, params)
    scope, label = preloader_scope(daemonset), admission_label(params["name"])
    if scope != ADMITTED:
        warnings.append("DaemonSet %s/%s has scope %s, so every node already has its preloader pod and max_pulling cannot "
                        "be enforced: create it with scope admitted to warm in waves" % (params["namespace"], params["name"], scope))
    if scope == MAINTENANCE and params["release"]:
        warnings.append("scope maintenance: releasing a node removes its preloader pod, so its images are no longer "
                        "referenced and the kubelet's image GC may delete them")

    core = LeanCoreApi(api_client)
    # All nodes, not only the named ones: image sizes come from any node that holds the images.
    nodes = ApiListWatch(core.list_node, params["request_timeout"], kept_fields=NODE_FIELDS_WITH_IMAGES)
    node_items, node_version = api_call(api_client, "listing nodes", nodes.list)
    known = set(node["metadata"]["name"] for node in node_items)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidInput("nodes: no such node: %s" % ", ".join(unknown))
    pods, pod_items, pod_version = list_preloader_pods(api_client, core, params, daemonset)

    refused = {}
    if scope == ADMITTED:
        refused, notes = refusals(core, params, names, node_items, pod_spec, [entry["image"] for entry in images], given_sizes)
        warnings.extend(notes)
    # The image sizes served the checks above; the wait holds every node of the pool for its
    # whole length and needs only the image names.
    nodes.kept_fields = NODE_FIELDS
    nodes.narrow = narrow_images(repositories(entry["image"] for entry in images))
    names_set = set(names)
    node_items = [nodes.narrow(node, keep(node, NODE_FIELDS)) for node in node_items if node["metadata"]["name"] in names_set]
    tracker = start_tracker(names, images, pod_spec, daemonset, params, node_items, pod_items)
    actions = NodeActions(core, label, params["request_timeout"], params["workers"], dry_run=check_mode, keep_views=diff_mode,
                          namespace=params["namespace"])
    waves = Waves(names, tracker, label, params["max_pulling"], scope == ADMITTED, params["release"], refused, actions, time.time,
                  batched=True, repull=params["repull"])
    # Every check is done and all state read: the first writes happen here.
    waves.start(node_items)
    trouble, watch = {}, {"reconnects": 0, "relists": 0}
    if not check_mode and not waves.all_warm:
        _done, trouble = follow([(NODES, nodes, node_version), (PODS, pods, pod_version)], waves, started + params["timeout"],
                                counts=watch, abandoned=lambda: controller_gone(params["controller"]))
    timed_out = not check_mode and not waves.all_warm
    warnings.extend(actions.warnings)
    warnings.extend(trouble.values())

    result = dict(
        nodes=dict((name, node_result(waves, actions.plans, name, timed_out, check_mode)) for name in names),
        warm=[name for name in names if name in waves.warm_at], cold=waves.cold(),
        released=[name for name in names if name in waves.released_at and actions.plans[name]["patch"]],
        admitted=[name for name in names if name in waves.admitted_at],
        repulled=[name for name in names if name in waves.repulled_at],
        refused=waves.refused, scope=scope, mode=preloader_mode(images), max_pulling_seen=waves.max_pulling_seen, watch=watch,
        elapsed=round(time.monotonic() - started, 3))
    result["changed"] = bool(result["released"] or result["admitted"] or result["repulled"])
    if diff_mode:
        result["diff"] = outcome_diff(waves, actions.plans)
    # Check mode does not wait, so nodes not warm yet are no failure there; refusals are.
    failure = failure_message(waves, result if not check_mode else dict(result, cold=[]), params["timeout"], timed_out)
    verb = "would " if check_mode else ""
    result["msg"] = "%d of %d nodes warm, %s%s %d, %s%s %d, at most %d pulling at once (max_pulling %d)" % (
        len(result["warm"]), len(names), verb, "admit" if check_mode else "admitted", len(result["admitted"]),
        verb, "release" if check_mode else "released", len(result["released"]), result["max_pulling_seen"], params["max_pulling"])
    return result, "%s; %s" % (result["msg"], failure) if failure else None, warnings


def main():
    run_module(api_module(ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
