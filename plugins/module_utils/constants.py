# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names the modules share: what marks a node, and how a preloader DaemonSet is laid out.

The modules of this collection read what the others wrote (warm_status reads the preloader's
DaemonSet, the preloader tolerates node_maintenance's taint), so the names live in one place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COLLECTION = "prewarm.k8s"

# node_maintenance: the taint key and the label key that mark a node under maintenance, and
# the annotation recording who marked it, when, why and which marks are ours to remove.
MAINTENANCE_KEY = "prewarm.k8s/maintenance"
MAINTENANCE_ANNOTATION = "prewarm.k8s/maintenance"
MAINTENANCE_LABEL_VALUE = "true"
# node_maintenance's default taint: prewarm.k8s/maintenance=true:NoSchedule.
MAINTENANCE_TAINT_VALUE = "true"
MAINTENANCE_TAINT_EFFECT = "NoSchedule"

# preloader: labels and annotations on the DaemonSet and its pods.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = COLLECTION
POOL_LABEL = "prewarm.k8s/pool"
# JSON list of {"container": <init container name>, "image": <reference as given>}, so
# warm_status maps container statuses back to the images the user named.
IMAGES_ANNOTATION = "prewarm.k8s/images"

# preloader pod layout. The agent is a static binary that copies itself into an emptyDir,
# so each preloaded image's init container runs it from there and needs no shell of its own.
AGENT_BINARY = "/prewarm-agent"
AGENT_VOLUME = "prewarm-agent"
AGENT_MOUNT_PATH = "/.prewarm"
AGENT_INSTALLED_PATH = AGENT_MOUNT_PATH + "/prewarm-agent"
AGENT_INIT_CONTAINER = "install-agent"
PULL_CONTAINER_PREFIX = "pull-"
HOLD_CONTAINER = "hold"
# The DaemonSet's selector label (value: the DaemonSet's name). A selector is immutable, so
# it is derived from the name alone and never from options a later run may change.
PRELOADER_LABEL = "prewarm.k8s/preloader"
# preloader scope `admitted`: the DaemonSet <name> runs only on nodes labelled
# preload.prewarm.k8s/<name>=true; warmup adds that label a few nodes at a time (waves).
ADMIT_LABEL_PREFIX = "preload.prewarm.k8s/"

# The collection's version (galaxy.yml; a unit test keeps the two equal), sent as the User-Agent of
# every API request so operators can tell our requests apart in their audit logs.
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "prewarm.k8s/" + COLLECTION_VERSION

# The drift signal on each node, per preloader: warmth.prewarm.k8s/<DaemonSet name>=<node state>
# (warm, stale, gone, cold, failed), written by warm_status with record_state.
WARMTH_LABEL_PREFIX = "warmth.prewarm.k8s/"
