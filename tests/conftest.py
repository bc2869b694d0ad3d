"""Make `ansible_collections.prewarm.k8s` importable when pytest runs from a plain checkout.

Ansible loads collection code only under an `ansible_collections/<namespace>/<name>` path.
A checkout is not laid out that way, so point a throwaway tree at it.
"""
import os
import sys
import tempfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ensure_collection_path():
    try:
        import ansible_collections.prewarm.k8s  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    parts = _ROOT.split(os.sep)
    if parts[-3:-2] == ["ansible_collections"]:
        sys.path.insert(0, os.sep.join(parts[:-3]) or os.sep)
        return
    base = tempfile.mkdtemp(prefix="prewarm-collections-")
    os.makedirs(os.path.join(base, "ansible_collections", "prewarm"))
    os.symlink(_ROOT, os.path.join(base, "ansible_collections", "prewarm", "k8s"))
    sys.path.insert(0, base)


_ensure_collection_path()
