# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.client import environment_fallbacks, proxy_secrets


def test_an_option_passed_as_none_takes_its_k8s_auth_variable():
    # What the playbooks' module_defaults pass when prewarm_kubeconfig / prewarm_context are unset.
    params = dict(kubeconfig=None, context=None, api_key=None, validate_certs=None)
    environ = {"K8S_AUTH_KUBECONFIG": "/runner/env/kubeconfig", "K8S_AUTH_CONTEXT": "prod", "K8S_AUTH_API_KEY": "t0ken",
               "K8S_AUTH_VERIFY_SSL": "false"}
    assert environment_fallbacks(params, environ) == dict(kubeconfig="/runner/env/kubeconfig", context="prod", api_key="t0ken",
                                                          validate_certs=False)


def test_a_value_given_wins_over_the_environment_and_empty_variables_are_ignored():
    params = dict(kubeconfig="/given", context=None, validate_certs=True)
    environ = {"K8S_AUTH_KUBECONFIG": "/from-env", "K8S_AUTH_CONTEXT": "", "K8S_AUTH_VERIFY_SSL": "no"}
    assert environment_fallbacks(params, environ) == {}


def test_options_without_a_variable_are_left_alone():
    assert environment_fallbacks(dict(request_timeout=None), {"K8S_AUTH_REQUEST_TIMEOUT": "5"}) == {}


def test_the_password_of_a_proxy_url_is_masked_as_written_and_decoded():
    assert proxy_secrets("http://ops:p%40ss@proxy.internal:3128") == set(["p%40ss", "p@ss"])


def test_a_proxy_without_password_masks_nothing():
    assert proxy_secrets("http://proxy.internal:3128") == set()
    assert proxy_secrets("http://ops@proxy.internal:3128") == set()
    assert proxy_secrets(None) == set()
