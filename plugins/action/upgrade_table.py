# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prewarm.k8s.upgrade_table: the per-node summary of an os_upgrade run, printed as ansible.builtin.debug prints a msg.

The lines of the upgrade_summary filter, made here from the group's hosts: a debug task templating that filter over
thousands of hosts (through an include of the node_upgrade role's summary entry point) spent most of its time
iterating Ansible's lazy list of host names and checking the thousands of lines it returned (docs/benchmarks.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail

from ansible_collections.prewarm.k8s.plugins.filter.upgrade_summary import upgrade_summary
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.upgrade_end import UPGRADE_STEPS
from ansible_collections.prewarm.k8s.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import group_hosts


class ActionModule(ControllerAction):
    """Return the lines as msg, shown at any verbosity; read-only, so the same in check mode (where they say what the run would do)."""

    ARGUMENT_SPEC = {
        "group": {"type": "str", "required": True},
        "steps": {"type": "list", "elements": "str"},
    }

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.checked_args()
        steps = args["steps"] if args["steps"] is not None else list(UPGRADE_STEPS)
        try:
            lines = upgrade_summary(group_hosts(task_vars, args["group"]), task_vars["hostvars"], bool(self._task.check_mode), steps)
        except InvalidInput as exc:
            raise AnsibleActionFail("upgrade_table: %s" % exc.msg)
        # _ansible_verbose_always: what ansible.builtin.debug sets, so that the default callback prints the lines.
        result.update(changed=False, msg=lines, _ansible_verbose_always=True)
        return result
