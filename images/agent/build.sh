#!/usr/bin/env bash
# Build the prewarm agent image and push it to a registry, without a container engine.
#
#   images/agent/build.sh DEST [skopeo copy options...]
#
# DEST is any skopeo destination, e.g. docker://registry.example.com/prewarm-agent:0.1.0.
# Extra arguments go to `skopeo copy` (e.g. --dest-tls-verify=false, --dest-creds=USER:PASS).
# Needs gcc with static libc (Debian: gcc libc6-dev), umoci and skopeo. The image holds one
# static binary, /prewarm-agent, as its entrypoint, and runs as the non-root user 65532.
# With PREWARM_DIGEST_FILE set, the pushed manifest's digest is written to that file.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 DEST [skopeo copy options...]" >&2; exit 2; }
dest=$1
shift
src=$(cd "$(dirname "$0")" && pwd)/prewarm-agent.c
user=${PREWARM_AGENT_USER:-65532:65532}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -static -Os -s -Wall -Wextra -o "$work/prewarm-agent" "$src"

rootless=()
[[ $(id -u) == 0 ]] || rootless=(--rootless)
umoci init --layout "$work/oci"
umoci new --image "$work/oci:agent"
umoci unpack "${rootless[@]}" --image "$work/oci:agent" "$work/bundle"
install -m 0755 "$work/prewarm-agent" "$work/bundle/rootfs/prewarm-agent"
umoci repack --image "$work/oci:agent" "$work/bundle"
umoci config --image "$work/oci:agent" --config.entrypoint /prewarm-agent --config.user "$user" \
  --config.label org.opencontainers.image.title=prewarm-agent

digest_args=()
[[ -z ${PREWARM_DIGEST_FILE:-} ]] || digest_args=(--digestfile "$PREWARM_DIGEST_FILE")
skopeo copy --quiet "${digest_args[@]}" "$@" "oci:$work/oci:agent" "$dest"
