# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift signal kept on the cluster: each node's warmth state as a label, per preloader.

Pod readiness does not change when an image goes from a node or a tag moves in the registry,
so an alert cannot be built on it. A label can: kube-state-metrics exports allowed node labels
(kube_node_labels), and a label selector finds the drifted nodes
(``kubectl get nodes -l warmth.prewarm.k8s/preload-gpu=stale``). Pure functions; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import WARMTH_LABEL_PREFIX


def warmth_label(daemonset_name):
    """The label key of one preloader's drift signal (the DaemonSet name fits a label name: <= 63)."""
    return WARMTH_LABEL_PREFIX + daemonset_name


def state_patches(results, labels, key):
    """{node: merge patch} for the nodes whose label `key` does not say their state yet.

    results: {node: warmth result with "state"}; labels: {node: its current labels}. A node
    already labelled with its state gets no patch, so a run that finds nothing new writes nothing.
    """
    patches = {}
    for name, result in results.items():
        if (labels.get(name) or {}).get(key) != result["state"]:
            patches[name] = {"metadata": {"labels": {key: result["state"]}}}
    return patches
