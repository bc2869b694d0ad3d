"""image_prune against the real node's containerd, through crictl as on a node host.

Five versions of one repository of the test's own (imported with ctr, each with its own creation time in its image
config; a static busybox inside, so a pod can run from them): the oldest used by a running pod, the second used only
by an exited container, the third neither, the two newest within `keep: 2`, the newest named by the pool. The prune
must remove the third only; check mode must list the same and remove nothing; a second run changes nothing. Bad
input fails before anything is removed, naming the value.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest
from kubernetes import client

from oci_archive import write_oci_archive
from preloader_helpers import _ctr, node_image_refs
from run_ansible import ansible_env, run_module
from window_helpers import delete_namespace, new_namespace

BUSYBOX = "/bin/busybox"  # Debian's busybox-static: one static binary, enough to run and to exit
MONTHS = (1, 2, 3, 4, 5)


def _repository():
    return "prewarm-it.local/prune-" + uuid.uuid4().hex[:6]


def _versions(tmp, cluster_dir, repository):
    """Import the five versions; {month: {"ref", "digest"}}."""
    if not os.access(BUSYBOX, os.X_OK):
        pytest.fail("no %s: install busybox-static (tests/cluster/install-deps.sh does)" % BUSYBOX)
    versions = {}
    for month in MONTHS:
        ref = "%s:v%d" % (repository, month)
        archive, digest = write_oci_archive(
            tmp, ref, {"bin/busybox": BUSYBOX},
            {"created": "2026-%02d-01T00:00:00Z" % month, "config": {"Entrypoint": ["/bin/busybox"]}})
        _ctr(cluster_dir, "images", "import", archive)
        assert node_image_refs(cluster_dir, digest), "%s was not imported" % ref
        versions[month] = {"ref": ref, "digest": digest}
    return versions


def _pod(name, node, ref, args, restart):
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(
        node_name=node, restart_policy=restart, termination_grace_period_seconds=1,
        tolerations=[client.V1Toleration(operator="Exists")],
        containers=[client.V1Container(name="c", image=ref, image_pull_policy="Never", args=args)]))


def _prune_args(cluster_dir, repository, versions, **extra):
    args = {"images": [versions[5]["ref"]], "repositories": [repository], "keep": 2,
            "runtime_endpoint": "unix://" + os.path.join(cluster_dir, "containerd.sock"),
            "crictl": os.path.join(cluster_dir, "bin", "crictl")}
    args.update(extra)
    return args


def _present(cluster_dir, versions):
    return {month for month, v in versions.items() if node_image_refs(cluster_dir, v["digest"])}


@pytest.fixture
def prune_store(core_v1, cluster_dir, real_node, watch_until):
    """The five versions on the real node, v1 used by a running pod and v2 by an exited container."""
    tmp = tempfile.mkdtemp(prefix="prewarm-prune")
    repository = _repository()
    namespace = new_namespace(core_v1, "prewarm-prune")
    versions = {}
    try:
        versions = _versions(tmp, cluster_dir, repository)
        core_v1.create_namespaced_pod(namespace, _pod("running", real_node, versions[1]["ref"], ["sleep", "3600"], "Always"))
        core_v1.create_namespaced_pod(namespace, _pod("exited", real_node, versions[2]["ref"], ["true"], "Never"))
        watch_until(core_v1.list_namespaced_pod, lambda p: p.status.phase == "Running", 120, namespace=namespace,
                    field_selector="metadata.name=running")
        watch_until(core_v1.list_namespaced_pod, lambda p: p.status.phase == "Succeeded", 120, namespace=namespace,
                    field_selector="metadata.name=exited")
        yield {"repository": repository, "versions": versions, "tmp": tmp}
    finally:
        delete_namespace(core_v1, namespace)
        refs = [ref for v in versions.values() for ref in node_image_refs(cluster_dir, v["digest"])]
        if refs:
            _ctr(cluster_dir, "images", "rm", "--sync", *refs)
        shutil.rmtree(tmp, ignore_errors=True)


# Bad input: each fails before anything is removed, naming the value.
BAD_INPUT = [
    ({"keep": 0}, "keep: .* not 0"),
    ({"runtime_endpoint": "unix:///run/prewarm-it-no-such.sock"}, "unix:///run/prewarm-it-no-such.sock"),
    ({"repositories": ["prewarm-it.local/Not-Lower"]}, "Not-Lower"),
    ({"crictl": "/nonexistent/crictl"}, "/nonexistent/crictl"),
]


def test_prune_removes_only_the_version_neither_used_nor_named_nor_among_the_newest(prune_store, cluster_dir):
    repository, versions = prune_store["repository"], prune_store["versions"]
    args = _prune_args(cluster_dir, repository, versions)
    for bad, named in BAD_INPUT:
        refused = run_module("image_prune", dict(args, **bad))
        assert refused.get("failed") and re.search(named, refused["msg"]), (bad, refused)
    assert _present(cluster_dir, versions) == set(MONTHS), "bad input removed something"

    checked = run_module("image_prune", args, check=True, diff=True)
    assert not checked.get("failed"), checked["msg"]
    assert checked["changed"] is True
    assert [r["tags"] for r in checked["removed"]] == [[versions[3]["ref"]]]
    assert checked["freed_bytes"] == checked["removed"][0]["size"] > 0
    assert versions[3]["ref"] in checked["diff"]["before"] and versions[3]["ref"] not in checked["diff"]["after"]
    assert _present(cluster_dir, versions) == set(MONTHS), "check mode removed something"

    pruned = run_module("image_prune", args)
    assert not pruned.get("failed"), pruned["msg"]
    assert pruned["changed"] is True
    assert [r["id"] for r in pruned["removed"]] == [r["id"] for r in checked["removed"]]
    assert _present(cluster_dir, versions) == {1, 2, 4, 5}
    kept = {r["tags"][0]: r["kept_because"] for r in pruned["kept"]}
    assert kept == {versions[5]["ref"]: ["named by the pool (%s)" % versions[5]["ref"]],
                    versions[4]["ref"]: ["among the newest 2"],
                    versions[2]["ref"]: ["used by a container"],
                    versions[1]["ref"]: ["used by a container"]}
    assert [r["created"] for r in pruned["removed"]] == ["2026-03-01T00:00:00Z"]

    again = run_module("image_prune", args)
    assert not again.get("failed"), again["msg"]
    assert again["changed"] is False and again["removed"] == []
    assert _present(cluster_dir, versions) == {1, 2, 4, 5}


def test_the_prune_playbook_over_a_pool_checks_first_then_removes_the_same(prune_store, cluster_dir, tmp_path):
    repository, versions = prune_store["repository"], prune_store["versions"]
    inventory = {"all": {"hosts": {"prewarm-real": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "prewarm_pool": "real",
        "prewarm_runtime_endpoint": "unix://" + os.path.join(cluster_dir, "containerd.sock"),
        "preload_prune_crictl": os.path.join(cluster_dir, "bin", "crictl")}}}}
    extra = {"prewarm_pools": {"real": {"images": [versions[5]["ref"]], "prune_repositories": [repository], "prune_keep": 2},
                               "other": {"images": [versions[4]["ref"]]}},
             "prune_pools": "real"}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.prune",
           "-i", str(tmp_path / "inventory.json"), "-e", "@" + str(tmp_path / "extra.json")]
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"})

    checked = subprocess.run(cmd + ["--check", "--diff"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "would remove 1 image" in checked.stdout and "-" + versions[3]["ref"] in checked.stdout, checked.stdout[-4000:]
    assert _present(cluster_dir, versions) == set(MONTHS), "check mode removed something"

    pruned = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert pruned.returncode == 0, pruned.stdout[-4000:] + pruned.stderr[-2000:]
    assert "removed 1 image" in pruned.stdout, pruned.stdout[-4000:]
    assert _present(cluster_dir, versions) == {1, 2, 4, 5}
