# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this
# Shared settings for the cluster scripts (sourced, not run). Every path, port and name the
# harness uses is derived here, so the scripts agree on them; docs/testing.md lists them.
PREWARM_CACHE=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}
PREWARM_CLUSTER_DIR=${PREWARM_CLUSTER_DIR:-/var/lib/prewarm-k8s-cluster}
export PREWARM_CACHE PREWARM_CLUSTER_DIR

# The Kubernetes release the cluster runs: one of the pinned gomod/k8s-<version> modules. The
# default is the newest supported minor; the oldest supported one is a separate timed target.
K8S_VERSION=${K8S_VERSION:-1.37.2}
K8S_VERSION=${K8S_VERSION#v}
export K8S_VERSION
BIN_DIR=$PREWARM_CACHE/bin/$K8S_VERSION
# The public names of the preloader's default helper images (the collection's constants.py),
# which the real node's containerd pulls from the local registry through registry mirrors.
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
BUSYBOX_IMAGE=docker.io/library/busybox:1.37.0-musl
CLUSTER_DIR=$PREWARM_CLUSTER_DIR
# The registry's storage outlives cluster-down, so the test images are built once per machine.
REGISTRY_DIR=$PREWARM_CACHE/registry
REGISTRY_ADDR=127.0.0.1:${PREWARM_REGISTRY_PORT:-5000}
# A second registry that asks for a user and password (htpasswd, basic auth over plain HTTP);
# its credentials are made once per cluster dir (lib/registry.sh). Storage kept like the first's.
PRIVATE_REGISTRY_DIR=$PREWARM_CACHE/private-registry
PRIVATE_REGISTRY_ADDR=127.0.0.1:${PREWARM_PRIVATE_REGISTRY_PORT:-5001}
APISERVER_PORT=${PREWARM_APISERVER_PORT:-6443}
ETCD_CLIENT_PORT=${PREWARM_ETCD_PORT:-12379}
ETCD_PEER_PORT=$((ETCD_CLIENT_PORT + 1))
KUBECONFIG_PATH=$CLUSTER_DIR/kubeconfig

REAL_NODE=${PREWARM_REAL_NODE:-prewarm-real}
# Simulated pools as NAME=COUNT words; each pool's nodes get labels type=kwok and pool=NAME
# and the taint prewarm.test/pool=NAME:NoSchedule.
KWOK_POOLS=${PREWARM_KWOK_POOLS:-cpu=3 gpu=3}
IMAGEFS_SIZE=${PREWARM_IMAGEFS_SIZE:-3G}
# containerd's root (its image store), on a filesystem of its own (cluster-up mounts it).
IMAGEFS_DIR=$CLUSTER_DIR/imagefs
POD_BRIDGE=prewarm0
# The kubelet may not use a loopback address as its node IP, so the real node gets this
# address on a port-less bridge of our own: reachable from this host only.
NODE_BRIDGE=prewarm-node
NODE_IP=10.216.0.1
POD_SUBNET=10.217.0.0/24
SERVICE_CIDR=10.96.0.0/24

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
kubectl() { "$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
