"""Fixtures for the integration tests, which run against the cluster of tests/cluster/.

Bring it up with `make cluster-up` (as root). Where things are:
- PREWARM_KUBECONFIG: admin kubeconfig (default $PREWARM_CLUSTER_DIR/kubeconfig);
- PREWARM_CLUSTER_DIR: the cluster's state (default /var/lib/prewarm-k8s-cluster), with
  images.json (the test images: name -> {ref, digest, size}) and kubelet/config.yaml, and the private registry's
  credentials (fixtures `private_registry`, `private_pull_secret`); `move_tag` moves a tag in a local registry;
- PREWARM_REAL_NODE, PREWARM_KWOK_POOLS: as given to cluster-up (defaults below);
- PREWARM_TEST_IDENTITY: `admin` (default) or `operator`. With `operator`, the modules and playbooks the tests run
  act as the ServiceAccount of rbac/ (installed for the session under names of its own, with a token from the
  TokenRequest API): the `kubeconfig` fixture and PREWARM_KUBECONFIG (read by tests/demo/vars.yml) name its
  kubeconfig, and each `namespace` gets the preloader RoleBinding. The tests' own setup and checks stay admin
  (`admin_kubeconfig`, `api_client`, `core_v1`, `apps_v1`).
A cluster that is not up fails the tests that need it, with the reason; nothing is skipped.
"""
import json
import os
import subprocess
import uuid

import pytest

from kubernetes import client, config, watch

from rbac_helpers import Identity

CLUSTER_TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cluster")


@pytest.fixture(scope="session")
def cluster_dir():
    return os.environ.get("PREWARM_CLUSTER_DIR", "/var/lib/prewarm-k8s-cluster")


@pytest.fixture(scope="session")
def admin_kubeconfig(cluster_dir):
    path = os.environ.get("PREWARM_KUBECONFIG") or os.path.join(cluster_dir, "kubeconfig")
    if not os.path.isfile(path):
        pytest.fail(f"no kubeconfig at {path}: the test cluster is not up (run `make cluster-up` as root)")
    api = client.VersionApi(config.new_client_from_config(config_file=path))
    try:
        api.get_code(_request_timeout=10)
    except Exception as exc:  # pylint: disable=broad-except
        pytest.fail(f"the API server of {path} does not answer ({exc}); run `make cluster-up`")
    return path


@pytest.fixture(scope="session")
def operator_identity(admin_kubeconfig, tmp_path_factory):
    """With PREWARM_TEST_IDENTITY=operator: the rbac/ identity (rbac_helpers.Identity) for the session, else None."""
    mode = os.environ.get("PREWARM_TEST_IDENTITY", "admin")
    if mode not in ("admin", "operator"):
        pytest.fail(f"PREWARM_TEST_IDENTITY={mode!r}: must be admin or operator")
    if mode == "admin":
        yield None
        return
    identity = Identity(config.new_client_from_config(config_file=admin_kubeconfig), f"prewarm-op-{uuid.uuid4().hex[:8]}").apply()
    # Long enough for the whole suite; the namespace (and with it the ServiceAccount) is deleted at the end.
    identity.kubeconfig = identity.write_kubeconfig(str(tmp_path_factory.mktemp("operator") / "kubeconfig"), identity.token(4 * 3600))
    # Playbooks run by the tests take their kubeconfig from PREWARM_KUBECONFIG (tests/demo/vars.yml).
    saved = os.environ.get("PREWARM_KUBECONFIG")
    os.environ["PREWARM_KUBECONFIG"] = identity.kubeconfig
    yield identity
    if saved is None:
        del os.environ["PREWARM_KUBECONFIG"]
    else:
        os.environ["PREWARM_KUBECONFIG"] = saved
    identity.delete()


@pytest.fixture(scope="session")
def kubeconfig(admin_kubeconfig, operator_identity):
    """The kubeconfig the modules and playbooks under test are given: admin, or the operator's (PREWARM_TEST_IDENTITY)."""
    return operator_identity.kubeconfig if operator_identity else admin_kubeconfig


@pytest.fixture(scope="session")
def api_client(admin_kubeconfig):
    return config.new_client_from_config(config_file=admin_kubeconfig)


@pytest.fixture(scope="session")
def core_v1(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps_v1(api_client):
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def test_images(cluster_dir, kubeconfig):  # pylint: disable=unused-argument
    """name -> {ref, digest, size}: agent, small, noshell, large, private (small in the private registry), and
    missing (not in the registry)."""
    with open(os.path.join(cluster_dir, "images.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def real_node():
    return os.environ.get("PREWARM_REAL_NODE", "prewarm-real")


@pytest.fixture(scope="session")
def kwok_pools():
    """Pool name -> node count, parsed like kwok-nodes.sh parses PREWARM_KWOK_POOLS."""
    spec = os.environ.get("PREWARM_KWOK_POOLS", "cpu=3 gpu=3")
    return {name: int(count) for name, count in (word.split("=", 1) for word in spec.split())}


@pytest.fixture(scope="session")
def kwok_taint_key():
    """Key of the taint every kwok pool's nodes carry (value: the pool name, NoSchedule)."""
    return "prewarm.test/pool"


@pytest.fixture(scope="session")
def kubelet_config_path(cluster_dir):
    """The real kubelet's KubeletConfiguration file; restart the kubelet after editing it."""
    return os.path.join(cluster_dir, "kubelet", "config.yaml")


@pytest.fixture(scope="session")
def kubelet_restart(kubeconfig):  # pylint: disable=unused-argument
    """Restart the real kubelet with its usual flags and wait until it is healthy."""
    def restart():
        subprocess.run([os.path.join(CLUSTER_TOOLS, "kubelet-restart")], check=True, timeout=120)
    return restart


@pytest.fixture
def namespace(core_v1, operator_identity):
    """A fresh namespace for one test, deleted (with what it holds) afterwards; the operator may run preloaders there."""
    name = f"prewarm-it-{uuid.uuid4().hex[:8]}"
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    if operator_identity:
        operator_identity.bind_preloader(name)
    yield name
    core_v1.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="session")
def watch_until():
    """watch_until(list_fn, predicate, timeout, **list_kwargs) -> the first object that matches.

    Watches list_fn (e.g. core_v1.list_namespaced_pod) from the current state on, so an object
    that already matches is returned at once; fails the test after `timeout` seconds.
    """
    def wait(list_fn, predicate, timeout, **kwargs):
        last = None
        w = watch.Watch()
        for event in w.stream(list_fn, timeout_seconds=int(timeout), **kwargs):
            last = event["object"]
            if event["type"] != "DELETED" and predicate(last):
                w.stop()
                return last
        pytest.fail(f"timed out after {timeout}s waiting on {list_fn.__name__} {kwargs}; last object seen: {last}")
    return wait


@pytest.fixture(scope="session")
def private_registry(cluster_dir, test_images):
    """The private registry (htpasswd basic auth over plain HTTP), made by cluster-up: {"addr", "username",
    "password", "image": test_images["private"] (the small image's content under another name), "dockerconfigjson":
    the credentials as an imagePullSecret's .dockerconfigjson}. The files are root-only, in PREWARM_CLUSTER_DIR."""
    with open(os.path.join(cluster_dir, "private-registry.json"), encoding="utf-8") as f:
        info = json.load(f)
    with open(os.path.join(cluster_dir, "private-registry-auth.json"), encoding="utf-8") as f:
        info["dockerconfigjson"] = f.read()
    info["image"] = test_images["private"]
    return info


@pytest.fixture
def private_pull_secret(core_v1, namespace, private_registry):
    """The name of a kubernetes.io/dockerconfigjson Secret in `namespace` that pulls from the private registry."""
    name = "prewarm-private-pull"
    core_v1.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name=name), type="kubernetes.io/dockerconfigjson",
        string_data={".dockerconfigjson": private_registry["dockerconfigjson"]}))
    return name


@pytest.fixture(scope="session")
def move_tag(kubeconfig):  # pylint: disable=unused-argument
    """move_tag(ref, source_ref) -> the digest `ref` names now: tests/cluster/move-tag copies source_ref's image onto
    ref's tag in a local registry. Use a repository or tag of the test's own (images.json's tags are refused)."""
    def move(ref, source_ref):
        done = subprocess.run([os.path.join(CLUSTER_TOOLS, "move-tag"), ref, source_ref], check=True, timeout=120,
                              capture_output=True, text=True)
        return done.stdout.strip()
    return move
