# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The modules that wait (warmup, warm_status, node_wait) stop when the playbook that started them is gone.
    DOCUMENTATION = r"""
options:
  controller:
    description:
      - Set by the collection's action plugin when the module runs on the controller (a local connection, as a task
        delegated to localhost has) - the process ID and start time of the C(ansible-playbook) (or C(ansible)) run.
        Leave it unset.
      - A module keeps running when its playbook is killed or its job cancelled (each task runs in a worker process
        with a session of its own). When this process ends while the module waits, the module stops within about a
        second - nothing more is admitted, recorded or released, and each node stays as its maintenance annotation
        says - and fails.
      - Not set (V(null)) when the module runs on another host, where that process cannot be seen; the wait then
        ends only at its O(timeout).
    type: dict
    suboptions:
      pid:
        description: The process ID.
        type: int
        required: true
      start:
        description: Its start time in clock ticks since boot (field 22 of C(/proc/<pid>/stat)), so a new process
          that reuses the ID does not count.
        type: int
        required: true
"""
