# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.prewarm.k8s.plugins.module_utils import preloader_watch

DAEMONSET = {
    "metadata": {"name": "preload-web", "namespace": "prewarm-system", "uid": "u-1"},
    "spec": {"selector": {"matchLabels": {"app": "preload-web"}},
             "template": {"spec": {"nodeSelector": {"pool": "web"}, "containers": [{"name": "hold", "image": "pause:3.10.2"}]}}},
}


def test_the_template_pod_spec_or_nothing():
    assert preloader_watch.template_pod_spec(DAEMONSET)["nodeSelector"] == {"pool": "web"}
    assert preloader_watch.template_pod_spec({"metadata": {"name": "x"}}) == {}
    assert preloader_watch.template_pod_spec({"spec": {"template": None}}) == {}


def test_the_pods_are_listed_by_the_daemonsets_own_selector_in_its_namespace():
    calls = []

    def list_namespaced_pod(**kwargs):
        calls.append(kwargs)
        return type("Response", (), {"data": json.dumps({"items": [{"metadata": {"name": "preload-web-x", "managedFields": [{}]}}],
                                                         "metadata": {"resourceVersion": "42"}})})()

    core = type("Core", (), {"list_namespaced_pod": staticmethod(list_namespaced_pod)})()
    params = {"namespace": "prewarm-system", "request_timeout": 20}
    _stream, items, version = preloader_watch.list_preloader_pods(None, core, params, DAEMONSET)
    assert version == "42"
    assert [item["metadata"]["name"] for item in items] == ["preload-web-x"]
    assert "managedFields" not in items[0]["metadata"]
    assert calls[0]["namespace"] == "prewarm-system" and calls[0]["label_selector"] == "app=preload-web"
