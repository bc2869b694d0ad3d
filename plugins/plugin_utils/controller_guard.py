# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action behind the modules that wait: they are told which ansible-playbook process to stop with.

The action runs in Ansible's worker process, whose parent is ansible-playbook (or ansible) itself;
the module, three processes further down and in the worker's own session, cannot find that
process by itself (module_utils/controller.py says why it needs to).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.prewarm.k8s.plugins.module_utils.controller import identity


class GuardedWait(ActionBase):
    """Run the task's module as the normal action does, with `controller` set when it runs on this machine."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(GuardedWait, self).run(tmp, task_vars)
        args = dict(self._task.args)
        # Only a module on this machine can see this process; elsewhere the option stays unset.
        if self._connection.transport == "local" and args.get("controller") is None:
            args["controller"] = identity(os.getppid())
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            # As the normal action: the module's temporary files go unless async still needs them.
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result
