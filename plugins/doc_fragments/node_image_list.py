# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The modules that check a node's own image list (node.status.images) take its two kubelet limits.
    DOCUMENTATION = r"""
options:
  node_status_max_images:
    description:
      - The kubelet's C(nodeStatusMaxImages) on these nodes (default 50; V(0) when set to -1, no cap). The kubelet
        reports at most that many images in the node's status, largest first, so an image missing from a list that
        long is V(unknown), never V(gone), and the node not warm. Raise the kubelet's setting when small images of
        the pool get cut off.
    type: int
    default: 50
  image_list_lag:
    description:
      - Seconds after a pull during which the node's image list may not show the image yet, while the pod's own
        status counts as proof. The kubelet refreshes its image list every 30 seconds and reports it with its next
        status update; seen to take 30 to 50 seconds. After that an image the pod pulled and the list lacks is
        V(gone). Lower it only where the image list follows faster.
    type: int
    default: 90
"""
