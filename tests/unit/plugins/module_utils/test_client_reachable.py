# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""check_reachable against a small HTTP server on 127.0.0.1 that plays a sick API server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time

import pytest

from ansible.module_utils.six.moves import BaseHTTPServer

from ansible_collections.prewarm.k8s.plugins.module_utils.client import build_api_client, check_reachable
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import USER_AGENT
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import ApiFailure

TIMEOUT = 0.5


class SickApiServer(BaseHTTPServer.HTTPServer):
    """Answers /readyz with `readyz` and the node LIST with `nodes` (a status, or "hang")."""

    daemon_threads = True

    def __init__(self, readyz, nodes):
        BaseHTTPServer.HTTPServer.__init__(self, ("127.0.0.1", 0), Handler)
        self.readyz, self.nodes = readyz, nodes
        self.requests = []


class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        # Header names compared in lower case: HTTP does not care, and the client sends `authorization`.
        self.server.requests.append((self.path, dict((k.lower(), v) for k, v in self.headers.items())))
        answer = self.server.readyz if self.path.startswith("/readyz") else self.server.nodes
        if answer == "hang":
            time.sleep(TIMEOUT * 3)  # longer than the client waits: as a LIST does with etcd down
            return
        body = json.dumps({"kind": "Status", "message": "said by the test server"}).encode()
        self.send_response(answer)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def serve():
    servers = []

    def start(readyz, nodes):
        server = SickApiServer(readyz, nodes)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        params = dict(host="http://127.0.0.1:%d" % server.server_port, kubeconfig=None, context=None,
                      request_timeout=TIMEOUT, api_key="test-token")
        return server, build_api_client(params)
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _lists(server):
    return [headers for path, headers in server.requests if path.startswith("/api/v1/nodes")]


def test_a_hanging_list_fails_after_one_timeout_not_four(serve):
    server, api_client = serve(200, "hang")
    started = time.monotonic()
    with pytest.raises(ApiFailure) as failure:
        check_reachable(api_client, TIMEOUT)
    assert time.monotonic() - started < TIMEOUT * 2
    assert "cannot reach the API server at %s" % api_client.configuration.host in str(failure.value)
    assert "timed out" in str(failure.value)
    assert len(_lists(server)) == 1


def test_a_hanging_readyz_is_not_repeated_either(serve):
    server, api_client = serve("hang", 200)
    with pytest.raises(ApiFailure):
        check_reachable(api_client, TIMEOUT)
    assert [path for path, _headers in server.requests] == ["/readyz?verbose"]


def test_the_list_carries_the_credentials_and_our_user_agent(serve):
    server, api_client = serve(200, 200)
    check_reachable(api_client, TIMEOUT)
    (headers,) = _lists(server)
    assert headers["authorization"] == "Bearer test-token"
    assert headers["user-agent"] == USER_AGENT


def test_rejected_credentials_are_named(serve):
    _server, api_client = serve(200, 401)
    with pytest.raises(ApiFailure) as failure:
        check_reachable(api_client, TIMEOUT)
    assert "rejected the credentials (HTTP 401 Unauthorized)" in str(failure.value)


def test_forbidden_to_list_nodes_is_still_reachable(serve):
    # What this identity may do is checked by each call; an RBAC that leaves out `list nodes` is not an outage.
    _server, api_client = serve(200, 403)
    check_reachable(api_client, TIMEOUT)


def test_another_error_names_the_status_and_the_servers_message(serve):
    _server, api_client = serve(200, 500)
    with pytest.raises(ApiFailure) as failure:
        check_reachable(api_client, TIMEOUT)
    assert str(failure.value) == "connecting: HTTP 500: said by the test server"
