#!/usr/bin/env bash
# Stop everything cluster-up started (by PID), undo its mounts and network devices, and
# delete the cluster dir. A no-op when no cluster is there. The binary cache and the
# registries' storage (with the test images) are kept for the next cluster-up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"
# shellcheck source=tests/cluster/lib/daemon.sh
source "$here/lib/daemon.sh"

# The marker guards the rm -rf below against a PREWARM_CLUSTER_DIR pointing somewhere else.
[[ -f $CLUSTER_DIR/.prewarm-cluster ]] || exit 0
[[ $(id -u) == 0 ]] || die "must run as root"
lock_cluster
[[ -f $CLUSTER_DIR/.prewarm-cluster ]] || exit 0 # taken down while we waited for the lock

ctr_() { "$CLUSTER_DIR/bin/ctr" --address "$CLUSTER_DIR/containerd.sock" --namespace k8s.io "$@"; }

# The kubelet's pods outlive the kubelet and containerd (their shims are separate processes),
# so remove them through containerd first: kill each task, delete it with its container, and
# remove the network namespaces containerd made for the pod sandboxes.
remove_pods() {
  local id netns=()
  daemon_pid containerd >/dev/null || return 0
  for id in $(ctr_ containers list --quiet); do
    while read -r path; do
      [[ -z $path ]] || netns+=("$path")
    done < <(ctr_ containers info "$id" | python3 -c '
import json, sys
spec = json.load(sys.stdin).get("Spec") or {}
for ns in spec.get("linux", {}).get("namespaces", []):
    if ns.get("type") == "network" and ns.get("path"):
        print(ns["path"])')
    ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
    ctr_ tasks delete --force "$id" >/dev/null 2>&1 || true
    ctr_ containers delete "$id" >/dev/null 2>&1 || true
  done
  for path in $(printf '%s\n' "${netns[@]}" | sort -u); do
    umount "$path" 2>/dev/null || true
    rm -f "$path"
  done
}

stop_daemon kwok-images
stop_daemon kwok
stop_daemon kubelet
remove_pods
stop_daemon containerd
for name in kube-scheduler kube-controller-manager kube-apiserver etcd registry private-registry; do
  stop_daemon "$name"
done

# Deepest mounts first: pod volumes, sandbox shm, then the image filesystem (its loop device
# is released by the umount, as it was mounted with -o loop).
findmnt -rn -o TARGET | awk -v dir="$CLUSTER_DIR/" 'index($0, dir) == 1' | sort -r |
  while read -r target; do umount "$target" || umount -l "$target"; done
if [[ -f $CLUSTER_DIR/imagefs.img ]]; then
  losetup -j "$CLUSTER_DIR/imagefs.img" -O NAME -n | while read -r dev; do losetup -d "$dev"; done
fi
for link in "$POD_BRIDGE" "$NODE_BRIDGE"; do
  if ip link show "$link" >/dev/null 2>&1; then ip link delete "$link"; fi
done
# The kubelet links each container's log into /var/log/containers (a fixed path).
find /var/log/containers -maxdepth 1 -type l -lname "$CLUSTER_DIR/*" -delete 2>/dev/null || true
rm -rf "$CLUSTER_DIR"
log "cluster down"
