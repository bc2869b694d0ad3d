# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One write for the hosts of a batch that all run the same task: the first to take the lock writes, the others read.

once_for_the_group is the same for hosts that get there at different times (each drains its own node first): the
hosts waiting when a write starts are written together, and a host that comes later writes for those waiting then.

Ansible runs a task for each host in a process of its own, all on the controller; they meet in a file named by `key`
in `directory` (window_step uses the controller's temporary directory, which ansible-playbook removes when it ends).
A host waits only for the write, never for another host, so no number of forks can deadlock it. A writer that dies
releases the lock with its process: the next host writes instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fcntl
import json
import os


def once_for_the_batch(directory, key, write):
    """(the batch's answer, whether this process wrote it); `write()` makes the answer (JSON-serialisable)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, key + ".json")
    with _locked(path + ".lock"):
        if os.path.exists(path):
            return _load(path, None), False
        shared = write()
        _store(path, shared)
        return shared, True


def once_for_the_group(directory, key, member, write):
    """(the answer of the write that took `member`, whether this process wrote it); `write(members)` writes for the
    members waiting (sorted; this one among them) and makes their answer (JSON-serialisable).

    Each member first joins the waiting list (a short lock), then takes the write lock: written already by a
    write that took it, it reads that answer; else it writes for every member waiting now.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    base = os.path.join(directory, key)
    with _locked(base + ".waiting.lock"):
        _store(base + ".waiting.json", _load(base + ".waiting.json", []) + [member])
    with _locked(base + ".write.lock"):
        groups = _load(base + ".groups.json", [])
        for group in groups:
            if member in group["members"]:
                return group["answer"], False
        with _locked(base + ".waiting.lock"):
            # A writer that died took its members with it: each of them writes for itself then.
            members = sorted(set(_load(base + ".waiting.json", [])) | {member})
            _store(base + ".waiting.json", [])
        answer = write(members)
        _store(base + ".groups.json", groups + [{"members": members, "answer": answer}])
        return answer, True


@contextlib.contextmanager
def _locked(path):
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load(path, default):
    if not os.path.exists(path):
        return default
    with open(path) as stored:
        return json.load(stored)


def _store(path, value):
    with open(path + ".part", "w") as part:
        json.dump(value, part)
    os.rename(path + ".part", path)
