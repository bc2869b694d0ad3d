# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to reach a registry, and as whom: the registries option, pull secrets, auth challenges.

Pure functions, no network. A password read from a secret lives only in the Credential tuples
returned here; no message or exception built in this file includes one, nor the auth string
it came from, and a Credential's repr hides it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import fnmatch
import json
import re
from collections import namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import DEFAULT_DOMAIN, parse_image_reference

RegistryOptions = namedtuple("RegistryOptions", ["plain_http", "validate_certs", "ca_cert"])
DEFAULT_OPTIONS = RegistryOptions(plain_http=False, validate_certs=True, ca_cert=None)
_OPTION_KEYS = ("plain_http", "validate_certs", "ca_cert")

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKERCFG = "kubernetes.io/dockercfg"
_SECRET_DATA_KEYS = {DOCKERCONFIGJSON: ".dockerconfigjson", DOCKERCFG: ".dockercfg"}
_DOCKER_HUB_HOSTS = (DEFAULT_DOMAIN, "index.docker.io", "registry-1.docker.io")
# A host in an auths key may hold '*' globs, as the kubelet allows (*.registry.example).
_AUTHS_LABEL = r"[a-z0-9*](?:[a-z0-9*-]*[a-z0-9*])?"
_AUTHS_HOST_RE = re.compile(r"^(?:%s(?:\.%s)*|\[[0-9a-f:]+\])(?::[0-9]+)?$" % (_AUTHS_LABEL, _AUTHS_LABEL))


class Credential(namedtuple("Credential", ["username", "password"])):
    """(username, password) for one registry; its repr never shows the password."""

    __slots__ = ()

    def __repr__(self):
        return "Credential(username=%r, password=<hidden>)" % self.username


class CredentialMap(dict):
    """{registry key: Credential} from one pull secret; `secret` is its name, for messages.

    A key is host[:port] (docker.io for Docker Hub), optionally followed by a repository path
    prefix (host/team) the credential is limited to, as the kubelet reads them.
    """

    def __init__(self, secret, entries=()):
        super(CredentialMap, self).__init__(entries)
        self.secret = secret

    def __repr__(self):
        return "CredentialMap(secret=%r, registries=%r)" % (self.secret, sorted(self))


def registry_key(domain):
    """A registry host[:port] in the form they are compared in: lower case, Docker Hub's aliases as docker.io."""
    key = domain.lower()
    return DEFAULT_DOMAIN if key in _DOCKER_HUB_HOSTS else key


def normalise_registry(host, option="registries"):
    """A registry host[:port] as image references name it; InvalidInput when it is not one."""
    if not isinstance(host, str) or not host:
        raise InvalidInput("%s: a registry must be a host[:port] string, not %r" % (option, host))
    try:
        domain = parse_image_reference(host + "/x").domain
    except InvalidInput:
        domain = None
    # The reference grammar reads a first component with no dot or port as a Docker Hub path,
    # so a key like 'myregistry' would silently configure docker.io: refuse it instead.
    if domain is None or (domain != host and registry_key(host) != DEFAULT_DOMAIN):
        raise InvalidInput("%s: %r is not a registry host[:port] as an image reference names it "
                           "(a host with a dot or a port, or localhost)" % (option, host))
    return registry_key(domain)


def _check_one_registry(where, settings):
    if settings is None:
        return DEFAULT_OPTIONS
    if not isinstance(settings, dict):
        raise InvalidInput("%s: must be a dictionary with keys %s, not %r" % (where, ", ".join(_OPTION_KEYS), settings))
    unknown = sorted(str(key) for key in settings if key not in _OPTION_KEYS)
    if unknown:
        raise InvalidInput("%s: unknown key(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(_OPTION_KEYS)))
    for key in ("plain_http", "validate_certs"):
        if key in settings and not isinstance(settings[key], bool):
            raise InvalidInput("%s.%s: must be true or false, not %r" % (where, key, settings[key]))
    ca_cert = settings.get("ca_cert")
    if ca_cert is not None and (not isinstance(ca_cert, str) or not ca_cert.strip()):
        raise InvalidInput("%s.ca_cert: must be the path of a PEM CA bundle, not %r" % (where, ca_cert))
    return RegistryOptions(plain_http=settings.get("plain_http", False),
                           validate_certs=settings.get("validate_certs", True), ca_cert=ca_cert)


def check_registry_options(value, option="registries"):
    """{registry host[:port]: RegistryOptions} from the user's option.

    Raises InvalidInput naming the option, the registry and the bad key or value.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("%s: must be a dictionary of registry host[:port] to its options, not %r" % (option, value))
    checked, given_as = {}, {}
    for host, settings in value.items():
        registry = normalise_registry(host, option)
        if registry in checked:
            raise InvalidInput("%s: %r and %r name the same registry %s" % (option, given_as[registry], host, registry))
        checked[registry] = _check_one_registry("%s[%r]" % (option, host), settings)
        given_as[registry] = host
    return checked


def options_for(domain, options):
    """The user's RegistryOptions for `domain`; for a registry not listed, HTTPS with verified certificates."""
    return (options or {}).get(registry_key(domain), DEFAULT_OPTIONS)


def _auths_key(key):
    """The registry key an auths entry applies to, or None for a key no image can match.

    'https://host:port/v1/', 'http://host:port', 'host:port' all give host:port; a path after
    the host limits the entry to repositories under it, except the /v1/ and /v2/ API prefixes
    docker login writes (the kubelet and the docker CLI read them the same way).
    """
    if not isinstance(key, str):
        return None
    text = key.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    host, _slash, path = text.partition("/")
    if not _AUTHS_HOST_RE.match(host):
        return None
    path = path.strip("/")
    if path in ("v1", "v2") or path.startswith(("v1/", "v2/")):
        path = path[3:]
    host = registry_key(host)
    return "%s/%s" % (host, path) if path else host


def _entry_credential(entry):
    """The Credential of one auths entry; None when it holds none usable here (an identity token only).

    Raises ValueError (with no secret in its text) when the entry is malformed.
    """
    if not isinstance(entry, dict):
        raise ValueError("is not a mapping")
    auth = entry.get("auth")
    if auth:
        if not isinstance(auth, str):
            raise ValueError("has an 'auth' that is not a string")
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise ValueError("has an 'auth' that is not base64")
        username, colon, password = decoded.partition(":")
        if not colon or not username:
            raise ValueError("has an 'auth' that is not base64 of username:password")
        return Credential(username, password)
    username, password = entry.get("username"), entry.get("password")
    if username is None and password is None:
        return None
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise ValueError("must have both 'username' and 'password' as strings")
    return Credential(username, password)


def _decode_config(where, data_key, encoded):
    if not isinstance(encoded, str) or not encoded:
        raise InvalidInput("%s: data[%s] is empty" % (where, data_key))
    try:
        text = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("%s: data[%s] is not valid base64" % (where, data_key))
    try:
        return json.loads(text.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
        raise InvalidInput("%s: data[%s] is not JSON" % (where, data_key))


def credentials_from_secret(secret):
    """A CredentialMap from one pull secret, as the API returns it (data values base64).

    Accepts kubernetes.io/dockerconfigjson ({"auths": {...}}) and the legacy
    kubernetes.io/dockercfg (the auths map at the top level): the kubelet accepts both.
    Raises InvalidInput naming the secret and what is wrong with it.
    """
    if not isinstance(secret, dict):
        raise InvalidInput("image_pull_secrets: a secret must be a mapping (the API object), not %s" % type(secret).__name__)
    metadata = secret.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    where = "image_pull_secrets: secret %r" % name
    secret_type = secret.get("type")
    if secret_type not in _SECRET_DATA_KEYS:
        raise InvalidInput("%s is of type %s, not %s (or the legacy %s): it holds no registry credentials"
                           % (where, secret_type, DOCKERCONFIGJSON, DOCKERCFG))
    data_key = _SECRET_DATA_KEYS[secret_type]
    data = secret.get("data")
    if not isinstance(data, dict) or data_key not in data:
        raise InvalidInput("%s (type %s) has no data[%s]" % (where, secret_type, data_key))
    config = _decode_config(where, data_key, data[data_key])
    if secret_type == DOCKERCONFIGJSON:
        if not isinstance(config, dict) or "auths" not in config:
            raise InvalidInput("%s: data[%s] has no 'auths' key" % (where, data_key))
        auths = config["auths"]
    else:
        auths = config
    if not isinstance(auths, dict):
        raise InvalidInput("%s: the auths in data[%s] are a %s, not a mapping of registry to credentials"
                           % (where, data_key, type(auths).__name__))
    found = CredentialMap(name)
    for auths_key, entry in auths.items():
        try:
            credential = _entry_credential(entry)
        except ValueError as exc:
            raise InvalidInput("%s: the auths entry for %r %s" % (where, auths_key, exc))
        key = _auths_key(auths_key)
        # The first entry for a registry wins: ['https://index.docker.io/v1/', 'docker.io'] are one.
        if key and credential and key not in found:
            found[key] = credential
    return found


def _split_port(hostport):
    if hostport.startswith("["):
        host, _bracket, rest = hostport.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _colon, port = hostport.partition(":")
    return host, port


def _host_matches(pattern, domain):
    """Host and port both equal; a '*' in a label of the pattern matches within that one label (the kubelet's rule)."""
    if pattern == domain:
        return True
    if "*" not in pattern:
        return False
    (pattern_host, pattern_port), (host, port) = _split_port(pattern), _split_port(domain)
    pattern_labels, labels = pattern_host.split("."), host.split(".")
    return (pattern_port == port and len(pattern_labels) == len(labels)
            and all(fnmatch.fnmatchcase(label, glob) for glob, label in zip(pattern_labels, labels)))


def _specificity(key, domain, path):
    """How closely `key` names (domain, path): None for no match, else larger for a closer one."""
    host, _slash, prefix = key.partition("/")
    if prefix and (path is None or not (path == prefix or path.startswith(prefix + "/"))):
        return None
    if not _host_matches(host, domain):
        return None
    return ("*" not in host, len(prefix))


def credential_source(domain, credential_maps, path=None):
    """(Credential, secret name) for `domain` (and repository `path`), or (None, None).

    The first secret in the pod's order with a matching key wins, as the kubelet tries them in
    that order; within a secret an exact host beats a glob and a longer path prefix a shorter.
    """
    domain = registry_key(domain)
    for credentials in credential_maps or []:
        best, best_score = None, None
        for key, credential in credentials.items():
            score = _specificity(key, domain, path)
            if score is not None and (best_score is None or score > best_score):
                best, best_score = credential, score
        if best is not None:
            return best, getattr(credentials, "secret", None)
    return None, None


def credential_for(domain, credential_maps, path=None):
    """The (username, password) Credential for `domain` from the first secret that has one, or None."""
    return credential_source(domain, credential_maps, path)[0]


def secret_names(credential_maps):
    """The names of the secrets the maps came from, for messages."""
    return [getattr(credentials, "secret", None) or "?" for credentials in credential_maps or []]


def basic_authorization(credential):
    """The Authorization header value for HTTP basic auth."""
    pair = ("%s:%s" % (credential.username, credential.password)).encode("utf-8")
    return "Basic " + base64.b64encode(pair).decode("ascii")


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME_RE = re.compile(r"[\s,]*(%s)" % _TOKEN)
# A value is a quoted string or, leniently (some registries send an unquoted realm URL), anything up to a comma.
_PARAM_RE = re.compile(r'[\s,]*(%s)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)' % _TOKEN)
# token68 (RFC 7235): the opaque credential some schemes carry instead of parameters.
_TOKEN68_RE = re.compile(r"[ \t]+[A-Za-z0-9._~+/-]+=*[ \t]*(?=,|$)")
_ESCAPED_RE = re.compile(r"\\(.)")


def parse_challenges(header):
    """[(scheme lower-cased, {param lower-cased: value})] of one WWW-Authenticate header value.

    Follows RFC 7235: several challenges may share one header; values may be quoted strings
    holding commas and backslash-escaped quotes. Text it cannot read ends the parse.
    """
    challenges = []
    if not isinstance(header, str):
        return challenges
    position = 0
    while True:
        scheme = _SCHEME_RE.match(header, position)
        if not scheme:
            break
        position, params = scheme.end(), {}
        token68 = _TOKEN68_RE.match(header, position)
        if token68:
            position = token68.end()
        else:
            param = _PARAM_RE.match(header, position)
            while param:
                value = param.group(2)
                if value.startswith('"'):
                    value = _ESCAPED_RE.sub(r"\1", value[1:-1])
                params[param.group(1).lower()] = value
                position = param.end()
                param = _PARAM_RE.match(header, position)
        challenges.append((scheme.group(1).lower(), params))
    return challenges


def parse_challenge(header):
    """(scheme, params) of the first challenge in a WWW-Authenticate value, or (None, {})."""
    challenges = parse_challenges(header)
    return challenges[0] if challenges else (None, {})
