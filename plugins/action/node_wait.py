# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.plugin_utils.controller_guard import GuardedWait


class ActionModule(GuardedWait):
    """prewarm.k8s.node_wait, stopped when the playbook that started it is gone."""
