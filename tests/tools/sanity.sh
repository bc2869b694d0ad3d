#!/usr/bin/env bash
# Run `ansible-test sanity` on this checkout without a container and without reaching
# ansible-test's download host: a dedicated virtual environment holds ansible-core and the
# sanity tools pinned by ansible-test itself, and pip is bootstrapped from the standard library.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}
python=${PYTHON:-python3}
core_version=$(sed -n 's/^ansible-core==//p' "$root/tests/requirements-dev.txt")
venv="$cache/sanity-venv-$core_version"

if [ ! -x "$venv/bin/ansible-test" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q "ansible-core==$core_version" -r "$root/requirements.txt"
  reqs=$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_data", "requirements"))')
  for f in "$reqs"/sanity.*.txt; do
    "$venv/bin/pip" install -q -r "$f"
  done
fi

# ansible-test caches the bootstrap script per pip version; give it ours for the version it wants.
pip_version=$("$venv/bin/python" - <<'PY'
import re, os, ansible_test
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/tools/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

# ansible-test finds the collection from the working directory, which must end in
# ansible_collections/<namespace>/<name>: test a copy laid out that way.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/prewarm/k8s"
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$dest")
cd "$dest"
PATH="$venv/bin:$PATH" ansible-test sanity --local --python "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
