# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LeanCoreApi/LeanAppsApi against an HTTP server on 127.0.0.1 that records what it is sent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

import pytest

from ansible.module_utils.six.moves import BaseHTTPServer

from kubernetes import watch as k8s_watch
from kubernetes.client import ApiException

from ansible_collections.prewarm.k8s.plugins.module_utils.client import build_api_client
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import USER_AGENT
from ansible_collections.prewarm.k8s.plugins.module_utils import transient
from ansible_collections.prewarm.k8s.plugins.module_utils.lean_api import LeanAppsApi, LeanCoreApi, query_string
from ansible_collections.prewarm.k8s.plugins.module_utils.guarded_patch import JSON_PATCH
from ansible_collections.prewarm.k8s.plugins.module_utils.node_patch import apply_plan, release_request


class RecordingServer(BaseHTTPServer.HTTPServer):
    """Answers every request with the next of `answers`: (status, body bytes[, {header: value}])."""

    daemon_threads = True

    def __init__(self, answers):
        BaseHTTPServer.HTTPServer.__init__(self, ("127.0.0.1", 0), Handler)
        self.answers = list(answers)
        self.seen = []


class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append({"method": self.command, "path": self.path, "body": body,
                                 "headers": dict((k.lower(), v) for k, v in self.headers.items())})
        status, payload, extra_headers = (self.server.answers.pop(0) + ({},))[:3]
        self.send_response(status)
        for name, value in extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PATCH = _answer  # pylint: disable=invalid-name

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def serve():
    servers = []

    def start(*answers):
        server = RecordingServer(answers)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        api_client = build_api_client(dict(host="http://127.0.0.1:%d" % server.server_port, kubeconfig=None, context=None,
                                           request_timeout=5, api_key="lean-token"))
        return server, api_client
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _json(obj):
    return json.dumps(obj).encode()


def test_query_string_names_the_parameters_as_the_api_does():
    assert query_string({"label_selector": "pool=gpu,tier in (a,b)", "limit": 500, "_continue": "abc", "watch": True,
                         "allow_watch_bookmarks": False, "resource_version": None, "_preload_content": False,
                         "_request_timeout": 3}) == \
        "?labelSelector=pool%3Dgpu%2Ctier+in+%28a%2Cb%29&limit=500&continue=abc&watch=true&allowWatchBookmarks=false"
    assert query_string({}) == ""


def test_an_argument_the_generated_method_would_not_take_fails_loudly():
    with pytest.raises(TypeError, match="pretty"):
        query_string({"pretty": True})


def test_a_list_is_sent_with_our_credentials_and_user_agent(serve):
    server, api_client = serve((200, _json({"items": [{"metadata": {"name": "gpu-1"}}], "metadata": {"resourceVersion": "7"}})))
    response = LeanCoreApi(api_client).list_namespaced_pod("prewarm", label_selector="app=preload", limit=500,
                                                           _preload_content=False, _request_timeout=5)
    assert json.loads(response.data)["items"][0]["metadata"]["name"] == "gpu-1"
    (request,) = server.seen
    assert request["method"] == "GET"
    assert request["path"] == "/api/v1/namespaces/prewarm/pods?labelSelector=app%3Dpreload&limit=500"
    assert request["headers"]["authorization"] == "Bearer lean-token"
    assert request["headers"]["user-agent"] == USER_AGENT
    assert request["headers"]["accept"] == "application/json"


def test_a_merge_patch_sends_its_body_and_content_type(serve):
    server, api_client = serve((200, b"{}"))
    body = {"metadata": {"labels": {"preload.prewarm.k8s/p": "true"}, "resourceVersion": "12"}}
    LeanCoreApi(api_client).patch_node("gpu-1", body, _content_type="application/merge-patch+json",
                                       _preload_content=False, _request_timeout=5).drain_conn()
    (request,) = server.seen
    assert (request["method"], request["path"]) == ("PATCH", "/api/v1/nodes/gpu-1")
    assert request["headers"]["content-type"] == "application/merge-patch+json"
    assert json.loads(request["body"]) == body


def test_names_are_escaped_in_the_path(serve):
    server, api_client = serve((200, b"{}"), (200, b"{}"))
    LeanCoreApi(api_client).connect_get_node_proxy_with_path("gpu-1", "stats/summary", _preload_content=False)
    LeanAppsApi(api_client).read_namespaced_daemon_set("preload-gpu", "ml team", _preload_content=False)
    paths = [r["path"] for r in server.seen]
    assert paths == ["/api/v1/nodes/gpu-1/proxy/stats/summary", "/apis/apps/v1/namespaces/ml%20team/daemonsets/preload-gpu"]


@pytest.mark.parametrize("status", [404, 409, 500])
def test_an_error_status_raises_the_clients_api_exception_with_the_servers_message(serve, status):
    message = _json({"kind": "Status", "code": status, "message": "said by the test server"})
    _server, api_client = serve((status, message))
    with pytest.raises(ApiException) as failure:
        LeanCoreApi(api_client).read_node("gpu-1", _preload_content=False, _request_timeout=5)
    assert failure.value.status == status
    assert json.loads(failure.value.body)["message"] == "said by the test server"


def test_the_clients_watch_streams_from_a_lean_list(serve):
    events = [{"type": "ADDED", "object": {"metadata": {"name": "gpu-1", "resourceVersion": "8"}}},
              {"type": "MODIFIED", "object": {"metadata": {"name": "gpu-1", "resourceVersion": "9"}}}]
    server, api_client = serve((200, b"\n".join(_json(event) for event in events) + b"\n"))
    stream = k8s_watch.Watch(return_type="object").stream(LeanCoreApi(api_client).list_node, resource_version="7",
                                                          allow_watch_bookmarks=True, timeout_seconds=5, _request_timeout=(5, 10))
    assert [(e["type"], e["raw_object"]["metadata"]["resourceVersion"]) for e in stream] == [("ADDED", "8"), ("MODIFIED", "9")]
    (request,) = server.seen
    assert request["path"] == "/api/v1/nodes?resourceVersion=7&allowWatchBookmarks=true&timeoutSeconds=5&watch=true"


def test_an_expired_watch_raises_410_as_the_watcher_expects(serve):
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}}
    _server, api_client = serve((200, _json(gone) + b"\n"))
    stream = k8s_watch.Watch(return_type="object").stream(LeanCoreApi(api_client).list_node, resource_version="1", timeout_seconds=5)
    with pytest.raises(ApiException) as failure:
        list(stream)
    assert failure.value.status == 410


def test_a_patch_refused_with_429_is_sent_again_after_the_servers_retry_after(serve, monkeypatch):
    waits = []
    monkeypatch.setattr(transient.time, "sleep", waits.append)
    overloaded = _json({"kind": "Status", "code": 429, "message": "too many requests, please try again later"})
    server, api_client = serve((429, overloaded, {"Retry-After": "1"}), (200, _json({"kind": "Node"})))
    plan = {"name": "w1", "patch": {"metadata": {"labels": {"x": None}}},
            "operations": [{"op": "test", "path": "/metadata/labels/x", "value": "1"}, {"op": "remove", "path": "/metadata/labels/x"}]}
    assert apply_plan(LeanCoreApi(api_client), plan, release_request("2024-05-01T04:00:00Z", "test"), 5) == plan
    assert len(waits) == 1 and 1.0 <= waits[0] <= 2.0
    assert [(seen["method"], seen["path"]) for seen in server.seen] == [("PATCH", "/api/v1/nodes/w1")] * 2
    assert server.seen[0]["body"] == server.seen[1]["body"]
    assert json.loads(server.seen[1]["body"]) == plan["operations"]
    assert server.seen[1]["headers"]["content-type"] == JSON_PATCH
