"""Registry faults on the real node (real kubelet, real containerd pulls): the node stays marked, and the message names
the node, the image and the kubelet's reason; at playbook level the other nodes go on and are released.

The four pulls that cannot succeed, each with a preloader DaemonSet of its own (a fresh name, so no image pull back-off
of an earlier run carries over), warmed at the same time so the shared real node is used once and briefly:
- an image the registry does not have (images.json `missing`);
- a registry that refuses the credentials: a docker-registry of the test's own, with htpasswd auth, serving the local
  registry's storage read-only, and a pull secret with a wrong password;
- a registry that is down: a 127.0.0.1 port where nothing listens;
- a pull slower than the timeout: the large image (300 MB) through a throttling TCP proxy in front of the local registry.
containerd pulls plain HTTP only from the hosts its hosts directory names (the cluster names 127.0.0.1:5000); the test
adds a hosts.toml for each of its ports while it runs (containerd reads them at each pull, no restart) and removes them.
"""
import base64
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from kubernetes import client

from preloader_helpers import remove_from_real_node
from run_ansible import ansible_env, run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(REPO, "tests", "cluster")
MAINTENANCE_KEY = "prewarm.k8s/maintenance"
ADMIT_PREFIX = "preload.prewarm.k8s/"
BY = "it@prewarm-faults-registry"
USER = "prewarm-it"
# bcrypt of "prewarm-right-password" (the registry's htpasswd needs bcrypt); the pull secret gives another password.
HTPASSWD = USER + ":$2b$10$bzEkMv7FYpKt3P9V3hBtruWYDQsdSud3Ztor2KyAn0aXLROoPHsyu\n"
RIGHT_PASSWORD = "prewarm-right-password"
WARM_TIMEOUT = 30
THROTTLE_BYTES_PER_SECOND = 512 * 1024


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out after %ss waiting for %s" % (timeout, what)
        time.sleep(0.2)


def _on_host(ref, port):
    """The same repository and tag on another 127.0.0.1 port."""
    return "127.0.0.1:%d/%s" % (port, ref.split("/", 1)[1])


class PlainHttpHosts(object):
    """hosts.toml entries telling the real node's containerd to pull from 127.0.0.1:<port> over plain HTTP."""

    def __init__(self, cluster_dir):
        self._root = os.path.join(cluster_dir, "containerd-hosts")
        self._made = []

    def allow(self, port):
        directory = os.path.join(self._root, "127.0.0.1:%d" % port)
        os.makedirs(directory)
        self._made.append(directory)
        with open(os.path.join(directory, "hosts.toml"), "w", encoding="utf-8") as handle:
            handle.write('server = "http://127.0.0.1:%d"\n[host."http://127.0.0.1:%d"]\n  capabilities = ["pull", "resolve"]\n' % (port, port))

    def remove(self):
        for directory in self._made:
            shutil.rmtree(directory, ignore_errors=True)


class AuthRegistry(object):
    """docker-registry with htpasswd auth on a free port, serving the local registry's storage read-only."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        cache = os.environ.get("PREWARM_CACHE", os.path.expanduser("~/.cache/prewarm-k8s"))
        (tmp_path / "htpasswd").write_text(HTPASSWD)
        # Read-only and no upload purging: the storage is the shared registry's, this one must never write to it.
        (tmp_path / "registry.yml").write_text(json.dumps({
            "version": "0.1", "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": os.path.join(cache, "registry")},
                        "maintenance": {"uploadpurging": {"enabled": False}, "readonly": {"enabled": True}}},
            "http": {"addr": "127.0.0.1:%d" % self.port},
            "auth": {"htpasswd": {"realm": "prewarm-it", "path": str(tmp_path / "htpasswd")}}}))
        with open(tmp_path / "registry.log", "w", encoding="utf-8") as log:
            self._proc = subprocess.Popen(["docker-registry", "serve", str(tmp_path / "registry.yml")],  # pylint: disable=consider-using-with
                                          stdout=log, stderr=subprocess.STDOUT)
        _wait_for(lambda: self.status() == 401, 30, "the auth registry")

    def status(self, password=None):
        request = urllib.request.Request("http://127.0.0.1:%d/v2/" % self.port)
        if password:
            request.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (USER, password)).encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def stop(self):
        self._proc.terminate()
        self._proc.wait(timeout=30)


class ThrottlingProxy(object):
    """A TCP proxy on a free port to `target`, passing the replies on at most `rate` bytes per second per connection."""

    def __init__(self, target_port, rate):
        self._target, self._rate = target_port, rate
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._sockets, self._stopping = [], threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stopping.is_set():
            try:
                near, _addr = self._server.accept()
            except OSError:
                return
            far = socket.create_connection(("127.0.0.1", self._target))
            self._sockets += [near, far]
            threading.Thread(target=self._pipe, args=(near, far, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(far, near, self._rate), daemon=True).start()

    def _pipe(self, source, sink, rate):
        started, sent = time.monotonic(), 0
        try:
            while not self._stopping.is_set():
                data = source.recv(16384)
                if not data:
                    break
                sink.sendall(data)
                sent += len(data)
                if rate:
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        # shutdown() first: on Linux, close() alone leaves a connection open while another thread is blocked in
        # recv() on it, and containerd would then wait for the rest of the image forever, holding up every later
        # pull of the node (the kubelet pulls one image at a time).
        self._stopping.set()
        for sock in [self._server] + self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _new_namespace(core_v1):
    name = "prewarm-freg-" + uuid.uuid4().hex[:6]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _wrong_pull_secret(core_v1, namespace, port):
    auth = base64.b64encode(("%s:wrong-password" % USER).encode()).decode()
    config = {"auths": {"127.0.0.1:%d" % port: {"auth": auth}}}
    core_v1.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="wrong-creds"), type="kubernetes.io/dockerconfigjson",
        data={".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}))
    return "wrong-creds"


def _release_ours(kubeconfig, core_v1, nodes):
    """Take off the marks these tests put on (only nodes our `by` marked) and every admission label of theirs."""
    ours = [n.metadata.name for n in core_v1.list_node().items if BY in ((n.metadata.annotations or {}).get(MAINTENANCE_KEY) or "")]
    if ours:
        result = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": ours, "state": "absent"})
        assert not result.get("failed"), result["msg"]
    for name in nodes:
        labels = core_v1.read_node(name).metadata.labels or {}
        stale = dict((key, None) for key in labels if key.startswith((ADMIT_PREFIX + "freg-", ADMIT_PREFIX + "preload-freg")))
        if stale:
            core_v1.patch_node(name, {"metadata": {"labels": stale}})


def _is_marked(node):
    return ((node.metadata.labels or {}).get(MAINTENANCE_KEY) == "true"
            and any(t.key == MAINTENANCE_KEY for t in node.spec.taints or [])
            and MAINTENANCE_KEY in (node.metadata.annotations or {}))


def test_each_failed_pull_leaves_the_node_marked_and_names_node_image_and_reason(
        kubeconfig, core_v1, cluster_dir, real_node, test_images, tmp_path):
    hosts = PlainHttpHosts(cluster_dir)
    registry = proxy = None
    namespaces = []
    try:
        registry = AuthRegistry(tmp_path)
        # The registry itself works: the right password is let in, a wrong one refused.
        assert registry.status(RIGHT_PASSWORD) == 200 and registry.status("wrong-password") == 401
        proxy = ThrottlingProxy(5000, THROTTLE_BYTES_PER_SECOND)
        down_port = _free_port()
        for port in (registry.port, proxy.port, down_port):
            hosts.allow(port)
        # The large image must really be pulled through the proxy.
        remove_from_real_node(cluster_dir, [test_images["large"]])

        small, large = test_images["small"]["ref"], test_images["large"]["ref"]
        cases = {
            # name: (image, pull secret, what the kubelet's message must say)
            "missing": (test_images["missing"]["ref"], False, ["not found"]),
            "unauthorized": (_on_host(small, registry.port), True, ["401 Unauthorized", "unauthorized"]),
            "down": (_on_host(small, down_port), False, ["connection refused"]),
            "slow": (_on_host(large, proxy.port), False, []),
        }
        marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [real_node], "by": BY, "reason": "registry faults it"})
        assert not marked.get("failed"), marked["msg"]

        def warm(case):
            image, secret, _words = cases[case]
            namespace = _new_namespace(core_v1)
            namespaces.append(namespace)
            name = "freg-%s-%s" % (case, namespace[-6:])
            # resolve_tags false: these faults are the kubelet's to meet (test_drift.py has the controller meet them first).
            options = {"kubeconfig": kubeconfig, "name": name, "namespace": namespace, "scope": "admitted",
                       "node_selector": {"kubernetes.io/hostname": real_node}, "resolve_tags": False,
                       "agent_image": test_images["agent"]["ref"], "images": [image]}
            if secret:
                options["image_pull_secrets"] = [_wrong_pull_secret(core_v1, namespace, registry.port)]
            made = run_module("preloader", options)
            assert not made.get("failed"), made["msg"]
            return run_module("warmup", {"kubeconfig": kubeconfig, "name": name, "namespace": namespace, "nodes": [real_node],
                                         "timeout": WARM_TIMEOUT, "image_fs_check": False})

        # The kubelet pulls one image at a time (serializeImagePulls, its default): the slow pull would hold up the
        # others, so it goes last, alone, and the proxy is stopped right after it (which ends the pull).
        fast = [case for case in cases if case != "slow"]
        with concurrent.futures.ThreadPoolExecutor(len(fast)) as pool:
            results = dict(zip(fast, pool.map(warm, fast)))
        results["slow"] = warm("slow")
        proxy.stop()

        for case, result in results.items():
            print("\n[faults] %s: %s\n  %s" % (case, result.get("msg"), json.dumps(result.get("nodes", {}).get(real_node, {}).get("images"))))
        for case, result in results.items():
            image, _secret, words = cases[case]
            message = result.get("msg") or ""
            assert result.get("failed") and result["cold"] == [real_node] and not result["released"], (case, result)
            assert real_node in message and image in message, (case, message)
            entry = result["nodes"][real_node]["images"][0]
            if case == "slow":
                # Still pulling at the timeout: said so, with the kubelet's own wait reason.
                assert "timed out after %ss" % WARM_TIMEOUT in message and entry["state"] == "pulling", (case, entry)
            else:
                assert entry["state"] == "failed" and entry["reason"] in ("ErrImagePull", "ImagePullBackOff"), (case, entry)
                assert entry["reason"] in message and any(w in message for w in words), (case, message)
        assert _is_marked(core_v1.read_node(real_node)), "the real node was released with cold images"
    finally:
        for namespace in namespaces:
            core_v1.delete_namespace(namespace, propagation_policy="Background")
        _release_ours(kubeconfig, core_v1, [real_node])
        if proxy:
            proxy.stop()  # again when already stopped: closing a closed socket is harmless
        if registry:
            registry.stop()
        hosts.remove()


# ---------------------------------------------------------------- at playbook level: the others go on

POOL = "freg"
POOL_LABEL = "it.prewarm.k8s/freg"


def _resize_pool(size):
    subprocess.run([os.path.join(CLUSTER, "kwok-nodes.sh")], env=dict(os.environ, PREWARM_KWOK_POOLS="%s=%d" % (POOL, size)),
                   check=True, capture_output=True, timeout=120)


@pytest.fixture
def freg_nodes(core_v1, real_node, watch_until):
    """The real node and two kwok nodes of our own pool, all labelled as one pool; undone afterwards."""
    _resize_pool(2)
    names = [real_node, "kwok-%s-0" % POOL, "kwok-%s-1" % POOL]
    try:
        for name in names[1:]:
            watch_until(core_v1.list_node, lambda n: any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []),
                        60, field_selector="metadata.name=" + name)
        for name in names:
            core_v1.patch_node(name, {"metadata": {"labels": {POOL_LABEL: "true"}}})
        yield names
    finally:
        # The kwok nodes go with their pool; the shared real node gets its labels back.
        core_v1.patch_node(real_node, {"metadata": {"labels": {POOL_LABEL: None}}})
        _resize_pool(0)


def test_os_upgrade_goes_on_with_the_other_nodes_and_leaves_the_failed_one_marked_with_why(
        kubeconfig, core_v1, freg_nodes, real_node, test_images, tmp_path):
    namespace = _new_namespace(core_v1)
    missing = test_images["missing"]["ref"]
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {POOL: {"vars": {"prewarm_pool": POOL, "prewarm_kubelet_managed": False},
                                             "hosts": dict((n, {}) for n in freg_nodes)}}}}
    extra = {"prewarm_kubeconfig": kubeconfig, "prewarm_namespace": namespace, "prewarm_agent_image": test_images["agent"]["ref"],
             # kwok pulls nothing, so only the real node meets the missing image.
             # resolve_tags false: the missing image must reach the kubelet (resolving would stop the run before any write).
             "prewarm_pools": {POOL: {"node_selector": {POOL_LABEL: "true"}, "images": [missing], "resolve_tags": False,
                                      "tolerations": [{"key": "prewarm.test/pool", "operator": "Exists"}]}},
             "node_upgrade_upgrade_tasks": os.path.join(REPO, "tests", "demo", "fake_os_upgrade.yml"),
             # The real node is shared: no drain, no reboot, no kubelet restart.
             "node_upgrade_drain": False, "node_upgrade_reboot": False, "node_upgrade_reason": "registry faults it",
             # Batches [real, kwok-0], [kwok-1]: one failure in two is 50%, within the limit, so the second batch runs.
             "os_upgrade_batch_size": 2, "os_upgrade_max_fail_percentage": 50,
             # Longer than the module cases: the kubelet pulls one image at a time, so other pulls on the shared real
             # node (other tests) can hold up its first attempt, and before that attempt there is no reason to report.
             "preload_timeout": 2 * WARM_TIMEOUT, "preload_image_fs_check": False}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.os_upgrade",
           "-i", str(tmp_path / "inventory.json"), "-e", "@%s" % (tmp_path / "extra.json")]
    try:
        proc = subprocess.run(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "TMPDIR": str(tmp_path)}),
                              capture_output=True, text=True, timeout=600, check=False)
        output = proc.stdout + proc.stderr
        summary = [line for line in output.splitlines() if " | pool " in line or "node(s) failed" in line]
        print("\n[faults] os_upgrade exit %d:\n%s" % (proc.returncode, "\n".join(summary)))
        # The run fails, naming the node that failed, after the others finished.
        assert proc.returncode != 0 and "1 node(s) failed" in output, output[-6000:]
        for name in freg_nodes[1:]:
            node = core_v1.read_node(name)
            assert not _is_marked(node) and MAINTENANCE_KEY not in (node.metadata.labels or {}), name
        node = core_v1.read_node(real_node)
        assert _is_marked(node)
        record = json.loads(node.metadata.annotations[MAINTENANCE_KEY])
        print("[faults] %s annotation: %s" % (real_node, json.dumps(record)))
        # Why (the step, the image and the kubelet's reason) and since when, on the node itself.
        status = record["status"]
        assert status["step"] == "warm" and status["result"] == "failed" and record["since"], record
        assert missing in status["error"] and ("ErrImagePull" in status["error"] or "ImagePullBackOff" in status["error"]), record
    finally:
        core_v1.delete_namespace(namespace, propagation_policy="Background")
        _release_ours_os_upgrade(kubeconfig, core_v1, freg_nodes)


def _release_ours_os_upgrade(kubeconfig, core_v1, nodes):
    """The os_upgrade run marks with its own `by`: release whatever of ours is still marked, by reason."""
    marked = [n.metadata.name for n in (core_v1.read_node(name) for name in nodes)
              if "registry faults it" in ((n.metadata.annotations or {}).get(MAINTENANCE_KEY) or "")]
    if marked:
        result = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": marked, "state": "absent"})
        assert not result.get("failed"), result["msg"]
    _release_ours(kubeconfig, core_v1, nodes)
