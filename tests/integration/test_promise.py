"""The collection's promise, proven on the real node (real kubelet, real containerd, real pulls from the local registry).

1. After the os_upgrade playbook, a user pod with the pool's images starts with no pull; the same pod on a cold node pulls.
2. A user pod created while the node is marked and not yet warm is not bound to it until the node is released.
3. The kubelet's image GC, with the image filesystem pushed over its high threshold, collects an unreferenced image of
   the same size as the large preloaded one, and leaves alone the images a preloader holds, in either layout (one GC
   cycle for both: image volumes of a volume-mode pod, init containers of an init-mode one).
4. The image without a shell and the one referenced by digest are on the node afterwards, and warm_status reports the
   digests of images.json.

The proof is what the cluster says: the kubelet's events, the pods' and the node's status, containerd's image store (ctr).
docs/promise.md records the timings this module prints (pytest -s).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

import pytest
from kubernetes import client

from oci_archive import write_oci_archive
from preloader_helpers import _ctr, kubelet_pull_events, node_image_refs, remove_from_real_node
from run_ansible import ansible_env, run_module
from window_helpers import (DEMO, DROPIN_NAME, KUBELET_RESTART, delete_namespace, dropin_dir, new_namespace, remove_dropin,
                            restart_kubelet, unmark, wait_gone)

POOL = "real"
DAEMONSET = "preload-" + POOL  # the preload role's default name for the pool's DaemonSet
VICTIM_REF = "prewarm-it.local/gc-victim:latest"
KEEPER_REF = "prewarm-it.local/gc-keeper:v1"  # held by an init-mode preloader only


# ---------------------------------------------------------------- cluster helpers

def _pool_refs(images):
    """The pool `real`'s images exactly as tests/demo/vars.yml names them: small by tag and digest, noshell, large."""
    return [images["small"]["ref"] + "@" + images["small"]["digest"], images["noshell"]["ref"], images["large"]["ref"]]


def _user_pod(name, node, refs):
    """A user's pod: one container per image, pinned to the node, tolerating nothing (so not the maintenance taint)."""
    containers = [client.V1Container(name="c%d" % i, image=ref, image_pull_policy="IfNotPresent") for i, ref in enumerate(refs)]
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name),
                        spec=client.V1PodSpec(containers=containers, node_selector={"kubernetes.io/hostname": node},
                                              termination_grace_period_seconds=2))


def _all_started(pod):
    statuses = pod.status.container_statuses or []
    return bool(statuses) and len(statuses) == len(pod.spec.containers) and all(s.state.running for s in statuses)


def _start_seconds(pod):
    """Creation -> last container started, from the API's own timestamps (whole seconds)."""
    return (max(s.state.running.started_at for s in pod.status.container_statuses) - pod.metadata.creation_timestamp).total_seconds()


def _run_user_pod(core_v1, watch_until, namespace, node, refs, timeout):
    """Create the pod and watch it until every container runs: (pod, watched seconds, API seconds)."""
    name = "user-" + uuid.uuid4().hex[:6]
    started = time.monotonic()
    core_v1.create_namespaced_pod(namespace, _user_pod(name, node, refs))
    pod = watch_until(core_v1.list_namespaced_pod, _all_started, timeout, namespace=namespace, field_selector="metadata.name=" + name)
    return pod, time.monotonic() - started, _start_seconds(pod)


def _ctr_names(cluster_dir):
    return {line.split()[0] for line in _ctr(cluster_dir, "images", "ls", "-q").splitlines() if line.strip()}


def _print(text):
    print("\n[promise] " + text)


# ---------------------------------------------------------------- promise 2: no user pod on a marked, cold node

def test_user_pod_created_during_the_window_waits_until_the_node_is_warm_and_released(
        kubeconfig, core_v1, cluster_dir, real_node, test_images, watch_until):
    refs = _pool_refs(test_images)
    namespace = new_namespace(core_v1, "prewarm-promise")
    try:
        remove_from_real_node(cluster_dir, [test_images[n] for n in ("small", "noshell", "large")])
        marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [real_node], "reason": "promise test"})
        assert not marked.get("failed"), marked["msg"]

        name = "user-window"
        core_v1.create_namespaced_pod(namespace, _user_pod(name, real_node, refs))
        selector = "metadata.name=" + name
        watch_until(core_v1.list_namespaced_pod, lambda p: any(c.type == "PodScheduled" and c.reason == "Unschedulable"
                                                               for c in p.status.conditions or []),
                    60, namespace=namespace, field_selector=selector)

        # Warm the node with the collection, without releasing it: the user pod must still be unbound once warm.
        made = run_module("preloader", {"kubeconfig": kubeconfig, "name": DAEMONSET, "namespace": namespace, "images": refs,
                                        "agent_image": test_images["agent"]["ref"] + "@" + test_images["agent"]["digest"],
                                        "node_selector": {"pool": POOL}, "scope": "admitted"})
        assert not made.get("failed"), made["msg"]
        warmed = run_module("warmup", {"kubeconfig": kubeconfig, "name": DAEMONSET, "namespace": namespace, "nodes": [real_node],
                                       "release": False, "timeout": 300})
        assert not warmed.get("failed"), warmed["msg"]
        status = run_module("warm_status", {"kubeconfig": kubeconfig, "name": DAEMONSET, "namespace": namespace, "nodes": [real_node]})
        assert status["all_warm"], status
        assert not core_v1.read_namespaced_pod(name, namespace).spec.node_name, "the user pod was bound to a marked node"

        released_at = datetime.now(timezone.utc).replace(microsecond=0)
        released = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [real_node], "state": "absent"})
        assert not released.get("failed"), released["msg"]

        pod = watch_until(core_v1.list_namespaced_pod, _all_started, 120, namespace=namespace, field_selector=selector)
        assert pod.spec.node_name == real_node
        scheduled = [c for c in pod.status.conditions if c.type == "PodScheduled"][0]
        # Bound at the release, not before (the condition turned True only then; timestamps have whole seconds).
        assert scheduled.status == "True" and scheduled.last_transition_time >= released_at
        # And it found its images on the node: the preloader had pulled them.
        events = kubelet_pull_events(core_v1, namespace, name)
        assert not [m for r, m in events if r == "Pulling"], events
    finally:
        unmark(kubeconfig, core_v1, real_node)
        delete_namespace(core_v1, namespace)


# ---------------------------------------------------------------- the os_upgrade window, once per preloader layout, for promises 1 and 4

def _inventory(tmp):
    """tests/demo's inventory, holding only the real node (the kwok pools have nothing to prove here)."""
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {POOL: {
            "vars": {"prewarm_pool": POOL, "prewarm_kubelet_managed": True,
                     "kubelet_image_gc_config_path": "{{ prewarm_demo_cluster_dir }}/kubelet/config.yaml",
                     "kubelet_image_gc_restart_command": [KUBELET_RESTART]},
            "hosts": {"prewarm-real": {}}}}}}
    path = os.path.join(tmp, "inventory.yml")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)  # JSON is YAML
    return path


def _run_os_upgrade(tmp, namespace, dropin_dir, mode):
    extra = {"prewarm_namespace": namespace, "prewarm_preload_mode": mode,
             "node_upgrade_upgrade_tasks": os.path.join(DEMO, "fake_os_upgrade.yml"),
             # Thresholds the kubelet does not run with yet, in a drop-in: the role really restarts the kubelet.
             "kubelet_image_gc_dropin_dir": dropin_dir,
             "kubelet_image_gc_high_threshold": 89, "kubelet_image_gc_low_threshold": 79}
    extra_path = os.path.join(tmp, "extra.json")
    with open(extra_path, "w", encoding="utf-8") as handle:
        json.dump(extra, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.os_upgrade", "-i", _inventory(tmp),
           "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@" + extra_path]
    proc = subprocess.run(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "TMPDIR": tmp}),
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, "os_upgrade failed (exit %d):\n%s\n%s" % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])
    return proc.stdout


# Both preloader layouts keep the promise: image volumes under one pause container, and init containers (the default
# busybox copier). Neither needs an image of ours.
@pytest.fixture(scope="module", params=["volume", "init"])
def window(request, kubeconfig, core_v1, cluster_dir, kubelet_config_path, real_node, test_images, watch_until):
    """A cold start of the user pod (images removed with ctr), then the real os_upgrade window on the real node.

    Yields what the tests need; afterwards the node is unmarked, the preloader's namespace deleted and the kubelet
    given back its original settings (drop-in removed, restarted).
    """
    refs = _pool_refs(test_images)
    tmp = tempfile.mkdtemp(prefix="prewarm-promise")
    users = new_namespace(core_v1, "prewarm-promise")
    preloaders = new_namespace(core_v1, "prewarm-promise")
    unmark(kubeconfig, core_v1, real_node)
    try:
        # Without the collection: the pool's images are not on the node, the kubelet pulls them for the user pod.
        remove_from_real_node(cluster_dir, [test_images[n] for n in ("small", "noshell", "large")])
        cold, cold_watched, cold_api = _run_user_pod(core_v1, watch_until, users, real_node, refs, 300)
        # Kubelet events are posted asynchronously: wait for the last Pulled one.
        watch_until(core_v1.list_namespaced_event, lambda _e: len([r for r, _m in kubelet_pull_events(core_v1, users, cold.metadata.name)
                                                                  if r == "Pulled"]) == len(refs), 60, namespace=users)
        cold_events = kubelet_pull_events(core_v1, users, cold.metadata.name)
        # The drain would evict it (and refuse a pod without controller): the user's pod goes before the window.
        core_v1.delete_namespaced_pod(cold.metadata.name, users, grace_period_seconds=0)
        wait_gone(core_v1.list_namespaced_pod, 120, namespace=users)

        started = time.monotonic()
        output = _run_os_upgrade(tmp, preloaders, dropin_dir(kubelet_config_path), request.param)
        summary = "\n".join(line for line in output.splitlines() if " | pool " in line)
        _print("os_upgrade of %s (preloader mode %s) took %.1fs; its summary:\n%s"
               % (real_node, request.param, time.monotonic() - started, summary))
        yield {"refs": refs, "users": users, "preloaders": preloaders, "cold": (cold, cold_watched, cold_api, cold_events),
               "tmp": tmp, "mode": request.param}
    finally:
        unmark(kubeconfig, core_v1, real_node)
        delete_namespace(core_v1, users)
        delete_namespace(core_v1, preloaders)
        if remove_dropin(kubelet_config_path):
            restart_kubelet(core_v1, watch_until, real_node)
        subprocess.run(["rm", "-rf", tmp], check=True)


def _live_gc_thresholds(core_v1, node):
    """(high, low) image GC thresholds of the running kubelet, from its /configz through the API server's node proxy."""
    response = core_v1.connect_get_node_proxy_with_path(node, "configz", _preload_content=False, _request_timeout=30)
    live = json.loads(response.data)["kubeletconfig"]
    return live["imageGCHighThresholdPercent"], live["imageGCLowThresholdPercent"]


# ---------------------------------------------------------------- promise 1: no pull after the window

def test_after_os_upgrade_user_pod_starts_without_pulling_and_cold_node_pulls(window, core_v1, real_node, watch_until):
    refs = window["refs"]
    cold, cold_watched, cold_api, cold_events = window["cold"]
    # Without the collection the kubelet pulled every image.
    for ref in refs:
        assert ("Pulling", 'Pulling image "%s"' % ref) in cold_events, cold_events
    # The window really restarted the kubelet: it runs with the thresholds the window wrote (89/79, not the harness's 90/80).
    assert _live_gc_thresholds(core_v1, real_node) == (89, 79)

    warm, warm_watched, warm_api = _run_user_pod(core_v1, watch_until, window["users"], real_node, refs, 120)
    name = warm.metadata.name
    watch_until(core_v1.list_namespaced_event, lambda _e: len(kubelet_pull_events(core_v1, window["users"], name)) == len(refs),
                60, namespace=window["users"])
    events = kubelet_pull_events(core_v1, window["users"], name)
    assert not [m for r, m in events if r == "Pulling"], events
    for ref in refs:
        assert any(r == "Pulled" and m.startswith('Container image "%s" already present on machine' % ref) for r, m in events), events
    # Same pod, same node: the images' digests are those the cold start pulled.
    assert sorted(s.image_id for s in warm.status.container_statuses) == sorted(s.image_id for s in cold.status.container_statuses)
    _print("user pod start on %s (creation -> all containers running): cold %.2fs watched / %ds API, after os_upgrade %.2fs watched "
           "/ %ds API; ratio cold/warm %.1f (watched)" % (real_node, cold_watched, cold_api, warm_watched, warm_api,
                                                          cold_watched / warm_watched))
    core_v1.delete_namespaced_pod(name, window["users"], grace_period_seconds=0)
    wait_gone(core_v1.list_namespaced_pod, 120, namespace=window["users"])


# ---------------------------------------------------------------- promise 4: no shell, by digest, digests reported

def test_no_shell_and_by_digest_images_are_present_and_warm_status_reports_their_digests(
        window, kubeconfig, cluster_dir, real_node, test_images):
    for name in ("noshell", "small"):
        assert node_image_refs(cluster_dir, test_images[name]["digest"]), "%s is not on the real node" % name
    status = run_module("warm_status", {"kubeconfig": kubeconfig, "name": DAEMONSET, "namespace": window["preloaders"],
                                        "nodes": [real_node]})
    assert not status.get("failed"), status["msg"]
    assert status["all_warm"] and status["warm"] == [real_node]
    # The layout the window ran: os_upgrade was given the mode, and the DaemonSet is read back in it.
    assert status["mode"] == window["mode"], status
    reported = {i["image"]: (i["state"], i["digest"]) for i in status["nodes"][real_node]["images"]}
    assert reported == {ref: ("present", test_images[n]["digest"]) for ref, n in zip(window["refs"], ("small", "noshell", "large"))}


# ---------------------------------------------------------------- promise 3: preloaded images survive image GC

def _random_image_archive(tmp, ref, size):
    """An OCI image archive of one layer of `size` random bytes, unlike any other image (so its own image ID)."""
    content = os.path.join(tmp, "random.bin")
    with open(content, "wb") as handle:
        for offset in range(0, size, 1 << 20):
            handle.write(os.urandom(min(1 << 20, size - offset)))
    try:
        return write_oci_archive(tmp, ref, {"random.bin": content})
    finally:
        os.unlink(content)


def _node_image_names(node):
    return {n for image in node.status.images or [] for n in image.names or []}


def _pod_ready(pod):
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _preloaders_of_both_layouts(kubeconfig, namespace, node, pool_refs):
    """A volume-mode preloader holding the pool's images and an init-mode one holding KEEPER_REF, both on `node`."""
    common = {"kubeconfig": kubeconfig, "namespace": namespace, "node_selector": {"kubernetes.io/hostname": node},
              "tolerations": [{"operator": "Exists"}]}
    volume = run_module("preloader", dict(common, name="gc-volume", mode="volume", images=pool_refs))
    assert not volume.get("failed"), volume["msg"]
    # The keeper exists only in containerd's store (imported), in no registry: not resolved, pulled only if not present.
    init = run_module("preloader", dict(common, name="gc-init", mode="init", images=[KEEPER_REF], resolve_tags=False,
                                        image_pull_policy="IfNotPresent"))
    assert not init.get("failed"), init["msg"]


def _read_or_none(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _put_back(path, content):
    """Write `content` to path again, or remove path when it did not exist (None)."""
    if content is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)


# Both layouts in one image GC cycle (the kubelet runs image GC every 5 minutes, and it is the test's cost): the images
# referenced only by the volume-mode pod's image volumes and the one referenced only by the init-mode pod's exited
# init container are kept, while an unreferenced image as large as the largest is collected.
def test_images_held_by_either_preloader_layout_survive_image_gc_over_the_high_threshold_and_an_unreferenced_one_does_not(
        kubeconfig, core_v1, cluster_dir, kubelet_config_path, real_node, test_images, watch_until):
    imagefs = os.path.join(cluster_dir, "imagefs")  # containerd's root, the kubelet's image filesystem (a loop ext4)
    filler = os.path.join(imagefs, "prewarm-promise-filler")
    dropin = os.path.join(dropin_dir(kubelet_config_path), DROPIN_NAME)
    dropin_before = _read_or_none(dropin)
    high, low = 90, 80
    size = test_images["large"]["size"]
    pool_refs = _pool_refs(test_images)
    tmp = tempfile.mkdtemp(prefix="prewarm-promise-gc")
    namespace = new_namespace(core_v1, "prewarm-promise-gc")
    digests = {}
    try:
        for ref in (KEEPER_REF, VICTIM_REF):
            archive, digests[ref] = _random_image_archive(tmp, ref, size)
            _ctr(cluster_dir, "images", "import", archive)
            os.unlink(archive)
        _preloaders_of_both_layouts(kubeconfig, namespace, real_node, pool_refs)
        for name in ("gc-volume", "gc-init"):
            pod = watch_until(core_v1.list_namespaced_pod, _pod_ready, 300, namespace=namespace,
                              label_selector="prewarm.k8s/preloader=" + name)
            assert pod.spec.node_name == real_node
            if name == "gc-volume":
                # Nothing of the pool runs: its images are referenced by the pod's image volumes alone.
                assert not pod.spec.init_containers and [v.image.reference for v in pod.spec.volumes if v.image] == pool_refs
            else:
                assert [c.image for c in pod.spec.init_containers if c.name.startswith("pull-")] == [KEEPER_REF]
        # The kubelet sees the victim (it reports it in the node's status), so its disappearance later is the GC's doing.
        watch_until(core_v1.list_node, lambda n: VICTIM_REF in _node_image_names(n), 120, field_selector="metadata.name=" + real_node)

        # Push the filesystem over the high threshold: usage 100 - available/capacity, as the kubelet computes it.
        stat = os.statvfs(imagefs)
        capacity, available = stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize
        target_available = capacity * (100 - high - 2) // 100
        assert available > target_available, "the image filesystem is already over %d%%" % (high + 2)
        with open(filler, "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, available - target_available)
        stat = os.statvfs(imagefs)
        usage = 100 - stat.f_bavail * 100 // stat.f_blocks
        assert usage > high

        # The collection's kubelet_config: the thresholds, and a minimum age of 1ms: a restarted kubelet forgets when it first
        # saw each image, and it turns a minimum age of 0 into its default (2m).
        result = run_module("kubelet_config", {"path": kubelet_config_path, "dropin_dir": dropin_dir(kubelet_config_path),
                                               "image_gc_high_threshold": high, "image_gc_low_threshold": low,
                                               "image_minimum_gc_age": "1ms"})
        assert not result.get("failed"), result["msg"]
        # Image GC runs when the kubelet starts, then every 5 minutes. The first run may find the images too young (seen for
        # the first time by that very run), so the wait covers the second.
        restart_kubelet(core_v1, watch_until, real_node)
        # The new kubelet's list is populated (the large image is in it) and no longer has the victim.
        large = test_images["large"]["ref"]
        watch_until(core_v1.list_node, lambda n: large in _node_image_names(n) and VICTIM_REF not in _node_image_names(n), 360,
                    field_selector="metadata.name=" + real_node)

        assert VICTIM_REF not in _ctr_names(cluster_dir)
        for name in ("small", "noshell", "large"):
            assert node_image_refs(cluster_dir, test_images[name]["digest"]), "image GC removed %s, held by an image volume" % name
        assert node_image_refs(cluster_dir, digests[KEEPER_REF]), "image GC removed %s, held by an init container" % KEEPER_REF
        gc_events = [(e.reason, e.message) for e in core_v1.list_namespaced_event(
            "default", field_selector="involvedObject.name=%s,reason=ImageGCFailed" % real_node).items]
        _print("image GC at %d%% usage (high %d, low %d): unreferenced %s (%d MB) collected; the pool's images (image volumes) "
               "and %s (init container) kept; ImageGCFailed events on the node: %s"
               % (usage, high, low, VICTIM_REF, size // 10 ** 6, KEEPER_REF, gc_events[-1:] or "none"))
    finally:
        if os.path.exists(filler):
            os.unlink(filler)
        delete_namespace(core_v1, namespace)
        # By every name containerd keeps for them (the CRI adds one by image ID), so no copy is left for the next run.
        for digest in digests.values():
            refs = node_image_refs(cluster_dir, digest)
            if refs:
                _ctr(cluster_dir, "images", "rm", "--sync", *refs)
        # The kubelet's settings as they were (the drop-in of a window running in this module included).
        _put_back(dropin, dropin_before)
        restart_kubelet(core_v1, watch_until, real_node)
        subprocess.run(["rm", "-rf", tmp], check=True)
