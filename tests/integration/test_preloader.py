"""prewarm.k8s.preloader against the real API server, DaemonSet controller, scheduler, kwok pools and the real kubelet.

Every claim is checked on what the cluster holds afterwards (the DaemonSet, its pods, the kubelet's events), not only
on the module's result. Each test works in its own fresh namespace (fixture `namespace`), which is deleted with its
DaemonSet and pods afterwards; node marks are released in `finally`.
"""
import pytest

from kubernetes import client
from kubernetes.client import ApiException

from preloader_helpers import (
    RESTRICTED,
    by_digest,
    daemonset_or_none,
    failed_create_events,
    kubelet_pull_events,
    preloader_pods,
    really_pulled,
    remove_from_real_node,
)
from run_ansible import run_module

NAME = "preload-it"
MAINTENANCE_LABEL = "prewarm.k8s/maintenance"


@pytest.fixture
def preload(kubeconfig, namespace, test_images):
    """run_module("preloader") with the connection, the test namespace and the agent image filled in."""
    def run(check=False, diff=False, **args):
        base = {"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace, "agent_image": test_images["agent"]["ref"]}
        return run_module("preloader", dict(base, **args), check=check, diff=diff)
    return run


@pytest.fixture
def cpu_pool(core_v1, kwok_taint_key):
    """Node names of the kwok pool `cpu`, and the pool args that put a preloader on it (its taint tolerated)."""
    names = sorted(n.metadata.name for n in core_v1.list_node(label_selector="pool=cpu").items)
    assert names, "the cluster has no kwok pool cpu"
    args = {"pool": "cpu", "node_selector": {"pool": "cpu"},
            "tolerations": [{"key": kwok_taint_key, "value": "cpu", "effect": "NoSchedule"}]}
    return names, args


def _rolled_out(count):
    """A DaemonSet predicate: the controller saw the latest spec and `count` pods are scheduled and ready."""
    def check(ds):
        status = ds.status
        return (status.observed_generation == ds.metadata.generation and status.desired_number_scheduled == count
                and (status.updated_number_scheduled or 0) == count and status.number_ready == count)
    return check


def _wait_rolled_out(apps_v1, watch_until, namespace, count, timeout=120):
    return watch_until(apps_v1.list_namespaced_daemon_set, _rolled_out(count), timeout,
                       namespace=namespace, field_selector="metadata.name=" + NAME)


def _pod_nodes(core_v1, namespace):
    """Node of every live preloader pod (pods being deleted by a rollout left out)."""
    return sorted(p.spec.node_name for p in preloader_pods(core_v1, namespace, NAME) if not p.metadata.deletion_timestamp)


def _our_fields(ds):
    """The module's managedFields entry: its time changes with every write the module makes."""
    return [(f.operation, f.time, f.fields_v1) for f in ds.metadata.managed_fields if f.manager == "prewarm.k8s"]


def _pull_images(ds):
    return [c.image for c in ds.spec.template.spec.init_containers if c.name.startswith("pull-")]


def test_create_noop_update_check_mode_and_delete_on_kwok_pool(apps_v1, core_v1, namespace, preload, cpu_pool, test_images,
                                                               watch_until):
    nodes, pool = cpu_pool
    # All pods replaced at once on update (the default 10% is one node at a time): a faster test, the same proof.
    pool = dict(pool, max_unavailable="100%")
    small, noshell = test_images["small"]["ref"], test_images["noshell"]["ref"]

    # Check mode on a missing DaemonSet: the server's dry run says "created", nothing is stored.
    result = preload(check=True, images=[small], **pool)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and daemonset_or_none(apps_v1, namespace, NAME) is None

    result = preload(images=[small], **pool)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["msg"].endswith("created")
    ds = _wait_rolled_out(apps_v1, watch_until, namespace, len(nodes))
    assert _pull_images(ds) == [small]
    generation, version = ds.metadata.generation, ds.metadata.resource_version

    # Same options again: the live object carries everything the server defaulted, and that is no change.
    result = preload(images=[small], **pool)
    assert not result.get("failed"), result["msg"]
    assert not result["changed"], result.get("diff")
    live = apps_v1.read_namespaced_daemon_set(NAME, namespace)
    assert live.metadata.generation == generation
    assert _our_fields(live) == _our_fields(ds)  # not even a no-op apply was sent

    # Check mode with one image more: reported, not done.
    result = preload(check=True, diff=True, images=[small, noshell], **pool)
    assert not result.get("failed"), result["msg"]
    assert result["changed"]
    assert noshell in result["diff"]["after"]["metadata"]["annotations"]["prewarm.k8s/images"]
    live = apps_v1.read_namespaced_daemon_set(NAME, namespace)
    assert live.metadata.generation == generation and _pull_images(live) == [small]

    # The real change: the DaemonSet is updated and every pool pod is replaced by one that pulls both images.
    result = preload(images=[small, noshell], **pool)
    assert not result.get("failed"), result["msg"]
    assert result["changed"] and result["msg"].endswith("updated")
    ds = _wait_rolled_out(apps_v1, watch_until, namespace, len(nodes))
    assert ds.metadata.generation == generation + 1 and ds.metadata.resource_version != version
    assert _pull_images(ds) == [small, noshell]
    assert _pod_nodes(core_v1, namespace) == nodes

    result = preload(check=True, state="absent")
    assert result["changed"] and daemonset_or_none(apps_v1, namespace, NAME) is not None
    result = preload(state="absent")
    assert not result.get("failed"), result["msg"]
    assert result["changed"]
    # Background propagation: the DaemonSet is gone at once, the garbage collector removes its pods after.
    assert daemonset_or_none(apps_v1, namespace, NAME) is None
    result = preload(state="absent")
    assert not result.get("failed"), result["msg"]
    assert not result["changed"]


def test_pods_land_on_every_node_of_the_pool_and_nowhere_else(core_v1, apps_v1, namespace, preload, cpu_pool, real_node,
                                                              test_images, watch_until):
    nodes, pool = cpu_pool
    result = preload(images=[test_images["small"]["ref"]], **pool)
    assert not result.get("failed"), result["msg"]
    _wait_rolled_out(apps_v1, watch_until, namespace, len(nodes))

    placed = _pod_nodes(core_v1, namespace)
    assert placed == nodes  # one pod on each cpu node: none on the gpu pool, none on the real node
    assert real_node not in placed
    assert not any(n.startswith("kwok-gpu-") for n in placed)


def test_maintenance_scope_runs_pods_only_on_marked_nodes(core_v1, apps_v1, kubeconfig, namespace, preload, cpu_pool,
                                                          test_images, watch_until):
    nodes, pool = cpu_pool
    marked = nodes[-1]
    result = preload(images=[test_images["small"]["ref"]], scope="maintenance", **pool)
    assert not result.get("failed"), result["msg"]
    # No cpu node is marked yet: the DaemonSet has no node to run on.
    _wait_rolled_out(apps_v1, watch_until, namespace, 0)
    try:
        result = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [marked], "reason": "preloader scope test"})
        assert not result.get("failed"), result["msg"]
        _wait_rolled_out(apps_v1, watch_until, namespace, 1)
        assert _pod_nodes(core_v1, namespace) == [marked]
        assert core_v1.read_node(marked).metadata.labels[MAINTENANCE_LABEL] == "true"
    finally:
        result = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [marked], "state": "absent"})
        assert not result.get("failed"), result["msg"]
    # Released: the node no longer matches, and the DaemonSet controller takes its pod away.
    watch_until(apps_v1.list_namespaced_daemon_set, lambda ds: ds.status.desired_number_scheduled == 0, 60,
                namespace=namespace, field_selector="metadata.name=" + NAME)


def test_restricted_pod_security_admits_the_preloader_pods(core_v1, apps_v1, namespace, preload, cpu_pool, test_images,
                                                           watch_until):
    nodes, pool = cpu_pool
    core_v1.patch_namespace(namespace, {"metadata": {"labels": RESTRICTED}})
    # Pod Security admission really enforces here: a pod with no security settings is refused.
    careless = client.V1Pod(metadata=client.V1ObjectMeta(name="careless"), spec=client.V1PodSpec(
        node_selector=pool["node_selector"], containers=[client.V1Container(name="c", image=test_images["agent"]["ref"])]))
    with pytest.raises(ApiException) as refused:
        core_v1.create_namespaced_pod(namespace, careless)
    assert refused.value.status == 403 and "violates PodSecurity" in refused.value.body

    result = preload(images=[test_images["small"]["ref"], test_images["noshell"]["ref"]], **pool)
    assert not result.get("failed"), result["msg"]
    _wait_rolled_out(apps_v1, watch_until, namespace, len(nodes))
    assert _pod_nodes(core_v1, namespace) == nodes
    assert not failed_create_events(core_v1, namespace)


# (bad option values, the text the failure must name)
BAD_INPUTS = [
    ({"images": ["127.0.0.1:5000/Prewarm-Test/UPPER:1"]}, "127.0.0.1:5000/Prewarm-Test/UPPER:1"),
    ({"images": ["127.0.0.1:5000/prewarm-test/small:bad tag"]}, "bad tag"),
    ({"node_selector": {"pool": "cpu", "bad key!": "x"}}, "bad key!"),
    ({"labels": {"team": "not a valid value"}}, "not a valid value"),
]


def test_bad_input_fails_before_any_write(apps_v1, namespace, preload, cpu_pool, test_images):
    _nodes, pool = cpu_pool
    good = dict(pool, images=[test_images["small"]["ref"]])
    assert not preload(**good).get("failed")
    before = apps_v1.read_namespaced_daemon_set(NAME, namespace)

    for bad_args, named in BAD_INPUTS:
        # An update with one bad value fails naming it, and leaves the live DaemonSet as it was.
        result = preload(**dict(good, **bad_args))
        assert result.get("failed") and not result["changed"], (bad_args, result)
        assert named in result["msg"], (bad_args, result["msg"])
        after = apps_v1.read_namespaced_daemon_set(NAME, namespace)
        assert after.metadata.generation == before.metadata.generation, bad_args
        assert _our_fields(after) == _our_fields(before), bad_args

        # A create with the bad value creates nothing.
        result = preload(**dict(good, name="preload-it-bad", **bad_args))
        assert result.get("failed") and named in result["msg"], (bad_args, result)
        assert [ds.metadata.name for ds in apps_v1.list_namespaced_daemon_set(namespace).items] == [NAME], bad_args


def _node_lists(node, digest):
    return any(any(name.endswith("@" + digest) for name in image.names or []) for image in node.status.images or [])


# The three pod layouts: init containers with our agent, init containers with the default busybox copier (nothing to
# build), and one pause container mounting every image as an image volume (containerd 2.x, kubelet 1.35+).
LAYOUTS = {
    "init-agent": {"mode": "init"},
    "init-busybox": {"mode": "init", "agent_image": None},
    "volume": {"mode": "volume", "agent_image": None},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_real_node_pulls_small_noshell_by_digest_and_large_images(core_v1, cluster_dir, namespace, preload, real_node,
                                                                  test_images, watch_until, layout):
    # Restricted too: the real kubelet runs the pods as non-root with read-only root filesystems.
    core_v1.patch_namespace(namespace, {"metadata": {"labels": RESTRICTED}})
    wanted = [test_images["small"], test_images["noshell"], test_images["large"]]
    remove_from_real_node(cluster_dir, wanted)
    refs = [test_images["small"]["ref"], by_digest(test_images["noshell"]), test_images["large"]["ref"]]
    # Tolerate every taint: the real node may carry marks of tests running alongside, and this is about pulling.
    result = preload(images=refs, node_selector={"kubernetes.io/hostname": real_node}, tolerations=[{"operator": "Exists"}],
                     **LAYOUTS[layout])
    assert not result.get("failed"), result["msg"]
    assert result["mode"] == LAYOUTS[layout]["mode"], result

    pod = watch_until(core_v1.list_namespaced_pod, lambda p: any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []),
                      300, namespace=namespace, label_selector="prewarm.k8s/preloader=" + NAME)
    assert pod.spec.node_name == real_node
    if layout == "volume":
        # Nothing ran from the pool's images: the pod has no init container, and its one container is the pause image.
        assert not pod.spec.init_containers
        assert [c.image for c in pod.spec.containers] == [test_images["pause"]["ref"]]
        assert [v.image.reference for v in pod.spec.volumes if v.image] == refs
    else:
        statuses = {s.name: s for s in pod.status.init_container_statuses}
        for index, image in enumerate(wanted):
            pulled = statuses["pull-%d" % index]
            # The pull container ran the binary copied into the image's container and exited 0: no shell needed
            # (noshell has none).
            assert pulled.state.terminated.exit_code == 0, pulled
            assert pulled.image_id.endswith("@" + image["digest"]), pulled.image_id
    assert not failed_create_events(core_v1, namespace)

    # The kubelet's own word that it fetched each image from the registry, and its image list, by digest.
    watch_until(core_v1.list_namespaced_event,
                lambda _e: all(really_pulled(kubelet_pull_events(core_v1, namespace, pod.metadata.name), ref) for ref in refs),
                60, namespace=namespace)
    watch_until(core_v1.list_node, lambda n: all(_node_lists(n, image["digest"]) for image in wanted), 120,
                field_selector="metadata.name=" + real_node)
