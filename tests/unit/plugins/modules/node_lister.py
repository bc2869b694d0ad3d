# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for LeanCoreApi.list_node, for the unit tests of modules that list the pool's nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


class Lister(object):
    """Records the selectors each LIST was made with, and serves `items` as one page."""

    def __init__(self, items):
        self.items = items
        self.calls = []

    def list_node(self, **kwargs):
        self.calls.append(kwargs)
        return type("Page", (), {"data": json.dumps({"items": self.items, "metadata": {"resourceVersion": "5"}})})()
