# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which nodes a run acts on: named nodes and/or a label selector, checked before any write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.names import check_object_name, unique_in_order


def check_node_names(names, option="nodes"):
    """The node names of `option`, checked and without duplicates, in the order given."""
    for name in names or []:
        check_object_name(name, option)
    return unique_in_order(names or [])


def select_nodes(names, label_selector, listed, selected, allow_empty=False, missing_ok=False):
    """The union of the named nodes and the nodes the selector matched, sorted by name.

    listed: every node of the cluster (node dicts), read when names were given, else None.
    selected: the nodes the label selector matched, read when a selector was given, else None.
    An unknown name, or a selection that is empty (unless allow_empty), is an error, so a
    typo fails the run before any node changes instead of silently doing less. missing_ok:
    unknown names are left out instead (the caller reports them): a play that read its nodes
    earlier must not stop for all of them when one was deleted since.
    """
    by_name = {}
    for node in (listed or []) + (selected or []):
        by_name[node["metadata"]["name"]] = node
    known = set(_names(listed))
    unknown = [name for name in names if name not in known]
    if unknown and not missing_ok:
        raise InvalidInput("nodes: no such node: %s (the cluster has %d nodes)"
                           % (", ".join(unknown), len(known)))
    chosen = (set(names) - set(unknown)) | set(_names(selected))
    if not chosen and not allow_empty and not unknown:
        if label_selector:
            raise InvalidInput("label_selector: %r matched no node; set allow_empty=true if that is expected"
                               % label_selector)
        raise InvalidInput("nodes: empty list and no label_selector, so no node is selected; "
                           "set allow_empty=true if that is expected")
    return [by_name[name] for name in sorted(chosen)]


def _names(nodes):
    return [node["metadata"]["name"] for node in nodes or []]
