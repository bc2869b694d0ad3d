# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow LIST+WATCH streams until a tracker says every node is warm, or a deadline passes.

One thread per stream (nodes, pods) feeds one queue; the caller's thread applies events to
the tracker, so the tracker needs no locks. Each stream resumes from the last
resourceVersion it saw when the server ends a watch, relists on 410 Gone, and backs off
and reconnects on transport errors (an API server restart), so no traceback reaches the
user. The event source is an object with list() and watch(resource_version), which lets
the unit tests drive this loop with in-memory streams.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import queue
import threading
import time

from ansible_collections.prewarm.k8s.plugins.module_utils.controller import CHECK_INTERVAL, ControllerGone, stop_message
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import ApiFailure, describe_api_exception
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import keep
from ansible_collections.prewarm.k8s.plugins.module_utils.paging import list_all

try:
    from kubernetes import watch as k8s_watch
except ImportError:
    k8s_watch = None  # client.api_module() reports the missing library

# The server ends a watch after this long; the stream then resumes from its last
# resourceVersion. Short enough that a silently dead connection is noticed.
WATCH_WINDOW_SECONDS = 240
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
HTTP_GONE = 410
# Retrying cannot fix these: the credentials or permissions are wrong.
FATAL_STATUSES = (401, 403)

BOOKMARK = "BOOKMARK"
RELIST = "RELIST"
TROUBLE = "TROUBLE"
FATAL = "FATAL"


def lean(obj):
    """`obj` without metadata.managedFields, which nothing here reads and which is about half of a
    Node's JSON: a 1,000-node pool's nodes and pods are kept in memory for the whole run."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return obj


class ApiListWatch(object):
    """LIST and WATCH one collection through the kubernetes client, as plain dicts.

    kept_fields: when set (kept_fields.NODE_FIELDS, POD_FIELDS), each object is cut down to
    those fields as it arrives; else only its managedFields are dropped. A caller that needs
    more of the first LIST than of the events after it sets the attribute after that LIST.
    narrow: a function (whole object, kept object) -> kept object, for what a field list cannot
    say (node_images.narrow_images keeps only the image list entries of the pool's repositories).
    """

    def __init__(self, list_func, request_timeout, kept_fields=None, narrow=None, **selectors):
        self._list_func = list_func
        self._request_timeout = request_timeout
        self._selectors = selectors
        self._watch = None
        self.kept_fields = kept_fields
        self.narrow = narrow

    def _trim(self, obj):
        kept = keep(obj, self.kept_fields) if self.kept_fields else lean(obj)
        return self.narrow(obj, kept) if self.narrow else kept

    def list(self):
        """(items, resourceVersion), page by page: a 1,000-node LIST in a few requests."""
        return list_all(self._list_func, self._request_timeout, trim=self._trim, **self._selectors)

    def watch(self, resource_version):
        """Events as {"type", "object"} with raw dicts; raises ApiException (410 when expired)."""
        # return_type "object" keeps the raw dicts: no model objects built per event.
        self._watch = k8s_watch.Watch(return_type="object")
        stream = self._watch.stream(self._list_func, resource_version=resource_version, allow_watch_bookmarks=True,
                                    timeout_seconds=WATCH_WINDOW_SECONDS,
                                    _request_timeout=(self._request_timeout, WATCH_WINDOW_SECONDS + self._request_timeout),
                                    **self._selectors)
        for event in stream:
            yield {"type": event["type"], "object": self._trim(event["raw_object"])}

    def stop(self):
        if self._watch is not None:
            self._watch.stop()


def _status(exc):
    return getattr(exc, "status", None)


def describe_trouble(kind, exc):
    action = "watching %s" % kind
    if _status(exc):
        return describe_api_exception(exc, action)
    return "%s: cannot reach the API server: %s" % (action, exc)


def pump(kind, source, resource_version, events, stopping):
    """Feed `events` with (kind, type, payload) from one stream until `stopping` is set.

    type is ADDED/MODIFIED/DELETED (payload: the object), BOOKMARK (the stream is alive,
    nothing changed), RELIST (payload: every item),
    TROUBLE (payload: the exception; the stream retries) or FATAL (the stream gave up).
    """
    version, delay, relist = resource_version, FIRST_BACKOFF_SECONDS, False
    while not stopping.is_set():
        try:
            if relist:
                items, version = source.list()
                relist = False
                events.put((kind, RELIST, items))
            for event in source.watch(version):
                if stopping.is_set():
                    return
                obj = event.get("object") or {}
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                delay = FIRST_BACKOFF_SECONDS
                events.put((kind, event["type"], obj))
        except Exception as exc:  # pylint: disable=broad-except
            if stopping.is_set():
                return
            if _status(exc) == HTTP_GONE:
                # Our resourceVersion fell out of the server's history: start again from a LIST.
                relist = True
                continue
            if _status(exc) in FATAL_STATUSES:
                events.put((kind, FATAL, exc))
                return
            events.put((kind, TROUBLE, exc))
            stopping.wait(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def _handle(tracker, trouble, counts, kind, event_type, payload):
    if event_type == FATAL:
        raise ApiFailure(describe_trouble(kind, payload))
    if event_type == TROUBLE:
        trouble[kind] = describe_trouble(kind, payload)
        return
    # Any event, a bookmark included, shows the stream works again.
    if trouble.pop(kind, None) is not None:
        counts["reconnects"] += 1
    if event_type == RELIST:
        counts["relists"] += 1
        tracker.replace(kind, payload)
    elif event_type != BOOKMARK:
        tracker.apply(kind, event_type, payload)


def follow(streams, tracker, deadline, clock=time.monotonic, counts=None, abandoned=None):
    """Apply watch events to `tracker` until tracker.all_warm or clock() reaches `deadline`.

    streams: [(kind, source, resourceVersion of the initial LIST)]. Returns (all_warm,
    trouble) where trouble maps a stream to the last error it hit and has not recovered
    from (for the timeout message). Raises ApiFailure when a stream is refused for good.
    counts: a dict to fill with "reconnects" (times a stream failed - lost its connection,
    could not reopen it - and then delivered events again) and "relists" (LISTs after 410
    Gone), so a module can report that it rode out an API server restart.
    abandoned: a callable, asked about once a second (controller.CHECK_INTERVAL), that says
    whether nobody waits for the result any more (the playbook is gone); then ControllerGone
    is raised and nothing more is applied.
    """
    counts = {} if counts is None else counts
    counts.update(reconnects=0, relists=0)
    events = queue.Queue()
    stopping = threading.Event()
    threads = [threading.Thread(target=pump, args=(kind, source, version, events, stopping), name="watch-" + kind)
               for kind, source, version in streams]
    trouble = {}
    for thread in threads:
        # A thread blocked reading a stream must not keep the module from exiting.
        thread.daemon = True
        thread.start()
    # A tracker with settle() (warmup's Waves) acts on what it saw - admits, releases - once per
    # batch of events: everything queued is applied first, so a burst of 50 pods turning Ready is
    # 50 releases sent together, not 50 round trips one after the other while the queue grows.
    settle = getattr(tracker, "settle", None)
    # A tracker with wake_in()/tick() has results that change with time alone (a fresh pull the
    # node's image list must show within a minute): it is woken then, with no event to wait for.
    wake_in = getattr(tracker, "wake_in", None)
    next_check = clock()
    try:
        while not tracker.all_warm:
            now = clock()
            if abandoned is not None and now >= next_check:
                if abandoned():
                    raise ControllerGone(stop_message("no further node is admitted, recorded or released"))
                next_check = now + CHECK_INTERVAL
            remaining = deadline - now
            if remaining <= 0:
                break
            wake = wake_in() if wake_in is not None else None
            timeout = remaining if wake is None else max(0.05, min(remaining, wake))
            # The guard's turn comes before a wake-up or the deadline: an empty queue then means only that.
            guard_due = abandoned is not None and next_check - now < timeout
            if guard_due:
                timeout = max(0.05, next_check - now)
            try:
                batch = [events.get(timeout=timeout)]
            except queue.Empty:
                if guard_due:
                    due = wake_in() if wake_in is not None else None
                    if due is None or due > 0:
                        continue
                if wake is not None and wake < remaining:
                    tracker.tick()
                    if settle is not None:
                        settle()
                    continue
                break
            while settle is not None:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            for kind, event_type, payload in batch:
                _handle(tracker, trouble, counts, kind, event_type, payload)
            if wake_in is not None:
                # Events that keep coming (a large pool's, several a second) must not hold off a
                # re-evaluation that is due by now: the wait above would never time out.
                wake = wake_in()
                if wake is not None and wake <= 0:
                    tracker.tick()
            if settle is not None:
                settle()
        return tracker.all_warm, trouble
    finally:
        stopping.set()
        for _kind, source, _version in streams:
            source.stop()
