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

from ansible_collections.prewarm.k8s.plugins.plugin_utils.batch_once import once_for_the_batch


def _one_host(directory, log, queue):
    def write():
        with open(log, "a") as handle:
            handle.write("%d\n" % os.getpid())
        time.sleep(0.3)  # a write takes a while: the others must wait for it, not write too
        return {"ended": "2026-12-06T03:00:00Z", "writer": os.getpid()}
    shared, wrote = once_for_the_batch(directory, "batch-1", write)
    queue.put((os.getpid(), shared, wrote))


def _hosts_of_a_batch(directory, log, count):
    queue = multiprocessing.Queue()
    hosts = [multiprocessing.Process(target=_one_host, args=(directory, log, queue)) for dummy in range(count)]
    for host in hosts:
        host.start()
    answers = [queue.get(timeout=30) for dummy in hosts]
    for host in hosts:
        host.join(30)
    return answers


def test_of_the_hosts_of_a_batch_one_writes_and_all_read_its_answer(tmp_path):
    directory, log = str(tmp_path / "shared"), str(tmp_path / "writes")
    answers = _hosts_of_a_batch(directory, log, 6)
    with open(log) as handle:
        writers = handle.read().split()
    assert len(writers) == 1, writers
    assert [pid for pid, dummy, wrote in answers if wrote] == [int(writers[0])]
    assert all(shared == {"ended": "2026-12-06T03:00:00Z", "writer": int(writers[0])} for dummy, shared, dummy2 in answers)
    # A host that comes later (a slow fork) reads the same answer, and writes nothing.
    assert _hosts_of_a_batch(directory, log, 1)[0][1:] == ({"ended": "2026-12-06T03:00:00Z", "writer": int(writers[0])}, False)


def test_a_writer_that_fails_leaves_the_write_to_the_next_host(tmp_path):
    directory = str(tmp_path / "shared")

    def broken():
        raise RuntimeError("the writer's process went wrong")
    with pytest.raises(RuntimeError):
        once_for_the_batch(directory, "batch-2", broken)
    assert once_for_the_batch(directory, "batch-2", lambda: {"writer": "next"}) == ({"writer": "next"}, True)
