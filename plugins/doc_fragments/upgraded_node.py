# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How a node says it is already upgraded: the filters that decide it (window_resume, reconcile_plan).
    DOCUMENTATION = r"""
options:
  done_label:
    description: The label (C(key), C(value)) an upgraded node carries, or null.
    type: dict
  kernel_version:
    description: The kernel an upgraded node reports, or null for any.
    type: str
  os_image:
    description: The OS image an upgraded node reports, or null for any.
    type: str
"""
