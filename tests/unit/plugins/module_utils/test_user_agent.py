# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every API request of the collection carries User-Agent prewarm.k8s/<version of galaxy.yml>."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.prewarm.k8s.plugins.module_utils.client import build_api_client
from ansible_collections.prewarm.k8s.plugins.module_utils.constants import COLLECTION_VERSION, USER_AGENT

GALAXY_YML = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "galaxy.yml")


def test_the_version_sent_is_the_collection_version():
    with open(GALAXY_YML) as galaxy:
        version = re.search(r"^version:\s*(\S+)", galaxy.read(), re.M).group(1)
    assert COLLECTION_VERSION == version
    assert USER_AGENT == "prewarm.k8s/" + version


def test_the_api_client_sends_it():
    api_client = build_api_client(dict(host="https://127.0.0.1:6443", kubeconfig=None, context=None, request_timeout=30))
    assert api_client.user_agent == USER_AGENT
    assert api_client.default_headers["User-Agent"] == USER_AGENT
