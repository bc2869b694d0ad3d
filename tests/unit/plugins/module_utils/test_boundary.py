# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils import boundary
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError


class Ended(Exception):
    pass


class Module(object):
    """What run_module uses of an AnsibleModule: warn, fail_json and exit_json, recorded."""

    def __init__(self):
        self.warnings, self.ended = [], None

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **kwargs):
        self.ended = ("failed", kwargs)
        raise Ended()

    def exit_json(self, **kwargs):
        self.ended = ("exited", kwargs)
        raise Ended()


def end(run):
    module = Module()
    with pytest.raises(Ended):
        boundary.run_module(module, run)
    return module


def test_a_result_without_failure_exits_with_its_warnings_shown_first():
    module = end(lambda m: ({"changed": True, "msg": "marked 2 nodes"}, None, ["node a: odd taint"]))
    assert module.warnings == ["node a: odd taint"]
    assert module.ended == ("exited", {"changed": True, "msg": "marked 2 nodes"})


def test_a_failure_fails_with_the_whole_result_and_the_failure_as_msg():
    module = end(lambda m: ({"changed": True, "msg": "1 of 2 warm", "cold": ["b"]}, "b: pull failed", []))
    assert module.ended == ("failed", {"changed": True, "msg": "b: pull failed", "cold": ["b"]})


def test_an_error_raised_fails_unchanged_naming_it():
    def run(module):
        raise InvalidInput("max_pulling: must be at least 1, not 0")

    assert end(run).ended == ("failed", {"changed": False, "msg": "max_pulling: must be at least 1, not 0"})


def test_an_error_whose_details_say_what_changed_keeps_them():
    def run(module):
        raise PrewarmError("rmi b: busy; removed before it: a", changed=True, removed=["a"])

    assert end(run).ended == ("failed", {"changed": True, "msg": "rmi b: busy; removed before it: a", "removed": ["a"]})
