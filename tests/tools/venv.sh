#!/usr/bin/env bash
# Create (or refresh, when tests/requirements-dev.txt changed) the virtual environment that
# every make target runs in, and print its path. Kept outside the checkout so a fresh clone
# reuses it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd -P)
cache=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}
python=${PYTHON:-python3}
venv="$cache/venv"
want=$(cat "$root/tests/requirements-dev.txt" "$root/requirements.txt" | sha256sum | cut -d' ' -f1)

if [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$cache"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/pip" install -q -r "$root/tests/requirements-dev.txt" -r "$root/requirements.txt" >&2
  echo "$want" > "$venv/.requirements-sha256"
fi

# Ansible loads collections only from an ansible_collections/<ns>/<name> tree: point one at
# this checkout (the same per-checkout path as the Makefile's ANSIBLE_COLLECTIONS_PATH).
checkout_id=$(printf '%s' "$root" | sha256sum | cut -c1-12)
collections="${ANSIBLE_COLLECTIONS_PATH:-$cache/checkouts/$checkout_id}/ansible_collections/prewarm"
mkdir -p "$collections"
ln -sfn "$root" "$collections/k8s"
echo "$venv"
