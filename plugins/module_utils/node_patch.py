# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send a node's maintenance patch (planned by maintenance.plan_node), re-planning when the node moved.

Shared by node_maintenance (mark/release many nodes) and warmup (release each node the moment
it is warm), so both release with exactly the same ownership rules and conflict handling.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
from functools import partial

from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_host
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import (
    MAINTENANCE_KEY,
    MAINTENANCE_LABEL_VALUE,
    MAINTENANCE_TAINT_EFFECT,
    MAINTENANCE_TAINT_VALUE,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import ApiFailure, PrewarmError, describe_api_exception
from ansible_collections.prewarm.k8s.plugins.module_utils.guarded_patch import JSON_PATCH
from ansible_collections.prewarm.k8s.plugins.module_utils.maintenance import build_request, plan_node
from ansible_collections.prewarm.k8s.plugins.module_utils.transient import GaveUp, full_jitter, send

try:
    from kubernetes.client import ApiException
except ImportError:
    pass  # client.api_module() reports the missing library

MERGE_PATCH = "application/merge-patch+json"
# A node whose taints, labels, annotation or cordon another writer keeps changing fails the
# patch's tests between our read and our write; ten tries with a growing back-off see it
# through a writer that updates the node many times a second.
MAX_ATTEMPTS = 10
MAX_BACKOFF_SECONDS = 1.0


def release_request(now, default_by):
    """The request node_maintenance state=absent builds with its default options.

    A release takes off what the annotation owns; the taint and label here only name the
    default marks, so a release can warn about a look-alike mark that is not ours.
    """
    return build_request({
        "state": "absent",
        "taint": {"key": MAINTENANCE_KEY, "value": MAINTENANCE_TAINT_VALUE, "effect": MAINTENANCE_TAINT_EFFECT},
        "label": {"key": MAINTENANCE_KEY, "value": MAINTENANCE_LABEL_VALUE},
        "reason": None, "by": None, "cordon": False, "status": None,
    }, now=now, default_by=default_by)


def apply_plan(core, plan, request, timeout):
    """Send a node's guarded patch; when a field it changes has moved, read the node, plan again and retry.

    The API server answers a failed `test` of the JSON Patch with HTTP 422 (and a write that
    lost a race with 409). Either way the node is read again: if the new plan is the one that was
    refused, nothing had moved and the refusal is the API server's verdict on the change itself,
    reported as it came. Each request is also sent again after a transient failure
    (module_utils/transient.py); a repeat of a patch that had landed fails its tests and is
    planned again from the fresh read, which then finds nothing left to do.
    Returns the plan finally applied (its patch is None when the node needed nothing).
    """
    attempt = 1
    while plan["patch"]:
        try:
            response = send(partial(core.patch_node, plan["name"], plan["operations"], _content_type=JSON_PATCH,
                                    _preload_content=False, _request_timeout=timeout))
            response.drain_conn()  # the patched node is not needed; free the connection for the next node
            return plan
        except GaveUp as exc:
            raise node_failure(exc.cause, "patching", plan["name"], core, exc.attempts)
        except ApiException as exc:
            if exc.status not in (409, 422):
                raise node_failure(exc, "patching", plan["name"], core)
            refused = exc
        if attempt >= MAX_ATTEMPTS:
            raise PrewarmError("node kept changing under us: its taints, labels, maintenance annotation or cordon "
                               "changed between our read and our write %d times in a row" % attempt)
        attempt += 1
        # Random (full jitter), growing back-off keeps our retry from meeting the other writer's again.
        time.sleep(full_jitter(attempt, 0.01, MAX_BACKOFF_SECONDS))
        again = plan_node(read_node(core, plan["name"], timeout), request)
        if refused.status == 422 and again["operations"] == plan["operations"]:
            raise node_failure(refused, "patching", plan["name"], core)
        plan = again
    return plan


def read_node(core, name, timeout):
    try:
        return json.loads(send(partial(core.read_node, name, _preload_content=False, _request_timeout=timeout)).data)
    except GaveUp as exc:
        raise node_failure(exc.cause, "reading", name, core, exc.attempts)
    except ApiException as exc:
        raise node_failure(exc, "reading", name, core)


def node_failure(exc, action, name, core, attempts=1):
    """ApiFailure for an ApiException (or, after retries, a transport error) met while `action` the node."""
    if getattr(exc, "status", None) == 404:
        return ApiFailure("node was deleted during the run (HTTP 404 while %s it)" % action)
    message = describe_api_exception(exc, "%s node %s" % (action, name), api_host(core.api_client))
    return ApiFailure(message + (" (sent %d times)" % attempts if attempts > 1 else ""))
