# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times each play and task of the summary benchmark; writes them as JSON to $SUMMARY_BENCH_TIMES at the end.

Wall time, and CPU time (user + sys) of ansible-playbook and of the workers it forked and reaped: on a machine shared
with other work the wall time grows with the load, the CPU time much less.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: summary_timer
type: aggregate
short_description: Wall and CPU time of each play and task, as JSON
description: Writes the wall and CPU time of each play and task to the file named by the environment variable SUMMARY_BENCH_TIMES.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "summary_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.plays, self.tasks = [], []

    @staticmethod
    def _now():
        times = os.times()
        return time.time(), times.user + times.system + times.children_user + times.children_system

    @staticmethod
    def _close(entries, now):
        if entries and "seconds" not in entries[-1]:
            wall, cpu = entries[-1].pop("started")
            entries[-1].update(seconds=now[0] - wall, cpu_seconds=now[1] - cpu)

    def _close_play(self, now):
        self._close(self.tasks, now)
        self._close(self.plays, now)

    def v2_playbook_on_play_start(self, play):
        now = self._now()
        self._close_play(now)
        self.plays.append({"play": play.get_name(), "started": now})

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = self._now()
        self._close(self.tasks, now)
        self.tasks.append({"play": self.plays[-1]["play"] if self.plays else None, "task": task.get_name(), "started": now})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close_play(self._now())
        path = os.environ.get("SUMMARY_BENCH_TIMES")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump({"plays": self.plays, "tasks": self.tasks}, out, indent=1)
