#!/usr/bin/env bash
# pytest with "no tests collected" (exit 5) treated as the failure it is: a suite that
# silently ran nothing must not look green.
set -uo pipefail
python=$1; shift
"$python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests in: $*" >&2
  exit 1
fi
exit "$rc"
