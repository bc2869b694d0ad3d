# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The modules that read a preloader's pods name it the way M(prewarm.k8s.preloader) was given it.
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Name of the preloader DaemonSet (the O(prewarm.k8s.preloader#module:name) given to M(prewarm.k8s.preloader)).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the preloader DaemonSet.
    type: str
    default: prewarm-system
"""
