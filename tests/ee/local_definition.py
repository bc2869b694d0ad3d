"""Write the local build's variant of execution-environment.yml, for a machine without Galaxy.

The shipped definition takes kubernetes.core from Galaxy and the collection from ee-build/. The
variant takes both from BUILD_FILES, a directory of collection tarballs (kubernetes.core packed
from the copy the `ansible` package installs, this collection from `make build`), and installs
kubernetes.core from its tarball. The local base image carries Debian's pip (Debian's python3
refuses `ensurepip`, which ansible-builder would run), so pip is not installed again. Everything else (base image default, Python and system
dependencies, build steps) is the shipped definition's, so the local image tests it.

Usage: local_definition.py DEFINITION BUILD_FILES OUT_DEFINITION
"""
import glob
import os
import sys

import yaml

# Where additional_build_files puts BUILD_FILES in the build context (the shipped definition's dest):
# the galaxy stage works in /build, which holds the context's _build directory.
DEST = "prewarm"


def local_variant(definition, build_files):
    tarballs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(build_files, "kubernetes-core-*.tar.gz")))
    if len(tarballs) != 1:
        raise SystemExit("expected one kubernetes-core-*.tar.gz in %s, found %s" % (build_files, tarballs))
    variant = dict(definition)
    variant["dependencies"] = dict(definition["dependencies"])
    variant["dependencies"]["galaxy"] = {"collections": [{"name": "/build/%s/%s" % (DEST, tarballs[0]), "type": "file"}]}
    variant["additional_build_files"] = [{"src": os.path.abspath(build_files), "dest": DEST}]
    variant["options"] = dict(definition.get("options") or {}, skip_pip_install=True)
    return variant


def main(definition_path, build_files, out_path):
    with open(definition_path, encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    with open(out_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(local_variant(definition, build_files), handle, sort_keys=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
