#!/usr/bin/env bash
# Integration tests (pytest), the roles' molecule scenarios and the benchmark's smoke run (20 nodes,
# both ways, end states checked, no timing) against the local test cluster.
# Brings the cluster up (idempotent); a
# cluster that this run had to start is torn down again at the end, one that was already up
# (a developer's) is left running.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
python=$1; shift
cluster_dir=${PREWARM_CLUSTER_DIR:-/var/lib/prewarm-k8s-cluster}
kubectl=$cluster_dir/bin/kubectl
kubeconfig=$cluster_dir/kubeconfig

was_up=false
if [ -x "$kubectl" ] && [ -f "$kubeconfig" ] && "$kubectl" --kubeconfig "$kubeconfig" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; then
  was_up=true
fi
# A cluster a demo run used (`make demo` leaves its namespace, prewarm-system) holds that run's
# state: the real node's kubelet thresholds, images its preloaders keep in use. The tests assume a
# new cluster, so such a one is started anew (and left running at the end, as it was found).
if [ "$was_up" = true ] && "$kubectl" --kubeconfig "$kubeconfig" --request-timeout=10s get namespace prewarm-system >/dev/null 2>&1; then
  echo "integration: the running cluster holds a demo run's state (namespace prewarm-system): starting it anew" >&2
  "$root/tests/cluster/cluster-down.sh" || exit 1
fi
"$root/tests/cluster/cluster-up.sh" || exit 1
"$root/tests/tools/pytest.sh" "$python" "$root/tests/integration" "$@"
rc=$?
# molecule calls ansible-config and friends from PATH: the venv's bin first.
(cd "$root" && PATH="$(dirname "$python"):$PATH" molecule test --all) || rc=1
PREWARM_BENCH_POOL=bench-smoke "$python" "$root/tests/bench/bench.py" --sizes 20 --max-pulling 5 --smoke || rc=1
if [ "$was_up" = false ] && [ -z "${PREWARM_KEEP_CLUSTER:-}" ]; then
  "$root/tests/cluster/cluster-down.sh" || rc=1
fi
exit "$rc"
