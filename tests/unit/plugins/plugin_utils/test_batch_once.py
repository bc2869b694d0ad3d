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

from ansible_collections.prewarm.k8s.plugins.plugin_utils.batch_once import once_for_the_batch, once_for_the_group


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


def _one_drained_host(directory, log, member, delay, queue):
    time.sleep(delay)  # its drain takes this long

    def write(members):
        with open(log, "a") as handle:
            handle.write("%s\n" % ",".join(members))
        time.sleep(0.4)  # those that finish meanwhile wait for this write, then go in the next one together
        return {"members": members}
    answer, wrote = once_for_the_group(directory, "drained-1", member, write)
    queue.put((member, answer, wrote))


def test_hosts_that_finish_apart_are_written_in_groups_each_once(tmp_path):
    directory, log = str(tmp_path / "shared"), str(tmp_path / "writes")
    queue = multiprocessing.Queue()
    delays = {"a": 0.0, "b": 0.1, "c": 0.15, "d": 0.2, "e": 1.5}
    hosts = [multiprocessing.Process(target=_one_drained_host, args=(directory, log, member, delay, queue))
             for member, delay in sorted(delays.items())]
    for host in hosts:
        host.start()
    answers = dict((member, (answer, wrote)) for member, answer, wrote in (queue.get(timeout=30) for dummy in hosts))
    for host in hosts:
        host.join(30)
    with open(log) as handle:
        groups = [line.split(",") for line in handle.read().split()]
    # Each member written exactly once, by a write that named it; a host written by another wrote nothing.
    assert sorted(member for group in groups for member in group) == sorted(delays)
    assert len(groups) < len(delays), groups
    for member, outcome in answers.items():
        assert member in outcome[0]["members"] and outcome[0]["members"] in groups, (member, outcome, groups)
    assert sum(1 for answer, wrote in answers.values() if wrote) == len(groups)
    # The late one came after every write: alone.
    assert answers["e"][0] == {"members": ["e"]} and answers["e"][1]


def test_a_member_whose_writer_died_writes_for_itself(tmp_path):
    directory = str(tmp_path / "shared")

    def broken(members):
        raise RuntimeError("the writer's process went wrong")
    with pytest.raises(RuntimeError):
        once_for_the_group(directory, "drained-2", "a", broken)
    # a's place in the waiting list went with the failed write: b writes for itself, then a for itself.
    assert once_for_the_group(directory, "drained-2", "b", lambda members: {"members": members}) == ({"members": ["b"]}, True)
    assert once_for_the_group(directory, "drained-2", "a", lambda members: {"members": members}) == ({"members": ["a"]}, True)
    assert once_for_the_group(directory, "drained-2", "b", lambda members: {"members": members}) == ({"members": ["b"]}, False)
