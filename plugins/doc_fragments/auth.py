# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The same option names, aliases and K8S_AUTH_* variables as kubernetes.core,
    # so a playbook's existing connection settings work unchanged.
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/prewarm.k8s.kubernetes) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - prewarm.k8s.kubernetes
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - When neither O(kubeconfig) nor O(host) is given, the in-cluster service account is
        tried, then C(~/.kube/config).
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Defaults to the kubeconfig's current context.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the API server, for example V(https://127.0.0.1:6443). Overrides the kubeconfig's server.
      - The URL must start with V(https://) (or V(http://), which sends requests and credentials unencrypted and
        is warned about). A URL without a scheme, here or as a kubeconfig's cluster server, is refused before any
        request, because the client would send it plain HTTP.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate with the API server.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be set with the E(K8S_AUTH_VERIFY_SSL) environment variable.
    type: bool
    aliases: [ verify_ssl ]
  ca_cert:
    description:
      - Path to a CA certificate used to verify the API server.
      - Can also be set with the E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ ssl_ca_cert ]
  client_cert:
    description:
      - Path to a client certificate used to authenticate with the API server.
      - Can also be set with the E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [ cert_file ]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [ key_file ]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through.
      - A password in the URL (V(http://user:password@proxy:3128)) is masked in the module's output.
      - Can also be set with the E(K8S_AUTH_PROXY) environment variable.
    type: str
  no_proxy:
    description:
      - Comma-separated hosts that bypass O(proxy).
      - Can also be set with the E(K8S_AUTH_NO_PROXY) environment variable.
    type: str
  request_timeout:
    description:
      - Seconds to wait for a single API request (not for the module's whole run).
    type: float
    default: 30
requirements:
  - kubernetes >= 24.2.0 (Python client)
notes:
  - Every API call runs on the Ansible controller (or wherever the task is delegated), not on the managed node.
"""
