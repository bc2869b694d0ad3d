# shellcheck shell=bash
# The real node's containerd (sourced, not run): cluster-up writes its config
# ($CLUSTER_DIR/containerd.toml); cluster-up and node-reboot start it identically.
start_containerd() {
  # containerd finds its shim next to itself.
  PATH=$BIN_DIR:$PATH start_daemon containerd "$BIN_DIR/containerd" --config "$CLUSTER_DIR/containerd.toml"
  wait_until 30 containerd "$BIN_DIR/ctr" --address "$CLUSTER_DIR/containerd.sock" version
}

# crictl talks to the node's runtime as the kubelet does (CRI); cluster-up writes its config.
crictl_() { "$BIN_DIR/crictl" --config "$CLUSTER_DIR/crictl.yaml" "$@"; }
