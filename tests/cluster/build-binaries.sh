#!/usr/bin/env bash
# Build the cluster's binaries from the pinned Go modules under gomod/ into the cache dir: the
# Kubernetes release K8S_VERSION (gomod/k8s-<version>), kwok, and the real node's runtime
# (containerd 2.x, runc, crictl). Each release gets a bin dir of its own, so switching between
# the supported ends rebuilds nothing. Rebuilt only when a go.mod/go.sum or the Go version
# changes (stamp file); Go's own module and build caches are left at their defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"

go_bin=$(command -v go || true)
[[ -n $go_bin ]] || go_bin=/usr/local/go/bin/go
[[ -x $go_bin ]] || die "Go is needed to build the cluster binaries (not on PATH, nor /usr/local/go/bin/go)"
k8s_mod=$here/gomod/k8s-$K8S_VERSION
[[ -f $k8s_mod/go.mod ]] || die "K8S_VERSION=$K8S_VERSION is not pinned here (have: $(cd "$here/gomod" && ls -d k8s-* | sed 's/^k8s-//' | tr '\n' ' '))"
modules=("$k8s_mod" "$here"/gomod/{kwok,containerd,runc,cri-tools})

stamp_want=$( { "$go_bin" version; for m in "${modules[@]}"; do cat "$m/go.mod" "$m/go.sum"; done; } \
  | sha256sum | cut -d' ' -f1)
stamp_file=$BIN_DIR/.stamp
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kwok
  containerd containerd-shim-runc-v2 ctr runc crictl)

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
k8s_version=$(cd "$k8s_mod" && "$go_bin" list -m -f '{{.Version}}' k8s.io/kubernetes)
[[ $k8s_version == "v$K8S_VERSION" ]] || die "gomod/k8s-$K8S_VERSION pins k8s.io/kubernetes $k8s_version"
# Without these the binaries report v0.0.0-master, which the kubelet would put on its Node.
version_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s_version"
version_ldflags+=" -X k8s.io/component-base/version.gitMajor=$(cut -d. -f1 <<<"${k8s_version#v}")"
version_ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$k8s_version")"
version_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

build() { # module-dir output-name package [extra ldflags] (env: CGO_ENABLED, TAGS)
  local start=$SECONDS
  log "building $2 ($3)"
  (cd "$1" && CGO_ENABLED=${CGO_ENABLED:-0} "$go_bin" build -trimpath -tags "${TAGS:-}" \
    -ldflags="-s -w ${4:-}" -o "$BIN_DIR/$2.tmp" "$3")
  mv "$BIN_DIR/$2.tmp" "$BIN_DIR/$2"
  log "built $2 in $((SECONDS - start))s"
}
module_version() { (cd "$1" && "$go_bin" list -m -f '{{.Version}}' "$2"); }

# Serially on purpose: each of these links a large binary, and two at once on a small machine
# mostly trade CPU for memory pressure. go build itself already uses every core.
start=$SECONDS
build "$k8s_mod" etcd go.etcd.io/etcd/server/v3
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
  build "$k8s_mod" "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$version_ldflags"
done
build "$here/gomod/kwok" kwok sigs.k8s.io/kwok/cmd/kwok
# The kwok binary simulates nothing without stages (kwokctl normally supplies them): take the
# release's default "fast" node/pod stages and the lease heartbeat from the same module.
kwok_src=$(cd "$here/gomod/kwok" && "$go_bin" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
  pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
  echo ---
  cat "$kwok_src/kustomize/stage/$f.yaml"
done >"$BIN_DIR/kwok-stages.yaml"

# The real node's runtime. containerd without the btrfs snapshotter (it needs cgo and headers
# the node does not use); its version is stamped in as its release builds do.
ctrd=$here/gomod/containerd
ctrd_version=$(module_version "$ctrd" github.com/containerd/containerd/v2)
ctrd_ldflags="-X github.com/containerd/containerd/v2/version.Version=$ctrd_version"
for cmd in containerd containerd-shim-runc-v2 ctr; do
  TAGS=no_btrfs build "$ctrd" "$cmd" "github.com/containerd/containerd/v2/cmd/$cmd" "$ctrd_ldflags"
done
# runc needs cgo (its nsenter is C) and libseccomp, for the pods' RuntimeDefault seccomp profile.
runc_version=$(module_version "$here/gomod/runc" github.com/opencontainers/runc)
CGO_ENABLED=1 TAGS=seccomp build "$here/gomod/runc" runc github.com/opencontainers/runc \
  "-X main.version=${runc_version#v}"
crictl_version=$(module_version "$here/gomod/cri-tools" sigs.k8s.io/cri-tools)
build "$here/gomod/cri-tools" crictl sigs.k8s.io/cri-tools/cmd/crictl \
  "-X sigs.k8s.io/cri-tools/pkg/version.Version=$crictl_version"
echo "$stamp_want" >"$stamp_file"
log "all binaries built in $((SECONDS - start))s into $BIN_DIR"
