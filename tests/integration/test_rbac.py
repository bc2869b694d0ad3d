"""The least-privilege identity of rbac/, used for real: every module and the os_upgrade playbook, and what it may not do.

The shipped manifests are applied as they are (into a fresh namespace standing for prewarm-system, cluster-wide names
suffixed, see rbac_helpers), a token is minted with the TokenRequest API and written into a kubeconfig, and everything
below runs with that kubeconfig only. The API server runs with --authorization-mode=Node,RBAC, so a missing rule is a
403. Checks read the cluster back with the admin client. The kwok pool `rbac` is this module's own (made with
tests/cluster/kwok-nodes.sh, removed afterwards); the preloader namespace is the identity's own, which enforces the
restricted Pod Security Standard as rbac/00-namespace.yaml ships it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest
from kubernetes import client, config

from rbac_helpers import Identity
from run_ansible import ansible_env, run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KWOK_NODES = os.path.join(REPO, "tests", "cluster", "kwok-nodes.sh")
DEMO = os.path.join(REPO, "tests", "demo")
POOL = "rbac"
NODES = ["kwok-rbac-0", "kwok-rbac-1", "kwok-rbac-2"]
POOL_TAINT = {"key": "prewarm.test/pool", "operator": "Equal", "value": POOL, "effect": "NoSchedule"}
DAEMONSET = "preload-" + POOL
MAINTENANCE_KEY = "prewarm.k8s/maintenance"
DONE_LABEL = "rbac.prewarm.test/os-upgrade"


def _resize_pool(count):
    subprocess.run([KWOK_NODES], env=dict(os.environ, PREWARM_KWOK_POOLS="%s=%d" % (POOL, count)), check=True,
                   capture_output=True, timeout=120)


def _ready(node):
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


@pytest.fixture(scope="module")
def pool(core_v1, watch_until):
    """This module's kwok pool `rbac` (3 nodes, Ready), deleted afterwards."""
    _resize_pool(len(NODES))
    try:
        for name in NODES:
            watch_until(core_v1.list_node, _ready, 60, field_selector="metadata.name=" + name)
        yield NODES
    finally:
        _resize_pool(0)


@pytest.fixture(scope="module")
def operator(api_client):
    """rbac/ installed as a fresh namespace, and a kubeconfig holding only a token of its ServiceAccount."""
    identity = Identity(api_client, "prewarm-rbac-" + uuid.uuid4().hex[:6]).apply()
    tmp = tempfile.mkdtemp(prefix="prewarm-rbac-")
    try:
        identity.kubeconfig = identity.write_kubeconfig(os.path.join(tmp, "kubeconfig"), identity.token(3600))
        identity.tmp = tmp
        yield identity
    finally:
        identity.delete()
        shutil.rmtree(tmp)


@pytest.fixture(scope="module")
def operator_core(operator):
    return client.CoreV1Api(config.new_client_from_config(config_file=operator.kubeconfig))


def _forbidden(result, *named):
    """The module failed on a 403, said so, changed nothing, and its message names each of `named`."""
    assert result.get("failed"), result
    assert not result.get("changed"), result
    msg = result["msg"]
    assert "forbidden" in msg.lower(), msg
    for text in named:
        assert text in msg, (text, msg)


def _marks(core_v1, names):
    """Per node: (our taint there, our label, our annotation)."""
    out = {}
    for name in names:
        node = core_v1.read_node(name)
        out[name] = (any(t.key == MAINTENANCE_KEY for t in node.spec.taints or []), MAINTENANCE_KEY in (node.metadata.labels or {}),
                     MAINTENANCE_KEY in (node.metadata.annotations or {}))
    return out


def test_the_token_is_the_service_account_and_not_more(operator, operator_core):
    # Who the API server thinks we are, from the token alone.
    review = client.AuthenticationV1Api(operator_core.api_client).create_self_subject_review(client.V1SelfSubjectReview())
    assert review.status.user_info.username == operator.user
    # Rights it must not have: reading secrets anywhere, creating pods, deleting nodes.
    authz = client.AuthorizationV1Api(operator_core.api_client)
    for attributes in ({"verb": "list", "resource": "secrets"}, {"verb": "get", "resource": "secrets", "namespace": operator.namespace},
                       {"verb": "create", "resource": "pods", "namespace": operator.namespace}, {"verb": "delete", "resource": "nodes"},
                       {"verb": "update", "resource": "nodes"}, {"verb": "delete", "resource": "pods", "namespace": "default"},
                       {"verb": "create", "resource": "daemonsets", "group": "apps", "namespace": "default"}):
        review = authz.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(**attributes))))
        assert not review.status.allowed, attributes


def test_node_maintenance_marks_and_releases_the_pool_as_operator(operator, core_v1, pool):
    args = {"kubeconfig": operator.kubeconfig, "label_selector": "pool=" + POOL}
    try:
        marked = run_module("node_maintenance", dict(args, reason="rbac test", cordon=True))
        assert not marked.get("failed"), marked["msg"]
        assert marked["changed"]
        assert _marks(core_v1, pool) == dict((name, (True, True, True)) for name in pool)
        assert all(core_v1.read_node(name).spec.unschedulable for name in pool)
    finally:
        released = run_module("node_maintenance", dict(args, state="absent"))
    assert not released.get("failed"), released["msg"]
    assert _marks(core_v1, pool) == dict((name, (False, False, False)) for name in pool)
    assert not any(core_v1.read_node(name).spec.unschedulable for name in pool)


def test_preloader_warmup_and_warm_status_as_operator(operator, core_v1, apps_v1, pool, test_images):
    ns, images = operator.namespace, [test_images["small"]["ref"], test_images["noshell"]["ref"]]
    base = {"kubeconfig": operator.kubeconfig, "name": DAEMONSET, "namespace": ns}
    try:
        marked = run_module("node_maintenance", {"kubeconfig": operator.kubeconfig, "nodes": pool, "reason": "rbac test"})
        assert not marked.get("failed"), marked["msg"]
        created = run_module("preloader", dict(base, pool=POOL, scope="admitted", node_selector={"pool": POOL}, tolerations=[POOL_TAINT],
                                               images=images, agent_image=test_images["agent"]["ref"]))
        assert not created.get("failed"), created["msg"]
        assert created["changed"] and apps_v1.read_namespaced_daemon_set(DAEMONSET, ns).metadata.uid
        # The image filesystem check is on: kwok nodes have no kubelet behind the node proxy, so the read fails there
        # with the proxy's error, which is a warning, and not with a 403 (nodes/proxy get is granted).
        warmed = run_module("warmup", dict(base, nodes=pool, max_pulling=2, timeout=120, image_fs_check=True))
        assert not warmed.get("failed"), warmed["msg"]
        assert sorted(warmed["released"]) == sorted(pool) and warmed["max_pulling_seen"] <= 2
        warnings = " ".join(warmed.get("warnings", []))
        assert "stats summary" in warnings and "forbidden" not in warnings.lower(), warnings
        assert _marks(core_v1, pool) == dict((name, (False, False, False)) for name in pool)
        status = run_module("warm_status", dict(base, nodes=pool, wait=True, timeout=60))
        assert not status.get("failed"), status["msg"]
        assert sorted(status["warm"]) == sorted(pool), status["msg"]
        # Check mode's dry-run apply and an update both pass too.
        updated = run_module("preloader", dict(base, pool=POOL, scope="admitted", node_selector={"pool": POOL}, tolerations=[POOL_TAINT],
                                               images=images[:1], agent_image=test_images["agent"]["ref"]), check=True)
        assert not updated.get("failed") and updated["changed"], updated["msg"]
        deleted = run_module("preloader", dict(base, state="absent"))
        assert not deleted.get("failed") and deleted["changed"], deleted["msg"]
    finally:
        run_module("node_maintenance", {"kubeconfig": operator.kubeconfig, "nodes": pool, "state": "absent"})
        _drop_labels(core_v1, pool, lambda key: key.startswith("preload.prewarm.k8s/"))


def test_operator_reads_the_kubelet_stats_summary_through_the_node_proxy(operator_core, real_node):
    # What warmup's image filesystem check reads, on the one node with a real kubelet (a read, nothing changes).
    response = operator_core.connect_get_node_proxy_with_path(real_node, "stats/summary", _preload_content=False, _request_timeout=30)
    assert "imageFs" in json.loads(response.data)["node"]["runtime"]
    # And the thresholds the kubelet runs with, which the check compares against.
    response = operator_core.connect_get_node_proxy_with_path(real_node, "configz", _preload_content=False, _request_timeout=30)
    assert "imageGCHighThresholdPercent" in json.loads(response.data)["kubeletconfig"]


def _drop_labels(core_v1, names, wanted):
    for name in names:
        labels = core_v1.read_node(name).metadata.labels or {}
        ours = dict((key, None) for key in labels if wanted(key))
        if ours:
            core_v1.patch_node(name, {"metadata": {"labels": ours}})


def _user_workload(apps_v1, namespace):
    """A ReplicaSet of 3 pods on the pool (tolerating its taint, not ours): what the drain must evict."""
    labels = {"app": "rbac-user"}
    body = client.V1ReplicaSet(metadata=client.V1ObjectMeta(name="user"), spec=client.V1ReplicaSetSpec(
        replicas=3, selector=client.V1LabelSelector(match_labels=labels), template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels=labels),
            spec=client.V1PodSpec(node_selector={"pool": POOL}, tolerations=[client.V1Toleration(**POOL_TAINT)],
                                  containers=[client.V1Container(name="c", image="127.0.0.1:5000/prewarm-test/none:1")]))))
    apps_v1.create_namespaced_replica_set(namespace, body)


def test_os_upgrade_playbook_runs_as_operator(operator, core_v1, apps_v1, pool, test_images, watch_until):
    users = "prewarm-rbac-users-" + uuid.uuid4().hex[:6]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=users)))
    tmp = os.path.join(operator.tmp, "os_upgrade")
    os.makedirs(tmp)
    try:
        _user_workload(apps_v1, users)
        watch_until(apps_v1.list_namespaced_replica_set, lambda rs: (rs.status.ready_replicas or 0) == 3, 60, namespace=users)
        on_pool = [p for p in core_v1.list_namespaced_pod(users).items if p.spec.node_name in pool]
        assert on_pool, "the user pods are not on the pool"
        inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                             "children": {POOL: {"vars": {"prewarm_pool": POOL, "prewarm_kubelet_managed": False},
                                                 "hosts": dict((name, {}) for name in pool)}}}}
        extra = {"prewarm_kubeconfig": operator.kubeconfig, "prewarm_namespace": operator.namespace,
                 "prewarm_pools": {POOL: {"node_selector": {"pool": POOL}, "tolerations": [POOL_TAINT],
                                          "images": [test_images["small"]["ref"], test_images["noshell"]["ref"]]}},
                 "node_upgrade_upgrade_tasks": os.path.join(DEMO, "fake_os_upgrade.yml"),
                 "node_upgrade_done_label": {"key": DONE_LABEL, "value": "done"},
                 "os_upgrade_batch_size": 2, "node_upgrade_drain_timeout": 60}
        paths = [os.path.join(tmp, "inventory.json"), os.path.join(tmp, "extra.json")]
        for path, data in zip(paths, (inventory, extra)):
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.os_upgrade", "-i", paths[0],
               "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@" + paths[1]]
        proc = subprocess.run(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1", "TMPDIR": tmp}),
                              capture_output=True, text=True, timeout=600, check=False)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
        assert "forbidden" not in output.lower(), output[-6000:]
        for name in pool:
            node = core_v1.read_node(name)
            assert node.metadata.labels.get(DONE_LABEL) == "done"
            assert not node.spec.unschedulable
        assert _marks(core_v1, pool) == dict((name, (False, False, False)) for name in pool)
        # The drain evicted the user pods that were on the pool (their ReplicaSet made new ones).
        left = set(p.metadata.name for p in core_v1.list_namespaced_pod(users).items)
        assert not left & set(p.metadata.name for p in on_pool)
        summary = [line for line in output.splitlines() if " | pool " + POOL in line]
        assert len(summary) == len(pool) and all("released" in line for line in summary), "\n".join(summary)
    finally:
        core_v1.delete_namespace(users, propagation_policy="Background")
        run_module("node_maintenance", {"kubeconfig": operator.kubeconfig, "nodes": pool, "state": "absent"})
        _drop_labels(core_v1, pool, lambda key: key.startswith("preload.prewarm.k8s/") or key == DONE_LABEL)
        for name in pool:
            if core_v1.read_node(name).spec.unschedulable:
                core_v1.patch_node(name, {"spec": {"unschedulable": None}})
        apps = client.AppsV1Api(core_v1.api_client)
        if any(ds.metadata.name == DAEMONSET for ds in apps.list_namespaced_daemon_set(operator.namespace).items):
            apps.delete_namespaced_daemon_set(DAEMONSET, operator.namespace)


def test_preloader_in_a_namespace_without_the_binding_is_forbidden_and_creates_nothing(operator, core_v1, apps_v1, test_images):
    unbound = "prewarm-rbac-unbound-" + uuid.uuid4().hex[:6]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=unbound)))
    try:
        base = {"kubeconfig": operator.kubeconfig, "name": DAEMONSET, "namespace": unbound}
        result = run_module("preloader", dict(base, pool=POOL, node_selector={"pool": POOL}, images=[test_images["small"]["ref"]],
                                              agent_image=test_images["agent"]["ref"]))
        _forbidden(result, "daemonsets", unbound, operator.user)
        assert not apps_v1.list_namespaced_daemon_set(unbound).items
        # warm_status there: the DaemonSet read is refused the same way.
        _forbidden(run_module("warm_status", dict(base, nodes=NODES[:1])), "daemonsets", unbound)
    finally:
        core_v1.delete_namespace(unbound, propagation_policy="Background")


def test_deleting_a_node_is_forbidden_and_the_node_stays(operator, core_v1, pool):
    result = run_module("kubernetes.core.k8s", {"kubeconfig": operator.kubeconfig, "api_version": "v1", "kind": "Node",
                                                "name": pool[0], "state": "absent"})
    _forbidden(result, "nodes", pool[0])
    assert core_v1.read_node(pool[0]).metadata.deletion_timestamp is None


def test_secrets_are_not_readable(operator, core_v1):
    secret = client.V1Secret(metadata=client.V1ObjectMeta(name="rbac-probe"), string_data={"password": "not for the operator"})
    core_v1.create_namespaced_secret(operator.namespace, secret)
    result = run_module("kubernetes.core.k8s_info", {"kubeconfig": operator.kubeconfig, "api_version": "v1", "kind": "Secret",
                                                     "namespace": operator.namespace, "name": "rbac-probe"})
    _forbidden(result, "secrets")
    assert "not for the operator" not in json.dumps(result)


def test_optional_kubeadm_role_reads_only_the_kubelet_config_map(api_client, operator):
    # Without rbac/optional/kubeadm-configmap-role*.yaml: refused.
    args = {"kubeconfig": operator.kubeconfig, "api_version": "v1", "kind": "ConfigMap", "namespace": "kube-system", "name": "kubelet-config"}
    _forbidden(run_module("kubernetes.core.k8s_info", args), "configmaps", "kube-system")
    # With it: that one ConfigMap may be read (this cluster is not kubeadm's, so there is none), no other.
    extended = Identity(api_client, "prewarm-rbac-opt-" + uuid.uuid4().hex[:6], optional=True).apply()
    try:
        path = extended.write_kubeconfig(os.path.join(operator.tmp, "optional-kubeconfig"), extended.token(600))
        read = run_module("kubernetes.core.k8s_info", dict(args, kubeconfig=path))
        assert not read.get("failed") and read["resources"] == [], read
        other = run_module("kubernetes.core.k8s_info", dict(args, kubeconfig=path, name="extension-apiserver-authentication"))
        _forbidden(other, "configmaps", "kube-system")
    finally:
        extended.delete()
