#!/usr/bin/env bash
# Build the cluster's binaries from the pinned Go modules under gomod/ into the cache dir.
# Rebuilt only when a go.mod/go.sum or the Go version changes (stamp file); Go's own module
# and build caches (GOMODCACHE, GOCACHE) are left at their defaults so they persist too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"

go_bin=$(command -v go || true)
[[ -n $go_bin ]] || go_bin=/usr/local/go/bin/go
[[ -x $go_bin ]] || die "Go is needed to build the cluster binaries (not on PATH, nor /usr/local/go/bin/go)"

stamp_want=$( { "$go_bin" version; cat "$here"/gomod/*/go.mod "$here"/gomod/*/go.sum; } | sha256sum | cut -d' ' -f1)
stamp_file=$BIN_DIR/.stamp
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kwok)

all_present() {
  local b
  for b in "${binaries[@]}"; do [[ -x $BIN_DIR/$b ]] || return 1; done
  [[ -f $BIN_DIR/kwok-stages.yaml ]]
}
if all_present && [[ -f $stamp_file && $(cat "$stamp_file") == "$stamp_want" ]]; then
  exit 0
fi

mkdir -p "$BIN_DIR"
rm -f "$stamp_file"
k8s_version=$(cd "$here/gomod/k8s" && "$go_bin" list -m -f '{{.Version}}' k8s.io/kubernetes)
# Without these the binaries report v0.0.0-master, which the kubelet would put on its Node.
version_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s_version"
version_ldflags+=" -X k8s.io/component-base/version.gitMajor=$(cut -d. -f1 <<<"${k8s_version#v}")"
version_ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$k8s_version")"
version_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

build() { # module-dir output-name package [extra ldflags]
  local start=$SECONDS
  log "building $2 ($3)"
  (cd "$here/gomod/$1" && CGO_ENABLED=0 "$go_bin" build -trimpath -ldflags="-s -w ${4:-}" \
    -o "$BIN_DIR/$2.tmp" "$3")
  mv "$BIN_DIR/$2.tmp" "$BIN_DIR/$2"
  log "built $2 in $((SECONDS - start))s"
}

# Serially on purpose: each of these links a large binary, and two at once on a small machine
# mostly trade CPU for memory pressure. go build itself already uses every core.
start=$SECONDS
build k8s etcd go.etcd.io/etcd/server/v3
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
  build k8s "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$version_ldflags"
done
build kwok kwok sigs.k8s.io/kwok/cmd/kwok
# The kwok binary simulates nothing without stages (kwokctl normally supplies them): take the
# release's default "fast" node/pod stages and the lease heartbeat from the same module.
kwok_src=$(cd "$here/gomod/kwok" && "$go_bin" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
  pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
  echo ---
  cat "$kwok_src/kustomize/stage/$f.yaml"
done >"$BIN_DIR/kwok-stages.yaml"
echo "$stamp_want" >"$stamp_file"
log "all binaries built in $((SECONDS - start))s into $BIN_DIR"
