# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prewarm.k8s.window_report: the run's HTML report, rendered and written on the controller (no module is sent)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail

from ansible_collections.prewarm.k8s.plugins.module_utils.window_report import build_report
from ansible_collections.prewarm.k8s.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import group_hosts, upgrade_report_input
from ansible_collections.prewarm.k8s.plugins.plugin_utils.report_file import check_inputs, default_path, same_content, write_atomically


class ActionModule(ControllerAction):
    """Render the report from the task's arguments, write it where `path` says, return its path and summary."""

    ARGUMENT_SPEC = {
        "playbook": {"type": "str", "required": True},
        "rows": {"type": "list", "elements": "dict"},
        "group": {"type": "str"},
        "timelines": {"type": "dict"},
        "states": {"type": "dict"},
        "steps": {"type": "list", "elements": "str", "default": []},
        "path": {"type": "str"},
        "stats_key": {"type": "str"},
    }

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.checked_args(required_one_of=[["rows", "group"]], mutually_exclusive=[["rows", "group"], ["timelines", "group"]])
        if args["group"] is not None:
            # Read here, not passed in: thousands of rows and timelines as task arguments take seconds to template, and
            # even thousands of host names take a tenth of a second to validate.
            args["rows"], args["timelines"] = upgrade_report_input(task_vars["hostvars"], group_hosts(task_vars, args["group"]))
        problem = check_inputs(args)
        if problem:
            raise AnsibleActionFail("window_report: " + problem)
        moment = datetime.now(timezone.utc).replace(microsecond=0)
        path = args["path"] or default_path(args["playbook"], moment)
        check_mode = bool(self._task.check_mode)
        html, summary = build_report({
            "playbook": args["playbook"], "generated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "check_mode": check_mode,
            "steps": args["steps"], "rows": args["rows"], "timelines": args["timelines"], "states": args["states"],
        })
        changed = not same_content(path, html)
        if changed:
            try:
                write_atomically(path, html)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail("window_report: cannot write the report to %s: %s" % (path, exc))
        summary["path"] = os.path.abspath(path)
        result.update(changed=changed, path=summary["path"], summary=summary,
                      msg="report of %d node(s) written to %s%s" % (len(summary["nodes"]), summary["path"],
                                                                    " (check mode: the run changed nothing)" if check_mode else ""))
        if args["stats_key"]:
            # What ansible.builtin.set_stats returns, without a task of its own that templates the summary again.
            result["ansible_stats"] = {"data": {args["stats_key"]: summary}, "per_host": False, "aggregate": True}
        return result
