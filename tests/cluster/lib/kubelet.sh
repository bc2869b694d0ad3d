# shellcheck shell=bash
# The real node's kubelet (sourced, not run): its flags live here only, so cluster-up and
# kubelet-restart start it identically. Its settings are in KubeletConfiguration files:
# $KUBELET_DIR/config.yaml and drop-ins in $KUBELET_DIR/config.d (later files win).
KUBELET_DIR=$CLUSTER_DIR/kubelet

# wait_port_free PORT SECONDS: until nothing listens on PORT. A kubelet started while its port is
# still held exits at once ("bind: address already in use"); if the port stays held, say who holds it.
wait_port_free() {
  local port=$1 deadline=$((SECONDS + $2))
  while [[ -n $(ss -Hltn "sport = :$port") ]]; do
    if ((SECONDS >= deadline)); then
      log "port $port is still held after $2s:"
      ss -Hltnp "sport = :$port" >&2
      die "cannot start the kubelet: port $port is in use"
    fi
    sleep 0.1
  done
}

start_kubelet() {
  daemon_pid kubelet >/dev/null && return 0
  wait_port_free 10250 30
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

# wait_for_kubelet SECONDS: until the kubelet answers its health check. A kubelet that exits
# (a config it refuses, say) fails at once; either failure shows the end of its log, so a CI run
# says why instead of only that it waited.
wait_for_kubelet() {
  local deadline=$((SECONDS + $1)) why
  until kubelet_healthy >/dev/null 2>&1; do
    if ! daemon_pid kubelet >/dev/null; then
      why="the kubelet exited"
    elif ((SECONDS >= deadline)); then
      why="timed out after $1s waiting for the kubelet"
    else
      sleep 0.2
      continue
    fi
    log "the kubelet's last log lines ($LOG_DIR/kubelet.log):"
    tail -n 40 "$LOG_DIR/kubelet.log" >&2
    die "$why"
  done
}
