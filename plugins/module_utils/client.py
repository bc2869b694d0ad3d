# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options and the one place that turns them into a kubernetes ApiClient."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

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


def api_module(argument_spec, **kwargs):
    """An AnsibleModule with the connection options added; fails early without the client."""
    spec = dict(AUTH_ARG_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, **kwargs)
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


def build_api_client(params, pool_size=16):
    """Return a kubernetes ApiClient from the module's connection options.

    pool_size sizes urllib3's connection pool: the default of 4 would serialise a
    worker pool of 16 onto 4 sockets and discard the rest after each request.
    """
    configuration = k8s_client.Configuration()
    try:
        _load_kubeconfig(params, configuration)
    except (ConfigException, IOError, OSError, ValueError, TypeError) as exc:
        raise PrewarmError("cannot load the connection settings (kubeconfig=%r, context=%r): %s"
                           % (_describe_kubeconfig(params.get("kubeconfig")), params.get("context"), exc))
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
    configuration.connection_pool_maxsize = max(4, pool_size)
    return k8s_client.ApiClient(configuration)


def _describe_kubeconfig(kubeconfig):
    # A kubeconfig given as a dict may hold tokens and keys: never echo it back.
    return "<inline kubeconfig>" if isinstance(kubeconfig, dict) else kubeconfig


def api_host(api_client):
    return api_client.configuration.host


def check_reachable(api_client, timeout):
    """Fail before any change when the API server cannot be reached or refuses us.

    /version is readable without credentials, so this lists one namespace-less object
    that needs authentication to tell bad credentials apart from a healthy server.
    """
    try:
        k8s_client.CoreV1Api(api_client).list_node(limit=1, _request_timeout=timeout)
    except k8s_client.ApiException as exc:
        if exc.status == 403:
            return  # authenticated; what we may do is checked by each call
        raise ApiFailure(describe_api_exception(exc, "connecting", api_host(api_client)))
    except Exception as exc:  # urllib3 raises many types for DNS, TLS and refused connections
        raise ApiFailure("connecting: cannot reach the API server at %s: %s" % (api_host(api_client), exc))
