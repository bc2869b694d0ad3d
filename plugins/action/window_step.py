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
    check_done_label,
    check_ready_result,
    check_step_options,
    done_label_patches,
    is_live,
    node_outcome,
    not_back,
    progress,
    recorded_nodes,
    recorded_timelines,
    step_writes,
)
from ansible_collections.prewarm.k8s.plugins.plugin_utils.batch_once import once_for_the_batch

SHARED_DIR = "prewarm-k8s-window-step"
# The connection options of ours that kubernetes.core.k8s takes too (for the done label).
K8S_CONNECTION = ("kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert", "client_cert", "client_key",
                  "proxy", "no_proxy")


class ActionModule(ActionBase):
    _supports_check_mode = True
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            step, steps, uncordon_index = check_step_options(*(args.pop(name, None) for name in ("step", "steps", "uncordon_index")))
            ready = check_ready_result(args.pop("ready", None))
            done_label = check_done_label(args.pop("done_label", None))
        except InvalidInput as exc:
            raise AnsibleActionFail("window_step: %s" % exc.msg)
        state = task_vars.get("node_upgrade_state")
        if not state:
            raise AnsibleActionFail("window_step: this host has no node_upgrade_state (run the node_upgrade role's preflight first)")
        batch = list(task_vars.get("ansible_play_batch") or [])
        key = hashlib.sha256(json.dumps([self._task._uuid, step, sorted(batch)]).encode()).hexdigest()[:32]
        shared, wrote = once_for_the_batch(os.path.join(C.DEFAULT_LOCAL_TMP, SHARED_DIR), key,
                                           lambda: self._write(args, (step, steps, uncordon_index), ready, done_label,
                                                               batch, task_vars))
        recorded, error, annotation = node_outcome(state["node"], shared["answers"], shared["failure"])
        result.update(step=step, recorded=recorded,
                      changed=bool(shared["answers"].get(state["node"], {}).get("changed")))
        if wrote:
            result["writes"] = shared["writes"]
            # The done label is the batch's: its change shows on the host that set it.
            result["changed"] = result["changed"] or any(write.get("changed") for write in shared["writes"] if "done_label" in write)
            if shared.get("diff"):
                result["diff"] = shared["diff"]
        # A node the batch's wait did not find back fails with the wait's message; the write left it out.
        not_back_why = not_back(steps.index(step), [state], ready).get(state["node"])
        if not_back_why:
            result.update(recorded=False, failed=True, msg=not_back_why)
            return result
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

    def _write(self, args, step_options, ready, done_label, batch, task_vars):
        """The batch's writes: what node_maintenance answered, or the message of a write that failed as a whole."""
        step, steps, uncordon_index = step_options
        hostvars = task_vars["hostvars"]
        windows = []
        for host in batch:
            facts = hostvars[host]
            if is_live(facts):
                state = facts["node_upgrade_state"]
                windows.append((state, progress(state, _window_fact(facts))))
        failing = not_back(steps.index(step), [state for state, dummy in windows], ready)
        windows = [(state, window) for state, window in windows if state["node"] not in failing]
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
            labelled = recorded_nodes(steps.index(step), [state for state, dummy in windows], shared["answers"],
                                      shared["failure"]) if done_label else []
            if labelled:
                self._put_done_label(args, done_label, labelled, shared, task_vars)
        except AnsibleError as exc:
            # Said to every host, as a failed write is: the next host must not try the same write again.
            shared["failure"] = "node_maintenance could not run: %s" % exc
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return shared

    def _put_done_label(self, args, label, nodes, shared, task_vars):
        """The done label on the nodes just recorded, in one kubernetes.core.k8s run; its failure fails the batch."""
        module_args = dict((name, args[name]) for name in K8S_CONNECTION if args.get(name) is not None)
        module_args.update(state="patched", definition=done_label_patches(label, nodes))
        answer = self._execute_module(module_name="kubernetes.core.k8s", module_args=module_args, task_vars=task_vars)
        shared["writes"].append({"nodes": nodes, "done_label": "%s=%s" % (label["key"], label["value"]),
                                 "changed": bool(answer.get("changed")), "msg": answer.get("msg")})
        if answer.get("failed"):
            shared["failure"] = "the done label %s=%s could not be set on %s: %s" % (
                label["key"], label["value"], ", ".join(nodes), answer.get("msg") or "kubernetes.core.k8s failed")


def _window_fact(variables):
    """The node_upgrade_window fact in a host's variables, whether facts are injected as variables or not."""
    return (variables.get("ansible_facts") or {}).get("node_upgrade_window")
