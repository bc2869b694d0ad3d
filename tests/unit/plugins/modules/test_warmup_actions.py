# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""warmup's admissions against an API server that refuses some requests for a while."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from kubernetes.client import ApiException

from ansible_collections.prewarm.k8s.plugins.module_utils import transient
from ansible_collections.prewarm.k8s.plugins.modules import warmup

LABEL = "preload.prewarm.k8s/preload-web"


class Drained(object):
    def drain_conn(self):
        pass


class StubCore(object):
    """patch_node answers each node with its list of statuses in turn (200 once the list is used up)."""

    api_client = type("Client", (), {"configuration": type("Conf", (), {"host": "https://api:6443"})()})()

    def __init__(self, statuses):
        self.statuses = dict((name, list(codes)) for name, codes in statuses.items())
        self.patches = []

    def patch_node(self, name, body, **kwargs):
        self.patches.append((name, body))
        codes = self.statuses.get(name) or [200]
        status = codes.pop(0)
        if status != 200:
            raise ApiException(status=status, reason="refused")
        return Drained()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(transient.time, "sleep", lambda seconds: None)


def actions(core):
    return warmup.NodeActions(core, LABEL, 5.0, 4, dry_run=False, keep_views=False)


def test_an_admission_refused_for_overload_is_sent_again():
    core = StubCore({"w1": [429, 503], "w2": []})
    assert actions(core).admit(["w1", "w2"]) == {"w1": None, "w2": None}
    assert [name for name, _body in core.patches].count("w1") == 3
    assert all(body == {"metadata": {"labels": {LABEL: "true"}}} for _name, body in core.patches)


def test_an_admission_that_keeps_failing_names_the_node_and_the_requests():
    core = StubCore({"w1": [500] * transient.MAX_ATTEMPTS, "w2": [403]})
    outcome = actions(core).admit(["w1", "w2"])
    assert outcome["w1"] == "admitting (labelling) node w1: HTTP 500: refused (sent %d times)" % transient.MAX_ATTEMPTS
    assert outcome["w2"] == "admitting (labelling) node w2: forbidden (HTTP 403): refused"
    assert [name for name, _body in core.patches].count("w2") == 1
