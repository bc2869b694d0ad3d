"""The OS-upgrade window run inside the execution environment the way AWX runs a job (`make test-ee`).

AWX hands a job to an execution environment with ansible-runner's streaming: the controller side
`transmit`s the job (private data dir, playbook, inventory, extra variables, the credentials'
environment) to an `ansible-runner worker` started in the EE image, and `process`es the events and
artifacts it streams back. This test does the same, with podman in place of receptor: the worker
is `podman run -i <image> ansible-runner worker --private-data-dir=/runner` (host networking, to
reach the test cluster's API server on loopback), fed and read by ansible_runner's transmit and
process, with AWX's settings (no env files, no output file).

The credential is what AWX's "OpenShift or Kubernetes API Bearer Token" credential injects:
K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT (a file in the private
data dir), for a ServiceAccount bound to the shipped rbac/ roles. The survey's answers are extra
variables. The window runs over the demo's kwok pools only (--limit cpu:gpu), as tests/demo sets
them up; the real node is left alone.

The image is PREWARM_EE_IMAGE (`make ee` builds it); without it the test fails, saying so.
"""
import json
import os
import shutil
import subprocess
import threading
import uuid

import ansible_runner
import pytest
import yaml
from kubernetes import client, config

from rbac_helpers import Identity
from window_helpers import DEMO, DONE_LABEL, unmark

MAINTENANCE_KEY = "prewarm.k8s/maintenance"  # the maintenance annotation and taint (plugins/module_utils/constants.py)
POOLS = ("cpu", "gpu")
IDENT = "os-upgrade"
WINDOW_TIMEOUT = 1200
# podman's settings for this machine, written by `make ee` (tests/ee/build-ee.sh).
CONTAINERS_CONF = os.path.join(os.environ.get("PREWARM_CACHE", os.path.expanduser("~/.cache/prewarm-k8s")), "ee", "containers.conf")


@pytest.fixture(scope="module")
def image():
    name = os.environ.get("PREWARM_EE_IMAGE")
    if not name:
        pytest.fail("PREWARM_EE_IMAGE is not set: run `make test-ee`, which builds the image and names it")
    found = subprocess.run(["podman", "image", "exists", name], env=_podman_env(), check=False)
    if found.returncode != 0:
        pytest.fail(f"no image {name} in podman's store: build it with `make ee`")
    return name


@pytest.fixture(scope="module")
def admin_kubeconfig():
    cluster_dir = os.environ.get("PREWARM_CLUSTER_DIR", "/var/lib/prewarm-k8s-cluster")
    path = os.environ.get("PREWARM_KUBECONFIG") or os.path.join(cluster_dir, "kubeconfig")
    if not os.path.isfile(path):
        pytest.fail(f"no kubeconfig at {path}: the test cluster is not up (run `make cluster-up` as root)")
    return path


def _podman_env():
    return dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF)


def _pool_nodes(core_v1):
    nodes = core_v1.list_node(label_selector="type=kwok,pool in (%s)" % ",".join(POOLS)).items
    if {n.metadata.labels["pool"] for n in nodes} != set(POOLS):
        pytest.fail("the demo's kwok pools %s are not all there (nodes: %s)" % (POOLS, sorted(n.metadata.name for n in nodes)))
    return {n.metadata.name: n for n in nodes}


def _inventory_vars(cluster_dir, namespace, done_value):
    """tests/demo/vars.yml as an AWX inventory holds it: literal values, no lookup of this machine's files, no kubeconfig."""
    with open(os.path.join(DEMO, "vars.yml"), encoding="utf-8") as handle:
        demo = yaml.safe_load(handle)
    with open(os.path.join(cluster_dir, "images.json"), encoding="utf-8") as handle:
        demo["prewarm_demo_images"] = json.load(handle)
    demo["prewarm_demo_cluster_dir"] = cluster_dir
    # The credential's K8S_AUTH_* variables are the only connection the modules get.
    del demo["prewarm_kubeconfig"]
    demo["prewarm_namespace"] = namespace
    # A value of this run's own, so every node runs its window although an earlier demo run labelled it done.
    demo["node_upgrade_done_label"] = {"key": DONE_LABEL, "value": done_value}
    return demo


def _private_data_dir(root, cluster_dir, namespace, done_value, ca_data):
    """The job's private data dir as AWX writes it: project, inventory, the credential's CA file."""
    (root / "project").mkdir(parents=True)
    (root / "project" / "os_upgrade.yml").write_text(
        "- name: OS upgrade with prewarm.k8s\n  ansible.builtin.import_playbook: prewarm.k8s.os_upgrade\n", encoding="utf-8")
    inventory = root / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    # inventory/hosts: where AWX writes a job's inventory, and the one ansible-runner passes with -i.
    shutil.copy(os.path.join(DEMO, "inventory.yml"), inventory / "hosts")
    shutil.copy(os.path.join(DEMO, "fake_os_upgrade.yml"), inventory / "fake_os_upgrade.yml")
    with open(inventory / "group_vars" / "all.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(_inventory_vars(cluster_dir, namespace, done_value), handle)
    (root / "credentials").mkdir()
    (root / "credentials" / "k8s-ca.crt").write_bytes(ca_data)
    return root


def _run_like_awx(image, private_data_dir, envvars, extravars, limit):
    """transmit | podman run <image> ansible-runner worker | process; returns (status, rc, events, worker stderr)."""
    worker = subprocess.Popen(
        ["podman", "run", "--rm", "-i", "--network", "host", image, "ansible-runner", "worker", "--private-data-dir=/runner"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_podman_env())
    stderr = []
    threading.Thread(target=lambda: stderr.append(worker.stderr.read()), daemon=True).start()
    job = dict(private_data_dir=str(private_data_dir), ident=IDENT, playbook="os_upgrade.yml", limit=limit, extravars=extravars, envvars=envvars,
               # AWX's AWX_RUNNER_OMIT_ENV_FILES and AWX_RUNNER_SUPPRESS_OUTPUT_FILE (both True by default).
               suppress_env_files=True, settings={"suppress_output_file": True, "suppress_ansible_output": True})

    def transmit():
        try:
            ansible_runner.run(streamer="transmit", _output=worker.stdin, **job)
        finally:
            worker.stdin.close()

    sender = threading.Thread(target=transmit, daemon=True)
    sender.start()
    events = []
    timer = threading.Timer(WINDOW_TIMEOUT, worker.kill)
    timer.start()
    try:
        processed = ansible_runner.run(streamer="process", _input=worker.stdout, private_data_dir=str(private_data_dir),
                                       ident=IDENT, quiet=True, event_handler=lambda event: events.append(event) or True)
        worker.wait(timeout=60)
    finally:
        timer.cancel()
    sender.join(timeout=60)
    rc_file = private_data_dir / "artifacts" / IDENT / "rc"
    rc = int(rc_file.read_text(encoding="utf-8")) if rc_file.exists() else None
    return processed.status, rc, events, b"".join(stderr).decode(errors="replace")


def _marked_by(node, reason):
    """Whether the node's maintenance annotation is this run's (other people's windows share the demo pools)."""
    raw = (node.metadata.annotations or {}).get(MAINTENANCE_KEY)
    try:
        return raw is not None and json.loads(raw).get("reason") == reason
    except ValueError:
        return False


def _files_holding(root, secret):
    found = []
    for directory, _subdirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                if secret.encode() in handle.read():
                    found.append(os.path.relpath(path, root))
    return found


def test_os_upgrade_runs_in_the_execution_environment_as_awx_runs_it(image, admin_kubeconfig, tmp_path):
    api_client = config.new_client_from_config(config_file=admin_kubeconfig)
    core_v1 = client.CoreV1Api(api_client)
    cluster_dir = os.path.dirname(admin_kubeconfig)
    nodes = _pool_nodes(core_v1)
    done_before = {name: (n.metadata.labels or {}).get(DONE_LABEL) for name, n in nodes.items()}
    run_id = uuid.uuid4().hex[:6]
    done_value = "ee-" + run_id
    reason = "CHG-ee-" + run_id
    identity = Identity(api_client, "prewarm-ee-" + run_id).apply()
    try:
        token = identity.token(3600)
        with open(api_client.configuration.ssl_ca_cert, "rb") as handle:
            ca_data = handle.read()
        private_data_dir = _private_data_dir(tmp_path / "job", cluster_dir, identity.namespace, done_value, ca_data)
        envvars = {
            "K8S_AUTH_HOST": api_client.configuration.host,
            "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_VERIFY_SSL": "True",
            "K8S_AUTH_SSL_CA_CERT": "/runner/credentials/k8s-ca.crt",
        }
        # A survey's answers (docs/awx.md): a multiselect arrives as a list, a multiplechoice as a string.
        extravars = {
            "os_upgrade_pools": list(POOLS),
            "os_upgrade_pool_by_pool": "true",
            "os_upgrade_batch_size": 2,
            "os_upgrade_max_fail_percentage": 0,
            "node_upgrade_reason": reason,
            "node_upgrade_reboot": "false",
            "preload_max_pulling": 2,
        }
        status, rc, events, worker_stderr = _run_like_awx(image, private_data_dir, envvars, extravars, ":".join(POOLS))

        output = "\n".join(e["stdout"] for e in events if e.get("stdout"))
        assert (status, rc) == ("successful", 0), "the job ended %s (rc %s); its output ends:\n%s\nworker stderr: %s" % (
            status, rc, output[-4000:], worker_stderr[-2000:])

        # The artifacts as AWX keeps them: every event in job_events, the status file (rc was read above).
        artifacts = private_data_dir / "artifacts" / IDENT
        stored = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((artifacts / "job_events").glob("*.json"))]
        assert {e["uuid"] for e in stored} == {e["uuid"] for e in events}
        assert (artifacts / "status").read_text(encoding="utf-8").strip() == "successful"

        stats = [e for e in stored if e["event"] == "playbook_on_stats"]
        assert len(stats) == 1
        assert not stats[0]["event_data"]["failures"] and not stats[0]["event_data"]["dark"]
        assert set(stats[0]["event_data"]["ok"]) >= set(nodes)
        summary = [e for e in stored if e["event"] == "runner_on_ok" and e["event_data"]["task"] == "Per-node summary"]
        assert len(summary) == 1
        lines = summary[0]["event_data"]["res"]["msg"]
        print("per-node summary:\n" + "\n".join(lines))
        # The table's node rows; the lines under it continue a long result or list the images.
        rows = [line for line in lines if " | pool " in line]
        assert sorted(line.split(" | ")[0].strip() for line in rows) == sorted(nodes)
        for line in rows:
            node = line.split(" | ")[0].strip()
            assert "pool %s" % nodes[node].metadata.labels["pool"] in line and "still marked" not in line, line
        # What AWX shows as the job's artifacts (set_stats): each node's result and the report's path.
        artifact = stats[0]["event_data"].get("artifact_data") or {}
        print("set_stats data (artifact_data of playbook_on_stats): %s" % artifact)
        report = artifact.get("prewarm_report") or {}
        assert report.get("playbook") == "os_upgrade" and set(report.get("nodes") or {}) == set(nodes), artifact
        assert not report.get("failed") and report.get("path"), artifact

        # Each node labelled done by this run (once per batch, by the host that wrote the ready step's record)...
        labelled = [json.dumps(e["event_data"]["res"]["writes"]) for e in stored
                    if e["event"] == "runner_on_ok" and "writes" in e["event_data"]["res"]
                    and e["event_data"]["task"] == "Wait until the nodes are Ready again, record them and label them as upgraded"]
        assert labelled and all(done_value in res for res in labelled)
        assert {name for name in nodes if any('"%s"' % name in res for res in labelled)} == set(nodes)
        # ... and released: this run's mark is off every node; a node nobody marked since has no taint or cordon left.
        for name in nodes:
            node = core_v1.read_node(name)
            assert not _marked_by(node, reason), "%s still carries this run's mark: %s" % (name, node.metadata.annotations)
            if MAINTENANCE_KEY not in (node.metadata.annotations or {}):
                assert MAINTENANCE_KEY not in [t.key for t in node.spec.taints or []] and not node.spec.unschedulable, name

        # No secret in the events, the worker's stderr or the private data dir (no env/ files), but for one file:
        # ansible-runner records the job's environment in artifacts/<ident>/command (mode 0600) whatever
        # suppress_env_files says, and the worker streams it back. AWX deletes the private data dir after the
        # job and masks secret-looking keys (API|TOKEN|KEY|SECRET|PASS) in the environment it stores.
        assert token not in json.dumps(events)
        assert token not in worker_stderr
        assert not (private_data_dir / "env").exists()
        command = artifacts / "command"
        assert _files_holding(private_data_dir, token) == [os.path.relpath(command, private_data_dir)]
        assert json.loads(command.read_text(encoding="utf-8"))["env"]["K8S_AUTH_API_KEY"] == token
        assert command.stat().st_mode & 0o777 == 0o600
    finally:
        # Put back only what this run left: its marks and its done label, not another run's.
        for name, before in done_before.items():
            node = core_v1.read_node(name)
            if _marked_by(node, reason):
                unmark(admin_kubeconfig, core_v1, name)
                core_v1.patch_node(name, {"metadata": {"labels": {DONE_LABEL: before}}})
            elif (node.metadata.labels or {}).get(DONE_LABEL) == done_value:
                core_v1.patch_node(name, {"metadata": {"labels": {DONE_LABEL: before}}})
        identity.delete()
