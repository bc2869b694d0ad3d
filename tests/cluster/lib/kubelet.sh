# shellcheck shell=bash
# The real node's kubelet (sourced, not run): its flags live here only, so cluster-up and
# kubelet-restart start it identically. Its settings are in KubeletConfiguration files:
# $KUBELET_DIR/config.yaml and drop-ins in $KUBELET_DIR/config.d (later files win).
KUBELET_DIR=$CLUSTER_DIR/kubelet

start_kubelet() {
  start_daemon kubelet "$BIN_DIR/kubelet" \
    --config="$KUBELET_DIR/config.yaml" \
    --config-dir="$KUBELET_DIR/config.d" \
    --kubeconfig="$KUBELET_DIR/kubeconfig" \
    --root-dir="$KUBELET_DIR/root" \
    --cert-dir="$KUBELET_DIR/pki" \
    --hostname-override="$REAL_NODE" \
    --node-ip="$NODE_IP" \
    --node-labels=pool=real
}

kubelet_healthy() { curl -fsS http://127.0.0.1:10248/healthz; }
