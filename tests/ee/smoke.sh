#!/usr/bin/env bash
# The execution environment's smoke check in `make test`: the image `make ee` built holds this
# collection at the version of galaxy.yml, kubernetes.core and the Kubernetes client, and
# ansible-doc reads a module of ours inside it. The window itself runs in it in `make test-ee`.
# Usage: smoke.sh IMAGE VERSION
set -euo pipefail
image=$1 version=$2
export CONTAINERS_CONF=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}/ee/containers.conf
in_image() { podman run --rm --network none "$image" "$@"; }

collections=$(in_image ansible-galaxy collection list --format json)
python3 - "$version" "$collections" <<'PY'
import json, sys
version, listed = sys.argv[1], json.loads(sys.argv[2])
found = {name: info["version"] for path in listed.values() for name, info in path.items()}
missing = [name for name in ("prewarm.k8s", "kubernetes.core") if name not in found]
if missing or found["prewarm.k8s"] != version:
    sys.exit("ee smoke: the image holds %s; wanted prewarm.k8s %s and kubernetes.core" % (found, version))
print("ee smoke: prewarm.k8s %s, kubernetes.core %s" % (found["prewarm.k8s"], found["kubernetes.core"]))
PY
# Read whole before it is searched: `grep -q` stops reading at the first match, and podman, still writing, then fails
# on the closed pipe (pipefail makes that the pipeline's status).
doc=$(in_image ansible-doc prewarm.k8s.warmup)
grep -q "max_pulling" <<<"$doc" || { echo "ee smoke: ansible-doc prewarm.k8s.warmup shows no max_pulling" >&2; exit 1; }
in_image python3 -c 'import kubernetes; print("ee smoke: kubernetes client", kubernetes.__version__)'
