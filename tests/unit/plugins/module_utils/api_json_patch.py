# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Patch applied as the Kubernetes API server applies it, for unit tests of the patches we send.

The points where the API server's JSON Patch differs from a strict reading of RFC 6902 were
checked on a local API server: a `test` of null passes for an absent key and for an absent map;
a `test` or `add` below an absent map fails; every failure refuses the whole patch (HTTP 422).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy


class Refused(Exception):
    """The API server's HTTP 422: one operation did not apply, and nothing of the patch did."""


def apply_operations(document, operations):
    """`document` after `operations`, or Refused; the input is left as it was."""
    result = copy.deepcopy(document)
    for operation in operations:
        parent, key = _locate(result, operation["path"])
        if operation["op"] == "test":
            if parent.get(key) != operation["value"]:
                raise Refused("test of %s failed: %r is not %r" % (operation["path"], parent.get(key), operation["value"]))
        elif operation["op"] == "add":
            parent[key] = copy.deepcopy(operation["value"])
        elif operation["op"] == "remove":
            if key not in parent:
                raise Refused("remove of %s: no such key" % operation["path"])
            del parent[key]
        else:
            raise AssertionError("operation not used by the collection: %r" % operation)
    return result


def _locate(document, path):
    segments = [segment.replace("~1", "/").replace("~0", "~") for segment in path.split("/")[1:]]
    parent = document
    for segment in segments[:-1]:
        if not isinstance(parent.get(segment), dict):
            raise Refused("%s: %s does not resolve" % (path, segment))
        parent = parent[segment]
    return parent, segments[-1]
