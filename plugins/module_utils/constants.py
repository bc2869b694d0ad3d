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
# JSON list of {"container": <init container name>, "image": <reference as given>} (init mode)
# or {"volume": <image volume name>, "image": ...} (volume mode), each with the digest recorded
# for it, so warm_status maps the pod's statuses back to the images the user named.
IMAGES_ANNOTATION = "prewarm.k8s/images"

# preloader modes: how the pod makes the kubelet pull the pool's images. `init`: one init
# container per image, running a static helper binary copied into an emptyDir; `volume`: one
# Kubernetes image volume per image, mounted by the hold container, so nothing runs from them;
# `auto`: volume where every node of the pool and the API server support image volumes.
MODE_AUTO = "auto"
MODE_VOLUME = "volume"
MODE_INIT = "init"
MODES = (MODE_AUTO, MODE_VOLUME, MODE_INIT)

# preloader pod layout, init mode. A static binary is copied into an emptyDir, so each
# preloaded image's init container runs it from there and needs no shell of its own. With
# agent_image that binary is our agent (it copies itself); else busybox, copied under the
# name `true`: busybox picks its applet from argv[0], so it exits 0 in any image.
AGENT_BINARY = "/prewarm-agent"
AGENT_VOLUME = "prewarm-agent"
AGENT_MOUNT_PATH = "/.prewarm"
AGENT_INSTALLED_PATH = AGENT_MOUNT_PATH + "/prewarm-agent"
AGENT_INIT_CONTAINER = "install-agent"
BUSYBOX_BINARY = "/bin/busybox"
COPIED_TRUE_PATH = AGENT_MOUNT_PATH + "/true"
PULL_CONTAINER_PREFIX = "pull-"
HOLD_CONTAINER = "hold"
# preloader pod layout, volume mode: image volume image-<i> mounted at /prewarm/images/<i>.
IMAGE_VOLUME_PREFIX = "image-"
IMAGE_MOUNT_ROOT = "/prewarm/images"

# The helper images used when no agent_image is given; nobody has to build them. The pause
# image is the sandbox image of kubeadm 1.37 and containerd 2.4, so most nodes hold it already;
# its entrypoint is /pause. busybox's musl build is static, so the copy runs in any image.
DEFAULT_PAUSE_IMAGE = "registry.k8s.io/pause:3.10.2"
PAUSE_BINARY = "/pause"
DEFAULT_COPIER_IMAGE = "docker.io/library/busybox:1.37.0-musl"
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
