#!/usr/bin/env bash
# Build the execution environment of execution-environment.yml on this machine, with no container
# registry and no Galaxy server: `make ee`. As root.
#   - podman, mmdebstrap and runc from Debian; ansible-builder 3 in a virtual environment of its own;
#   - the base image from Debian packages (mmdebstrap bookworm: python3, pip, venv, openssh-client),
#     imported as $EE_BASE_IMAGE, built once per machine;
#   - kubernetes.core built again from the copy the project's `ansible` package installed, and this
#     collection's tarball (`make build`), given to ansible-builder through a variant of the
#     definition (local_definition.py);
#   - the machine's pip settings and CA bundle mounted into the build's steps only (pip_build_config.py).
# Usage: build-ee.sh COLLECTION_TARBALL IMAGE_TAG
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tarball=$1 image=$2
cache=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}
ee_dir=$cache/ee
base_image=${EE_BASE_IMAGE:-localhost/prewarm-ee-base:bookworm}
project_python=$cache/venv/bin/python
log() { printf '[ee %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

missing=()
for tool in podman:podman mmdebstrap:mmdebstrap runc:runc; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$ee_dir"
# podman's settings for this machine (cgroup v1, PID 1 not systemd): runc may not raise
# RLIMIT_NOFILE/NPROC above these, crun refuses hybrid cgroups, no journald.
export CONTAINERS_CONF=$ee_dir/containers.conf
cp "$here/containers.conf" "$CONTAINERS_CONF"

if [ ! -x "$ee_dir/venv/bin/ansible-builder" ]; then
  log "ansible-builder into $ee_dir/venv"
  python3 -m venv "$ee_dir/venv"
  "$ee_dir/venv/bin/pip" install -q 'ansible-builder>=3.2,<4'
fi

if ! podman image exists "$base_image"; then
  log "base image $base_image from Debian bookworm (mmdebstrap)"
  mmdebstrap --quiet --variant=apt --include=python3,python3-pip,python3-venv,openssh-client,ca-certificates \
    bookworm "$ee_dir/base.tar"
  podman import --quiet "$ee_dir/base.tar" "$base_image" >/dev/null
  rm -f "$ee_dir/base.tar"
fi

log "build files: $(basename "$tarball") and kubernetes.core from the ansible package"
files=$ee_dir/files
rm -rf "$files" && mkdir -p "$files"
cp "$tarball" "$files/"
"$project_python" "$here/pack_collection.py" kubernetes.core "$files" >/dev/null

"$ee_dir/venv/bin/python" "$here/local_definition.py" "$root/execution-environment.yml" "$files" "$ee_dir/execution-environment.yml"
pip_mount=$("$ee_dir/venv/bin/python" "$here/pip_build_config.py" "$ee_dir/pip" /etc/xdg/pip)
trap 'rm -rf "$ee_dir/pip"' EXIT

log "ansible-builder build -t $image (base $base_image)"
# Host networking: the build's steps reach the package index as this machine does, and no
# bridge or firewall rule is added to the machine.
"$ee_dir/venv/bin/ansible-builder" build -f "$ee_dir/execution-environment.yml" -c "$ee_dir/context" -t "$image" \
  --container-runtime podman -v 2 \
  --build-arg EE_BASE_IMAGE="$base_image" --build-arg PKGMGR=/usr/bin/apt-get \
  --extra-build-cli-args "--network host $pip_mount"
log "built $image: $(podman image inspect --format '{{.Size}}' "$image") bytes"
