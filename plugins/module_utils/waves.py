# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warming nodes in waves: which node to admit next, which to release, and when a run is done.

A preloader with scope `admitted` runs a pod only on the nodes that carry its admission label
(admission_label()). warmup adds that label to at most `max_pulling` not-yet-warm nodes at a
time and admits the next one as each turns warm, so a first rollout to a large pool is not a
pull storm on the registry. The label stays after release: the pod stays, and with it the
references that keep the kubelet's image GC away from the images.

Waves wraps a WarmTracker and has the same replace/apply/all_warm interface, so watcher.follow
drives it unchanged. It decides; the writes (admit, release) are done by an `actions` object the
module passes in, so the decisions are tested without an API server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import ADMIT_LABEL_PREFIX, MAINTENANCE_KEY
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import why_not_scheduled
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import NODE_GONE, NODE_STALE

ADMIT_LABEL_VALUE = "true"
ADMITTED = "admitted"
MAINTENANCE = "maintenance"
POOL = "pool"


def admission_label(daemonset_name):
    """The node label that lets the preloader DaemonSet `daemonset_name` (scope admitted) onto a node."""
    return ADMIT_LABEL_PREFIX + daemonset_name


def preloader_scope(daemonset):
    """The scope a preloader DaemonSet was made with, read from its pod template's nodeSelector."""
    name = (daemonset.get("metadata") or {}).get("name")
    selector = ((((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector") or {})
    if selector.get(admission_label(name)) == ADMIT_LABEL_VALUE:
        return ADMITTED
    if MAINTENANCE_KEY in selector:
        return MAINTENANCE
    return POOL


def is_admitted(node, label):
    return ((node.get("metadata") or {}).get("labels") or {}).get(label) == ADMIT_LABEL_VALUE


def admission_problem(node, pod_spec, label):
    """Why the preloader would run no pod on `node` even once admitted, or None.

    Admitting such a node would hold a pulling slot until the timeout for nothing.
    """
    admitted = copy.deepcopy(node)
    admitted.setdefault("metadata", {}).setdefault("labels", {})[label] = ADMIT_LABEL_VALUE
    why = why_not_scheduled(admitted, pod_spec)
    return "would get no preloader pod even when admitted: %s" % why if why else None


class Waves(object):
    """Per-node progress of one warmup run over a WarmTracker.

    names: the nodes in the order they are admitted; gated: whether the preloader has scope
    admitted (else every node already has its pod and waves cannot be enforced); refused:
    {name: why} nodes that must not be admitted (disk check, no pod possible); actions: an
    object with admit(names) and release(nodes) (the latest Node dicts), each returning
    {name: error text or None};
    clock: a function returning the wall-clock time in seconds, for the timestamps;
    batched: apply() and replace() only take note, and settle() decides and writes once for
    all the events taken note of since (watcher.follow calls it after each batch of events);
    repull: a node whose images went from it (gone) or whose tag names older content (stale)
    under a pod of the current template gets its preloader pod deleted, once per run, so the
    DaemonSet controller makes a new one that pulls again (actions.repull({name: pod name}));
    at most max_pulling of them pull again at once. A stale node whose pod predates the
    template is left to the DaemonSet controller's rolling update.
    """

    def __init__(self, names, tracker, label, max_pulling, gated, release, refused, actions, clock, batched=False,
                 repull=False):
        self.names = list(names)
        self.wanted = frozenset(self.names)
        self.tracker = tracker
        self.label = label
        self.max_pulling = max_pulling
        self.gated = gated
        self.release = release
        self.refused = dict(refused)
        self.actions = actions
        self.clock = clock
        self.admitted = set()
        self.nodes = {}  # the latest Node dict of each name, so a release plans from what the watch saw
        self.admitted_at, self.warm_at, self.released_at, self.errors = {}, {}, {}, {}
        self.repull = repull
        self.repulled_at = {}
        self.max_pulling_seen = 0
        self.batched = batched
        # Nodes whose warmth may have changed since the last decision: only they are looked at,
        # so deciding after an event costs the same on a pool of 10 nodes or 3,000.
        self._dirty = set(self.names)

    def start(self, node_items):
        """Begin from the initial node LIST (the tracker already holds the nodes and pods)."""
        for node in node_items:
            self._see(node)
        self.advance()

    def _see(self, node):
        name = node["metadata"]["name"]
        if name not in self.wanted:
            return
        self.nodes[name] = node
        if is_admitted(node, self.label):
            self.admitted.add(name)
        else:
            self.admitted.discard(name)

    # The interface watcher.follow() drives.

    def replace(self, kind, items):
        if kind == NODES:
            for node in items:
                self._see(node)
            present = set(node["metadata"]["name"] for node in items)
            for name in self.wanted - present:
                self._gone(name)
        self.tracker.replace(kind, items)
        self._dirty.update(self.names)
        if not self.batched:
            self.advance()

    def apply(self, kind, event_type, obj):
        if kind == NODES and event_type != "DELETED":
            self._see(obj)
        elif kind == NODES and obj["metadata"]["name"] in self.wanted:
            self._gone(obj["metadata"]["name"])
        if kind == NODES:
            self._dirty.add(obj["metadata"]["name"])
        # The tracker names the node a pod event re-evaluated.
        self._dirty.add(self.tracker.apply(kind, event_type, obj))
        if not self.batched:
            self.advance()

    def _gone(self, name):
        # A deleted node cannot warm or be released, and one that registers again under the same
        # name is a new machine without our marks: report it now rather than wait for the timeout,
        # which would hold up every node still waiting for an admission slot.
        if not self._finished(name):
            self.errors[name] = "the node no longer exists (deleted during the warm wait)"
            self.admitted.discard(name)

    def settle(self):
        """Decide and write for every event taken note of since the last call (batched mode)."""
        self.advance()

    def wake_in(self):
        return self.tracker.wake_in()

    def tick(self):
        """Take the tracker's time-driven re-evaluations (watcher.follow calls settle() after)."""
        self._dirty.update(self.tracker.tick())
        if not self.batched:
            self.advance()

    @property
    def all_warm(self):
        """Whether the run is over: every node warm (and released when asked), refused or failed."""
        return all(self._finished(name) for name in self.names)

    # Decisions.

    def _finished(self, name):
        if name in self.refused or name in self.errors:
            return True
        if name not in self.warm_at:
            return False
        return not self.release or name in self.released_at

    def in_flight(self):
        """The nodes pulling now: admitted (or, ungated, merely present) and not yet warm."""
        return [name for name in self.names
                if name not in self.warm_at and name not in self.refused and name not in self.errors
                and (name in self.admitted or not self.gated)]

    def to_admit(self):
        if not self.gated:
            return []
        waiting = [name for name in self.names if name not in self.admitted and name not in self.warm_at
                   and name not in self.refused and name not in self.errors]
        return waiting[:max(0, self.max_pulling - len(self.in_flight()))]

    def to_release(self):
        if not self.release:
            return []
        return [name for name in self.names if name in self.warm_at and name not in self.released_at and name not in self.errors]

    def to_repull(self):
        if not self.repull:
            return []
        outstanding = sum(1 for name in self.repulled_at if name not in self.warm_at and name not in self.errors)
        chosen = []
        for name in self.names:
            if len(chosen) >= self.max_pulling - outstanding:
                break
            result = self.tracker.results.get(name) or {}
            if name in self.repulled_at or name in self.warm_at or name in self.refused or name in self.errors:
                continue
            if result.get("state") in (NODE_GONE, NODE_STALE) and result.get("pod_current") and result.get("pod"):
                chosen.append(name)
        return chosen

    def _note_warm(self):
        now = self.clock()
        dirty, self._dirty = self._dirty, set()
        for name in dirty:
            if name in self.wanted and name not in self.warm_at and name not in self.refused \
                    and self.tracker.results.get(name, {}).get("warm"):
                self.warm_at[name] = now

    def advance(self):
        """Record the nodes that turned warm, release them, and admit as many as there are free slots."""
        self._note_warm()
        releasing = self.to_release()
        if releasing:
            self._record(self.actions.release([self.nodes[name] for name in releasing]), self.released_at)
        repulling = self.to_repull()
        if repulling:
            self._record(self.actions.repull(dict((name, self.tracker.results[name]["pod"]) for name in repulling)),
                         self.repulled_at)
        admitting = self.to_admit()
        while admitting:  # a failed admission frees its slot at once
            self._record(self.actions.admit(admitting), self.admitted_at)
            self.admitted.update(name for name in admitting if name not in self.errors)
            admitting = self.to_admit()
        self.max_pulling_seen = max(self.max_pulling_seen, len(self.in_flight()))

    def _record(self, outcomes, stamps):
        now = self.clock()
        for name, error in outcomes.items():
            if error:
                self.errors[name] = error
            else:
                stamps[name] = now

    # Reporting.

    def node_message(self, name, timed_out):
        if name in self.errors:
            return self.errors[name]
        if name in self.refused:
            return "refused: " + self.refused[name]
        if self.gated and name not in self.admitted and name not in self.warm_at:
            if timed_out:
                return ("not admitted: the other nodes held all %d pulling slots (max_pulling) until the timeout"
                        % self.max_pulling)
            return "waiting for a pulling slot (max_pulling %d)" % self.max_pulling
        return self.tracker.results[name]["message"]

    def cold(self):
        return [name for name in self.names if name not in self.warm_at and name not in self.refused]
