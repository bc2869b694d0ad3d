"""Benchmark: the full pre-warm cycle on a kwok pool, this collection against the plain kubernetes.core way.

For each pool size N, on a kwok pool `bench` of N nodes (made with tests/cluster/kwok-nodes.sh and deleted after):
  ours   ansible-playbook prewarm.k8s.prewarm -e warm_mark=true (mark, preloader, warm in waves, release)
  plain  ansible-playbook tests/bench/plain_kubernetes_core.yml (k8s_taint loop, k8s, k8s_info until, k8s_taint loop)
with the pool reset in between (no preloader DaemonSet, no marks). Per run it records the wall time, the API requests
of the run by verb and resource (from the API server's audit log; the playbooks run as their own user, a client
certificate made with the cluster's CA), the CPU seconds and peak memory of the ansible-playbook process tree, and,
from its own watch on the pool's nodes and the preloader pods (timestamps at event receipt), each node's release
delay (maintenance taint gone minus preloader pod Ready) and the most nodes pulling at one moment. Both runs must
end in the same state (no maintenance taint on any node, a Ready preloader pod with every image on every node,
the DaemonSet present); the script fails if not.

  python tests/bench/bench.py --sizes 100,1000 --out tests/bench/results.json   # make bench
  python tests/bench/bench.py --sizes 20 --smoke                                 # make bench-smoke (no targets)
"""
import argparse
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

from kubernetes import client, config, watch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from run_ansible import ansible_env, run_module  # pylint: disable=wrong-import-position

import report  # pylint: disable=wrong-import-position

CLUSTER_DIR = os.environ.get("PREWARM_CLUSTER_DIR", "/var/lib/prewarm-k8s-cluster")
ADMIN_KUBECONFIG = os.path.join(CLUSTER_DIR, "kubeconfig")
AUDIT_LOG = os.path.join(CLUSTER_DIR, "logs", "audit.log")
KWOK_NODES = os.path.join(REPO, "tests", "cluster", "kwok-nodes.sh")
POOL = os.environ.get("PREWARM_BENCH_POOL", "bench")
NAMESPACE = "prewarm-" + POOL
OURS_DS = "preload-" + POOL
PLAIN_DS = "plain-" + POOL
BENCH_USER = "prewarm-bench"
KWOK_TAINT_KEY = "prewarm.test/pool"
MAINTENANCE_KEY = "prewarm.k8s/maintenance"
ADMIT_PREFIX = "preload.prewarm.k8s/"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
# Seconds between the plain playbook's polls of the DaemonSet: what a user would pick (k8s_info until/retries).
PLAIN_POLL_DELAY = 5
RUN_TIMEOUT = 7200
# Ours is done in minutes; a node that never gets its pod (a broken cluster) should not hold the benchmark for hours.
OURS_TIMEOUT = 600


def log(msg):
    print("%s bench: %s" % (datetime.now(timezone.utc).strftime("%H:%M:%S"), msg), flush=True)


# ---------------------------------------------------------------- identity

def bench_kubeconfig(workdir):
    """A kubeconfig for user prewarm-bench (client certificate signed by the cluster's CA): its requests are the run's."""
    pki = os.path.join(CLUSTER_DIR, "pki")
    key, csr, crt = (os.path.join(workdir, "bench." + ext) for ext in ("key", "csr", "crt"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/O=system:masters/CN=" + BENCH_USER], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(pki, "ca.crt"), "-CAkey", os.path.join(pki, "ca.key"),
                    "-CAcreateserial", "-CAserial", os.path.join(workdir, "ca.srl"), "-out", crt, "-days", "1"],
                   check=True, capture_output=True)
    admin = config.kube_config.KubeConfigLoader(config_dict=_load_yaml(ADMIN_KUBECONFIG))
    server = admin._cluster["server"]  # pylint: disable=protected-access
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "bench",
        "clusters": [{"name": "bench", "cluster": {"server": server, "certificate-authority": os.path.join(pki, "ca.crt")}}],
        "users": [{"name": BENCH_USER, "user": {"client-certificate": crt, "client-key": key}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": BENCH_USER}}],
    }
    path = os.path.join(workdir, "kubeconfig")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(kubeconfig, out)
    return path


def _load_yaml(path):
    import yaml  # pylint: disable=import-outside-toplevel
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


# ---------------------------------------------------------------- the pool

def resize_pool(core, size):
    log("resizing kwok pool %s to %d nodes" % (POOL, size))
    subprocess.run([KWOK_NODES], env=dict(os.environ, PREWARM_KWOK_POOLS="%s=%d" % (POOL, size)), check=True,
                   stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while True:
        nodes = json.loads(core.list_node(label_selector="type=kwok,pool=" + POOL, _preload_content=False).data)["items"]
        ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions") or [])]
        if len(nodes) == size and len(ready) == size:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("pool %s: %d nodes, %d Ready, want %d" % (POOL, len(nodes), len(ready), size))
        time.sleep(1)  # kwok reports the new nodes Ready within seconds; harness code, not product
    log("kwok pool %s has %d nodes" % (POOL, size))
    return sorted(n["metadata"]["name"] for n in nodes)


def reset_pool(core, apps, names):
    """No preloader DaemonSet and no pods in the namespace, no maintenance marks or admission labels on the nodes."""
    for name in (OURS_DS, PLAIN_DS):
        try:
            apps.delete_namespaced_daemon_set(name, NAMESPACE, propagation_policy="Background")
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 600
    while core.list_namespaced_pod(NAMESPACE, limit=1).items:
        if time.monotonic() > deadline:
            raise RuntimeError("preloader pods in %s still there after 600 s" % NAMESPACE)
        time.sleep(1)
    wanted = set(names)
    patches = []
    for node in core.list_node(label_selector="type=kwok,pool=" + POOL).items:
        if node.metadata.name not in wanted:
            continue
        labels = dict((k, None) for k in (node.metadata.labels or {}) if k == MAINTENANCE_KEY or k.startswith(ADMIT_PREFIX))
        annotations = dict((k, None) for k in (node.metadata.annotations or {}) if k == MAINTENANCE_KEY)
        taints = [t for t in (node.spec.taints or []) if t.key != MAINTENANCE_KEY]
        patch = {}
        if labels or annotations:
            patch["metadata"] = {"labels": labels, "annotations": annotations}
        if len(taints) != len(node.spec.taints or []):
            patch["spec"] = {"taints": [client.ApiClient().sanitize_for_serialization(t) for t in taints]}
        if node.spec.unschedulable:
            patch.setdefault("spec", {})["unschedulable"] = None
        if patch:
            patches.append((node.metadata.name, patch))
    threads = []
    for chunk in range(16):
        part = patches[chunk::16]
        thread = threading.Thread(target=lambda part=part: [core.patch_node(n, p) for n, p in part])
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


def ensure_namespace(core):
    """The namespace, Active: one left Terminating by an earlier run is waited out, then made again."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if core.read_namespace(NAMESPACE).status.phase == "Active":
                return
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            try:
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
            except client.ApiException as exc2:
                if exc2.status != 409:
                    raise
            continue
        time.sleep(1)  # Terminating: its pods are still being deleted
    raise RuntimeError("namespace %s is still not Active after 300 s" % NAMESPACE)


# ---------------------------------------------------------------- the watcher

class Observer:
    """Watches the pool's nodes and the namespace's pods; timestamps are taken when an event is received.

    Plain dicts, not the client's models: building 1,000 Node models per relist and one per heartbeat would take
    CPU from the controller being measured on the same machine.
    """

    def __init__(self, core, names):
        self.core, self.names = core, set(names)
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.marked_at, self.released_at, self.admitted_at, self.ready_at = {}, {}, {}, {}
        self.admitted, self.with_pod, self.ready = set(), set(), set()
        self.max_pulling = 0
        self.pulling_series = []  # (seconds since start, nodes pulling)
        self.started = time.time()
        self.errors = []
        lists = [(core.list_node, {"label_selector": "type=kwok,pool=" + POOL}, self._on_node),
                 (core.list_namespaced_pod, {"namespace": NAMESPACE}, self._on_pod)]
        self.threads = []
        for list_fn, kwargs, handler in lists:
            version = self._relist(list_fn, kwargs, handler)
            thread = threading.Thread(target=self._follow, args=(list_fn, kwargs, handler, version), daemon=True)
            thread.start()
            self.threads.append(thread)

    @staticmethod
    def _relist(list_fn, kwargs, handler):
        listed = json.loads(list_fn(_preload_content=False, **kwargs).data)
        for obj in listed["items"]:
            handler("ADDED", obj)
        return listed["metadata"]["resourceVersion"]

    def _follow(self, list_fn, kwargs, handler, version):
        while not self.stopped.is_set():
            stream = watch.Watch(return_type="object")
            try:
                for event in stream.stream(list_fn, resource_version=version, timeout_seconds=5, allow_watch_bookmarks=True, **kwargs):
                    obj = event["raw_object"]
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        handler(event["type"], obj)
                    if self.stopped.is_set():
                        break
            except client.ApiException as exc:
                if exc.status == 410:  # the version expired: list again
                    version = self._relist(list_fn, kwargs, handler)
                else:
                    self.errors.append(str(exc))
                    time.sleep(1)
            except Exception as exc:  # pylint: disable=broad-except  # connection reset: watch again from version
                self.errors.append("%s: %s" % (type(exc).__name__, exc))
                time.sleep(0.2)

    def _on_node(self, kind, node):
        now = time.time()
        name = node["metadata"]["name"]
        if name not in self.names:
            return
        with self.lock:
            tainted = any(t.get("key") == MAINTENANCE_KEY for t in node.get("spec", {}).get("taints") or [])
            if kind != "DELETED" and tainted and name not in self.marked_at:
                self.marked_at[name] = now
            if (kind == "DELETED" or not tainted) and name in self.marked_at and name not in self.released_at:
                self.released_at[name] = now
            if any(k.startswith(ADMIT_PREFIX) for k in node["metadata"].get("labels") or {}):
                self.admitted_at.setdefault(name, now)
                self.admitted.add(name)
            self._count(now)

    def _on_pod(self, kind, pod):
        now = time.time()
        node = pod.get("spec", {}).get("nodeName")
        with self.lock:
            if kind != "DELETED" and node in self.names:
                self.with_pod.add(node)
                ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or [])
                if ready and node not in self.ready:
                    self.ready.add(node)
                    self.ready_at[node] = now
            self._count(now)

    def _count(self, now):
        pulling = len((self.admitted | self.with_pod) - self.ready)
        if pulling > self.max_pulling:
            self.max_pulling = pulling
        if not self.pulling_series or self.pulling_series[-1][1] != pulling:
            self.pulling_series.append((round(now - self.started, 3), pulling))

    def stop(self):
        self.stopped.set()

    def release_delays(self):
        return sorted(self.released_at[n] - self.ready_at[n] for n in self.names if n in self.released_at and n in self.ready_at)


# ---------------------------------------------------------------- the controller process tree

def _children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError):
            continue
    return children


def _tree(pid):
    children, found, todo = _children_map(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _rss(pid):
    try:
        with open("/proc/%d/statm" % pid, encoding="utf-8") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid):
    """Proportional set size: pages shared by ansible-playbook and its forked workers count once over the tree."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="utf-8") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _cmdline(pid):
    """The program and its first argument, without directories (the results name no path of the machine)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")[:2]
        return " ".join(os.path.basename(word) for word in words)
    except OSError:
        return "?"


def _sample(proc, peak, by_process):
    """Sample the process tree of `proc` every 0.1 s until it ends: peaks into `peak`, per process into `by_process`."""
    while proc.poll() is None:
        pids = _tree(proc.pid)
        sizes = [_rss(pid) for pid in pids]
        for pid, size in zip(pids, sizes):
            if size > by_process.get(pid, (0, ""))[0]:
                by_process[pid] = (size, by_process.get(pid, (0, ""))[1] or _cmdline(pid))
        for key, value in (("rss_tree", sum(sizes)), ("rss_process", max(sizes or [0])), ("pss_tree", sum(_pss(pid) for pid in pids)),
                           ("processes", len(pids))):
            peak[key] = max(peak[key], value)
        try:
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass


def run_controller(cmd, env, logfile):
    """Run ansible-playbook, sampling its process tree every 0.1 s; a dict of exit code, times and peak memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    peak = {"rss_tree": 0, "rss_process": 0, "pss_tree": 0, "processes": 0}
    by_process = {}  # pid -> (peak RSS, command line)
    with open(logfile, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)  # pylint: disable=consider-using-with
        try:
            _sample(proc, peak, by_process)
        finally:
            if proc.poll() is None:  # the benchmark is being stopped: stop the playbook too
                proc.terminate()
                proc.wait()
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak["top_processes"] = [{"rss_mb": round(size / 2 ** 20, 1), "cmd": cmd}
                             for size, cmd in sorted(by_process.values(), reverse=True)[:4]]
    return dict(peak, code=proc.returncode, wall=end - start, start=start, end=end,
                cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


# ---------------------------------------------------------------- the audit log

def _parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def audit_requests(start, end, offset_info):
    """{verb resource: count} of the bench user's requests received in [start, end], each request counted once."""
    path, inode, offset = offset_info
    files = []
    current_inode = os.stat(path).st_ino
    if current_inode != inode:  # rotated during the run: the rotated file holds the start
        directory = os.path.dirname(path)
        rotated = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.startswith("audit-") and f.endswith(".log"))
        files.extend((f, 0) for f in rotated if os.stat(f).st_mtime >= start)
        files.append((path, 0))
    else:
        files.append((path, offset))
    seen, counts = set(), {}
    for name, skip in files:
        with open(name, "rb") as stream:
            stream.seek(skip)
            for line in stream:
                if BENCH_USER.encode() not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("user", {}).get("username") != BENCH_USER or event["auditID"] in seen:
                    continue
                if not start - 1 <= _parse_time(event["requestReceivedTimestamp"]) <= end + 1:
                    continue
                seen.add(event["auditID"])
                ref = event.get("objectRef") or {}
                resource_name = ref.get("resource", event.get("requestURI", "?").split("?")[0])
                if ref.get("subresource"):
                    resource_name += "/" + ref["subresource"]
                key = "%s %s" % (event["verb"], resource_name)
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def audit_offset():
    stat = os.stat(AUDIT_LOG)
    return AUDIT_LOG, stat.st_ino, stat.st_size


# ---------------------------------------------------------------- end state

def end_state(core, apps, names, ds_name, images):
    """Problems with the end state: maintenance taints left, nodes without a Ready preloader pod holding every image."""
    problems = []
    try:
        ds = apps.read_namespaced_daemon_set(ds_name, NAMESPACE)
    except client.ApiException as exc:
        return ["DaemonSet %s/%s: %s" % (NAMESPACE, ds_name, exc.reason)], None
    template_images = sorted(c.image for c in (ds.spec.template.spec.init_containers or []) if c.name.startswith("pull-"))
    if template_images != sorted(images):
        problems.append("DaemonSet %s preloads %s, not %s" % (ds_name, template_images, sorted(images)))
    wanted = set(names)
    for node in core.list_node(label_selector="type=kwok,pool=" + POOL).items:
        if node.metadata.name in wanted and any(t.key == MAINTENANCE_KEY for t in (node.spec.taints or [])):
            problems.append("node %s still has the maintenance taint" % node.metadata.name)
    pods = {}
    selector = ",".join("%s=%s" % item for item in ds.spec.selector.match_labels.items())
    for pod in core.list_namespaced_pod(NAMESPACE, label_selector=selector).items:
        pods.setdefault(pod.spec.node_name, []).append(pod)
    for name in names:
        mine = pods.get(name, [])
        if len(mine) != 1:
            problems.append("node %s has %d preloader pods" % (name, len(mine)))
            continue
        pod = mine[0]
        if not any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or [])):
            problems.append("node %s: preloader pod %s not Ready" % (name, pod.metadata.name))
        pulled = {}
        for status in pod.status.init_container_statuses or []:
            terminated = status.state.terminated
            pulled[status.name] = terminated is not None and terminated.exit_code == 0
        spec_images = dict((c.name, c.image) for c in pod.spec.init_containers or [] if c.name.startswith("pull-"))
        lacking = [spec_images[c] for c in spec_images if not pulled.get(c)]
        if sorted(spec_images.values()) != sorted(images) or lacking:
            problems.append("node %s: images not all pulled: %s" % (name, lacking or spec_images))
    return problems, ds


# ---------------------------------------------------------------- one run

def percentile(values, fraction):
    if not values:
        return None
    index = min(len(values) - 1, max(0, int(round(fraction * len(values) + 0.5)) - 1))
    return sorted(values)[index]


def measure(way, cmd, env, core, names, workdir, size):
    observer = Observer(core, names)
    offset = audit_offset()
    logfile = os.path.join(workdir, "%s-%d.log" % (way, size))
    log("%s, %d nodes: %s (log %s)" % (way, size, " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd)), logfile))
    ran = run_controller(cmd, env, logfile)
    code, wall, cpu, start, end = ran["code"], ran["wall"], ran["cpu"], ran["start"], ran["end"]
    time.sleep(2)  # the last watch events of the run are already sent; give the watcher time to receive them
    observer.stop()
    if code != 0:
        with open(logfile, encoding="utf-8") as out:
            tail = out.read()[-4000:]
        raise RuntimeError("%s run on %d nodes failed (exit %d):\n%s" % (way, size, code, tail))
    time.sleep(1)  # the audit log is written in batches
    requests = audit_requests(start, end, offset)
    writes = sum(n for key, n in requests.items() if key.split()[0] in WRITE_VERBS)
    node_writes = sum(n for key, n in requests.items() if key.split()[0] in WRITE_VERBS and key.split()[1].startswith("nodes"))
    delays = observer.release_delays()
    result = {
        "way": way, "nodes": size, "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
        "peak_rss_tree_mb": round(ran["rss_tree"] / 2 ** 20, 1), "peak_rss_process_mb": round(ran["rss_process"] / 2 ** 20, 1),
        "peak_pss_tree_mb": round(ran["pss_tree"] / 2 ** 20, 1), "peak_processes": ran["processes"],
        "top_processes": ran["top_processes"],
        "requests": requests, "requests_total": sum(requests.values()), "writes_total": writes,
        "writes_per_node": round(writes / size, 2), "node_writes_per_node": round(node_writes / size, 2),
        "release_delay_median": round(percentile(delays, 0.5), 3) if delays else None,
        "release_delay_p99": round(percentile(delays, 0.99), 3) if delays else None,
        "release_delay_max": round(delays[-1], 3) if delays else None,
        "released_seen": len(delays), "max_pulling_seen": observer.max_pulling,
        "pulling_series": observer.pulling_series, "watch_errors": observer.errors[:5],
    }
    log("%s, %d nodes: %.1f s wall, %.1f s CPU, peak %.0f MB RSS / %.0f MB PSS (tree), %d requests, %.2f writes/node, release delay median %s p99 %s, "
        "max pulling %d" % (way, size, wall, cpu, result["peak_rss_tree_mb"], result["peak_pss_tree_mb"], result["requests_total"], result["writes_per_node"],
                            result["release_delay_median"], result["release_delay_p99"], observer.max_pulling))
    return result


def pool_catalogue(images, agent, resolve_tags):
    return {POOL: {"node_selector": {"pool": POOL}, "namespace": NAMESPACE, "daemonset": OURS_DS, "images": images,
                   "agent_image": agent, "resolve_tags": resolve_tags,
                   "tolerations": [{"key": KWOK_TAINT_KEY, "operator": "Exists"}]}}


def plain_daemonset(kubeconfig, images, agent):
    """The DaemonSet the preloader module renders for the pool, without the admission gate (scope pool)."""
    result = run_module("preloader", {"kubeconfig": kubeconfig, "name": PLAIN_DS, "namespace": NAMESPACE, "pool": POOL,
                                      "node_selector": {"pool": POOL}, "images": images, "agent_image": agent, "scope": "pool",
                                      "tolerations": [{"key": KWOK_TAINT_KEY, "operator": "Exists"}]}, check=True)
    if result.get("failed"):
        raise RuntimeError("rendering the plain DaemonSet: %s" % result["msg"])
    return result["manifest"]


class RunFailed(RuntimeError):
    """A run that ended but not in the expected state; result holds its figures."""

    def __init__(self, msg, result):
        super().__init__(msg)
        self.result = result


def run_way(way, size, args, core, apps, kubeconfig, workdir, images, agent):
    """One measured run of one way on a fresh pool of `size` nodes, its end state checked."""
    names = resize_pool(core, size)
    ensure_namespace(core)
    reset_pool(core, apps, names)
    venv_bin = os.path.dirname(sys.executable)
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "K8S_AUTH_KUBECONFIG": kubeconfig, "ANSIBLE_FORCE_COLOR": "0",
                       "ANSIBLE_DEPRECATION_WARNINGS": "0",
                       # Time per task in each run's log, to see where the time goes.
                       "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
    extra = os.path.join(workdir, "%s-%d.json" % (way, size))
    if way == "ours":
        extra_vars = {"prewarm_kubeconfig": kubeconfig, "prewarm_pools": pool_catalogue(images, agent, args.resolve_tags), "warm_pool": POOL,
                      "warm_mark": True, "preload_max_pulling": args.max_pulling, "preload_timeout": OURS_TIMEOUT}
        cmd, ds_name = [os.path.join(venv_bin, "ansible-playbook"), "prewarm.k8s.prewarm", "-e", "@" + extra], OURS_DS
    else:
        extra_vars = {"bench_nodes": names, "bench_daemonset": plain_daemonset(kubeconfig, images, agent),
                      "bench_poll_delay": PLAIN_POLL_DELAY, "bench_timeout": RUN_TIMEOUT}
        cmd, ds_name = [os.path.join(venv_bin, "ansible-playbook"), os.path.join(HERE, "plain_kubernetes_core.yml"), "-e", "@" + extra], PLAIN_DS
    with open(extra, "w", encoding="utf-8") as out:
        json.dump(extra_vars, out)
    result = measure(way, cmd, env, core, names, workdir, size)
    problems, _ds = end_state(core, apps, names, ds_name, images)
    if problems:
        # The figures are kept with the failure: they say how far the run got.
        raise RunFailed("%s on %d nodes: end state differs from the expected one in %d ways: %s"
                        % (way, size, len(problems), "; ".join(problems[:10])), result)
    log("%s, %d nodes: end state checked: no maintenance taint, a Ready preloader pod with all %d images on every node"
        % (way, size, len(images)))
    reset_pool(core, apps, names)
    if way == "ours":
        result["max_pulling"] = args.max_pulling
        result["resolve_tags"] = args.resolve_tags
    return result


def machine():
    cpu_model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        mem_kb = int(meminfo.readline().split()[1])
    versions = {"python": platform.python_version()}
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "--version"], capture_output=True, text=True, check=False)
    versions["ansible-core"] = out.stdout.split("[core ")[1].split("]")[0] if "[core " in out.stdout else out.stdout.split("\n")[0]
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-galaxy"), "collection", "list", "kubernetes.core"],
                         capture_output=True, text=True, check=False)
    versions["kubernetes.core"] = next((line.split()[1] for line in out.stdout.splitlines() if line.startswith("kubernetes.core")), "?")
    import kubernetes  # pylint: disable=import-outside-toplevel
    versions["kubernetes (python)"] = kubernetes.__version__
    server = client.VersionApi().get_code()
    versions["kube-apiserver"] = server.git_version
    return {"cpu": cpu_model, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2 ** 20, 1), "kernel": platform.release(),
            "os": platform.platform(), "versions": versions}


def _stop(signum, _frame):
    raise SystemExit("bench: stopped by signal %d" % signum)


def main():
    # Started in the background, the script ignores SIGINT: SIGTERM ends it with the clean-up below.
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="pool sizes, comma-separated")
    parser.add_argument("--max-pulling", type=int, default=50, help="preload_max_pulling of our run")
    # Off measures what the tag resolution costs: the same run with the pool's references pulled as given.
    parser.add_argument("--no-resolve-tags", dest="resolve_tags", action="store_false", help="our run with the pool's resolve_tags off")
    parser.add_argument("--ways", default="ours,plain", help="in this order (ours first: it takes minutes, the plain way an hour)")
    parser.add_argument("--smoke", action="store_true", help="check that everything works; no targets, no docs")
    parser.add_argument("--out", default=os.path.join(HERE, "results.json"))
    parser.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"))
    parser.add_argument("--svg", default=os.path.join(REPO, "docs", "benchmarks.svg"))
    args = parser.parse_args()
    args.ways = args.ways.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    config.load_kube_config(ADMIN_KUBECONFIG)
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    images_json = json.load(open(os.path.join(CLUSTER_DIR, "images.json"), encoding="utf-8"))  # pylint: disable=consider-using-with
    images = [images_json[k]["ref"] for k in ("small", "noshell", "large")]
    agent = images_json["agent"]["ref"]
    workdir = tempfile.mkdtemp(prefix="prewarm-bench-")
    failures = []
    results = {"started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(), "sizes": {},
               "command": "make bench" if not args.smoke else "make bench-smoke", "plain_poll_delay": PLAIN_POLL_DELAY}
    try:
        kubeconfig = bench_kubeconfig(workdir)
        # Way by way, each size in turn: each run gets the pool to itself, reset (no DaemonSet, no marks).
        for way in args.ways:
            for size in sizes:
                try:
                    run = run_way(way, size, args, core, apps, kubeconfig, workdir, images, agent)
                except RuntimeError as exc:
                    # Recorded and reported; the other runs still go ahead, and the script fails at the end.
                    log("FAILED: %s" % exc)
                    failures.append("%s on %d nodes: %s" % (way, size, str(exc)[:300]))
                    run = dict(getattr(exc, "result", None) or {"way": way, "nodes": size}, failed=str(exc)[-3000:])
                results["sizes"].setdefault(str(size), {})[way] = run
                if not args.smoke:
                    with open(args.out, "w", encoding="utf-8") as out:
                        json.dump(results, out, indent=1, sort_keys=True)
    finally:
        try:
            core.delete_namespace(NAMESPACE, propagation_policy="Background")
        except client.ApiException:
            pass
        resize_pool(core, 0)
        if not os.environ.get("PREWARM_BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        raise SystemExit("bench: %d run(s) failed: %s" % (len(failures), " | ".join(failures)))
    if args.smoke:
        json.dump(results, sys.stderr, indent=1, sort_keys=True)
        log("smoke run done: both ways ran and ended in the same state")
        return
    report.write(results, args.doc, args.svg)
    log("wrote %s, %s, %s" % (args.out, args.doc, args.svg))


if __name__ == "__main__":
    main()
