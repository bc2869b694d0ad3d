"""Build a collection tarball again from an installed copy of it (one a pip package installed).

An installed collection keeps its MANIFEST.json but not its galaxy.yml, and FILES.json lists files the
installed copy left out, so its directory packed as it is does not install. This copies it, writes a
galaxy.yml from the manifest's collection_info, and runs `ansible-galaxy collection build`.

Usage: pack_collection.py NAMESPACE.NAME OUT_DIR   (with the Python whose ansible installed it)
"""
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml


def galaxy_yml(manifest):
    """The collection_info keys galaxy.yml takes, those the manifest leaves empty omitted."""
    info = manifest["collection_info"]
    return {key: value for key, value in info.items() if value not in (None, [], {}, "")}


def main(fqcn, out_dir):
    namespace, name = fqcn.split(".")
    source = list(importlib.import_module("ansible_collections.%s.%s" % (namespace, name)).__path__)[0]
    with open(os.path.join(source, "MANIFEST.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, name)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "MANIFEST.json", "FILES.json"))
        with open(os.path.join(copy, "galaxy.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(galaxy_yml(manifest), handle)
        galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
        subprocess.run([galaxy, "collection", "build", "--force", "--output-path", os.path.abspath(out_dir), copy], check=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
