"""The window's reboot step on the real node, whose host is reached over SSH as a real node host would be.

ansible.builtin.reboot refuses the local connection (it would reboot the controller), so this module runs an sshd of
its own on 127.0.0.1: keys made for the test, no password, and a known_hosts file with the test's host key (no host
key is accepted blindly). The inventory reaches the real node's host through it; the API steps still run on the
controller. The reboot command is the harness's tests/cluster/node-reboot: the kubelet and containerd stop, every pod
ends, containerd's store is emptied (a re-imaged node comes back so) and both start again. The boot time command,
tests/cluster/node-boot-id, prints containerd's PID and start time, which only that restart changes.

Before the window the node holds the pool's images and one more: without the reboot emptying the store, the warm step
would find the node warm. The window must find it cold (the kubelet pulls every pool image for the preloader), warm
and release it, and give the reboot's and the warm-up's durations in its summary. The window's prune step runs too
(over the same SSH connection, through the node's CRI socket), and finds nothing of the pool's left to remove.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from preloader_helpers import kubelet_pull_events, node_image_refs, really_pulled
from run_ansible import ansible_env
from window_helpers import (CLUSTER_TOOLS, DEMO, KUBELET_RESTART, delete_namespace, dropin_dir, new_namespace,
                            remove_dropin, restart_kubelet, unmark)

SSHD = "/usr/sbin/sshd"
POOL = "real"
DAEMONSET = "preload-" + POOL  # the preload role's default name for the pool's DaemonSet
NODE_REBOOT = os.path.join(CLUSTER_TOOLS, "node-reboot")
NODE_BOOT_ID = os.path.join(CLUSTER_TOOLS, "node-boot-id")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "prewarm-reboot-test", "-f", str(path)],
                   check=True, timeout=30)


def _harness_env():
    """What the harness's scripts read from their environment (tests/cluster/lib/env.sh), as this test run has it."""
    return {k: v for k, v in os.environ.items() if k.startswith("PREWARM_") or k == "K8S_VERSION"}


def _sshd_config(ssh_dir, port):
    # StrictModes off: the key files live under the system's temporary directory, which is world-writable.
    # SetEnv: sessions see the harness's settings, so its scripts find this cluster and its binaries.
    set_env = " ".join("%s=%s" % item for item in sorted(_harness_env().items()))
    return "\n".join([
        "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % (ssh_dir / "host_key"),
        "PidFile %s" % (ssh_dir / "sshd.pid"), "AuthorizedKeysFile %s" % (ssh_dir / "authorized_keys"),
        "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "Subsystem sftp internal-sftp",
    ] + (["SetEnv " + set_env] if set_env else [])) + "\n"


def _wait_for_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("sshd exited with %d before it listened" % proc.returncode)
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("sshd did not listen on 127.0.0.1:%d within %ds" % (port, timeout))


@pytest.fixture(scope="module")
def node_host_over_ssh(tmp_path_factory):
    """An sshd on 127.0.0.1 that lets root in with a key made for this module: {port, key, known_hosts}."""
    if not os.access(SSHD, os.X_OK):
        pytest.fail("no %s: install openssh-server (tests/cluster/install-deps.sh does)" % SSHD)
    ssh_dir = tmp_path_factory.mktemp("ssh")
    _keygen(ssh_dir / "host_key")
    _keygen(ssh_dir / "client_key")
    shutil.copy(ssh_dir / "client_key.pub", ssh_dir / "authorized_keys")
    port = _free_port()
    (ssh_dir / "known_hosts").write_text("[127.0.0.1]:%d %s" % (port, (ssh_dir / "host_key.pub").read_text()))
    (ssh_dir / "sshd_config").write_text(_sshd_config(ssh_dir, port))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    with open(ssh_dir / "sshd.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(ssh_dir / "sshd_config")], stderr=log)
    try:
        _wait_for_port(port, proc, 30)
        yield {"port": port, "key": str(ssh_dir / "client_key"), "known_hosts": str(ssh_dir / "known_hosts"),
               "log": str(ssh_dir / "sshd.log")}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _inventory(tmp, ssh, cluster_dir):
    """The real node only, its host reached over SSH as root with the test's key; Python is this test's own."""
    node_host = {
        "ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": ssh["port"], "ansible_user": "root",
        "ansible_ssh_private_key_file": ssh["key"],
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                                   % ssh["known_hosts"],
        "ansible_python_interpreter": sys.executable,
        # The window's prune step reaches the node's runtime as any CRI client on the host would.
        "prewarm_runtime_endpoint": "unix://" + os.path.join(cluster_dir, "containerd.sock"),
        "preload_prune_crictl": os.path.join(cluster_dir, "bin", "crictl"),
    }
    inventory = {"all": {"children": {POOL: {
        "vars": {"prewarm_pool": POOL, "prewarm_kubelet_managed": True,
                 "kubelet_image_gc_config_path": "{{ prewarm_demo_cluster_dir }}/kubelet/config.yaml",
                 "kubelet_image_gc_restart_command": [KUBELET_RESTART]},
        "hosts": {"prewarm-real": node_host}}}}}
    path = os.path.join(tmp, "inventory.yml")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)  # JSON is YAML
    return path


def _pool(images):
    """The pool `real` with two of the test images (one by digest), as tests/demo/vars.yml writes pools."""
    return {POOL: {"node_selector": {"pool": POOL},
                   "images": [images["small"]["ref"] + "@" + images["small"]["digest"], images["noshell"]["ref"]]}}


def _run_os_upgrade(tmp, ssh, cluster_dir, namespace, kubelet_config_path, images):
    extra = {"prewarm_namespace": namespace, "prewarm_pools": _pool(images),
             "node_upgrade_upgrade_tasks": os.path.join(DEMO, "fake_os_upgrade.yml"),
             "node_upgrade_reboot": True, "node_upgrade_reboot_timeout": 300,
             "node_upgrade_reboot_command": NODE_REBOOT, "node_upgrade_boot_time_command": NODE_BOOT_ID,
             "node_upgrade_prune": True,
             "kubelet_image_gc_dropin_dir": dropin_dir(kubelet_config_path)}
    extra_path = os.path.join(tmp, "extra.json")
    with open(extra_path, "w", encoding="utf-8") as handle:
        json.dump(extra, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.os_upgrade",
           "-i", _inventory(tmp, ssh, cluster_dir), "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@" + extra_path]
    # No connection sharing: every SSH connection ends with its task, none outlives the test's sshd.
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "TMPDIR": tmp, "ANSIBLE_SSH_ARGS": "-o ControlMaster=no"})
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)


def _crictl(cluster_dir, *args):
    cmd = [os.path.join(cluster_dir, "bin", "crictl"), "--config", os.path.join(cluster_dir, "crictl.yaml")] + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout


def _boot_id():
    return subprocess.run([NODE_BOOT_ID], check=True, capture_output=True, text=True, timeout=30).stdout.strip()


def _namespace_pull_events(core_v1, namespace):
    """The kubelet's Pulling/Pulled events on every pod of the namespace (the preloader's, whatever its pod names)."""
    events = set()
    for pod in core_v1.list_namespaced_pod(namespace).items:
        events |= kubelet_pull_events(core_v1, namespace, pod.metadata.name)
    return events


def test_reboot_empties_the_store_and_the_window_finds_the_node_cold_warms_and_releases_it(
        node_host_over_ssh, kubeconfig, core_v1, cluster_dir, kubelet_config_path, real_node, test_images, watch_until):
    pool_images = [test_images["small"], test_images["noshell"]]
    pool_refs = _pool(test_images)[POOL]["images"]
    bystander = test_images["agent"]  # on the node before, needed by no pool: a reboot that empties the store drops it
    tmp = tempfile.mkdtemp(prefix="prewarm-reboot-")
    preloaders = new_namespace(core_v1, "prewarm-reboot")
    unmark(kubeconfig, core_v1, real_node)
    try:
        for image in pool_images + [bystander]:
            _crictl(cluster_dir, "pull", image["ref"])
            assert node_image_refs(cluster_dir, image["digest"]), "%s is not on the real node" % image["ref"]
        boot_before = _boot_id()

        started = time.monotonic()
        proc = _run_os_upgrade(tmp, node_host_over_ssh, cluster_dir, preloaders, kubelet_config_path, test_images)
        took = time.monotonic() - started
        assert proc.returncode == 0, "os_upgrade failed (exit %d):\n%s\n%s" % (
            proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])
        # The reboot ran over SSH, and the node's runtime came back as another process.
        assert re.search(r"TASK \[prewarm\.k8s\.node_upgrade : Reboot the node\][^\n]*\n(?:[^\n]*\n){0,5}?changed: \[prewarm-real\]",
                         proc.stdout), proc.stdout[-6000:]
        assert _boot_id() != boot_before
        # The prune step ran on the node host, after the reboot and before the warm step: nothing of the pool's
        # repositories was left to remove.
        assert re.search(r"removed 0 images \(0 B\) of 2 repositories; 0 kept", proc.stdout), proc.stdout[-6000:]
        # The store was emptied: the image no pool names did not come back; the pool's images did.
        assert not node_image_refs(cluster_dir, bystander["digest"])
        for image in pool_images:
            assert node_image_refs(cluster_dir, image["digest"]), "%s is not on the real node" % image["ref"]
        # Found cold: the kubelet fetched every pool image from the registry for the preloader, in the window.
        watch_until(core_v1.list_namespaced_event,
                    lambda _e: all(really_pulled(_namespace_pull_events(core_v1, preloaders), ref) for ref in pool_refs),
                    60, namespace=preloaders)
        # Released: no maintenance taint, no cordon, no maintenance annotation or label.
        node = core_v1.read_node(real_node)
        assert not [t for t in node.spec.taints or [] if t.key.startswith("prewarm.k8s/")], node.spec.taints
        assert not node.spec.unschedulable
        assert "prewarm.k8s/maintenance" not in (node.metadata.annotations or {})
        assert "prewarm.k8s/maintenance" not in (node.metadata.labels or {})
        # The summary gives the reboot's and the warm-up's durations.
        lines = [line for line in proc.stdout.splitlines() if real_node + " | pool " + POOL in line]
        assert len(lines) == 1, proc.stdout[-3000:]
        assert re.search(r"\| reboot \d+m\d\ds \| warming \d+m\d\ds \| released \|", lines[0]), lines[0]
        print("\n[reboot] os_upgrade of %s with a reboot over SSH took %.1fs; its summary:\n%s" % (real_node, took, lines[0]))
    finally:
        unmark(kubeconfig, core_v1, real_node)
        delete_namespace(core_v1, preloaders)
        if remove_dropin(kubelet_config_path):
            restart_kubelet(core_v1, watch_until, real_node)
        shutil.rmtree(tmp, ignore_errors=True)
