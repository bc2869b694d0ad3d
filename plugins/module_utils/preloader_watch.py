# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preloader as warm_status and warmup both read it: its DaemonSet, its pods, and the warmth tracker over them.

One set-up for both modules, so the two can never disagree on which pods are the preloader's or
how a node's warmth starts out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.api_reads import api_call, read_daemonset
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import POD_FIELDS
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import label_selector_string
from ansible_collections.prewarm.k8s.plugins.module_utils.warm_tracker import NODES, PODS, WarmTracker
from ansible_collections.prewarm.k8s.plugins.module_utils.warmth import images_from_daemonset
from ansible_collections.prewarm.k8s.plugins.module_utils.watcher import ApiListWatch


def template_pod_spec(daemonset):
    """The pod spec of the DaemonSet's template ({} when it has none)."""
    return ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}


def read_preloader(api_client, params):
    """(daemonset, images, pod spec) of the preloader params["namespace"]/params["name"]."""
    daemonset = read_daemonset(api_client, params)
    return daemonset, images_from_daemonset(daemonset), template_pod_spec(daemonset)


def list_preloader_pods(api_client, core, params, daemonset):
    """(pod stream, pods, resourceVersion): the preloader's pods, by its own selector, to LIST and then WATCH."""
    pods = ApiListWatch(core.list_namespaced_pod, params["request_timeout"], kept_fields=POD_FIELDS, namespace=params["namespace"],
                        label_selector=label_selector_string((daemonset.get("spec") or {}).get("selector")))
    items, version = api_call(api_client, "listing the preloader pods in %s" % params["namespace"], pods.list)
    return pods, items, version


def start_tracker(names, images, pod_spec, daemonset, params, node_items, pod_items):
    """A WarmTracker of `names` that has seen the nodes and pods listed so far."""
    tracker = WarmTracker(names, images, pod_spec, daemonset["metadata"].get("uid"), params["require_ready"],
                          params["node_status_max_images"], list_lag=params["image_list_lag"])
    tracker.replace(NODES, node_items)
    tracker.replace(PODS, pod_items)
    return tracker
