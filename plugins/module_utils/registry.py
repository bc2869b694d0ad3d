# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which digest does a tag name now? Asked of the registry with the OCI distribution API.

One HEAD of /v2/<name>/manifests/<tag> per distinct reference, concurrently. Authentication as
the registry asks for it in its 401 challenge: a bearer token from the challenge's realm
(anonymous, or with basic auth when a pull secret has credentials for the registry), or basic
auth. Plain HTTP and unverified TLS only for a registry the user said so for (the registries
option, registry_auth.check_registry_options).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import http.client
import json
import re
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils.concurrency import run_concurrently
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import USER_AGENT
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import DEFAULT_DOMAIN, DEFAULT_TAG, DIGEST_HEX_LENGTHS
from ansible_collections.prewarm.k8s.plugins.module_utils.registry_auth import (
    Credential,
    CredentialMap,
    RegistryOptions,
    basic_authorization,
    check_registry_options,
    credential_source,
    options_for,
    parse_challenges,
    registry_key,
    secret_names,
)

# Callers may take the option checks from here too.
__all__ = ["MANIFEST_MEDIA_TYPES", "Resolved", "ResolutionError", "check_registry_options", "options_for", "resolve_references"]

# The index types come first and all four are listed, as a container runtime lists them: for a
# multi-arch tag the registry then serves the index (OCI image index or Docker manifest list).
# The digest of that top-level object is what containerd records as the image's repo digest and
# what the kubelet reports in imageID, so it is the one returned, never a platform manifest's.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
# Docker Hub's API is not served at docker.io itself.
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
DEFAULT_TIMEOUT = 10.0
DEFAULT_WORKERS = 8
# Registries cap manifests at a few MiB; reading more would only let a misbehaving server fill memory.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024
_DIGEST_RE = re.compile(r"^(%s):([0-9a-f]+)$" % "|".join(sorted(DIGEST_HEX_LENGTHS)))

Resolved = namedtuple("Resolved", ["digest", "media_type"])
_Answer = namedtuple("_Answer", ["status", "headers", "body"])


class ResolutionError(PrewarmError):
    """Some references could not be resolved; details["failures"] is {original reference: why}, in the order given."""


class _Failure(Exception):
    """Why one resolution failed, in words for the person running the play."""

    def __init__(self, why):
        super(_Failure, self).__init__(why)
        self.why = why


class _NoAuthorizationAcrossOrigins(urllib.request.HTTPRedirectHandler):
    """Follow redirects (registries send manifests from storage hosts), but keep credentials at their origin."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = urllib.request.HTTPRedirectHandler.redirect_request(self, req, fp, code, msg, headers, newurl)
        if new is not None:
            if req.get_method() == "HEAD":
                new.method = "HEAD"  # urllib would make it a GET, fetching a body nobody reads
            if _origin(newurl) != _origin(req.full_url):
                new.remove_header("Authorization")
        return new


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _build_opener(settings, domain):
    """An opener with the TLS settings the user gave for `domain`; proxies from the environment as urllib reads them."""
    try:
        context = ssl.create_default_context(cafile=settings.ca_cert)
    except (OSError, ssl.SSLError) as exc:
        raise _Failure("registries[%r].ca_cert: cannot load the CA bundle %r: %s" % (domain, settings.ca_cert, exc))
    if not settings.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoAuthorizationAcrossOrigins())


def _read_at_most(response, limit):
    body = response.read(limit + 1)
    if len(body) > limit:
        raise _Failure("the answer from %s is larger than %d bytes" % (response.geturl(), limit))
    return body


def _error_summary(body):
    """The registry's own words from an error body ({"errors": [{"code", "message"}]}), else the start of the body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        errors = json.loads(text).get("errors") or []
        parts = ["%s: %s" % (error.get("code"), error.get("message")) if error.get("message") else str(error.get("code"))
                 for error in errors]
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError, TypeError):
        pass
    return " ".join(text.split())[:200]


def _status_text(answer):
    """'HTTP 401: UNAUTHORIZED: authentication required', with the registry's words when it gave some."""
    summary = _error_summary(answer.body)
    return "HTTP %d%s" % (answer.status, ": " + summary if summary else "")


def _transport_failure(url, cause, timeout, domain, settings):
    """A sentence for a request that got no HTTP answer, with the registries setting to change when one would help."""
    text = str(cause)
    if isinstance(cause, (socket.timeout, TimeoutError)) or text == "timed out":
        return "no answer from %s within %g seconds" % (url, timeout)
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("TLS certificate verification failed for %s (%s); if the registry's certificate is signed by a private CA, "
                "give the CA bundle in the registries option: {%s: {ca_cert: <path>}}, or turn verification off for that "
                "registry with {%s: {validate_certs: false}}" % (url, text, domain, domain))
    if isinstance(cause, ssl.SSLError) and "WRONG_VERSION_NUMBER" in text.upper():
        return ("TLS handshake with %s failed (%s); if the registry speaks plain HTTP, say so in the registries option: "
                "{%s: {plain_http: true}}" % (url, text, domain))
    if settings.plain_http and isinstance(cause, (http.client.BadStatusLine, ConnectionResetError)):
        return ("%s answered no HTTP (%s: %s); the registries option says plain_http for %s: does it speak HTTPS?"
                % (url, type(cause).__name__, text, domain))
    return "cannot reach %s: %s" % (url, text or type(cause).__name__)


class _Resolver(object):
    """What one resolve_references call shares between its threads: openers per TLS setting and bearer tokens."""

    def __init__(self, credentials, options, timeout, opener):
        # A callable is called once, when a registry first asks for credentials: a pool whose
        # registries all answer anonymously never has its pull secrets read.
        self._load_credentials = credentials if callable(credentials) else (lambda: credentials)
        self._credentials, self.load_error = None, None
        self._credentials_lock = threading.Lock()
        self.options = options or {}
        self.timeout = timeout
        self._given_opener = opener
        self._openers, self._tokens = {}, {}
        self._lock = threading.Lock()

    @property
    def credentials(self):
        """The credential maps, loaded on first use; _Failure when loading them failed."""
        with self._credentials_lock:
            if self.load_error is not None:
                raise _Failure(self.load_error.msg)
            if self._credentials is None:
                try:
                    loaded = self._load_credentials() or []
                except PrewarmError as exc:
                    self.load_error = exc
                    raise _Failure(exc.msg)
                # Plain {key: (user, password)} maps are accepted too; Credential keeps passwords out of reprs.
                self._credentials = [CredentialMap(getattr(credentials_map, "secret", None),
                                                   ((key, Credential(*credential)) for key, credential in credentials_map.items()))
                                     for credentials_map in loaded]
            return self._credentials

    def loaded_credentials(self):
        """The credential maps if they were loaded, else []: what a failure message may need hiding."""
        with self._credentials_lock:
            return self._credentials or []

    def _opener(self, settings, domain):
        if self._given_opener is not None:
            return self._given_opener
        with self._lock:
            if settings not in self._openers:
                self._openers[settings] = _build_opener(settings, domain)
            return self._openers[settings]

    def send(self, url, method, headers, settings, domain):
        """The _Answer to one request (HTTP errors are answers too); _Failure when there is no HTTP answer."""
        headers = dict(headers, **{"User-Agent": USER_AGENT})
        request = urllib.request.Request(url, headers=headers, method=method)
        try:
            with self._opener(settings, domain).open(request, timeout=self.timeout) as response:
                body = _read_at_most(response, MAX_MANIFEST_BYTES) if method == "GET" else b""
                return _Answer(response.status, response.headers, body)
        except urllib.error.HTTPError as exc:
            try:
                body = exc.read(MAX_ERROR_BYTES)
            except (OSError, ValueError, AttributeError, http.client.HTTPException):
                body = b""  # the status alone is the answer
            finally:
                exc.close()
            return _Answer(exc.code, exc.headers, body)
        except urllib.error.URLError as exc:
            raise _Failure(_transport_failure(url, exc.reason, self.timeout, domain, settings))
        except (OSError, http.client.HTTPException) as exc:
            raise _Failure(_transport_failure(url, exc, self.timeout, domain, settings))

    def _realm_settings(self, realm, domain):
        """TLS settings for a token service: its own if the user listed its host, else the registry's.

        A private registry's token service is usually served under the same CA, and it is the
        registry the user configured that named it.
        """
        host = urllib.parse.urlsplit(realm).netloc
        if registry_key(host) in self.options:
            return options_for(host, self.options)
        registry = options_for(domain, self.options)
        return RegistryOptions(plain_http=False, validate_certs=registry.validate_certs, ca_cert=registry.ca_cert)

    def token(self, domain, path, challenge, credential, secret):
        """A bearer token to pull `path`, from the challenge's realm; cached for the rest of the call."""
        realm = challenge.get("realm") or ""
        if urllib.parse.urlsplit(realm).scheme not in ("http", "https"):
            raise _Failure("the registry asks for a bearer token but names no token service URL (realm %r)" % realm)
        scope = "repository:%s:pull" % path
        service = challenge.get("service")
        key = (realm, service, scope, credential.username if credential else None)
        with self._lock:
            if key in self._tokens:
                return self._tokens[key]
        query = urllib.parse.urlencode([(name, value) for name, value in (("service", service), ("scope", scope)) if value])
        headers = {"Accept": "application/json"}
        if credential:
            headers["Authorization"] = basic_authorization(credential)
        answer = self.send(realm + ("&" if "?" in realm else "?") + query, "GET", headers, self._realm_settings(realm, domain), domain)
        if answer.status in (401, 403):
            raise _Failure(self.refused(domain, path, credential, secret, answer, "the registry's token service %s" % realm))
        if answer.status != 200:
            raise _Failure("the registry's token service %s answered %s" % (realm, _status_text(answer)))
        try:
            document = json.loads(answer.body.decode("utf-8"))
            token = document.get("token") or document.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise _Failure("the registry's token service %s answered with no token" % realm)
        with self._lock:
            self._tokens[key] = token
        return token

    def refused(self, domain, path, credential, secret, answer, who="the registry"):
        if credential:
            return "%s rejected the credentials for %s (user %r from secret %r): %s" % (
                who, domain, credential.username, secret, _status_text(answer))
        names = secret_names(self.credentials)
        looked = ("none of the pull secrets (%s) has credentials for %s" % (", ".join(names), domain) if names
                  else "no pull secrets were given")
        return "%s requires credentials (or has no repository %s) and %s: %s" % (who, path, looked, _status_text(answer))

    def authorization_for(self, domain, path, answer):
        """The Authorization value answering a 401's challenge; _Failure when it cannot be answered."""
        challenges = []
        for value in answer.headers.get_all("WWW-Authenticate") or []:
            challenges.extend(parse_challenges(value))
        schemes = dict(reversed(challenges))  # the first challenge of each scheme
        credential, secret = credential_source(domain, self.credentials, path)
        if "bearer" in schemes:
            return "Bearer " + self.token(domain, path, schemes["bearer"], credential, secret)
        if "basic" in schemes and credential:
            return basic_authorization(credential)
        if "basic" in schemes or not challenges:
            raise _Failure(self.refused(domain, path, credential, secret, answer))
        raise _Failure("the registry asks for authentication by %s, which is not supported (only Bearer and Basic): %s"
                       % (", ".join(sorted(schemes)), _status_text(answer)))

    def fetch_manifest(self, domain, path, url, method, auth):
        """The _Answer to a manifest request, answering the registry's challenge once.

        `auth` is a dict shared by the HEAD and GET of one tag, so a GET after a HEAD reuses the
        Authorization the HEAD earned instead of being challenged again.
        """
        settings = options_for(domain, self.options)
        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
        if auth.get("authorization"):
            headers["Authorization"] = auth["authorization"]
        answer = self.send(url, method, headers, settings, domain)
        if answer.status == 401 and "authorization" not in auth:
            auth["authorization"] = headers["Authorization"] = self.authorization_for(domain, path, answer)
            answer = self.send(url, method, headers, settings, domain)
        if answer.status in (401, 403) and auth.get("authorization"):
            if method == "HEAD":
                # A HEAD answer has no body: a GET gets the registry's own words for the refusal.
                answer = self.send(url, "GET", headers, settings, domain)
                if answer.status not in (401, 403):
                    return answer
            credential, secret = credential_source(domain, self.credentials, path)
            raise _Failure(self.refused(domain, path, credential, secret, answer))
        return answer

    def resolve(self, key):
        """Resolved(digest, media type) of (domain, path, tag); _Failure naming the registry's answer."""
        domain, path, tag = key
        url = _manifest_url(domain, path, tag, options_for(domain, self.options))
        auth = {}
        head = self.fetch_manifest(domain, path, url, "HEAD", auth)
        digest = _header_digest(head.headers)
        if head.status == 200 and digest:
            return Resolved(digest, _media_type(head))
        # Some registries omit Docker-Content-Digest on HEAD, refuse HEAD (405) or give no body saying
        # why it failed: a GET returns the manifest bytes, whose hash is the digest, or the error.
        get = self.fetch_manifest(domain, path, url, "GET", auth)
        if get.status == 404:
            summary = _error_summary(get.body) or "HTTP 404"
            what = "repository" if "NAME_UNKNOWN" in summary else "tag"
            raise _Failure("the registry has no such %s (%s)" % (what, summary))
        if get.status != 200:
            raise _Failure("the registry answered %s" % _status_text(get))
        return Resolved(_body_digest(get), _media_type(get))


def _manifest_url(domain, path, tag, settings):
    scheme = "http" if settings.plain_http else "https"
    endpoint = DOCKER_HUB_ENDPOINT if domain == DEFAULT_DOMAIN else domain
    return "%s://%s/v2/%s/manifests/%s" % (scheme, endpoint, urllib.parse.quote(path, safe="/"), urllib.parse.quote(tag, safe=""))


def _header_digest(headers):
    """Docker-Content-Digest when it is a well-formed digest of an algorithm we know, else None."""
    value = (headers.get("Docker-Content-Digest") or "").strip().lower()
    match = _DIGEST_RE.match(value)
    if match and len(match.group(2)) == DIGEST_HEX_LENGTHS[match.group(1)]:
        return value
    return None


def _body_digest(answer):
    """The digest of the manifest bytes; the registry's Docker-Content-Digest, when it sent one, must agree."""
    said = _header_digest(answer.headers)
    algorithm = said.split(":", 1)[0] if said else "sha256"
    computed = "%s:%s" % (algorithm, hashlib.new(algorithm, answer.body).hexdigest())
    if said and said != computed:
        raise _Failure("the registry says the manifest is %s but its bytes hash to %s" % (said, computed))
    return computed


def _media_type(answer):
    """The manifest's media type: Content-Type without parameters, else the mediaType in a GET's body."""
    content_type = (answer.headers.get("Content-Type") or "").split(";", 1)[0].strip()
    if content_type and content_type not in ("application/json", "application/octet-stream"):
        return content_type
    try:
        media_type = json.loads(answer.body.decode("utf-8")).get("mediaType")
    except (ValueError, AttributeError):
        media_type = None
    return media_type if isinstance(media_type, str) else (content_type or None)


def _tag_key(ref):
    """(registry, repository, tag) to ask about, or None for a reference by digest only (it is its own answer).

    A reference with neither tag nor digest names the tag latest, as a pull of it would.
    """
    if ref.digest and not ref.tag:
        return None
    return registry_key(ref.domain), ref.path, ref.tag or DEFAULT_TAG


def _hide_passwords(text, credential_maps):
    """A last guard: no password (or its basic-auth form) may reach a message, even echoed back by a registry."""
    for credentials in credential_maps:
        for credential in credentials.values():
            if len(credential.password) >= 4:
                text = text.replace(credential.password, "<hidden>")
                text = text.replace(basic_authorization(credential)[len("Basic "):], "<hidden>")
    return text


def _why(exc):
    if isinstance(exc, _Failure):
        return exc.why
    return "%s: %s" % (type(exc).__name__, exc)


def resolve_references(refs, credentials, options, timeout=DEFAULT_TIMEOUT, max_workers=DEFAULT_WORKERS, opener=None):
    """{ref.original: Resolved(digest, media_type)} for every ImageReference in `refs`.

    credentials: [registry_auth.credentials_from_secret(secret)] in the pod's order of pull secrets,
    or a function returning that list, called only when a registry first asks for credentials;
    options: registry_auth.check_registry_options() result; timeout: seconds per request;
    opener: a urllib opener to use for every request instead of one per TLS setting (tests).
    Each distinct (registry, repository, tag) is asked once, on a pool of max_workers threads.
    A reference by digest only maps to its own digest (media_type None) with no request; one
    with a tag and a digest must name what the tag names now.
    Raises ResolutionError naming every reference that failed and the registry's answer.
    """
    refs = list(refs)
    keys = []
    for ref in refs:
        key = _tag_key(ref)
        if key is not None and key not in keys:
            keys.append(key)
    resolver = _Resolver(credentials, options, timeout, opener)
    outcomes = dict((key, (result, exc)) for key, result, exc in run_concurrently(resolver.resolve, keys, max_workers))
    resolved, failures = {}, {}
    for ref in refs:
        key = _tag_key(ref)
        if key is None:
            resolved[ref.original] = Resolved(ref.digest, None)
            continue
        result, exc = outcomes[key]
        if exc is not None:
            failures[ref.original] = _hide_passwords(_why(exc), resolver.loaded_credentials())
        elif ref.digest and ref.digest != result.digest:
            failures[ref.original] = "the tag %s names %s at the registry, the reference says %s" % (ref.tag, result.digest, ref.digest)
        else:
            resolved[ref.original] = result
    if resolver.load_error is not None:
        # The pull secrets could not be read (forbidden, missing, not registry credentials): that, as is.
        raise resolver.load_error
    if failures:
        raise ResolutionError("could not resolve %d image reference%s to digests: %s" % (
            len(failures), "" if len(failures) == 1 else "s", "; ".join("%s: %s" % item for item in failures.items())),
            failures=failures)
    return resolved
