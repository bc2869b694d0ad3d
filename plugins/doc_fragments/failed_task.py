# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # What a rescue knows of the task that failed: the plugins that read it (window_error, failed_drain).
    DOCUMENTATION = r"""
options:
  _input:
    description: The failed task's result (C(ansible_failed_result)).
    type: dict
    required: true
  task:
    description: The failed task (C(ansible_failed_task)).
    type: dict
    required: true
"""
