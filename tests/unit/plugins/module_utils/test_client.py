# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.client import check_connection_options
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError


def _params(**kwargs):
    params = dict(kubeconfig=None, ca_cert=None, client_cert=None, client_key=None, request_timeout=30)
    params.update(kwargs)
    return params


@pytest.mark.parametrize("option", ["ca_cert", "client_cert", "client_key"])
def test_a_missing_tls_file_is_named_with_its_option(tmp_path, option):
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(PrewarmError) as caught:
        check_connection_options(_params(**{option: missing}))
    assert caught.value.msg == "%s: no such file %r" % (option, missing)


def test_existing_files_and_defaults_pass(tmp_path):
    existing = tmp_path / "ca.crt"
    existing.write_text("x")
    check_connection_options(_params(ca_cert=str(existing), kubeconfig=str(existing)))
    check_connection_options(_params(kubeconfig={"clusters": []}))


def test_a_missing_kubeconfig_file_names_the_option_without_the_path(tmp_path):
    missing = str(tmp_path / "kubeconfig")
    with pytest.raises(PrewarmError) as caught:
        check_connection_options(_params(kubeconfig=missing))
    assert caught.value.msg.startswith("kubeconfig: no such file")
    assert missing not in caught.value.msg


def test_a_kubeconfig_path_with_a_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "config").write_text("x")
    check_connection_options(_params(kubeconfig="~/config"))


def test_a_kubeconfig_of_another_type_is_refused():
    with pytest.raises(PrewarmError, match="kubeconfig: must be a file path or a kubeconfig dictionary, not a list"):
        check_connection_options(_params(kubeconfig=["a", "b"]))


@pytest.mark.parametrize("timeout", [0, -1, 0.0])
def test_request_timeout_must_be_positive(timeout):
    with pytest.raises(PrewarmError) as caught:
        check_connection_options(_params(request_timeout=timeout))
    assert caught.value.msg == "request_timeout: must be a positive number of seconds, not %r" % timeout
