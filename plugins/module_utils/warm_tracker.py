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

import time

from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import DEFAULT_LIST_LAG_SECONDS, DEFAULT_MAX_IMAGES, LISTED_COUNT
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import NODE_STATES, evaluate, pick_pod, pod_node_name

NODES = "nodes"
PODS = "pods"

_DELETED_NODE = {"status": {"conditions": [
    {"type": "Ready", "status": "Unknown", "reason": "NodeDeleted", "message": "the node no longer exists"}]}}


def _deleted_node(last):
    """What stands for a deleted node: not Ready, with the image list it last reported.

    Its pod may outlive it for a while; with no image list at all, every image that pod pulled
    would read as removed from the node (gone), which says nothing true about a deleted node.
    """
    status = (last or {}).get("status") or {}
    kept = dict((key, status[key]) for key in ("images", LISTED_COUNT) if key in status)
    return {"status": dict(_DELETED_NODE["status"], **kept)}


class WarmTracker(object):
    """Per-node results for `names`, re-evaluated as nodes and preloader pods change.

    images: images_from_daemonset(); pod_spec: the DaemonSet's pod template spec (to
    explain a missing pod); owner_uid: the DaemonSet's uid (pods owned by anything else
    are ignored even when their labels match); max_images: the kubelet's nodeStatusMaxImages;
    clock: wall-clock seconds (the API's timestamps are wall-clock); list_lag: warmth.evaluate's.
    """

    def __init__(self, names, images, pod_spec, owner_uid=None, require_ready=True,
                 max_images=DEFAULT_MAX_IMAGES, clock=time.time, list_lag=DEFAULT_LIST_LAG_SECONDS):
        self._names = frozenset(names)
        self._max_images = max_images
        self._list_lag = list_lag
        self._clock = clock
        self._recheck = {}  # node -> wall-clock time its result may change with no event
        self._images = images
        self._pod_spec = pod_spec or {}
        self._owner_uid = owner_uid
        self._require_ready = require_ready
        self._nodes = {}
        self._last_seen = {}  # node -> its latest Node dict, kept after it is deleted
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
            self._last_seen.update(self._nodes)
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
                self._nodes[name] = self._last_seen[name] = obj
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
            node, note = _deleted_node(self._last_seen.get(name)), note or "the node no longer exists"
        elif pod is None and note is None:
            why = why_not_scheduled(node, self._pod_spec)
            if why:
                note = "no preloader pod: " + why
        result = evaluate(node, pod, self._images, self._require_ready, note, self._last_failures[name],
                          self._max_images, self._clock(), self._list_lag)
        recheck_at = result.pop("recheck_at")
        if recheck_at is None:
            self._recheck.pop(name, None)
        else:
            self._recheck[name] = recheck_at
        self.results[name] = result
        if result["warm"]:
            self._cold.discard(name)
        else:
            self._cold.add(name)

    def node_labels(self):
        """{node: its labels as last seen}, for the nodes that still exist."""
        return dict((name, (node.get("metadata") or {}).get("labels") or {}) for name, node in self._nodes.items())

    def wake_in(self):
        """Seconds until a result may change with no event (see warmth.evaluate), or None."""
        if not self._recheck:
            return None
        return max(0.0, min(self._recheck.values()) - self._clock())

    def tick(self):
        """Re-evaluate the nodes whose results were due to change by now; return their names."""
        now = self._clock()
        due = [name for name, when in self._recheck.items() if when <= now]
        for name in due:
            self._evaluate(name)
        return due

    def states(self):
        """{state: count} over the nodes, every state named (warmth.NODE_STATES)."""
        counts = dict.fromkeys(NODE_STATES, 0)
        for result in self.results.values():
            counts[result["state"]] += 1
        return counts

    @property
    def all_warm(self):
        return not self._cold

    def cold(self):
        return sorted(self._cold)

    def warm(self):
        return sorted(self._names - self._cold)
