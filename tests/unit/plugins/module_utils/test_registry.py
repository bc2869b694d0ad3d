# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""resolve_references against a stand-in registry on 127.0.0.1 speaking the distribution API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import USER_AGENT
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.registry import (
    DOCKER_HUB_ENDPOINT,
    MANIFEST_MEDIA_TYPES,
    ResolutionError,
    Resolved,
    resolve_references,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.registry_auth import check_registry_options, credentials_from_secret

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
PASSWORD = "s3cret-Pa55word"
OTHER_DIGEST = "sha256:" + "b" * 64


def sha256(body):
    return "sha256:" + hashlib.sha256(body).hexdigest()


def manifest_bytes(name):
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": {"digest": sha256(name.encode())}}).encode()


def index_bytes(name):
    return json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"digest": sha256(manifest_bytes(name)), "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()


def error_body(code, message):
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


class FakeRegistry(ThreadingHTTPServer):
    """A registry's manifest and token endpoints, with switches for the ways real ones behave and fail."""

    daemon_threads = True

    def __init__(self):
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), RegistryHandler)
        self.host = "127.0.0.1:%d" % self.server_address[1]
        self.scheme = "http"
        self.tags = {}              # (repository, tag) -> {"manifest": bytes, "index": bytes or None}
        self.auth = None            # None, "bearer" or "basic"
        self.users = {}             # username -> password
        self.private = set()        # repositories only a user may pull (bearer: an anonymous token is not enough)
        self.digest_on_head = True
        self.wrong_digest_on_get = False
        self.delays = {}            # tag -> seconds before answering
        self.hold_until_in_flight = None  # answer no manifest request until this many were in flight at once (or 3 s)
        self.failing = {}           # tag -> (status, body)
        self.redirect_to = None     # base URL manifest requests are redirected to
        self.echo_authorization = False
        self.requests = []
        self.tokens = {}            # token -> (user or None, scope)
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def add(self, repository, tag, multi_arch=False):
        name = "%s:%s" % (repository, tag)
        self.tags[(repository, tag)] = {"manifest": manifest_bytes(name), "index": index_bytes(name) if multi_arch else None}
        return sha256(index_bytes(name) if multi_arch else manifest_bytes(name))

    def ref(self, text):
        return parse_image_reference("%s/%s" % (self.host, text))

    def seen(self, method=None, path=None):
        with self.lock:
            return [r for r in self.requests if (method is None or r["method"] == method) and (path is None or r["path"] == path)]

    def options(self, **settings):
        return check_registry_options({self.host: dict({"plain_http": self.scheme == "http"}, **settings)})


class RegistryHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def do_HEAD(self):  # pylint: disable=invalid-name
        self._serve(head=True)

    def do_GET(self):  # pylint: disable=invalid-name
        self._serve(head=False)

    def _serve(self, head):
        server = self.server
        url = urllib.parse.urlsplit(self.path)
        with server.lock:
            server.requests.append({"method": self.command, "path": url.path, "query": urllib.parse.parse_qs(url.query),
                                    "headers": dict((k.lower(), v) for k, v in self.headers.items())})
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        self._in_flight = True
        try:
            if url.path == "/token":
                self._token(url)
            else:
                self._manifest(url.path, head)
        finally:
            self._answered()

    def _answered(self):
        # Counted out before the answer is written: once the client has it, it may send its next request before this
        # thread gets to run again, and that request must not count as one more in flight.
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            with self.server.lock:
                self.server.in_flight -= 1

    def _send(self, status, body=b"", headers=None, head=False):
        self._answered()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _user(self):
        kind, _space, value = self.headers.get("Authorization", "").partition(" ")
        if kind != "Basic":
            return None
        user, _colon, password = base64.b64decode(value).decode().partition(":")
        return user if self.server.users.get(user) == password else None

    def _unauthorised(self, body_message, headers=None):
        if self.server.echo_authorization:
            body_message += " (you sent %s)" % self.headers.get("Authorization")
        self._send(401, error_body("UNAUTHORIZED", body_message), dict({"Content-Type": "application/json"}, **(headers or {})))

    def _token(self, url):
        server = self.server
        user = None
        if self.headers.get("Authorization"):
            user = self._user()
            if user is None:
                return self._unauthorised("incorrect username or password")
        scope = urllib.parse.parse_qs(url.query).get("scope", [""])[0]
        with server.lock:
            token = "token-%d" % len(server.tokens)
            server.tokens[token] = (user, scope)
        self._send(200, json.dumps({"token": token}).encode(), {"Content-Type": "application/json"})

    def _allowed(self, repository):
        server = self.server
        kind, _space, value = self.headers.get("Authorization", "").partition(" ")
        if server.auth == "basic":
            return self._user() is not None
        if server.auth == "bearer":
            user, scope = server.tokens.get(value, (None, None)) if kind == "Bearer" else (None, None)
            return scope == "repository:%s:pull" % repository and (user is not None or repository not in server.private)
        return True

    def _challenge(self, repository, head):
        server = self.server
        if server.auth == "bearer":
            challenge = 'Bearer realm="%s://%s/token",service="stand-in",scope="repository:%s:pull"' % (
                server.scheme, server.host, repository)
        else:
            challenge = 'Basic realm="fake registry"'
        self._unauthorised("authentication required", {"WWW-Authenticate": challenge})

    def _manifest(self, path, head):
        server = self.server
        match = re.match(r"^/v2/(.+)/manifests/([^/]+)$", path)
        if not match:
            return self._send(404, head=head)
        repository, tag = match.groups()
        if tag in server.delays:
            server.release.wait(server.delays[tag])
        deadline = time.monotonic() + 3
        while server.hold_until_in_flight and server.max_in_flight < server.hold_until_in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        if server.redirect_to:
            return self._send(307, headers={"Location": server.redirect_to + path}, head=head)
        if not self._allowed(repository):
            return self._challenge(repository, head)
        if tag in server.failing:
            status, body = server.failing[tag]
            return self._send(status, body, {"Content-Type": "application/json"}, head)
        entry = server.tags.get((repository, tag))
        if entry is None:
            known = any(name == repository for name, _tag in server.tags)
            body = error_body("MANIFEST_UNKNOWN", "manifest unknown") if known else error_body(
                "NAME_UNKNOWN", "repository name not known to registry")
            return self._send(404, body, {"Content-Type": "application/json"}, head)
        # Like a real registry: the index for a multi-arch tag only to a client that accepts one.
        if entry["index"] and INDEX in self.headers.get("Accept", ""):
            body, media_type = entry["index"], INDEX
        else:
            body, media_type = entry["manifest"], MANIFEST
        headers = {"Content-Type": media_type}
        if head and not server.digest_on_head:
            pass
        elif server.wrong_digest_on_get and not head:
            headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
        else:
            headers["Docker-Content-Digest"] = sha256(body)
        self._send(200, body, headers, head)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """urllib honours proxy variables; requests to the stand-in registry must go straight to it."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def start_registry():
    servers = []

    def start(tls_context=None):
        server = FakeRegistry()
        if tls_context is not None:
            server.socket = tls_context.wrap_socket(server.socket, server_side=True)
            server.scheme = "https"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def registry(start_registry):
    return start_registry()


def pull_secret(name, host, user="alice", password=PASSWORD):
    config = {"auths": {host: {"auth": base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}}}
    return credentials_from_secret({"metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
                                    "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}})


def resolve(registry, texts, credentials=(), timeout=5.0, options=None, **kwargs):
    refs = [registry.ref(text) for text in texts]
    options = registry.options() if options is None else options
    return resolve_references(refs, list(credentials), options, timeout=timeout, **kwargs)


def failure_of(registry, texts, **kwargs):
    with pytest.raises(ResolutionError) as caught:
        resolve(registry, texts, **kwargs)
    return caught.value


# --- answers ---------------------------------------------------------------------------------


def test_an_open_registry_answers_one_head_with_the_digest(registry):
    digest = registry.add("team/app", "1")
    result = resolve(registry, ["team/app:1"])
    assert result == {registry.host + "/team/app:1": Resolved(digest, MANIFEST)}
    (request,) = registry.requests
    assert (request["method"], request["path"]) == ("HEAD", "/v2/team/app/manifests/1")
    assert request["headers"]["accept"] == ", ".join(MANIFEST_MEDIA_TYPES)
    assert request["headers"]["user-agent"] == USER_AGENT


def test_all_four_media_types_are_accepted():
    assert set(MANIFEST_MEDIA_TYPES) == {
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}


def test_a_multi_arch_tag_resolves_to_its_index_digest(registry):
    digest = registry.add("team/app", "multi", multi_arch=True)
    result = resolve(registry, ["team/app:multi"])
    assert result[registry.host + "/team/app:multi"] == Resolved(digest, INDEX)
    assert digest != sha256(manifest_bytes("team/app:multi"))


def test_a_reference_without_tag_or_digest_means_latest(registry):
    digest = registry.add("team/app", "latest")
    assert resolve(registry, ["team/app"])[registry.host + "/team/app"].digest == digest
    assert registry.seen()[0]["path"] == "/v2/team/app/manifests/latest"


def test_without_a_digest_header_on_head_the_body_is_fetched_and_hashed(registry):
    digest = registry.add("team/app", "1", multi_arch=True)
    registry.digest_on_head = False
    result = resolve(registry, ["team/app:1"])
    assert result[registry.host + "/team/app:1"] == Resolved(digest, INDEX)
    assert [r["method"] for r in registry.requests] == ["HEAD", "GET"]


def test_a_digest_header_that_disagrees_with_the_body_is_a_failure(registry):
    registry.add("team/app", "1")
    registry.digest_on_head = False
    registry.wrong_digest_on_get = True
    error = failure_of(registry, ["team/app:1"])
    assert "the registry says the manifest is sha256:%s but its bytes hash to %s" % (
        "0" * 64, sha256(manifest_bytes("team/app:1"))) in error.msg


def test_references_by_digest_need_no_request(registry):
    digest = "sha256:" + "c" * 64
    result = resolve(registry, ["team/app@" + digest])
    assert result == {registry.host + "/team/app@" + digest: Resolved(digest, None)}
    assert registry.requests == []


def test_one_request_per_distinct_reference(registry):
    digest = registry.add("team/app", "1")
    other = registry.add("team/app", "2")
    texts = ["team/app:1", "team/app:1", "team/app:1@" + digest, "team/app:2", "team/app@" + OTHER_DIGEST]
    result = resolve(registry, texts)
    assert [r["path"] for r in registry.requests].count("/v2/team/app/manifests/1") == 1
    assert len(registry.requests) == 2
    assert result[registry.host + "/team/app:1@" + digest].digest == digest
    assert result[registry.host + "/team/app:2"].digest == other
    assert result[registry.host + "/team/app@" + OTHER_DIGEST].digest == OTHER_DIGEST


def test_a_reference_by_digest_is_its_own_answer_even_beside_its_repositorys_latest(registry):
    latest = registry.add("team/app", "latest")
    registry.failing["2"] = (500, error_body("UNKNOWN", "down"))
    result = resolve(registry, ["team/app", "team/app@" + OTHER_DIGEST])
    assert result == {registry.host + "/team/app": Resolved(latest, MANIFEST),
                      registry.host + "/team/app@" + OTHER_DIGEST: Resolved(OTHER_DIGEST, None)}
    error = failure_of(registry, ["team/app:2", "team/app@" + OTHER_DIGEST])
    assert list(error.details["failures"]) == [registry.host + "/team/app:2"]


def test_a_tag_and_digest_must_agree_with_the_registry(registry):
    digest = registry.add("team/app", "1")
    text = "team/app:1@" + OTHER_DIGEST
    error = failure_of(registry, [text])
    assert error.msg == ("could not resolve 1 image reference to digests: %s/%s: the tag 1 names %s at the registry, "
                         "the reference says %s" % (registry.host, text, digest, OTHER_DIGEST))


# --- authentication ----------------------------------------------------------------------


def test_anonymous_bearer_token(registry):
    registry.auth = "bearer"
    digest = registry.add("team/app", "1")
    assert resolve(registry, ["team/app:1"])[registry.host + "/team/app:1"].digest == digest
    first, token, retried = registry.requests
    assert (first["method"], "authorization" in first["headers"]) == ("HEAD", False)
    assert token["path"] == "/token" and "authorization" not in token["headers"]
    assert token["query"] == {"service": ["stand-in"], "scope": ["repository:team/app:pull"]}
    assert retried["headers"]["authorization"].startswith("Bearer token-")


def test_bearer_token_with_credentials_from_the_pull_secret(registry):
    registry.auth = "bearer"
    registry.users = {"alice": PASSWORD}
    registry.private.add("team/app")
    digest = registry.add("team/app", "1")
    result = resolve(registry, ["team/app:1"], credentials=[pull_secret("regcred", registry.host)])
    assert result[registry.host + "/team/app:1"].digest == digest
    (token,) = registry.seen(path="/token")
    assert token["headers"]["authorization"] == "Basic " + base64.b64encode(("alice:" + PASSWORD).encode()).decode()


def test_tokens_are_reused_within_a_call(registry):
    registry.auth = "bearer"
    registry.digest_on_head = False
    registry.add("team/app", "1")
    registry.add("team/app", "2")
    registry.add("team/other", "1")
    resolve(registry, ["team/app:1", "team/app:2", "team/other:1"], max_workers=1)
    assert sorted(r["query"]["scope"][0] for r in registry.seen(path="/token")) == [
        "repository:team/app:pull", "repository:team/other:pull"]
    # The GET after the HEAD carries the token the HEAD earned: no second challenge.
    assert len(registry.seen(path="/v2/team/app/manifests/1")) == 3


def test_rejected_credentials_are_named_without_the_password(registry):
    registry.auth = "bearer"
    registry.users = {"alice": "the-right-one"}
    registry.echo_authorization = True
    registry.add("team/app", "1")
    error = failure_of(registry, ["team/app:1"], credentials=[pull_secret("regcred", registry.host)])
    assert "the registry's token service %s://%s/token rejected the credentials for %s (user 'alice' from secret 'regcred')" % (
        registry.scheme, registry.host, registry.host) in error.msg
    assert "incorrect username or password" in error.msg
    encoded = base64.b64encode(("alice:" + PASSWORD).encode()).decode()
    for text in (error.msg, str(error.details), repr(error.details)):
        assert PASSWORD not in text and encoded not in text


def test_a_private_repository_without_credentials_names_the_secrets_looked_at(registry):
    registry.auth = "bearer"
    registry.private.add("team/app")
    registry.add("team/app", "1")
    error = failure_of(registry, ["team/app:1"], credentials=[pull_secret("elsewhere", "other.example.com")])
    assert ("the registry requires credentials (or has no repository team/app) and none of the pull secrets (elsewhere) "
            "has credentials for %s: HTTP 401: UNAUTHORIZED: authentication required" % registry.host) in error.msg
    error = failure_of(registry, ["team/app:1"])
    assert "and no pull secrets were given" in error.msg


def test_basic_auth(registry):
    registry.auth = "basic"
    registry.users = {"alice": PASSWORD}
    digest = registry.add("team/app", "1")
    result = resolve(registry, ["team/app:1"], credentials=[pull_secret("regcred", "http://%s" % registry.host)])
    assert result[registry.host + "/team/app:1"].digest == digest
    assert [r["headers"].get("authorization", "")[:6] for r in registry.requests] == ["", "Basic "]


def test_basic_auth_without_or_with_wrong_credentials(registry):
    registry.auth = "basic"
    registry.users = {"alice": "the-right-one"}
    registry.add("team/app", "1")
    error = failure_of(registry, ["team/app:1"])
    assert "the registry requires credentials" in error.msg and "no pull secrets were given" in error.msg
    assert len(registry.requests) == 1  # a Basic challenge with no credentials to answer it is not retried
    error = failure_of(registry, ["team/app:1"], credentials=[pull_secret("regcred", registry.host)])
    assert "the registry rejected the credentials for %s (user 'alice' from secret 'regcred'): HTTP 401" % registry.host in error.msg
    assert PASSWORD not in error.msg


def test_a_registry_echoing_the_password_back_does_not_get_it_into_the_message(registry):
    registry.auth = "basic"
    registry.echo_authorization = True
    registry.add("team/app", "1")
    error = failure_of(registry, ["team/app:1"], credentials=[pull_secret("regcred", registry.host)])
    assert "(you sent Basic <hidden>)" in error.msg
    assert base64.b64encode(("alice:" + PASSWORD).encode()).decode() not in error.msg


def test_authorization_is_not_carried_to_another_origin(start_registry):
    storage = start_registry()
    digest = storage.add("team/app", "1")
    front = start_registry()
    front.auth = "basic"
    front.users = {"alice": PASSWORD}
    front.redirect_to = "http://%s" % storage.host
    options = check_registry_options({front.host: {"plain_http": True}})
    result = resolve(front, ["team/app:1"], credentials=[pull_secret("regcred", front.host)], options=options)
    assert result[front.host + "/team/app:1"].digest == digest
    (request,) = storage.requests
    assert request["method"] == "HEAD" and "authorization" not in request["headers"]


# --- failures ----------------------------------------------------------------------------


def test_a_missing_tag(registry):
    registry.add("team/app", "1")
    error = failure_of(registry, ["team/app:nope"])
    assert error.msg == ("could not resolve 1 image reference to digests: %s/team/app:nope: "
                         "the registry has no such tag (MANIFEST_UNKNOWN: manifest unknown)" % registry.host)
    assert error.details["failures"] == {registry.host + "/team/app:nope": "the registry has no such tag (MANIFEST_UNKNOWN: manifest unknown)"}


def test_a_missing_repository(registry):
    error = failure_of(registry, ["team/none:1"])
    assert "the registry has no such repository (NAME_UNKNOWN: repository name not known to registry)" in error.msg


def test_a_server_error_gives_the_status_and_the_registrys_words(registry):
    registry.failing["1"] = (500, error_body("UNKNOWN", "storage backend down"))
    error = failure_of(registry, ["team/app:1"])
    assert error.details["failures"][registry.host + "/team/app:1"] == "the registry answered HTTP 500: UNKNOWN: storage backend down"
    registry.failing["2"] = (503, b"<html><body>Service   Unavailable</body></html>")
    error = failure_of(registry, ["team/app:2"])
    assert "the registry answered HTTP 503: <html><body>Service Unavailable</body></html>" in error.msg


def test_every_failure_is_reported_in_the_order_given(registry):
    registry.add("team/app", "1")
    registry.failing["broken"] = (500, error_body("UNKNOWN", "down"))
    texts = ["team/app:nope", "team/app:1", "team/app:broken"]
    error = failure_of(registry, texts)
    assert isinstance(error, PrewarmError)
    assert error.msg.startswith("could not resolve 2 image references to digests: %s/team/app:nope: the registry has no such tag"
                                % registry.host)
    assert "; %s/team/app:broken: the registry answered HTTP 500: UNKNOWN: down" % registry.host in error.msg
    assert list(error.details["failures"]) == [registry.host + "/team/app:nope", registry.host + "/team/app:broken"]


def test_an_unreachable_registry():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        host = "127.0.0.1:%d" % closed.getsockname()[1]
    ref = parse_image_reference(host + "/team/app:1")
    with pytest.raises(ResolutionError) as caught:
        resolve_references([ref], [], check_registry_options({host: {"plain_http": True}}), timeout=5)
    assert "%s/team/app:1: cannot reach http://%s/v2/team/app/manifests/1: " % (host, host) in caught.value.msg
    assert "Connection refused" in caught.value.msg


def test_a_hanging_registry_fails_after_the_timeout(registry):
    registry.add("team/app", "1")
    registry.add("team/app", "2")
    registry.delays["1"] = 30
    started = time.monotonic()
    error = failure_of(registry, ["team/app:1", "team/app:2"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert error.details["failures"] == {
        registry.host + "/team/app:1": "no answer from http://%s/v2/team/app/manifests/1 within 0.5 seconds" % registry.host}


def test_a_plain_http_registry_asked_with_https(registry):
    registry.add("team/app", "1")
    error = failure_of(registry, ["team/app:1"], options=check_registry_options({}))
    assert "https://%s/v2/team/app/manifests/1" % registry.host in error.msg
    assert "{%s: {plain_http: true}}" % registry.host in error.msg


def test_references_are_resolved_concurrently(registry):
    tags = [str(n) for n in range(6)]
    for tag in tags:
        registry.add("team/app", tag)
        registry.delays[tag] = 0.3
    started = time.monotonic()
    result = resolve(registry, ["team/app:" + tag for tag in tags], max_workers=8)
    elapsed = time.monotonic() - started
    assert len(result) == 6
    assert registry.max_in_flight >= 3
    assert elapsed < 0.3 * len(tags) / 2


def test_max_workers_bounds_the_requests_in_flight(registry):
    # No request is answered before two were in flight at once, so two workers meet on a loaded machine too; the
    # delays keep them busy, so a third request let through would show as a third in flight.
    for tag in ("1", "2", "3", "4"):
        registry.add("team/app", tag)
        registry.delays[tag] = 0.1
    registry.hold_until_in_flight = 2
    resolve(registry, ["team/app:1", "team/app:2", "team/app:3", "team/app:4"], max_workers=2)
    assert registry.max_in_flight == 2


def test_docker_hub_is_asked_at_its_api_host():
    asked = []

    class Record(urllib.request.HTTPSHandler):  # replaces urllib's own: nothing leaves this process
        def https_open(self, req):
            asked.append(req.full_url)
            raise urllib.error.URLError("offline")

    opener = urllib.request.build_opener(Record())
    with pytest.raises(ResolutionError) as caught:
        resolve_references([parse_image_reference("busybox:1.36")], [], {}, opener=opener)
    url = "https://%s/v2/library/busybox/manifests/1.36" % DOCKER_HUB_ENDPOINT
    assert DOCKER_HUB_ENDPOINT != "docker.io"  # docker.io itself serves no registry API
    assert asked == [url]
    assert "busybox:1.36: cannot reach %s: offline" % url in caught.value.msg


def test_an_injected_opener_is_used_for_every_request(registry):
    digest = registry.add("team/app", "1")
    opened = []

    class Count(urllib.request.BaseHandler):
        def http_request(self, req):
            opened.append(req.get_method())
            return req

    opener = urllib.request.build_opener(Count())
    assert resolve(registry, ["team/app:1"], opener=opener)[registry.host + "/team/app:1"].digest == digest
    assert opened == ["HEAD"]


# --- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA and a certificate it signed for 127.0.0.1, as PEM files."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, issuer, key, signing_key, ca, names=()):
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("test CA", "test CA", ca_key, ca_key, True)
    server = certificate("127.0.0.1", "test CA", server_key, ca_key, False, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    directory = tmp_path_factory.mktemp("tls")
    paths = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return dict((name, str(path)) for name, path in paths.items())


@pytest.fixture
def tls_registry(start_registry, certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    return start_registry(tls_context=context)


def test_tls_verification_failure_points_at_the_registries_option(tls_registry):
    tls_registry.add("team/app", "1")
    error = failure_of(tls_registry, ["team/app:1"])
    assert "TLS certificate verification failed for https://%s/v2/team/app/manifests/1" % tls_registry.host in error.msg
    assert "{%s: {ca_cert: <path>}}" % tls_registry.host in error.msg
    assert "{%s: {validate_certs: false}}" % tls_registry.host in error.msg


def test_a_private_ca_given_as_ca_cert_is_trusted(tls_registry, certificates):
    digest = tls_registry.add("team/app", "1")
    result = resolve(tls_registry, ["team/app:1"], options=tls_registry.options(ca_cert=certificates["ca"]))
    assert result[tls_registry.host + "/team/app:1"].digest == digest


def test_validate_certs_false_skips_verification_for_that_registry_only(tls_registry):
    digest = tls_registry.add("team/app", "1")
    assert resolve(tls_registry, ["team/app:1"], options=tls_registry.options(validate_certs=False))[
        tls_registry.host + "/team/app:1"].digest == digest
    other = check_registry_options({"127.0.0.1:1": {"validate_certs": False}})
    assert "TLS certificate verification failed" in failure_of(tls_registry, ["team/app:1"], options=other).msg


def test_bearer_tokens_over_tls_use_the_registrys_ca(tls_registry, certificates):
    tls_registry.auth = "bearer"
    digest = tls_registry.add("team/app", "1")
    result = resolve(tls_registry, ["team/app:1"], options=tls_registry.options(ca_cert=certificates["ca"]))
    assert result[tls_registry.host + "/team/app:1"].digest == digest
    assert len(tls_registry.seen(path="/token")) == 1


def test_a_missing_ca_bundle_is_named(tls_registry, tmp_path):
    tls_registry.add("team/app", "1")
    missing = str(tmp_path / "absent.pem")
    error = failure_of(tls_registry, ["team/app:1"], options=tls_registry.options(ca_cert=missing))
    assert "registries[%r].ca_cert: cannot load the CA bundle %r" % (tls_registry.host, missing) in error.msg


def test_a_tls_registry_asked_with_plain_http(tls_registry):
    tls_registry.add("team/app", "1")
    error = failure_of(tls_registry, ["team/app:1"], options=tls_registry.options(plain_http=True))
    assert "http://%s/v2/team/app/manifests/1 answered no HTTP" % tls_registry.host in error.msg
    assert "the registries option says plain_http for %s: does it speak HTTPS?" % tls_registry.host in error.msg


# --- pull secrets read only when a registry asks ----------------------------------------------


def test_pull_secrets_are_read_only_when_a_registry_asks_for_credentials(registry):
    calls = []

    def load():
        calls.append(1)
        return [pull_secret("regcred", registry.host)]
    registry.add("team/open", "1")
    resolve_references([registry.ref("team/open:1")], load, registry.options(), timeout=5.0)
    assert calls == []  # an open registry: no secret read at all
    registry.auth = "basic"
    registry.users = {"alice": PASSWORD}
    registry.private.add("team/app")
    digest = registry.add("team/app", "1")
    result = resolve_references([registry.ref("team/app:1"), registry.ref("team/app:1@" + digest)], load, registry.options(),
                                timeout=5.0)
    assert calls == [1] and result[registry.host + "/team/app:1"].digest == digest


def test_secrets_that_cannot_be_read_fail_with_their_own_words(registry):
    def load():
        raise InvalidInput("image_pull_secrets: secret 'regcred' does not exist in namespace ns")
    registry.auth = "basic"
    registry.users = {"alice": PASSWORD}
    registry.private.add("team/app")
    registry.add("team/app", "1")
    with pytest.raises(InvalidInput) as caught:
        resolve_references([registry.ref("team/app:1")], load, registry.options(), timeout=5.0)
    assert caught.value.msg == "image_pull_secrets: secret 'regcred' does not exist in namespace ns"
