# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for LeanCoreApi.list_node, and a module's run on it, for the unit tests of modules that list nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args


class Lister(object):
    """Records the selectors each LIST was made with, and serves `items` as one page."""

    def __init__(self, items):
        self.items = items
        self.calls = []

    def list_node(self, **kwargs):
        self.calls.append(kwargs)
        return type("Page", (), {"data": json.dumps({"items": self.items, "metadata": {"resourceVersion": "5"}})})()


def run_main(module, capsys, monkeypatch, items, args):
    """module.main() with `args`, its API a Lister of `items` (reachable, nothing else answered): (rc, result, lister)."""
    lister = Lister(items)
    monkeypatch.setattr(module, "build_api_client", lambda params, pool_size, warn: object())
    monkeypatch.setattr(module, "check_reachable", lambda api_client, timeout: None)
    monkeypatch.setattr(module, "LeanCoreApi", lambda api_client: lister)
    with patch_module_args(dict({"host": "https://127.0.0.1:6443"}, **args)):
        with pytest.raises(SystemExit) as exit_info:
            module.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out), lister
