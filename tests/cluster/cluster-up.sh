#!/usr/bin/env bash
# Bring the test cluster up: registries + test images, etcd, the control plane, one real node
# (containerd + kubelet) and kwok's simulated node pools. Idempotent: every step checks first,
# so on a running cluster this only verifies it. Must run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"
# shellcheck source=tests/cluster/lib/daemon.sh
source "$here/lib/daemon.sh"
# shellcheck source=tests/cluster/lib/pki.sh
source "$here/lib/pki.sh"
# shellcheck source=tests/cluster/lib/containerd.sh
source "$here/lib/containerd.sh"
# shellcheck source=tests/cluster/lib/kubelet.sh
source "$here/lib/kubelet.sh"
# shellcheck source=tests/cluster/lib/registry.sh
source "$here/lib/registry.sh"

[[ $(id -u) == 0 ]] || die "must run as root (loop mount, containerd, kubelet)"
lock_cluster
started=$SECONDS
# One cluster at a time: a cluster of another release is taken down first, on purpose.
running_version=$(cat "$CLUSTER_DIR/k8s-version" 2>/dev/null || true)
if [[ -n $running_version && $running_version != "$K8S_VERSION" ]] && daemon_pid kube-apiserver >/dev/null; then
  die "the cluster runs Kubernetes $running_version, not K8S_VERSION=$K8S_VERSION: run make cluster-down first"
fi
"$here/install-deps.sh"
"$here/build-binaries.sh"
# The project's virtual environment (its Python has the kubernetes client): for kwok-images.py.
venv=$("$(dirname "$here")/tools/venv.sh")
mkdir -p "$CLUSTER_DIR" "$CLUSTER_DIR/kubeconfigs"
touch "$CLUSTER_DIR/.prewarm-cluster"
echo "$K8S_VERSION" >"$CLUSTER_DIR/k8s-version"
# The tests reach the node's runtime (ctr, crictl) through this link, whatever the release.
ln -sfn "$BIN_DIR" "$CLUSTER_DIR/bin"

# --- registries and test images -------------------------------------------------------------
start_registries
"$here/build-images.sh"
agent_image=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["agent"]["ref"])' \
  "$CLUSTER_DIR/images.json")

# --- certificates, etcd, control plane ------------------------------------------------------
make_pki
write_kubeconfig admin "$KUBECONFIG_PATH"
for c in controller-manager scheduler kwok; do
  write_kubeconfig "$c" "$CLUSTER_DIR/kubeconfigs/$c"
done
mkdir -p "$KUBELET_DIR"
write_kubeconfig kubelet "$KUBELET_DIR/kubeconfig"

# --unsafe-no-fsync: the data is thrown away at cluster-down, and fsyncs dominate etcd's
# latency on small VMs (which matters when thousands of kwok nodes heartbeat).
start_daemon etcd "$BIN_DIR/etcd" --name prewarm --data-dir "$CLUSTER_DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "prewarm=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --log-level warn
wait_until 30 etcd curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

# Audit log of the requests made by people and tools (the admin user, service accounts outside
# kube-system): tests and the benchmark count a run's API requests by verb and resource from it.
# The cluster's own components and kwok's heartbeats are left out, to keep it small at 1,000+ nodes.
cat >"$CLUSTER_DIR/audit-policy.yaml" <<EOC
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-controller-manager, system:kube-scheduler, system:apiserver, prewarm-kwok, kube-apiserver-kubelet-client]
- level: None
  userGroups: [system:nodes, "system:serviceaccounts:kube-system"]
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", /version, /openapi/*, /api, /apis, "/apis/*"]
- level: Metadata
EOC

pki=$PKI_DIR
# --endpoint-reconciler-type=none: the apiserver's own address is loopback, which an Endpoints
# object may not hold. InternalIP: the node names do not resolve, so use the nodes' addresses.
start_daemon kube-apiserver "$BIN_DIR/kube-apiserver" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --endpoint-reconciler-type=none \
  --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --client-ca-file="$pki/ca.crt" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
  --audit-policy-file="$CLUSTER_DIR/audit-policy.yaml" --audit-log-path="$LOG_DIR/audit.log" \
  --audit-log-format=json --audit-log-maxsize=200 --audit-log-maxbackup=3 --audit-log-mode=batch
wait_until 90 "the API server" curl -fsS --cacert "$pki/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz"

# The API QPS limits are raised so DaemonSets over 1,000+ kwok nodes roll out quickly.
# --node-monitor-grace-period: on 2 busy cores kwok was seen to fall a minute behind renewing
# 1,000 node leases; past the default 50 s the node lifecycle controller marks those nodes
# Unknown and their pods not Ready, and kwok never reports a pod Ready again.
controller_manager_flags=(--node-monitor-grace-period=180s)
restart_if_changed kube-controller-manager "${controller_manager_flags[*]}"
start_daemon kube-controller-manager "$BIN_DIR/kube-controller-manager" \
  --kubeconfig="$CLUSTER_DIR/kubeconfigs/controller-manager" \
  --authentication-kubeconfig="$CLUSTER_DIR/kubeconfigs/controller-manager" \
  --authorization-kubeconfig="$CLUSTER_DIR/kubeconfigs/controller-manager" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --kube-api-qps=200 --kube-api-burst=400 "${controller_manager_flags[@]}"
start_daemon kube-scheduler "$BIN_DIR/kube-scheduler" \
  --kubeconfig="$CLUSTER_DIR/kubeconfigs/scheduler" \
  --authentication-kubeconfig="$CLUSTER_DIR/kubeconfigs/scheduler" \
  --authorization-kubeconfig="$CLUSTER_DIR/kubeconfigs/scheduler" \
  --bind-address=127.0.0.1 --leader-elect=false --kube-api-qps=200 --kube-api-burst=400

# --- the real node: image filesystem, containerd, CNI, kubelet ------------------------------
# containerd's root (its image store) gets an ext4 filesystem of its own, so tests can fill it
# past the kubelet's image GC thresholds without touching the host's disk.
mkdir -p "$IMAGEFS_DIR"
if ! mountpoint -q "$IMAGEFS_DIR"; then
  if [[ ! -f $CLUSTER_DIR/imagefs.img ]]; then
    truncate -s "$IMAGEFS_SIZE" "$CLUSTER_DIR/imagefs.img"
    mkfs.ext4 -q -F -m 0 "$CLUSTER_DIR/imagefs.img"
  fi
  mount -o loop "$CLUSTER_DIR/imagefs.img" "$IMAGEFS_DIR"
fi

# Pods get an address on a bridge of their own and no gateway or default route: they can
# reach each other on the bridge, nothing else.
mkdir -p "$CLUSTER_DIR/cni/net.d"
cat >"$CLUSTER_DIR/cni/net.d/10-prewarm.conflist" <<EOC
{
  "cniVersion": "1.0.0",
  "name": "prewarm",
  "plugins": [{
    "type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": false, "ipMasq": false,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET"}]],
             "dataDir": "$CLUSTER_DIR/cni/ipam"}
  }]
}
EOC
# The registries speak plain HTTP on loopback; containerd is told so per host (hosts.toml).
write_containerd_hosts "$CLUSTER_DIR/containerd-hosts"
# The sandbox image is containerd's default (registry.k8s.io/pause at the tag kubelets of this
# release use), served like the preloader's default helper images by the local registry
# through the mirrors above: no public registry is reachable from here.
# restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, so no process may lower its OOM
# score below 0; the kubelet asks for -998 for sandboxes, which runc then fails to set. This
# caps container scores at containerd's own (0) instead.
# runc is named, as it is not on PATH.
cat >"$CLUSTER_DIR/containerd.toml" <<EOC
version = 3
root = "$IMAGEFS_DIR"
state = "$CLUSTER_DIR/containerd-state"
[grpc]
  address = "$CLUSTER_DIR/containerd.sock"
[plugins.'io.containerd.internal.v1.opt']
  path = "$CLUSTER_DIR/containerd-opt"
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = "$CLUSTER_DIR/containerd-hosts"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = "$CLUSTER_DIR/cni/net.d"
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = "$BIN_DIR/runc"
EOC
restart_if_changed containerd "$( { sha256sum <"$CLUSTER_DIR/containerd.toml"; cat "$BIN_DIR/.stamp"; } | sha256sum)"
start_containerd
# crictl talks to the node's runtime as the kubelet does (CRI): `crictl --config $CLUSTER_DIR/crictl.yaml`.
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' \
  "$CLUSTER_DIR/containerd.sock" "$CLUSTER_DIR/containerd.sock" >"$CLUSTER_DIR/crictl.yaml"

if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/32" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
fi

# A kubelet that starts with the cluster starts from this pristine file and an empty drop-in
# directory: the kubelet_config module, the demo and the tests edit them while the cluster runs,
# and a cluster brought up again must not inherit what an earlier run left there.
if ! daemon_pid kubelet >/dev/null; then
  mkdir -p "$KUBELET_DIR/config.d"
  rm -f "$KUBELET_DIR"/config.d/*.conf
  cat >"$KUBELET_DIR/config.yaml" <<EOC
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Only on the node's own address; the API server reaches the kubelet at $NODE_IP:10250.
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# This host mounts cgroup v1 and PID 1 is not systemd: cgroupfs driver, and cgroup v1 allowed.
cgroupDriver: cgroupfs
failCgroupV1: false
# Root here lacks CAP_SYS_RESOURCE, so the kubelet cannot lower its own OOM score (default -999).
oomScoreAdj: 0
containerRuntimeEndpoint: unix://$CLUSTER_DIR/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI_DIR/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
# No kube-proxy runs here, so the kubelet need not make iptables chains for it.
makeIPTablesUtilChains: false
podLogsDir: $KUBELET_DIR/pod-logs
volumePluginDir: $KUBELET_DIR/volume-plugins
# Image GC (the defaults, spelled out for the tests): above 85% of the image filesystem,
# images are deleted down to 80%. Eviction on that filesystem only starts at 95%, so GC acts
# first; the host's own disk is not watched closely (1%), it is not what the tests fill.
imageGCHighThresholdPercent: 85
imageGCLowThresholdPercent: 80
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 5%
  imagefs.inodesFree: 1%
EOC
fi
start_kubelet
wait_for_kubelet 60

# --- kwok and the simulated pools -----------------------------------------------------------
"$here/kwok-nodes.sh"
# The kubelet's report of its image store (node.status.images), which kwok does not simulate:
# kwok-images.py lists on each simulated node the images its pods' containers "pulled".
# It runs as kwok (its kubeconfig), whose requests the audit log leaves out like kwok's own.
kwok_images=("$venv/bin/python" "$here/kwok-images.py" \
  --kubeconfig "$CLUSTER_DIR/kubeconfigs/kwok" --state "$CLUSTER_DIR/kwok-images.state" \
  --registry "$REGISTRY_ADDR" --registry "$PRIVATE_REGISTRY_ADDR=$PRIVATE_REGISTRY_CREDS")
restart_if_changed kwok-images "$( { cat "$here/kwok-images.py"; echo "${kwok_images[*]}"; } | sha256sum)"
start_daemon kwok-images "${kwok_images[@]}"
# One LIST per check (`kubectl wait` would watch the nodes one at a time: minutes for 1,000).
kwok_nodes_ready() {
  local ready
  ready=$(kubectl get nodes -l type=kwok \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  [[ -z $ready ]] || ! grep -qv '^True$' <<<"$ready"
}

wait_until 60 "the default service account" kubectl get serviceaccount default
kubectl wait --for=condition=Ready "node/$REAL_NODE" --timeout=60s >/dev/null
wait_until 180 "the kwok nodes to be Ready" kwok_nodes_ready
log "cluster up in $((SECONDS - started))s; kubeconfig: $KUBECONFIG_PATH"
