# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times each play and task of the summary benchmark; writes them as JSON to $SUMMARY_BENCH_TIMES at the end."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: summary_timer
type: aggregate
short_description: Wall time of each play and task, as JSON
description: Writes the wall time of each play and task to the file named by the environment variable SUMMARY_BENCH_TIMES.
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

    def _close_task(self, now):
        if self.tasks and "seconds" not in self.tasks[-1]:
            self.tasks[-1]["seconds"] = now - self.tasks[-1].pop("started")

    def _close_play(self, now):
        self._close_task(now)
        if self.plays and "seconds" not in self.plays[-1]:
            self.plays[-1]["seconds"] = now - self.plays[-1].pop("started")

    def v2_playbook_on_play_start(self, play):
        now = time.time()
        self._close_play(now)
        self.plays.append({"play": play.get_name(), "started": now})

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.time()
        self._close_task(now)
        self.tasks.append({"play": self.plays[-1]["play"] if self.plays else None, "task": task.get_name(), "started": now})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close_play(time.time())
        path = os.environ.get("SUMMARY_BENCH_TIMES")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump({"plays": self.plays, "tasks": self.tasks}, out, indent=1)
