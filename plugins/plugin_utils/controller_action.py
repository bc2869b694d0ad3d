# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's actions that do all their work on the controller (no module is sent to a host).

They read what they need from the task's variables and change nothing on the cluster or the hosts (window_report
writes the run's report on the controller, in check mode too, saying so); each declares its ARGUMENT_SPEC.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    ARGUMENT_SPEC = {}

    def checked_args(self, **checks):
        """The task's arguments, validated against ARGUMENT_SPEC (and `checks`: required_one_of, mutually_exclusive)."""
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC, **checks)
        return args
