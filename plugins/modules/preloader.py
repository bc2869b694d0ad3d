#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: preloader
short_description: Create, update or delete the DaemonSet that pulls a node pool's images
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Manages one DaemonSet per node pool whose pods pull the pool's images onto every selected node.
  - "In O(mode=volume) each pod has one Kubernetes image volume per image in O(images), named C(image-0),
    C(image-1), ..., and a single long-running container C(hold) that mounts them all read-only under
    C(/prewarm/images/<N>). The kubelet pulls every image volume before it starts the container, and nothing
    from the preloaded images is ever run, so any image (distroless, scratch, even an OCI artifact) works."
  - "In O(mode=init) each pod runs, in order: an init container C(install-agent) that copies a static binary
    into an C(emptyDir) volume (the agent of O(agent_image) itself, or else busybox from O(copier_image), copied
    under the name C(true)); one init container per image in O(images), named C(pull-0), C(pull-1), ..., that
    runs the copied binary (agent C(exit), busybox C(true): both exit 0 at once) and so needs no shell or
    binary inside the preloaded image (distroless and scratch images work); then the container C(hold)."
  - The C(hold) container runs O(pause_image) (its own C(/pause)), or the agent's C(pause) when O(agent_image)
    is given. The pod turns Ready only when every image has been pulled, so the DaemonSet's pods are the
    readiness signal that M(prewarm.k8s.warm_status) reads. No image has to be built, the default helper
    images are public ones.
  - "O(mode=auto) (the default) chooses V(volume) only where image volumes are known to work: an API server of
    Kubernetes 1.35 or later, and every node of the pool (those matching O(node_selector) and not kept off by
    a taint the pods do not tolerate, whatever O(scope)) reporting in C(status.nodeInfo) a kubelet of 1.35 or
    later and containerd 2.1 or later or CRI-O 1.31 or later. Anything else - an older version, another
    runtime, a version that cannot be read (simulated nodes report made-up ones), a pool with no node yet -
    chooses V(init). The API server accepting the C(image) volume field is not enough: a runtime without
    support may start the container with an empty directory in place of the image, and nothing would be
    pulled. Feature gates cannot be seen from the API - on a 1.35 cluster whose ImageVolume gate was turned
    off, set O(mode=init). RV(mode) and RV(mode_reason) say what was chosen and which node or version decided."
  - The DaemonSet and its pod template carry the annotation C(prewarm.k8s/images), a JSON list mapping each
    C(pull-N) container (key C(container)) or C(image-N) volume (key C(volume)) to the image reference as given
    and the digest it names (see O(resolve_tags)), and the
    labels C(app.kubernetes.io/managed-by=prewarm.k8s),
    C(prewarm.k8s/pool=<pool>) and C(prewarm.k8s/preloader=<name>) (the selector, derived from O(name) only so
    that an update never changes it).
  - "Secure by default, and within the C(restricted) Pod Security Standard: no service-account token,
    C(runAsNonRoot) with uid and gid 65532, C(RuntimeDefault) seccomp profile, and for every container no
    privilege escalation, a read-only root filesystem and all capabilities dropped."
  - "Changes are made with server-side apply (field manager C(prewarm.k8s), conflicts forced). Before any write
    the module sends the same apply as a dry run and compares labels, annotations and spec of the live object
    with the server's answer, so fields the API server defaults never count as a change, a second run reports
    no change, and no write is sent when nothing would change."
  - The module refuses to change or delete a DaemonSet of the same name that does not carry the label
    C(app.kubernetes.io/managed-by=prewarm.k8s).
options:
  name:
    description:
      - Name of the DaemonSet. At most 63 characters (it is also the value of the selector label).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the DaemonSet. It must exist; the module does not create it.
      - Give it the label C(pod-security.kubernetes.io/enforce=restricted) if you like; the pods comply.
    type: str
    default: prewarm-system
  pool:
    description:
      - Name of the node pool, the value of the C(prewarm.k8s/pool) label on the DaemonSet and its pods.
      - Defaults to O(name).
    type: str
  state:
    description:
      - V(present) creates or updates the DaemonSet; V(absent) deletes it.
    type: str
    choices: [ present, absent ]
    default: present
  images:
    description:
      - The images to pull onto the pool's nodes, by tag (V(nginx:1.27)), by digest
        (V(registry.example.com/app@sha256:<64 hex>)) or both. A reference without tag or digest means V(latest).
      - Each reference is parsed with the registry reference grammar; an invalid one, or two that name the same
        image, fail the task before anything is written.
      - The order is kept; the N-th image is pulled by container C(pull-N) (O(mode=init)) or volume C(image-N)
        (O(mode=volume)).
      - Required when O(state=present).
    type: list
    elements: str
  mode:
    description:
      - How the pods make the kubelet pull the images. V(volume) - one image volume per image, mounted by the
        C(hold) container; V(init) - one init container per image; V(auto) - V(volume) where the API server and
        every node of the pool support image volumes, else V(init) (see the description).
      - Changing the mode (also when V(auto) decides otherwise than before, for example once the pool's last old
        node is gone) changes the pod template, so the DaemonSet controller replaces the pods, at most
        O(max_unavailable) at a time; the images already on a node are not downloaded again unless their pull
        policy is V(Always).
    type: str
    choices: [ auto, volume, init ]
    default: auto
  pause_image:
    description:
      - The image of the C(hold) container when O(agent_image) is not given; it runs the image's own C(/pause).
      - "Default V(registry.k8s.io/pause:3.10.2), the sandbox image of kubeadm 1.37 and containerd 2.4, which
        most nodes already hold. Pin it by digest, or use your mirror of it."
      - It is pulled with C(IfNotPresent) whatever O(image_pull_policy) says, and never resolved through the registry.
      - Not with O(agent_image).
    type: str
  copier_image:
    description:
      - The image of the C(install-agent) init container in O(mode=init) when O(agent_image) is not given. It
        must hold a static busybox at C(/bin/busybox); the pod runs C(/bin/busybox cp /bin/busybox <emptyDir>/true),
        and each C(pull-N) container runs that copy, which exits 0 in any image (busybox picks its applet from
        the name it is run by).
      - "Default V(docker.io/library/busybox:1.37.0-musl), a static build. Pin it by digest, or use your mirror of it."
      - It is pulled with C(IfNotPresent) whatever O(image_pull_policy) says, and never resolved through the registry.
        Not used in O(mode=volume). Not with O(agent_image).
    type: str
  agent_image:
    description:
      - The prewarm agent image (provides C(/prewarm-agent) with the commands C(install), C(exit) and C(pause)),
        built from C(images/agent) in this collection. Optional; when given it replaces both O(pause_image) and
        O(copier_image) - it is the C(hold) container (C(pause)) in both modes, and in O(mode=init) it copies
        itself into the C(emptyDir) for the C(pull-N) containers (C(exit)).
      - Pin it by digest in production. It is pulled with C(IfNotPresent) whatever O(image_pull_policy) says.
    type: str
  node_selector:
    description:
      - "Node labels that select the pool's nodes, for example V({node.kubernetes.io/pool: gpu})."
      - Values must be strings (quote V(true) in YAML).
    type: dict
    default: {}
  scope:
    description:
      - V(pool) runs a pod on every node matching O(node_selector). The pods stay, so the images stay referenced.
      - V(maintenance) runs pods only on the nodes that also carry the label C(prewarm.k8s/maintenance=true)
        set by M(prewarm.k8s.node_maintenance), that is the nodes being upgraded; a node's pod goes away (and
        its images are no longer referenced) when the label is removed.
      - V(admitted) runs pods only on the nodes matching O(node_selector) that also carry the label
        C(preload.prewarm.k8s/<name>=true). M(prewarm.k8s.warmup) adds that label to a few nodes at a time
        (warming in waves, so a large pool is not a pull storm on the registry) and leaves it on after the
        release, so the pods stay and the images stay referenced.
    type: str
    choices: [ pool, maintenance, admitted ]
    default: pool
  tolerations:
    description:
      - Tolerations of the pods, in the pod spec's form (fields C(key), C(operator) (V(Equal) or V(Exists),
        default V(Equal)), C(value), C(effect) (V(NoSchedule), V(PreferNoSchedule), V(NoExecute) or omitted for
        all), C(tolerationSeconds) (only with V(NoExecute))).
    type: list
    elements: dict
    default: []
  tolerate_maintenance:
    description:
      - Add a toleration for the maintenance taint C(prewarm.k8s/maintenance) (any value, any effect), so pods
        run on nodes marked by M(prewarm.k8s.node_maintenance).
    type: bool
    default: true
  image_pull_secrets:
    description:
      - Names of Secrets in O(namespace) used to pull O(images) and the helper images (O(pause_image),
        O(copier_image) or O(agent_image)).
    type: list
    elements: str
    default: []
  image_pull_policy:
    description:
      - Pull policy of the C(pull-N) containers (O(mode=init)) or the C(image-N) volumes (O(mode=volume)).
      - When not set, an image named by tag and resolved (O(resolve_tags)) is pulled with V(Always), everything
        else with V(IfNotPresent). V(Always) makes the kubelet ask the registry when the pod starts, so a tag that
        names older content on the node moves to the content the registry serves (only missing layers are
        downloaded), and the runtime keeps the image under its tag and its digest, so that user pods naming either
        find it present.
      - V(IfNotPresent) pulls only missing images; with it a tag already on the node is never pulled again, and a
        node that holds older content under the tag stays V(stale) (see M(prewarm.k8s.warm_status)).
        V(Never) only checks that the images are already on the node (side-loaded).
    type: str
    choices: [ IfNotPresent, Always, Never ]
  resolve_tags:
    description:
      - Resolve every image named by tag to the digest its registry serves now (OCI distribution API, from the
        controller), and record that digest on the DaemonSet and in its pod template. A tag pushed again to other
        content then changes the template, the DaemonSet controller replaces the pods (at most O(max_unavailable)
        at a time) and the nodes pull the new content.
      - A reference that fails to resolve (unreachable registry, no such tag, credentials refused, a
        V(name:tag@digest) whose tag names another digest) fails the task before anything is written, naming the
        reference and the registry's answer. Each distinct reference is asked once, concurrently, each request
        bounded by O(request_timeout).
      - Credentials come from O(image_pull_secrets) (type C(kubernetes.io/dockerconfigjson) or
        C(kubernetes.io/dockercfg)), read through the API in O(namespace) once a registry asks for credentials (not
        at all for public images), the first secret with credentials for the registry used, in the pod's order.
      - V(false) for a controller with no access to the registries. Then a moved tag goes unseen (the nodes keep
        the old content and count as warm), and the task warns.
      - The helper images (O(pause_image), O(copier_image), O(agent_image)) are not resolved; pin them by digest.
    type: bool
    default: true
  registries:
    description:
      - How to reach a registry when resolving tags, per registry C(host[:port]) as written in the image references
        (V(docker.io) for Docker Hub). Unlisted registries are reached over HTTPS with the system's CAs.
      - "Each value is a dictionary with C(plain_http) (bool, default false: speak plain HTTP to it),
        C(validate_certs) (bool, default true) and C(ca_cert) (path to a CA bundle on the controller)."
      - Only what the nodes' container runtime is configured to accept for that registry belongs here.
      - When not given, the JSON object in the environment variable E(PREWARM_REGISTRIES) is used, if set (so an
        execution environment or a job template can say it once for every task).
    type: dict
  digests:
    description:
      - Digests already resolved for some of O(images), as a reference-to-digest dictionary (for example the
        RV(digests) of an earlier run in check mode), so those references are not asked of the registry again.
    type: dict
    default: {}
  resources:
    description:
      - Resources of every container (they are all tiny), with keys C(requests) and C(limits), each a dictionary
        of resource name to quantity.
      - When not set, requests are V(cpu=10m, memory=16Mi) and limits V(cpu=100m, memory=32Mi). The kubelet
        pulls images outside the pod's cgroups, so these do not slow a pull. V({}) sets none.
    type: dict
  priority_class_name:
    description:
      - PriorityClass of the pods, for example one above your workloads so a full node still runs the preloader.
      - It must exist (checked before any change, when the identity may read PriorityClasses).
    type: str
  labels:
    description:
      - Extra labels for the DaemonSet and its pods. The module's own label keys are reserved.
    type: dict
    default: {}
  max_unavailable:
    description:
      - The DaemonSet's C(RollingUpdate) C(maxUnavailable) when the image list or another setting changes - an
        integer of at least 1 or a percentage such as V(10%). It bounds how many nodes re-pull at once during
        such an update. Default V(10%).
      - The concurrency of warming waves during an upgrade is bounded by the roles that mark nodes, not here.
    type: raw
extends_documentation_fragment:
  - prewarm.k8s.auth
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the cluster.
    support: full
    details:
      - For O(state=present) the apply is sent with C(dryRun=All), so the returned RV(daemonset) and the
        diff are what the API server would store, validated and defaulted by it, and nothing is written.
      - For O(state=absent) nothing is deleted; the task reports a change when the DaemonSet exists.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode).
    support: full
    details:
      - The diff shows the labels, annotations and spec of the DaemonSet before and after.
notes:
  - "Resolving tags needs C(get) on the O(image_pull_secrets) Secrets in O(namespace) (the shipped RBAC grants
    exactly that); their contents are used in memory to ask the registry, and never returned or logged."
  - "Why the images stay: the kubelet's image garbage collector treats an image as in use while a container
    known to the runtime for a pod on the node refers to it, running or exited (it lists exited containers
    too), and the kubelet's container garbage collection keeps the last instance of each container, including
    completed init containers, of a pod that still exists (with the default C(--maximum-dead-containers-per-container=1)).
    An image volume counts as in use while a container mounts it, which is why the C(hold) container mounts them all.
    With O(scope=pool) the pods stay, so the preloaded images are not garbage collected. This does not hold
    against other image cleaners (for example Eraser) or a manual C(crictl rmi)."
  - "Mode V(auto) lists the pool's nodes (C(list) on nodes, granted by the shipped RBAC) and reads the API
    server's C(/version) (readable by every authenticated identity)."
  - O(state=absent) deletes with C(propagationPolicy=Background) and returns at once; the pods are then removed
    by the garbage collector. Their images stay on the nodes until the kubelet's image GC removes them.
  - The module does not wait for the pods; M(prewarm.k8s.warm_status) waits until every image is on the nodes.
seealso:
  - module: prewarm.k8s.warm_status
  - module: prewarm.k8s.warmup
  - module: prewarm.k8s.node_maintenance
  - name: Pod Security Standards (restricted)
    description: The profile the preloader pods comply with.
    link: https://kubernetes.io/docs/concepts/security/pod-security-standards/
"""

EXAMPLES = r"""
- name: Keep the web pool's images on every node of the pool (image volumes where the nodes support them)
  prewarm.k8s.preloader:
    name: preload-web
    pool: web
    node_selector:
      node.kubernetes.io/pool: web
    images:
      - registry.example.com/shop/frontend:2.14.1
      - registry.example.com/shop/api@sha256:89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567
      - gcr.io/distroless/static-debian12:nonroot
    image_pull_secrets:
      - registry-example-com
  register: web_preloader

- name: Say which layout the pool got, and why
  ansible.builtin.debug:
    msg: "{{ web_preloader.mode_reason }}"

- name: Init containers everywhere, with the helper images from a local mirror, pinned
  prewarm.k8s.preloader:
    name: preload-batch
    node_selector:
      node.kubernetes.io/pool: batch
    mode: init
    pause_image: mirror.example.com/k8s/pause:3.10.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    copier_image: mirror.example.com/library/busybox:1.37.0-musl@sha256:89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567
    images:
      - registry.example.com/batch/worker:7.2

- name: Warm only the nodes under maintenance, with a high priority
  prewarm.k8s.preloader:
    name: preload-gpu
    namespace: prewarm-system
    scope: maintenance
    node_selector:
      node.kubernetes.io/pool: gpu
    agent_image: registry.example.com/prewarm/agent:0.1.0
    images: "{{ gpu_pool_images }}"
    priority_class_name: system-node-critical
    tolerations:
      - key: nvidia.com/gpu
        operator: Exists
        effect: NoSchedule

- name: Remove the preloader of the web pool
  prewarm.k8s.preloader:
    name: preload-web
    state: absent
"""

RETURN = r"""
manifest:
  description: The DaemonSet as rendered from the options (what is applied). Not returned for O(state=absent).
  returned: when state is present
  type: dict
  sample:
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: preload-web
      namespace: prewarm-system
      labels:
        app.kubernetes.io/managed-by: prewarm.k8s
        prewarm.k8s/pool: web
        prewarm.k8s/preloader: preload-web
      annotations:
        prewarm.k8s/images: '[{"image":"nginx:1.27","volume":"image-0"}]'
daemonset:
  description:
    - The DaemonSet as the API server stores it after the task, without C(metadata.managedFields).
    - In check mode, the object a real run would store (from the dry run). Empty after a deletion or when
      there is nothing to delete.
  returned: always
  type: dict
diff:
  description: Labels, annotations and spec of the DaemonSet before and after the task (empty when absent).
  returned: in diff mode
  type: dict
  contains:
    before:
      description: The live DaemonSet's labels, annotations and spec before the task.
      type: dict
    after:
      description: The same after the task (in check mode, after the dry run).
      type: dict
mode:
  description:
    - The mode the DaemonSet was rendered in, V(volume) or V(init) - the O(mode) option, or what V(auto) chose.
      Also in check mode.
  returned: when state is present
  type: str
  sample: volume
mode_reason:
  description:
    - One sentence saying why, for the operator - for V(auto), the API server version or the first node (and its
      kubelet or container runtime version) that decided.
  returned: when state is present
  type: str
  sample: "init: node gpu-3 runs containerd://2.0.5; image volumes need containerd 2.1 or later or CRI-O 1.31 or later"
digests:
  description:
    - Per image reference, the digest recorded for it on the DaemonSet - resolved now from its tag, pinned with
      O(digests), or the reference's own. Images named by tag with O(resolve_tags=false) are not listed.
  returned: when state is present
  type: dict
  sample:
    registry.example.com/shop/frontend:2.14.1: sha256:5d5a6e8a4b2c39ab8a2d7d2f4a4c2c1e0d9f3b1a2c4e6f8a0b2d4f6a8c0e2a4b
msg:
  description: What happened, in one sentence.
  returned: always
  type: str
  sample: DaemonSet prewarm-system/preload-web updated
"""

import json

from ansible.module_utils.basic import env_fallback

from ansible_collections.prewarm.k8s.plugins.module_utils.api_reads import api_call
from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.client import (
    api_host,
    api_module,
    build_api_client,
    check_reachable,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import COLLECTION, MODE_AUTO, MODES
from ansible_collections.prewarm.k8s.plugins.module_utils.daemonset import (
    being_deleted,
    change_between,
    ownership_problem,
    render_daemonset,
    without_managed_fields,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import (
    ApiFailure,
    PrewarmError,
    describe_api_exception,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_INFO_FIELDS
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanCoreApi
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_options import (
    build_preloader_spec,
    check_identity,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.preloader_mode import choose_mode, pool_nodes
from ansible_collections.prewarm.k8s.plugins.module_utils.resolution import (
    check_pinned_digests,
    resolve_pool,
    unresolved_tags,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import label_selector_string
from ansible_collections.prewarm.k8s.plugins.module_utils.watcher import ApiListWatch

try:
    from kubernetes import client as k8s_client
except ImportError:
    pass  # api_module() reports the missing library

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", default="prewarm-system"),
    pool=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    images=dict(type="list", elements="str"),
    mode=dict(type="str", choices=list(MODES), default=MODE_AUTO),
    pause_image=dict(type="str"),
    copier_image=dict(type="str"),
    agent_image=dict(type="str"),
    node_selector=dict(type="dict", default={}),
    scope=dict(type="str", choices=["pool", "maintenance", "admitted"], default="pool"),
    tolerations=dict(type="list", elements="dict", default=[]),
    tolerate_maintenance=dict(type="bool", default=True),
    image_pull_secrets=dict(type="list", elements="str", default=[], no_log=False),
    image_pull_policy=dict(type="str", choices=["IfNotPresent", "Always", "Never"]),
    resolve_tags=dict(type="bool", default=True),
    registries=dict(type="dict", fallback=(env_fallback, ["PREWARM_REGISTRIES"])),
    digests=dict(type="dict", default={}),
    resources=dict(type="dict"),
    priority_class_name=dict(type="str"),
    labels=dict(type="dict", default={}),
    max_unavailable=dict(type="raw"),
)


class DaemonSets(object):
    """The few DaemonSet calls the module makes, answering plain dicts in API field names."""

    def __init__(self, api_client, namespace, name, timeout):
        self.api = k8s_client.AppsV1Api(api_client)
        self.host = api_host(api_client)
        self.namespace, self.name, self.timeout = namespace, name, timeout
        self.where = "%s/%s" % (namespace, name)

    def _fail(self, exc, action):
        return ApiFailure(describe_api_exception(exc, "%s DaemonSet %s" % (action, self.where), self.host))

    def read(self):
        """The live DaemonSet, or None when there is none."""
        try:
            response = self.api.read_namespaced_daemon_set(self.name, self.namespace, _preload_content=False,
                                                           _request_timeout=self.timeout)
        except k8s_client.ApiException as exc:
            if exc.status == 404:
                return None
            raise self._fail(exc, "reading")
        return json.loads(response.data)

    def apply(self, manifest, dry_run):
        try:
            response = self.api.patch_namespaced_daemon_set(
                self.name, self.namespace, manifest, field_manager=COLLECTION, force=True,
                field_validation="Strict", dry_run="All" if dry_run else None,
                _content_type=APPLY_CONTENT_TYPE, _preload_content=False, _request_timeout=self.timeout)
        except k8s_client.ApiException as exc:
            if exc.status == 404:
                # Apply creates a missing DaemonSet, so a 404 means the namespace is missing.
                raise PrewarmError("namespace %r does not exist: create it before running the preloader "
                                   "(for example with kubernetes.core.k8s)" % self.namespace)
            raise self._fail(exc, "applying (dry run)" if dry_run else "applying")
        return json.loads(response.data)

    def delete(self):
        try:
            self.api.delete_namespaced_daemon_set(self.name, self.namespace, propagation_policy="Background",
                                                  _request_timeout=self.timeout)
        except k8s_client.ApiException as exc:
            if exc.status != 404:  # gone meanwhile: what we wanted
                raise self._fail(exc, "deleting")


def ensure_present(daemonsets, manifest, live, check_mode):
    """Apply `manifest` unless the dry run shows that nothing would change."""
    if live is not None and being_deleted(live):
        raise PrewarmError("DaemonSet %s is being deleted; run again once it is gone" % daemonsets.where)
    would_be = daemonsets.apply(manifest, dry_run=True)
    changed, diff = change_between(live, would_be)
    if not changed:
        return dict(changed=False, daemonset=live, diff=diff, msg="DaemonSet %s is up to date" % daemonsets.where)
    verb = "created" if live is None else "updated"
    if check_mode:
        return dict(changed=True, daemonset=would_be, diff=diff,
                    msg="DaemonSet %s would be %s (check mode)" % (daemonsets.where, verb))
    applied = daemonsets.apply(manifest, dry_run=False)
    return dict(changed=True, daemonset=applied, diff=change_between(live, applied)[1],
                msg="DaemonSet %s %s" % (daemonsets.where, verb))


def ensure_absent(daemonsets, live, check_mode):
    if live is None or being_deleted(live):
        state = "does not exist" if live is None else "is already being deleted"
        return dict(changed=False, daemonset=live or {}, diff=change_between(None, None)[1],
                    msg="DaemonSet %s %s" % (daemonsets.where, state))
    if not check_mode:
        daemonsets.delete()
    return dict(changed=True, daemonset={}, diff=change_between(live, None)[1],
                msg="DaemonSet %s %s" % (daemonsets.where, "would be deleted (check mode)" if check_mode else "deleted"))


def check_priority_class(api_client, name, timeout):
    """Fail when the PriorityClass does not exist: the DaemonSet would be accepted but no pod ever created.

    An identity not allowed to read PriorityClasses (403) is not stopped here; the pods' events then tell.
    """
    try:
        k8s_client.SchedulingV1Api(api_client).read_priority_class(name, _request_timeout=timeout)
    except k8s_client.ApiException as exc:
        if exc.status == 404:
            raise PrewarmError("priority_class_name: PriorityClass %r does not exist; no preloader pod could be created" % name)
        if exc.status != 403:
            raise ApiFailure(describe_api_exception(exc, "reading PriorityClass %s" % name, api_host(api_client)))


def resolve(module, api_client, spec):
    """{reference: digest} for the pool's images (registry answers, pins, own digests)."""
    params = module.params
    pinned = check_pinned_digests(params["digests"], [image.original for image in spec.images])
    if not spec.resolve_tags:
        tags = unresolved_tags(spec.images)
        if tags:
            module.warn("resolve_tags is false: %s not resolved to digests, so a tag pushed again to other content goes "
                        "unseen (nodes keep the old content and count as warm)" % ", ".join(tags))
        return dict((image.original, image.digest) for image in spec.images if image.digest and not image.tag)
    return resolve_pool(api_client, spec.images, spec.image_pull_secrets, spec.namespace, spec.registries, pinned,
                        params["request_timeout"])


def read_version(api_client, timeout):
    response = k8s_client.VersionApi(api_client).get_code(_preload_content=False, _request_timeout=timeout)
    return json.loads(response.data)


def pool_node_stream(core, spec, timeout):
    """The LIST of the pool's nodes, by its node selector, each cut down to what mode auto reads."""
    return ApiListWatch(core.list_node, timeout, kept_fields=NODE_INFO_FIELDS,
                        label_selector=label_selector_string({"matchLabels": spec.pool_selector}) or None)


def decide_mode(api_client, spec, timeout):
    """(mode, reason): the mode option as given, or for auto what the API server and the pool's nodes support."""
    if spec.mode != MODE_AUTO:
        return spec.mode, "%s: set by the mode option" % spec.mode
    version = api_call(api_client, "reading the API server's version (mode auto)", read_version, api_client, timeout)
    nodes = pool_node_stream(LeanCoreApi(api_client), spec, timeout)
    items, _version = api_call(api_client, "listing the pool's nodes (mode auto)", nodes.list)
    return choose_mode(version, pool_nodes(items, spec.pool_selector, spec.tolerations))


def run(module):
    params = module.params
    present = params["state"] == "present"
    # Every option is checked, the tags resolved and the live object read, before the first write.
    spec = build_preloader_spec(params) if present else None
    if not present:
        check_identity(params)
    api_client = build_api_client(params, pool_size=1, warn=module.warn)
    check_reachable(api_client, params["request_timeout"])
    digests = resolve(module, api_client, spec) if present else None
    mode, mode_reason = decide_mode(api_client, spec, params["request_timeout"]) if present else (None, None)
    manifest = render_daemonset(spec, mode, digests) if present else None
    if present and manifest["spec"]["template"]["spec"].get("priorityClassName"):
        check_priority_class(api_client, params["priority_class_name"], params["request_timeout"])
    daemonsets = DaemonSets(api_client, params["namespace"], params["name"], params["request_timeout"])
    live = daemonsets.read()
    problem = ownership_problem(live) if live is not None else None
    if problem:
        raise PrewarmError(problem)
    if present:
        result = ensure_present(daemonsets, manifest, live, module.check_mode)
        result["manifest"] = manifest
        result["digests"] = digests
        result["mode"], result["mode_reason"] = mode, mode_reason
    else:
        result = ensure_absent(daemonsets, live, module.check_mode)
    result["daemonset"] = without_managed_fields(result["daemonset"]) or {}
    if not module._diff:
        del result["diff"]
    return result, None, []


def main():
    run_module(api_module(ARGUMENT_SPEC, supports_check_mode=True, required_if=[("state", "present", ("images",))]), run)


if __name__ == "__main__":
    main()
