# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prewarm.k8s.window_step: one task per step records it for the whole batch and fails only the nodes it could not record.

Why not run_once: a task run once fails every host when it fails, and gives one result to all of them, so failing
the one node that could not be recorded took a second task per step. Here the action runs for every host; the
first to get there writes for the batch (one node_maintenance run), the others read its answer (batch_once.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
from datetime import datetime, timezone

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import (
    advance,
    check_step_options,
    is_live,
    node_outcome,
    progress,
    recorded_timelines,
    step_writes,
)
from ansible_collections.prewarm.k8s.plugins.plugin_utils.batch_once import once_for_the_batch

SHARED_DIR = "prewarm-k8s-window-step"


class ActionModule(ActionBase):
    _supports_check_mode = True
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            step, steps, uncordon_index = check_step_options(*(args.pop(name, None) for name in ("step", "steps", "uncordon_index")))
        except InvalidInput as exc:
            raise AnsibleActionFail("window_step: %s" % exc.msg)
        state = task_vars.get("node_upgrade_state")
        if not state:
            raise AnsibleActionFail("window_step: this host has no node_upgrade_state (run the node_upgrade role's preflight first)")
        batch = list(task_vars.get("ansible_play_batch") or [])
        key = hashlib.sha256(json.dumps([self._task._uuid, step, sorted(batch)]).encode()).hexdigest()[:32]
        shared, wrote = once_for_the_batch(os.path.join(C.DEFAULT_LOCAL_TMP, SHARED_DIR), key,
                                           lambda: self._write(args, step, steps, uncordon_index, batch, task_vars))

        recorded, error, annotation = node_outcome(state["node"], shared["answers"], shared["failure"])
        result.update(step=step, recorded=recorded,
                      changed=bool(shared["answers"].get(state["node"], {}).get("changed")))
        if wrote:
            result["writes"] = shared["writes"]
            if shared.get("diff"):
                result["diff"] = shared["diff"]
        if not recorded:
            result.update(failed=True, msg="could not be recorded: %s" % error)
            return result
        window = advance(state["start"], progress(state, _window_fact(task_vars)), step, steps, shared["ended"])
        # In check mode nothing was marked: a node stays under maintenance since when its own record says, if at all.
        if annotation and annotation.get("since") and not self._play_context.check_mode:
            window["since"] = annotation["since"]
        # Facts, which a set_fact of the same name would shadow: the role never set_facts node_upgrade_window, and
        # node_upgrade_timeline only once the window is over (the warm step's end, a failure).
        result["ansible_facts"] = {"node_upgrade_window": window, "node_upgrade_timeline": window["timeline"]}
        result["msg"] = "%s: %s %s" % (state["node"], step, "would be recorded" if self._play_context.check_mode else "recorded")
        return result

    def _write(self, args, step, steps, uncordon_index, batch, task_vars):
        """The batch's writes: what node_maintenance answered, or the message of a write that failed as a whole."""
        hostvars = task_vars["hostvars"]
        windows = []
        for host in batch:
            facts = hostvars[host]
            if is_live(facts):
                state = facts["node_upgrade_state"]
                windows.append((state, progress(state, _window_fact(facts))))
        ended = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        timelines = recorded_timelines(step, steps, windows, ended)
        shared = {"ended": ended, "answers": {}, "failure": None, "writes": [], "diff": None}
        try:
            for write in step_writes(step, steps, uncordon_index, [state for state, dummy in windows]):
                module_args = dict(args, nodes=write["nodes"], cordon=write["cordon"], missing="report",
                                   steps=dict((name, timelines[name]) for name in write["nodes"] if name in timelines))
                if write["status"]:
                    module_args["status"] = write["status"]
                answer = self._execute_module(module_name="prewarm.k8s.node_maintenance", module_args=module_args,
                                              task_vars=task_vars)
                shared["writes"].append({"nodes": write["nodes"], "msg": answer.get("msg"), "summary": answer.get("summary")})
                if answer.get("diff"):
                    shared["diff"] = answer["diff"]
                if "nodes" not in answer:
                    shared["failure"] = answer.get("msg") or "node_maintenance failed"
                    break
                shared["answers"].update(answer["nodes"])
        except AnsibleError as exc:
            # Said to every host, as a failed write is: the next host must not try the same write again.
            shared["failure"] = "node_maintenance could not run: %s" % exc
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return shared


def _window_fact(variables):
    """The node_upgrade_window fact in a host's variables, whether facts are injected as variables or not."""
    return (variables.get("ansible_facts") or {}).get("node_upgrade_window")
