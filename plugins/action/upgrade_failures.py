# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prewarm.k8s.upgrade_failures: fail, naming them, when nodes of an os_upgrade run failed; skipped when none did.

The failure that ansible.builtin.fail gave from the upgrade_outcome filter, decided here from the group's hosts: its
condition and message templated the filter three times, each iterating Ansible's lazy list of thousands of host names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.filter.upgrade_outcome import upgrade_outcome
from ansible_collections.prewarm.k8s.plugins.module_utils.upgrade_end import failure_message
from ansible_collections.prewarm.k8s.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.prewarm.k8s.plugins.plugin_utils.host_facts import group_hosts


class ActionModule(ControllerAction):
    """Failed with the message, or skipped, as the fail task with its condition was; the same in check mode."""

    ARGUMENT_SPEC = {"group": {"type": "str", "required": True}}

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.checked_args()
        message = failure_message(upgrade_outcome(group_hosts(task_vars, args["group"]), task_vars["hostvars"]))
        if message is None:
            result.update(changed=False, skipped=True, skip_reason="No node failed")
        else:
            result.update(changed=False, failed=True, msg=message)
        return result
