#!/usr/bin/env bash
# Install the Debian packages the cluster needs, only those that are missing (one apt-get
# update at most). The Kubernetes binaries and the real node's runtime (containerd, runc,
# crictl) come from build-binaries.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"

packages=(
  containernetworking-plugins                 # the real node's pod network
  libseccomp-dev pkg-config                   # runc's seccomp support (built from its Go module)
  docker-registry umoci skopeo                # local registries, image building and pushing
  apache2-utils                               # htpasswd (bcrypt) for the private registry
  gcc libc6-dev                               # static binaries for the test images
  busybox-static                              # the stand-in of the public busybox image
  openssh-server openssh-client               # the reboot test reaches the node host over SSH
  openssl curl python3 e2fsprogs iproute2 util-linux mount
  chromium fonts-liberation                   # the run reports' browser test (headless), and text in its screenshots
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
[[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}); run as root to install them"
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# policy-rc.d keeps the packages' own services (docker-registry, ssh) from being started:
# the harness runs its own instances with its own configs and PIDs.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
