# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One write for the hosts of a batch that all run the same task: the first to take the lock writes, the others read.

Ansible runs a task for each host in a process of its own, all on the controller; they meet in a file named by `key`
in `directory` (window_step uses the controller's temporary directory, which ansible-playbook removes when it ends).
A host waits only for the write, never for another host, so no number of forks can deadlock it. A writer that dies
releases the lock with its process: the next host writes instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os


def once_for_the_batch(directory, key, write):
    """(the batch's answer, whether this process wrote it); `write()` makes the answer (JSON-serialisable)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, key + ".json")
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.path.exists(path):
                with open(path) as answer:
                    return json.load(answer), False
            shared = write()
            with open(path + ".part", "w") as part:
                json.dump(shared, part)
            os.rename(path + ".part", path)
            return shared, True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
