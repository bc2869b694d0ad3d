"""Run a module of the collection for real, the way a playbook would, and return its result.

Each call is an `ansible localhost -m prewarm.k8s.<module>` process: the module is packaged,
shipped and executed by Ansible itself, with no part of it imported into the test.
"""
import hashlib
import json
import os
import subprocess
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def _collections_path():
    """A path where Ansible finds this checkout as prewarm.k8s: its own, as the Makefile names it."""
    cache = os.environ.get("PREWARM_CACHE", os.path.expanduser("~/.cache/prewarm-k8s"))
    checkout_id = hashlib.sha256(_ROOT.encode()).hexdigest()[:12]
    base = os.path.join(cache, "checkouts", checkout_id)
    link_dir = os.path.join(base, "ansible_collections", "prewarm")
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "k8s")
    if os.path.realpath(link) != _ROOT:
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(_ROOT, link)
    return base


# The test cluster's registries speak plain HTTP on loopback: said once for every module run by the
# tests, as a site would say it for its execution environment (the modules' PREWARM_REGISTRIES).
LOCAL_REGISTRIES = {"127.0.0.1:5000": {"plain_http": True}, "127.0.0.1:5001": {"plain_http": True}}


def ansible_env(extra=None):
    env = dict(os.environ)
    env.setdefault("PREWARM_REGISTRIES", json.dumps(LOCAL_REGISTRIES))
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": _collections_path(),
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    env.update(extra or {})
    return env


def run_module(module, args, check=False, diff=False, timeout=600, env=None):
    """The module's result dict (with `failed` set when it failed)."""
    name = module if "." in module else "prewarm.k8s." + module
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", name, "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(cmd, env=ansible_env(env), capture_output=True, text=True, timeout=timeout, check=False)
    try:
        report = json.loads(proc.stdout)
        return report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError("no module result from %s (exit %d): %s\nstdout: %s\nstderr: %s"
                             % (" ".join(cmd[:4]), proc.returncode, exc, proc.stdout[-4000:], proc.stderr[-4000:]))
