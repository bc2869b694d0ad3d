# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a node back after an upgrade? Ready, heard from since a given time, running the expected kernel and OS.

The kubelet posts the node's status (and so a fresh Ready heartbeat) right after it starts,
and then at least every nodeStatusReportFrequency (5 minutes by default). A Ready heartbeat
newer than the moment a restart or reboot began therefore shows the kubelet came back.
NodeWaitTracker has the replace/apply/all_warm interface of watcher.follow(). No API calls here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timedelta, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import node_ready

NOW = "now"
_RFC3339_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})$")


def parse_time(text, option):
    """An RFC 3339 time as an aware UTC datetime; InvalidInput naming `option` when it is not one."""
    match = _RFC3339_RE.match(text or "")
    if not match:
        raise InvalidInput("%s: %r is not an RFC 3339 time such as 2024-05-01T03:00:00Z (or the word now)" % (option, text))
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    offset = timedelta(0)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError as exc:
        raise InvalidInput("%s: %r is not a valid time: %s" % (option, text, exc))
    microseconds = int(round(float(fraction) * 1000000)) if fraction else 0
    return moment - offset + timedelta(microseconds=microseconds)


def resolve_ready_after(text, now):
    """The ready_after option as an aware UTC datetime (None when not given); `now` resolves "now".

    The API's timestamps have whole seconds, so the time is truncated to its second: a
    heartbeat in that same second counts.
    """
    if text is None:
        return None
    moment = now if text == NOW else parse_time(text, "ready_after")
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def format_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def ready_heartbeat(node):
    """The lastHeartbeatTime of the node's Ready condition, as a datetime, or None."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("lastHeartbeatTime"):
            try:
                return parse_time(condition["lastHeartbeatTime"], "lastHeartbeatTime")
            except InvalidInput:
                return None
    return None


def node_state(node, expect):
    """How one node compares with what is expected.

    node: the Node dict, or None when no such node exists (yet). expect: {ready_after:
    datetime or None, kernel_version: str or None, os_image: str or None}. Returns {ready,
    last_heartbeat, kernel_version, os_image, matched, message}.
    """
    if node is None:
        return {"ready": False, "last_heartbeat": None, "kernel_version": None, "os_image": None, "matched": False,
                "message": "the node does not exist (it may not have registered again yet)"}
    ready, why_not = node_ready(node)
    heartbeat = ready_heartbeat(node)
    info = (node.get("status") or {}).get("nodeInfo") or {}
    kernel, os_image = info.get("kernelVersion"), info.get("osImage")
    missing = [why_not] if why_not else []
    after = expect.get("ready_after")
    if after is not None and (heartbeat is None or heartbeat < after):
        missing.append("no kubelet heartbeat since %s yet (last: %s)" % (format_time(after), format_time(heartbeat) or "none"))
    if expect.get("kernel_version") is not None and kernel != expect["kernel_version"]:
        missing.append("kernel is %r, expected %r" % (kernel, expect["kernel_version"]))
    if expect.get("os_image") is not None and os_image != expect["os_image"]:
        missing.append("OS image is %r, expected %r" % (os_image, expect["os_image"]))
    if missing:
        message = "; ".join(missing)
    else:
        message = "Ready, last heartbeat %s, kernel %s, OS image %s" % (format_time(heartbeat), kernel, os_image)
    return {"ready": ready, "last_heartbeat": format_time(heartbeat), "kernel_version": kernel, "os_image": os_image,
            "matched": not missing, "message": message}


class NodeWaitTracker(object):
    """node_state() of each of `names`, kept up to date from node LIST results and watch events."""

    def __init__(self, names, expect):
        self.names = list(dict.fromkeys(names))
        self.expect = expect
        self.results = dict((name, node_state(None, expect)) for name in self.names)

    def replace(self, kind, items):  # pylint: disable=unused-argument
        by_name = dict((node["metadata"]["name"], node) for node in items)
        for name in self.names:
            self.results[name] = node_state(by_name.get(name), self.expect)

    def apply(self, kind, event_type, obj):  # pylint: disable=unused-argument
        name = obj["metadata"]["name"]
        if name in self.results:
            self.results[name] = node_state(None if event_type == "DELETED" else obj, self.expect)

    @property
    def all_warm(self):
        """Named for watcher.follow(): whether every node is as expected."""
        return all(result["matched"] for result in self.results.values())

    def matched(self):
        return [name for name in self.names if self.results[name]["matched"]]

    def unmatched(self):
        return [name for name in self.names if not self.results[name]["matched"]]


def wait_failure(results, unmatched, timeout, trouble=()):
    """The message naming each node not as expected at the timeout, and what it lacks."""
    text = "timed out after %ss: %d of %d nodes not as expected: %s" % (
        timeout, len(unmatched), len(results), " | ".join("%s: %s" % (name, results[name]["message"]) for name in unmatched))
    if trouble:
        text += " (last watch error, with no event received since: %s)" % "; ".join(trouble)
    return text
