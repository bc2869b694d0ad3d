# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An API server URL is sent plain HTTP only when the user wrote http://."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.client import build_api_client, check_api_server_url
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError

HOST_SOURCE = "host (or K8S_AUTH_HOST)"


@pytest.mark.parametrize("url", ["10.0.0.1:6443", "api.example.com", "api.example.com:6443/prefix", "[::1]:6443"])
def test_a_url_without_a_scheme_is_refused_with_the_fix(url):
    with pytest.raises(PrewarmError) as caught:
        check_api_server_url(url, HOST_SOURCE)
    assert caught.value.msg.startswith("%s: API server %r has no scheme" % (HOST_SOURCE, url))
    assert "write https://%s (or http://%s" % (url, url) in caught.value.msg


@pytest.mark.parametrize("url", ["ftp://10.0.0.1:6443", "tcp://api:6443", "unix:///run/k8s.sock"])
def test_a_scheme_other_than_https_or_http_is_refused(url):
    with pytest.raises(PrewarmError, match="the scheme must be https"):
        check_api_server_url(url, HOST_SOURCE)


@pytest.mark.parametrize("url", ["https://10.0.0.1:6443", "HTTPS://api.example.com", "https://[::1]:6443/prefix"])
def test_https_passes_without_a_warning(url):
    assert check_api_server_url(url, HOST_SOURCE) is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "HTTP://api.example.com"])
def test_plain_http_written_by_the_user_is_taken_with_a_warning(url):
    warning = check_api_server_url(url, HOST_SOURCE)
    assert warning.startswith("%s: the API server %s is reached over plain HTTP" % (HOST_SOURCE, url))
    assert "unencrypted" in warning


def _params(**kwargs):
    params = dict(kubeconfig=None, context=None, host=None, api_key=None, validate_certs=None, ca_cert=None,
                  client_cert=None, client_key=None, proxy=None, no_proxy=None, request_timeout=30)
    params.update(kwargs)
    return params


def _kubeconfig(server):
    return {"apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "k", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": "secret-token"}}],
            "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}


def test_the_host_option_without_a_scheme_fails_before_a_client_exists():
    with pytest.raises(PrewarmError, match=r"^host \(or K8S_AUTH_HOST\): API server '10.0.0.1:6443' has no scheme"):
        build_api_client(_params(host="10.0.0.1:6443", api_key="secret-token"))


def test_a_kubeconfig_server_without_a_scheme_names_the_kubeconfig():
    with pytest.raises(PrewarmError, match=r"^the kubeconfig's cluster server: API server '10.0.0.1:6443' has no scheme"):
        build_api_client(_params(kubeconfig=_kubeconfig("10.0.0.1:6443")))


def test_plain_http_reaches_the_warning_callback_and_https_does_not():
    warnings = []
    client = build_api_client(_params(kubeconfig=_kubeconfig("http://127.0.0.1:8080")), warn=warnings.append)
    assert client.configuration.host == "http://127.0.0.1:8080"
    assert len(warnings) == 1 and warnings[0].startswith("the kubeconfig's cluster server: the API server http://127.0.0.1:8080")
    warnings = []
    build_api_client(_params(kubeconfig=_kubeconfig("https://127.0.0.1:6443")), warn=warnings.append)
    assert warnings == []
