#!/usr/bin/env bash
# Build the collection tarball into $1 with galaxy.yml's `repository` taken from
# COLLECTION_REPOSITORY: the address of the collection's public source repository is the
# publisher's to give, so galaxy.yml in the tree has none and it is added to a copy here.
# Galaxy and Automation Hub refuse a tarball without it.
#   build.sh <output-dir> release   COLLECTION_REPOSITORY must be set to an http(s) address
#   build.sh <output-dir> test      COLLECTION_REPOSITORY defaults to $test_repository, an
#                                   address in the reserved .invalid domain that says it is a test
# `ansible-galaxy collection build` on the plain tree still works; its tarball has no repository.
set -euo pipefail

out=$1
kind=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PREWARM_CACHE:-$HOME/.cache/prewarm-k8s}
test_repository=https://test-build-not-for-release.invalid/prewarm.k8s
repository=${COLLECTION_REPOSITORY:-}

fail() { echo "build: $*" >&2; exit 2; }

case $kind in
  release)
    [ -n "$repository" ] || fail "COLLECTION_REPOSITORY is not set: give the public address of the" \
      "collection's source repository, e.g. make release-build COLLECTION_REPOSITORY=https://github.com/<owner>/<repo>"
    [[ $repository != *.invalid/* && $repository != *.invalid ]] ||
      fail "COLLECTION_REPOSITORY $repository is in the reserved .invalid domain, for test builds only" ;;
  test) repository=${repository:-$test_repository} ;;
  *) fail "second argument must be release or test, not '$kind'" ;;
esac
[[ $repository =~ ^https?://[^/[:space:]]+(/[^[:space:]]*)?$ ]] ||
  fail "COLLECTION_REPOSITORY '$repository' is not an http(s) address"
! grep -q '^repository:' "$root/galaxy.yml" ||
  fail "galaxy.yml sets repository itself; remove it, the build takes it from COLLECTION_REPOSITORY"

# The files git would commit (tracked, or new and not ignored), as sanity.sh tests them.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$stage")
printf 'repository: %s\n' "$repository" >> "$stage/galaxy.yml"
mkdir -p "$out"
"$cache/venv/bin/ansible-galaxy" collection build --force --output-path "$out" "$stage"
echo "build: repository $repository"
