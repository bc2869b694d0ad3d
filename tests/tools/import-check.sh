#!/usr/bin/env bash
# Run galaxy-importer, the check Galaxy and Automation Hub run on an upload, on the tarball in
# $1 (made by `make build`), offline and without a container engine (galaxy-importer.cfg). Fails
# when the import fails or its log has a warning or an error: what it logs is what Galaxy shows
# on the collection's page. Its virtual environment is its own (it pins its own ansible-lint),
# created or refreshed when tests/requirements-importer.txt or the Ansible pins change.
set -euo pipefail

build_dir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}
python=${PYTHON:-python3}
venv="$cache/importer-venv"
# ansible brings kubernetes.core, the collection's dependency, so the importer's ansible-lint
# resolves its modules as Galaxy's users have them.
pins=$(grep -E '^ansible(-core)?==' "$root/tests/requirements-dev.txt")
want=$(printf '%s\n' "$(cat "$root/tests/requirements-importer.txt")" "$pins" | sha256sum | cut -d' ' -f1)

if [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  # shellcheck disable=SC2086  # one argument per pin
  "$venv/bin/pip" install -q -r "$root/tests/requirements-importer.txt" $pins >&2
  echo "$want" > "$venv/.requirements-sha256"
fi

version=$(sed -n 's/^version: *//p' "$root/galaxy.yml")
tarball="$build_dir/prewarm-k8s-$version.tar.gz"
[ -f "$tarball" ] || { echo "import-check: no $tarball; run make build first" >&2; exit 2; }

# The importer writes importer_result.json in its working directory and lints in a temporary one.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
rc=0
PATH="$venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$root/tests/tools/galaxy-importer.cfg" \
  GALAXY_IMPORTER_TMP_ROOT_DIR="$work" GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP="$work/ansible-tmp" \
  "$venv/bin/python" -m galaxy_importer.main "$tarball" > log 2>&1 || rc=$?
grep -v '^Loading ' log
problems=$(grep -cE '^(WARNING|ERROR|CRITICAL):' log || true)
if [ "$rc" -ne 0 ] || [ "$problems" -ne 0 ]; then
  echo "import-check: galaxy-importer exit $rc, $problems warning(s) or error(s) in its log (above)" >&2
  exit 1
fi
echo "import-check: $tarball imports with no warning"
