#!/usr/bin/env bash
# Start kwok and make the simulated node pools listed in PREWARM_KWOK_POOLS ("cpu=3 gpu=3")
# match their counts: missing nodes are created, surplus ones deleted. Run by cluster-up; run it
# again to resize pools of a running cluster (PREWARM_KWOK_POOLS="cpu=1000"; "bench=0" empties
# the pool bench). Pools not listed are not touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"
# shellcheck source=tests/cluster/lib/daemon.sh
source "$here/lib/daemon.sh"

lock_cluster

# kwok manages only nodes labelled type=kwok, never the real node. Its simulated nodes get
# 127.0.0.2 as their address, where nothing listens, so the API server's node proxy fails
# locally instead of sending traffic anywhere; pod IPs are made up and never routed.
# --v=WARN: at INFO kwok logs every lease renewal, tens of thousands of lines within minutes
# at 1,000 nodes.
# kwok 0.8 was seen to stop renewing every node lease for good after heavy pool churn (1,000
# nodes deleted and made again under the same names, the renewals of their leases conflicting);
# the node lifecycle controller then marks its nodes' pods not Ready. A kwok none of whose leases
# was renewed for more than 60 s (it renews every 10 s) is restarted here.
kwok_stalled() {
  local newest
  newest=$(kubectl -n kube-node-lease get leases \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.renewTime}{"\n"}{end}' |
    awk '$1 ~ /^kwok-/ {print $2}' | sort | tail -n 1)
  [[ -n $newest ]] && (($(date +%s) - $(date -d "$newest" +%s) > 60))
}
if daemon_pid kwok >/dev/null && kwok_stalled; then
  log "kwok has renewed no node lease for over 60 s: restarting it"
  stop_daemon kwok
fi
start_daemon kwok "$BIN_DIR/kwok" --kubeconfig="$CLUSTER_DIR/kubeconfigs/kwok" \
  --config="$BIN_DIR/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-label-selector=type=kwok \
  --node-ip=127.0.0.2 --cidr=10.218.0.0/16 --node-lease-duration-seconds=40 --v=WARN

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pools=()
for pool in $KWOK_POOLS; do
  name=${pool%%=*} count=${pool#*=}
  [[ $name =~ ^[a-z0-9-]+$ && $count =~ ^[0-9]+$ ]] || die "bad pool '$pool' in PREWARM_KWOK_POOLS"
  pools+=("$name")
  for ((i = 0; i < count; i++)); do echo "node/kwok-$name-$i"; done
done >"$work/wanted"
((${#pools[@]} > 0)) || exit 0
sort -o "$work/wanted" "$work/wanted"

# Only the listed pools are reconciled (a count of 0 empties a pool): kwok nodes of other pools,
# e.g. made by a test, are left alone, and so are existing nodes whose taints or labels tests
# changed. Requests go out 8 at a time; one at a time, 1,000 nodes take minutes.
api=("$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_PATH")
selector="type=kwok,pool in ($(IFS=,; echo "${pools[*]}"))"
kubectl get nodes -l "$selector" -o name | sort >"$work/existing"
comm -13 "$work/wanted" "$work/existing" >"$work/surplus"
comm -23 "$work/wanted" "$work/existing" >"$work/missing"
# A node's lease (kube-node-lease/<node>) is owned by the node and removed by the garbage
# collector some time after the node is gone: after a 1,000-node pool is deleted, minutes later.
# A node made again under the same name before then takes over its predecessor's lease, which
# the collector deletes later on; the node lifecycle controller then marks the new node NotReady
# and its pods not Ready, and kwok never sets a pod Ready again. So a lease goes with its node,
# and one left behind is deleted before a node of that name is made.
delete_leases() {
  sed 's#^node/#lease/#' "$1" | xargs -P 8 -n 50 "${api[@]}" -n kube-node-lease delete --ignore-not-found --wait=false >/dev/null
}
if [[ -s $work/surplus ]]; then
  log "deleting $(wc -l <"$work/surplus") surplus kwok nodes"
  xargs -P 8 -n 50 "${api[@]}" delete --wait=false <"$work/surplus" >/dev/null
  delete_leases "$work/surplus"
fi
[[ -s $work/missing ]] || exit 0
delete_leases "$work/missing"
log "creating $(wc -l <"$work/missing") kwok nodes"
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
# Each node is made with the capacity kwok would give it. kwok 0.8 was seen to skip setting it up
# for a node made again minutes after a node of the same name was deleted: it went on with the
# old node's conditions (Ready) but never set capacity or allocatable, so the scheduler found it
# full ("Insufficient cpu, Insufficient memory, Too many pods") and its preloader pod stayed
# Pending. A Node may be created with its status.
n=0
while read -r ref; do
  node=${ref#node/}
  pool=${node#kwok-}
  pool=${pool%-*}
  # One manifest file per 100 nodes, created in parallel below.
  chunk=$((n / 100))
  n=$((n + 1))
  cat >>"$work/nodes-$chunk.yaml" <<EON
---
apiVersion: v1
kind: Node
metadata:
  name: $node
  labels:
    type: kwok
    pool: $pool
    kubernetes.io/hostname: $node
    kubernetes.io/os: linux
    kubernetes.io/arch: $arch
  annotations:
    kwok.x-k8s.io/node: fake
spec:
  taints:
  - {key: prewarm.test/pool, value: $pool, effect: NoSchedule}
status:
  capacity: {cpu: 1k, memory: 1Ti, pods: 1M}
  allocatable: {cpu: 1k, memory: 1Ti, pods: 1M}
EON
done <"$work/missing"
find "$work" -name 'nodes-*.yaml' -print0 | xargs -0 -P 8 -n 1 "${api[@]}" create -f >/dev/null
