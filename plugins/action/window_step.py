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
import time
from datetime import datetime, timezone

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.window_step import (
    FAILED,
    advance_through,
    check_after,
    check_done_label,
    check_drain,
    check_flag,
    check_step_options,
    check_wait_timeout,
    done_label_patches,
    host_failure,
    host_window,
    is_live,
    merged_waits,
    not_back,
    progress,
    recorded_nodes,
    recorded_timelines,
    resume_note,
    step_writes,
    wait_groups,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.controller import identity
from ansible_collections.prewarm.k8s.plugins.plugin_utils.batch_once import once_for_the_batch, once_for_the_group

SHARED_DIR = "prewarm-k8s-window-step"
# The connection options of ours that kubernetes.core.k8s takes too (for the done label).
K8S_CONNECTION = ("kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert", "client_cert", "client_key",
                  "proxy", "no_proxy")
# node_wait takes all of them, and the API timeout.
WAIT_CONNECTION = K8S_CONNECTION + ("request_timeout",)


class ActionModule(ActionBase):
    _supports_check_mode = True
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        try:
            step, steps, uncordon_index = check_step_options(*(args.pop(name, None) for name in ("step", "steps", "uncordon_index")))
            options = {"after": check_after(args.pop("after", None), step, steps),
                       "wait_timeout": check_wait_timeout(args.pop("wait_timeout", None)),
                       "done_label": check_done_label(args.pop("done_label", None))}
            reboot_next = check_flag(args.pop("reboot_next", False), "reboot_next")
            drain = check_drain(args.pop("drain", None))
        except InvalidInput as exc:
            raise AnsibleActionFail("window_step: %s" % exc.msg)
        state = task_vars.get("node_upgrade_state")
        if not state:
            raise AnsibleActionFail("window_step: this host has no node_upgrade_state (run the node_upgrade role's preflight first)")
        result["step"], result["steps"] = step, options["after"] + [step]
        drained = {}
        if drain is not None and state["start"] <= steps.index(step):
            drained = self._drain(args, state["node"], drain, task_vars)
            if drained.get("failed"):
                result.update(recorded=False, failed=True, drain_failed=True, msg=drained.get("msg") or "the drain failed")
                return result
            result["drain"] = drained.get("result") or drained.get("msg")
        shared, wrote = self._meet(args, (step, steps, uncordon_index), options, drain is not None, task_vars)
        result["changed"] = bool((shared["answers"].get(state["node"]) or {}).get("changed") or drained.get("changed"))
        if wrote:
            self._show_writes(result, shared)
        return self._host_outcome(result, state, (step, steps), shared, reboot_next, task_vars)

    def _meet(self, args, step_options, options, grouped, task_vars):
        """(the batch's answer, whether this host wrote it): one write for the batch, or, for hosts that get there
        apart (each drained its own node first), one write for the hosts waiting when it starts."""
        batch = list(task_vars.get("ansible_play_batch") or [])
        key = hashlib.sha256(json.dumps([self._task._uuid, step_options[0], sorted(batch)]).encode()).hexdigest()[:32]
        directory = os.path.join(C.DEFAULT_LOCAL_TMP, SHARED_DIR)
        if grouped:
            return once_for_the_group(directory, key, task_vars["inventory_hostname"], lambda members: self._write(
                args, step_options, options, members, task_vars))
        return once_for_the_batch(directory, key, lambda: self._write(args, step_options, options, batch, task_vars))

    @staticmethod
    def _show_writes(result, shared):
        """On the host that wrote: the writes and waits, the diff, and the done label's change (the batch's)."""
        result["writes"] = shared["writes"]
        if shared["waits"]:
            result["waits"] = shared["waits"]
        result["changed"] = result["changed"] or any(write.get("changed") for write in shared["writes"] if "done_label" in write)
        if shared.get("diff"):
            result["diff"] = shared["diff"]

    def _host_outcome(self, result, state, step_options, shared, reboot_next, task_vars):
        """This host's result: failed with why, or its window moved on (facts)."""
        step, steps = step_options
        # Where the window stands after the records that named this node; a failed task sets no fact, so a host that
        # fails after a record (a node not back once its reboot was recorded) gives it in its result for the rescue.
        window = host_window(state, progress(state, _window_fact(task_vars)), steps, shared["checkpoints"])
        failure = host_failure(state, steps.index(step), shared)
        if failure:
            result.update(recorded=False, failed=True, msg=failure, window=window)
            return result
        annotation = (shared["answers"].get(state["node"]) or {}).get("annotation")
        # In check mode nothing was marked: a node stays under maintenance since when its own record says, if at all.
        if annotation and annotation.get("since") and not self._play_context.check_mode:
            window["since"] = annotation["since"]
        if reboot_next:
            window["reboot_started"] = shared["checkpoints"][-1]["ended"]
        note = resume_note(state, steps) if step == steps[0] else None
        if note:
            result["warnings"] = [note]
        # Facts, which a set_fact of the same name would shadow: the role never set_facts node_upgrade_window, and
        # node_upgrade_timeline only once the window is over (the warm step's end, a failure).
        result["recorded"] = True
        result["ansible_facts"] = {"node_upgrade_window": window, "node_upgrade_timeline": window["timeline"]}
        recorded = "would be recorded" if self._play_context.check_mode else "recorded"
        result["msg"] = "%s: %s %s" % (state["node"], ", ".join(result["steps"]), recorded)
        return result

    def _write(self, args, step_options, options, batch, task_vars):
        """The batch's records and wait: what node_maintenance and node_wait answered, or the message of a write or a
        wait that failed as a whole. With a wait, the steps of `after` are recorded before it (a run killed during
        the wait resumes at the step waiting, not before), the step after it; without, all in one write."""
        step, steps, uncordon_index = step_options
        shared = {"answers": {}, "failure": None, "writes": [], "diff": None, "ready": None, "waits": [],
                  "wait_failure": None, "checkpoints": []}
        hostvars = task_vars["hostvars"]
        windows = []
        for host in batch:
            facts = hostvars[host]
            if is_live(facts):
                state = facts["node_upgrade_state"]
                windows.append((state, progress(state, _window_fact(facts))))
        after, wait_timeout = options["after"], options["wait_timeout"]
        stages = [after, [step]] if after and wait_timeout else [after + [step]]
        try:
            for done in stages:
                if done[-1] == step and wait_timeout:
                    waiting = [dict(state, reboot_started=window.get("reboot_started")) for state, window in windows]
                    shared["ready"], shared["wait_failure"] = self._wait(
                        args, wait_groups(steps.index(step), waiting), wait_timeout, shared, task_vars)
                    if shared["wait_failure"]:
                        return shared
                    failing = not_back(steps.index(step), [state for state, dummy in windows], shared["ready"])
                    windows = [(state, window) for state, window in windows if state["node"] not in failing]
                windows = self._record(args, done, (steps, uncordon_index), windows, shared, task_vars)
                if shared["failure"]:
                    return shared
            labelled = recorded_nodes(steps.index(step), [state for state, dummy in windows], shared["answers"],
                                      shared["failure"]) if options["done_label"] else []
            if labelled:
                self._put_done_label(args, options["done_label"], labelled, shared, task_vars)
        except AnsibleError as exc:
            # Said to every host, as a failed write is: the next host must not try the same write again.
            shared["failure"] = "node_maintenance could not run: %s" % exc
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return shared

    def _record(self, args, done, step_options, windows, shared, task_vars):
        """Record the steps of `done` on the nodes of `windows` that ran them (one node_maintenance run per write);
        the windows of the nodes not failed by it, moved on. A write that fails as a whole sets shared["failure"]."""
        steps, uncordon_index = step_options
        ended = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        timelines = recorded_timelines(done, steps, windows, ended)
        failed = []
        for write in step_writes(done[-1], steps, uncordon_index, [state for state, dummy in windows]):
            module_args = dict(args, nodes=write["nodes"], cordon=write["cordon"], missing="report",
                               steps=dict((name, timelines[name]) for name in write["nodes"] if name in timelines))
            if write["status"]:
                module_args["status"] = write["status"]
            answer = self._execute_module(module_name="prewarm.k8s.node_maintenance", module_args=module_args,
                                          task_vars=task_vars)
            shared["writes"].append({"nodes": write["nodes"], "steps": done, "msg": answer.get("msg"),
                                     "summary": answer.get("summary")})
            if answer.get("diff"):
                shared["diff"] = answer["diff"]
            if "nodes" not in answer:
                shared["failure"] = answer.get("msg") or "node_maintenance failed"
                return windows
            shared["answers"].update(answer["nodes"])
            failed.extend(name for name, outcome in answer["nodes"].items() if outcome["action"] == FAILED)
        windows = [(state, advance_through(state["start"], window, done, steps, ended))
                   for state, window in windows if state["node"] not in failed]
        shared["checkpoints"].append({"done": done, "ended": ended, "nodes": sorted(state["node"] for state, dummy in windows)})
        return windows

    def _drain(self, args, node, drain, task_vars):
        """kubernetes.core.k8s_drain of this host's node, with window_step's connection options; its answer."""
        module_args = _given(args, K8S_CONNECTION)
        module_args.update(drain, name=node, state="drain")
        try:
            return self._execute_module(module_name="kubernetes.core.k8s_drain", module_args=module_args,
                                        task_vars=task_vars)
        except AnsibleError as exc:
            return {"failed": True, "msg": "kubernetes.core.k8s_drain could not run: %s" % exc}

    def _wait(self, args, waits, timeout, shared, task_vars):
        """node_wait for each group of `waits` in turn, all within `timeout` seconds: (merged result, failure)."""
        wait_args = _given(args, WAIT_CONNECTION)
        # Only a module on this machine can see the playbook's process (plugin_utils/controller_guard.py says why).
        if self._connection.transport == "local":
            wait_args["controller"] = identity(os.getppid())
        deadline = time.monotonic() + timeout
        answers = []
        for wait in waits:
            module_args = dict(wait_args, nodes=wait["nodes"], timeout=max(1, int(deadline - time.monotonic())))
            module_args.update((name, wait[name]) for name in ("kernel_version", "os_image", "ready_after") if wait[name])
            try:
                answer = self._execute_module(module_name="prewarm.k8s.node_wait", module_args=module_args,
                                              task_vars=task_vars)
            except AnsibleError as exc:
                answer = {"failed": True, "msg": "node_wait could not run: %s" % exc}
            answers.append(answer)
            shared["waits"].append({"nodes": wait["nodes"], "msg": answer.get("msg")})
        return merged_waits(waits, answers)

    def _put_done_label(self, args, label, nodes, shared, task_vars):
        """The done label on the nodes just recorded, in one kubernetes.core.k8s run; its failure fails the batch."""
        module_args = _given(args, K8S_CONNECTION)
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


def _given(args, names):
    """The options of `names` the task gave (the connection options passed on to the modules this action runs)."""
    return dict((name, args[name]) for name in names if args.get(name) is not None)
