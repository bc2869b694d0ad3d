# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preloader's mode `auto`: image volumes where the cluster can mount them, else init containers.

An image volume needs three parties. The API server must accept the field (the ImageVolume
feature is on by default from 1.35, GA and locked on from 1.36). The kubelet must pull the image
and ask for the mount (also 1.35 by default). The container runtime must mount it: containerd
from 2.1, CRI-O from 1.31. The API server accepting the field proves nothing about the nodes: a
runtime without support may start the container with an empty directory where the image should
be, and the images would never be pulled. So each node's own report (status.nodeInfo) is read,
and anything this module cannot read as a supporting version counts as no support.
Pure functions; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import MODE_INIT, MODE_VOLUME
from ansible_collections.prewarm.k8s.plugins.module_utils.scheduling import why_not_scheduled

# The first Kubernetes minor with ImageVolume on by default, in the API server and the kubelet.
MIN_KUBERNETES = (1, 35)
# The first release of each runtime that mounts image volumes, by the name in containerRuntimeVersion.
MIN_RUNTIMES = {"containerd": (2, 1), "cri-o": (1, 31)}
_RUNTIME_NAMES = {"containerd": "containerd", "cri-o": "CRI-O"}

# "v1.37.2", "v1.35.0+k3s1", "1.36.1-eks-7c3f2a": the major and minor are all that count.
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:[.+-]|$)")


def parse_version(text):
    """(major, minor) of a version string such as v1.37.2 or 2.1.0-rc.1, or None when it is not one."""
    match = _VERSION_RE.match(text.strip()) if isinstance(text, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def server_version(version_info):
    """(major, minor) from the API server's /version answer, or None.

    gitVersion first ("v1.37.2"); major and minor themselves may carry a "+" (some managed
    offerings report minor "35+").
    """
    version_info = version_info or {}
    parsed = parse_version(version_info.get("gitVersion"))
    if parsed:
        return parsed
    return parse_version("%s.%s" % (str(version_info.get("major", "")).rstrip("+"), str(version_info.get("minor", "")).rstrip("+")))


def _at_least(version):
    return "%d.%d or later" % version


def node_problem(node):
    """Why the node cannot mount image volumes (one phrase naming it and the version), or None."""
    name, info = _name(node), _info(node)
    kubelet = info.get("kubeletVersion") or ""
    parsed = parse_version(kubelet)
    if parsed is None:
        return "node %s reports kubelet version %r, which is not a Kubernetes version" % (name, kubelet)
    if parsed < MIN_KUBERNETES:
        return "node %s runs kubelet %s; image volumes need kubelet %s" % (name, kubelet, _at_least(MIN_KUBERNETES))
    runtime = info.get("containerRuntimeVersion") or ""
    runtime_name, _sep, runtime_version = runtime.partition("://")
    needed = MIN_RUNTIMES.get(runtime_name)
    wanted = " or ".join("%s %s" % (_RUNTIME_NAMES[key], _at_least(MIN_RUNTIMES[key])) for key in sorted(MIN_RUNTIMES))
    if needed is None:
        return "node %s reports container runtime %r; image volumes need %s" % (name, runtime, wanted)
    parsed = parse_version(runtime_version)
    if parsed is None or parsed < needed:
        return "node %s runs %s; image volumes need %s" % (name, runtime, wanted)
    return None


def pool_nodes(nodes, node_selector, tolerations):
    """The nodes a preloader of this pool could run on, whatever its scope: they match the pool's
    node selector and carry no taint its pods do not tolerate."""
    pod_spec = {"nodeSelector": node_selector or {}, "tolerations": tolerations or []}
    return [node for node in nodes if why_not_scheduled(node, pod_spec) is None]


def choose_mode(version_info, nodes):
    """(mode, reason) for mode `auto`: MODE_VOLUME or MODE_INIT, and one sentence for the operator.

    version_info: the API server's /version answer; nodes: pool_nodes() of the pool. Volume only
    when the API server and every one of the nodes can do it; the reason names the first node (by
    name) that cannot, and how many more there are.
    """
    server = server_version(version_info)
    git_version = (version_info or {}).get("gitVersion") or "of unknown version"
    if server is None or server < MIN_KUBERNETES:
        return MODE_INIT, ("init: the API server is %s; image volumes need Kubernetes %s"
                           % (git_version, _at_least(MIN_KUBERNETES)))
    if not nodes:
        return MODE_INIT, ("init: the pool selects no node, so no node shows that it can mount image volumes "
                           "(run the preloader again once the pool has nodes)")
    problems = [problem for problem in (node_problem(node) for node in sorted(nodes, key=_name)) if problem]
    if problems:
        more = " (and %d more of the %d nodes cannot)" % (len(problems) - 1, len(nodes)) if len(problems) > 1 else ""
        return MODE_INIT, "init: %s%s" % (problems[0], more)
    runtimes = sorted(set(_info(node).get("containerRuntimeVersion") for node in nodes))
    return MODE_VOLUME, ("volume: the API server is %s and all %d node(s) of the pool run kubelet %s and %s, which mount "
                         "image volumes" % (git_version, len(nodes), _at_least(MIN_KUBERNETES), ", ".join(runtimes)))


def _name(node):
    return (node.get("metadata") or {}).get("name") or ""


def _info(node):
    return (node.get("status") or {}).get("nodeInfo") or {}
