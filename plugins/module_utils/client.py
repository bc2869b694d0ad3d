# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options and the one place that turns them into a kubernetes ApiClient."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible.module_utils.six.moves.urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import USER_AGENT
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import (
    ApiFailure,
    PrewarmError,
    describe_api_exception,
)

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()


def _env(name):
    return dict(fallback=(env_fallback, ["K8S_AUTH_" + name]))


# Same names, aliases and environment variables as kubernetes.core (documented in the
# prewarm.k8s.auth doc fragment).
AUTH_ARG_SPEC = dict(
    # no_log: an inline kubeconfig holds tokens and keys.
    kubeconfig=dict(type="raw", no_log=True, **_env("KUBECONFIG")),
    context=dict(type="str", **_env("CONTEXT")),
    host=dict(type="str", **_env("HOST")),
    api_key=dict(type="str", no_log=True, **_env("API_KEY")),
    validate_certs=dict(type="bool", aliases=["verify_ssl"], **_env("VERIFY_SSL")),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], **_env("SSL_CA_CERT")),
    client_cert=dict(type="path", aliases=["cert_file"], **_env("CERT_FILE")),
    client_key=dict(type="path", aliases=["key_file"], no_log=False, **_env("KEY_FILE")),
    proxy=dict(type="str", **_env("PROXY")),
    no_proxy=dict(type="str", **_env("NO_PROXY")),
    request_timeout=dict(type="float", default=30),
)


def environment_fallbacks(params, environ):
    """{option: value} from K8S_AUTH_* for the connection options that are None in params.

    Ansible applies an option's environment fallback only when the option is absent: the playbooks'
    module_defaults pass `kubeconfig: "{{ prewarm_kubeconfig | default(none) }}"`, which is present
    and None, so K8S_AUTH_KUBECONFIG (an AWX credential injecting a kubeconfig file) would be ignored.
    kubernetes.core reads the variables for such None options itself; this does the same.
    """
    values = {}
    for option, spec in AUTH_ARG_SPEC.items():
        fallback = spec.get("fallback")
        if fallback is None or params.get(option) is not None:
            continue
        value = environ.get(fallback[1][0])
        if value:
            values[option] = boolean(value, strict=False) if spec["type"] == "bool" else value
    return values


def proxy_secrets(proxy):
    """The password of a proxy URL, as written and decoded, for masking in the module's output."""
    if not proxy:
        return set()
    try:
        password = urlsplit(proxy).password
    except ValueError:  # an unparsable URL: the client reports it when it connects
        return set()
    return set([password, unquote(password)]) if password else set()


def api_module(argument_spec, **kwargs):
    """An AnsibleModule with the connection options added; fails early without the client."""
    spec = dict(AUTH_ARG_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    for option, value in environment_fallbacks(module.params, os.environ).items():
        module.params[option] = value
        if AUTH_ARG_SPEC[option].get("no_log"):
            # Masked in every output of the module, as Ansible does for a no_log fallback value.
            module.no_log_values.add(value)
    # A proxy URL may carry a password (http://user:password@proxy:3128). The option is not no_log, so
    # that the proxy in use stays visible in the output; only the password is masked.
    module.no_log_values.update(proxy_secrets(module.params.get("proxy")))
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    return module


def _load_kubeconfig(params, configuration):
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    if isinstance(kubeconfig, dict):
        k8s_config.load_kube_config_from_dict(kubeconfig, context=context,
                                              client_configuration=configuration, persist_config=False)
    elif kubeconfig:
        k8s_config.load_kube_config(config_file=str(kubeconfig), context=context,
                                    client_configuration=configuration, persist_config=False)
    elif params.get("host"):
        return  # everything comes from the explicit options
    else:
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException:
            k8s_config.load_kube_config(context=context, client_configuration=configuration,
                                        persist_config=False)


# The options naming files the TLS layer opens; without this check a missing one shows up as an
# "SSLError(FileNotFoundError)" from urllib3 that names neither the option nor the path.
_FILE_OPTIONS = ("ca_cert", "client_cert", "client_key")


def check_connection_options(params):
    """Fail naming the option when a connection setting cannot work, before any request."""
    timeout = params.get("request_timeout")
    if timeout is not None and not timeout > 0:
        raise PrewarmError("request_timeout: must be a positive number of seconds, not %r" % timeout)
    kubeconfig = params.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, (dict, str)):
        raise PrewarmError("kubeconfig: must be a file path or a kubeconfig dictionary, not a %s" % type(kubeconfig).__name__)
    # The client expands ~ in the path itself.
    if isinstance(kubeconfig, str) and kubeconfig and not os.path.isfile(os.path.expanduser(kubeconfig)):
        # The path itself is masked in the output (kubeconfig is no_log: it may be an inline kubeconfig).
        raise PrewarmError("kubeconfig: no such file (the path is hidden because the option may hold credentials); "
                           "check the kubeconfig option or K8S_AUTH_KUBECONFIG")
    for option in _FILE_OPTIONS:
        path = params.get(option)
        if path and not os.path.isfile(path):
            raise PrewarmError("%s: no such file %r" % (option, path))


def _server_source(params):
    if params.get("host"):
        return "host (or K8S_AUTH_HOST)"
    return "the kubeconfig's cluster server" if params.get("kubeconfig") else "the cluster server of the default kubeconfig"


def check_api_server_url(url, source):
    """Refuse an API server URL that would be sent plain HTTP by accident; a warning when asked for.

    The client sends a URL without a scheme (10.0.0.1:6443) as plain HTTP, with the bearer
    token in the clear. kubectl would guess https there; guessing either way hides a typo, so
    the fix is shown instead. http:// is taken as written, with a warning.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not rest or "/" in scheme:
        raise PrewarmError("%s: API server %r has no scheme, and the client would send requests and credentials to it "
                           "over plain HTTP; write https://%s (or http://%s to send them unencrypted on purpose)"
                           % (source, url, url, url))
    if scheme.lower() not in ("https", "http"):
        raise PrewarmError("%s: API server %r: the scheme must be https (or http), not %r" % (source, url, scheme))
    if scheme.lower() == "http":
        return ("%s: the API server %s is reached over plain HTTP: requests and any credentials sent with them cross "
                "the network unencrypted; use https:// unless this is on purpose" % (source, url))
    return None


def build_api_client(params, pool_size=16, warn=None):
    """Return a kubernetes ApiClient from the module's connection options.

    pool_size sizes urllib3's connection pool: the default of 4 would serialise a
    worker pool of 16 onto 4 sockets and discard the rest after each request.
    warn is called with the warning of an API server reached over plain HTTP.
    """
    check_connection_options(params)
    configuration = k8s_client.Configuration()
    try:
        _load_kubeconfig(params, configuration)
    except (ConfigException, IOError, OSError, ValueError, TypeError) as exc:
        # A file that is not a kubeconfig (for example a YAML list) makes the client raise a bare TypeError.
        raise PrewarmError("cannot load the connection settings (kubeconfig=%r, context=%r): %s%s"
                           % (_describe_kubeconfig(params.get("kubeconfig")), params.get("context"), exc,
                              "; is the kubeconfig option a kubeconfig file?" if isinstance(exc, TypeError) else ""))
    if params.get("host"):
        configuration.host = params["host"]
    if params.get("api_key"):
        configuration.api_key = {"authorization": params["api_key"]}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"),
                              ("client_key", "key_file"), ("proxy", "proxy"), ("no_proxy", "no_proxy")):
        if params.get(option):
            setattr(configuration, attribute, params[option])
    if not configuration.host:
        raise PrewarmError("no API server given: set host or a kubeconfig")
    warning = check_api_server_url(configuration.host, _server_source(params))
    if warning and warn:
        warn(warning)
    configuration.connection_pool_maxsize = max(4, pool_size)
    api_client = k8s_client.ApiClient(configuration)
    # Operators find this collection's requests in their API audit logs by it.
    api_client.user_agent = USER_AGENT
    return api_client


def _describe_kubeconfig(kubeconfig):
    # A kubeconfig given as a dict may hold tokens and keys: never echo it back.
    return "<inline kubeconfig>" if isinstance(kubeconfig, dict) else kubeconfig


def api_host(api_client):
    return api_client.configuration.host


# Readable by anyone (the system:public-info-viewer role), and answered within the API server's
# own health-check timeouts: with etcd down it says so in about 2 s, where a LIST hangs.
READYZ_PATH = "/readyz?verbose"
# Statuses by which /readyz reports an API server that is not ready to serve.
NOT_READY_STATUSES = (500, 503)


def readiness_problem(status, body):
    """Why an API server whose /readyz answered `status` and `body` cannot serve us, or None.

    Only a not-ready answer counts: a 401, 403 or 404 (anonymous requests off, a proxy in
    front) says nothing about readiness, and the LIST that follows checks the rest.
    """
    if status not in NOT_READY_STATUSES:
        return None
    failed = [line[3:].strip() for line in (body or "").splitlines() if line.startswith("[-]")]
    return "not ready (HTTP %s from /readyz%s)" % (status, ": failed checks: " + ", ".join(failed) if failed else "")


def _describe_transport_error(exc):
    # urllib3 nests the cause (refused, timed out, TLS) in its reason; the rest is noise.
    return str(getattr(exc, "reason", None) or exc)


def auth_headers(api_client):
    # The bearer token as the generated API methods send it (its refresh hook included); a client
    # certificate is already in the connection pool.
    setting = api_client.configuration.auth_settings().get("BearerToken") or {}
    return {setting["key"]: setting["value"]} if setting.get("value") else {}


def _get_once(api_client, path, timeout, authenticated):
    """One GET of `path` that urllib3 does not repeat.

    Its default policy re-sends a GET whose answer timed out three times: with etcd down a
    LIST hangs, and the check would take four request_timeouts instead of one.
    """
    headers = dict(auth_headers(api_client), **{"User-Agent": api_client.user_agent}) if authenticated else {}
    return api_client.rest_client.pool_manager.request(
        "GET", api_host(api_client) + path, headers=headers, timeout=timeout, retries=False)


def check_reachable(api_client, timeout):
    """Fail before any change when the API server cannot be reached, is not ready, or refuses us.

    /readyz first (etcd down shows there). Then a LIST of one node, which needs authentication,
    to tell bad credentials apart from a healthy server, and which also catches an API server
    whose /readyz still says ready while its storage hangs. Neither is retried.
    """
    host = api_host(api_client)
    try:
        response = _get_once(api_client, READYZ_PATH, timeout, authenticated=False)
    except Exception as exc:  # urllib3 raises many types for DNS, TLS, refused connections and timeouts
        raise ApiFailure("connecting: cannot reach the API server at %s: %s" % (host, _describe_transport_error(exc)))
    problem = readiness_problem(response.status, response.data.decode("utf-8", "replace"))
    if problem:
        raise ApiFailure("connecting: the API server at %s is %s; nothing was changed" % (host, problem))
    try:
        response = _get_once(api_client, "/api/v1/nodes?limit=1", timeout, authenticated=True)
    except Exception as exc:  # as above
        raise ApiFailure("connecting: cannot reach the API server at %s: %s" % (host, _describe_transport_error(exc)))
    # 403: authenticated; what we may do is checked by each call.
    if response.status >= 300 and response.status != 403:
        refusal = k8s_client.ApiException(status=response.status, reason=response.reason)
        refusal.body = response.data.decode("utf-8", "replace")
        raise ApiFailure(describe_api_exception(refusal, "connecting", host))
