# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Telling whether the playbook process that started a module is still the same running process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.prewarm.k8s.plugins.module_utils import controller

# Field 22 (start time) is 8803; the command name holds a space and a ')'.
STAT = "4242 (ansible) pl) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 8803 10000 100 18446744073709551615"


def test_the_start_time_is_counted_from_the_last_parenthesis():
    assert controller.parse_start_time(STAT) == 8803


def test_a_missing_process_has_no_start_time():
    def missing(_pid):
        raise FileNotFoundError("/proc/4242/stat")
    assert controller.start_time(4242, read=missing) is None
    assert controller.identity(4242, read=missing) is None


def test_gone_when_the_process_ended_or_another_reuses_its_id():
    assert not controller.gone({"pid": 4242, "start": 8803}, read=lambda _pid: STAT)
    assert controller.gone({"pid": 4242, "start": 1}, read=lambda _pid: STAT)

    def missing(_pid):
        raise ProcessLookupError()
    assert controller.gone({"pid": 4242, "start": 8803}, read=missing)


def test_not_watched_is_never_gone():
    assert not controller.gone(None)
    assert not controller.gone({})


def test_this_process_is_running():
    me = controller.identity(os.getpid())
    assert me["pid"] == os.getpid() and not controller.gone(me)
