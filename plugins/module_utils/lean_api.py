# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few endpoints a warm wait calls, sent through the kubernetes client without its generated API classes.

The client loads each generated API class on first use, and they are large: CoreV1Api is a
4 MB module, about 14 MB in every process that touches it, AppsV1Api another 11 MB. warmup
uses six of their methods, and its process is the largest of a playbook run at 1,000 nodes.
LeanCoreApi and LeanAppsApi offer those methods with the same names, arguments and results
(raw responses: callers ask for _preload_content=False) over the same ApiClient: its
connection pool, TLS settings, credentials (a refreshed token included) and User-Agent.
A status outside 2xx raises the client's own ApiException, so callers handle errors as they
did; and kubernetes.watch.Watch streams from their list methods as from the generated ones.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.urllib.parse import quote, urlencode

from ansible_collections.prewarm.k8s.plugins.module_utils.client import auth_headers

try:
    from kubernetes.client import ApiException
    from urllib3 import Timeout  # the kubernetes client's own dependency
except ImportError:
    pass  # client.api_module() reports the missing library

# The generated methods' keyword arguments and the query parameters they stand for.
_QUERY_NAMES = {
    "label_selector": "labelSelector", "field_selector": "fieldSelector", "limit": "limit", "_continue": "continue",
    "resource_version": "resourceVersion", "watch": "watch", "allow_watch_bookmarks": "allowWatchBookmarks",
    "timeout_seconds": "timeoutSeconds",
}


def query_string(kwargs):
    """The query of a list or watch call from the generated methods' keyword arguments, in their order."""
    pairs = []
    for name, value in kwargs.items():
        if name.startswith("_") and name != "_continue" or value is None:
            continue
        if name not in _QUERY_NAMES:
            raise TypeError("unexpected keyword argument %r" % name)
        pairs.append((_QUERY_NAMES[name], ("true" if value else "false") if isinstance(value, bool) else value))
    return "?" + urlencode(pairs) if pairs else ""


def _segment(value):
    return quote(str(value), safe="")


class LeanCoreApi(object):
    """The CoreV1Api methods warmup, warm_status and node_wait call."""

    def __init__(self, api_client):
        self.api_client = api_client

    def _request(self, method, path, body=None, content_type=None, preload=True, timeout=None):
        headers = dict(self.api_client.default_headers)
        headers["Accept"] = "application/json"
        headers.update(auth_headers(self.api_client))
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            body = json.dumps(body)
        # As the generated methods read _request_timeout: one number bounds the whole request.
        if isinstance(timeout, (tuple, list)):
            timeout = Timeout(connect=timeout[0], read=timeout[1])
        elif timeout is not None:
            timeout = Timeout(total=timeout)
        response = self.api_client.rest_client.pool_manager.request(
            method, self.api_client.configuration.host + path, body=body, headers=headers, timeout=timeout,
            preload_content=preload)
        if not 200 <= response.status <= 299:
            failure = ApiException(status=response.status, reason=response.reason)
            failure.body = response.data.decode("utf-8", "replace")
            failure.headers = response.headers
            raise failure
        return response

    def _get(self, path, kwargs):
        return self._request("GET", path + query_string(kwargs), preload=kwargs.get("_preload_content", True),
                             timeout=kwargs.get("_request_timeout"))

    def list_node(self, **kwargs):
        return self._get("/api/v1/nodes", kwargs)

    def list_namespaced_pod(self, namespace, **kwargs):
        return self._get("/api/v1/namespaces/%s/pods" % _segment(namespace), kwargs)

    def read_node(self, name, **kwargs):
        return self._get("/api/v1/nodes/%s" % _segment(name), kwargs)

    def patch_node(self, name, body, **kwargs):
        return self._request("PATCH", "/api/v1/nodes/%s" % _segment(name), body=body, content_type=kwargs.get("_content_type"),
                             preload=kwargs.get("_preload_content", True), timeout=kwargs.get("_request_timeout"))

    def delete_namespaced_pod(self, name, namespace, body=None, **kwargs):
        return self._request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (_segment(namespace), _segment(name)), body=body,
                             preload=kwargs.get("_preload_content", True), timeout=kwargs.get("_request_timeout"))

    def connect_get_node_proxy_with_path(self, name, path, **kwargs):
        return self._request("GET", "/api/v1/nodes/%s/proxy/%s" % (_segment(name), quote(path)),
                             preload=kwargs.get("_preload_content", True), timeout=kwargs.get("_request_timeout"))


class LeanAppsApi(LeanCoreApi):
    """The AppsV1Api method the warm wait calls."""

    def read_namespaced_daemon_set(self, name, namespace, **kwargs):
        return self._get("/apis/apps/v1/namespaces/%s/daemonsets/%s" % (_segment(namespace), _segment(name)), kwargs)
