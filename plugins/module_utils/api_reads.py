# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads that several modules make, with errors turned into sentences for the person running the play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_host
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import ApiFailure, PrewarmError, describe_api_exception
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanAppsApi

try:
    from kubernetes import client as k8s_client
except ImportError:
    k8s_client = None  # client.api_module() fails with the missing-library message


def api_call(api_client, action, func, *args, **kwargs):
    """func(*args, **kwargs), with any failure raised as ApiFailure naming `action`."""
    try:
        return func(*args, **kwargs)
    except k8s_client.ApiException as exc:
        raise ApiFailure(describe_api_exception(exc, action, api_host(api_client)))
    except Exception as exc:  # urllib3 raises many types for DNS, TLS and refused connections
        raise ApiFailure("%s: cannot reach the API server at %s: %s" % (action, api_host(api_client), exc))


def read_daemonset(api_client, params):
    """The preloader DaemonSet params["namespace"]/params["name"] as a plain dict."""
    where = "%s/%s" % (params["namespace"], params["name"])
    apps = LeanAppsApi(api_client)
    try:
        response = apps.read_namespaced_daemon_set(params["name"], params["namespace"], _preload_content=False,
                                                   _request_timeout=params["request_timeout"])
    except k8s_client.ApiException as exc:
        if exc.status == 404:
            raise PrewarmError("DaemonSet %s not found: create it with prewarm.k8s.preloader first" % where)
        raise ApiFailure(describe_api_exception(exc, "reading DaemonSet %s" % where, api_host(api_client)))
    return json.loads(response.data)
