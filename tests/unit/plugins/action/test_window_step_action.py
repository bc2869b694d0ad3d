# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""window_step's meeting of the hosts: of several processes at once, one writes, every one reads the same answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import time

import pytest

from ansible import constants as C
from ansible.errors import AnsibleActionFail

from ansible_collections.prewarm.k8s.plugins.action import window_step

STEPS = ["marked", "drained", "upgraded"]


def _one_host(key, log, queue):
    def write():
        with open(log, "a") as handle:
            handle.write("%d\n" % os.getpid())
        time.sleep(0.3)  # a write takes a while: the others must wait for it, not write too
        return {"ended": "2026-12-06T03:00:00Z", "writer": os.getpid()}
    shared, wrote = window_step._once_for_the_batch(key, write)
    queue.put((os.getpid(), shared, wrote))


def test_of_the_hosts_of_a_batch_one_writes_and_all_read_its_answer(tmp_path):
    log = str(tmp_path / "writes")
    queue = multiprocessing.Queue()
    key = "test-%d-%d" % (os.getpid(), time.time_ns())
    hosts = [multiprocessing.Process(target=_one_host, args=(key, log, queue)) for dummy in range(6)]
    for host in hosts:
        host.start()
    answers = [queue.get(timeout=30) for dummy in hosts]
    for host in hosts:
        host.join(30)
    with open(log) as handle:
        writers = handle.read().split()
    assert len(writers) == 1, writers
    assert [pid for pid, dummy, wrote in answers if wrote] == [int(writers[0])]
    assert all(shared == {"ended": "2026-12-06T03:00:00Z", "writer": int(writers[0])} for dummy, shared, dummy2 in answers)
    assert os.path.isfile(os.path.join(C.DEFAULT_LOCAL_TMP, window_step.SHARED_DIR, key + ".json"))


@pytest.mark.parametrize("args, message", [
    ({"step": "drained", "steps": "marked", "uncordon_index": 2}, "steps must be a non-empty list of step names, got 'marked'"),
    ({"step": "warm", "steps": STEPS, "uncordon_index": 2}, "step 'warm' is not one of steps (marked, drained, upgraded)"),
    ({"step": "drained", "steps": STEPS, "uncordon_index": "x"}, "uncordon_index must be an integer, got 'x'"),
])
def test_bad_options_are_refused_naming_the_value(args, message):
    with pytest.raises(AnsibleActionFail) as failed:
        window_step._own_options(dict(args))
    assert message in str(failed.value)


def test_its_own_options_are_taken_out_and_the_rest_goes_to_node_maintenance():
    args = {"step": "drained", "steps": STEPS, "uncordon_index": "2", "kubeconfig": "/k", "taint": {"key": "k"}}
    assert window_step._own_options(args) == ("drained", STEPS, 2)
    assert args == {"kubeconfig": "/k", "taint": {"key": "k"}}
