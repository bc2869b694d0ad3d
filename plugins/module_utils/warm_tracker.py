# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The warmth of a set of nodes, kept up to date from LIST results and watch events.

State lives in dicts keyed by node name, so an event re-evaluates only the node it
concerns: a burst of events on a 1,000-node pool costs one small evaluation each.
No API calls here; watcher.py feeds it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import evaluate, pick_pod, pod_node_name

NODES = "nodes"
PODS = "pods"

_DELETED_NODE = {"status": {"conditions": [
    {"type": "Ready", "status": "Unknown", "reason": "NodeDeleted", "message": "the node no longer exists"}]}}


class WarmTracker(object):
    """Per-node results for `names`, re-evaluated as nodes and preloader pods change.

    images: images_from_daemonset(); pod_spec: the DaemonSet's pod template spec (to
    explain a missing pod); owner_uid: the DaemonSet's uid (pods owned by anything else
    are ignored even when their labels match).
    """

    def __init__(self, names, images, pod_spec, owner_uid=None, require_ready=True):
        self._names = frozenset(names)
        self._images = images
        self._pod_spec = pod_spec or {}
        self._owner_uid = owner_uid
        self._require_ready = require_ready
        self._nodes = {}
        self._pod_node = {}  # pod uid -> node name, to find the node of a DELETED event
        self._pods_on = dict((name, {}) for name in self._names)
        self.results = {}
        self._cold = set()
        # Per node: the kubelet's last pull failure of each image (warmth.carry_last_failure).
        self._last_failures = dict((name, {}) for name in self._names)

    def replace(self, kind, items):
        """Take a full LIST (the initial one, or a relist after the watch expired)."""
        if kind == NODES:
            self._nodes = dict((node["metadata"]["name"], node) for node in items
                               if node["metadata"]["name"] in self._names)
        else:
            self._pod_node = {}
            self._pods_on = dict((name, {}) for name in self._names)
            for pod in items:
                self._store_pod(pod)
        for name in self._names:
            self._evaluate(name)

    def apply(self, kind, event_type, obj):
        """Apply one ADDED/MODIFIED/DELETED event; return the node re-evaluated, or None."""
        if kind == NODES:
            name = obj["metadata"]["name"]
            if name not in self._names:
                return None
            if event_type == "DELETED":
                self._nodes.pop(name, None)
            else:
                self._nodes[name] = obj
            self._evaluate(name)
            return name
        uid = obj["metadata"].get("uid") or obj["metadata"]["name"]
        previous = self._pod_node.pop(uid, None)
        if previous is not None:
            self._pods_on[previous].pop(uid, None)
        name = self._store_pod(obj) if event_type != "DELETED" else None
        for touched in set((previous, name)) - set([None]):
            self._evaluate(touched)
        return name or previous

    def _owned(self, pod):
        if not self._owner_uid:
            return True
        return any(ref.get("controller") and ref.get("uid") == self._owner_uid
                   for ref in pod["metadata"].get("ownerReferences") or [])

    def _store_pod(self, pod):
        name = pod_node_name(pod)
        if name not in self._names or not self._owned(pod):
            return None
        uid = pod["metadata"].get("uid") or pod["metadata"]["name"]
        self._pod_node[uid] = name
        self._pods_on[name][uid] = pod
        return name

    def _evaluate(self, name):
        node = self._nodes.get(name)
        pod, note = pick_pod(list(self._pods_on[name].values()))
        if node is None:
            node, note = _DELETED_NODE, note or "the node no longer exists"
        elif pod is None and note is None:
            why = why_not_scheduled(node, self._pod_spec)
            if why:
                note = "no preloader pod: " + why
        result = evaluate(node, pod, self._images, self._require_ready, note, self._last_failures[name])
        self.results[name] = result
        if result["warm"]:
            self._cold.discard(name)
        else:
            self._cold.add(name)

    @property
    def all_warm(self):
        return not self._cold

    def cold(self):
        return sorted(self._cold)

    def warm(self):
        return sorted(self._names - self._cold)
