"""Warm means the node holds, now, the content the pool names now: proven on the real node (real kubelet, containerd, registry).

1. A tag moved in the registry to other content: warm_status reports the node stale (the old digest held, the new one
   wanted); the preloader records the new digest, the node pulls it, and user pods naming the tag or the digest both
   start with "already present on machine" and no pull.
2. An image removed from containerd under a Ready preloader pod: reported gone once the kubelet's image list drops it;
   warmup does not release the node while it is gone, and with repull pulls it back and releases it.
3. A private image (the registry with htpasswd): resolved with the credentials of a dockerconfigjson pull secret and
   pulled by the kubelet with them; wrong credentials, a secret of another type, a missing tag, an unreachable registry
   and a digest the tag does not name fail before any write, naming the reference and the cause.

Each test uses a repository of its own in the local registry (tests/cluster/move-tag), so moving and removing never
touches an image other tests use. docs/drift.md explains the states.
"""
import base64
import json
import os
import subprocess
import sys
import uuid

import pytest
from kubernetes import client

from kwok_pool import forget_image, kwok_pool
from preloader_helpers import _ctr, daemonset_or_none, kubelet_pull_events, node_image_refs, preloader_pods
from run_ansible import ansible_env, run_module

NAME = "preload-drift"
REGISTRY = "127.0.0.1:5000"
# kwok's nodes list what their pods pulled within a second (tests/cluster/kwok-images.py): the lag allowed there.
KWOK_LIST_LAG = 2


@pytest.fixture
def own_repo(cluster_dir):
    """A repository of this test's own in the local registry; its images are taken off the real node afterwards."""
    repo = "%s/prewarm-test/drift-%s" % (REGISTRY, uuid.uuid4().hex[:8])
    yield repo
    refs = [line.split()[0] for line in _ctr(cluster_dir, "images", "ls", "-q").splitlines() if line.startswith(repo)]
    if refs:
        _ctr(cluster_dir, "images", "rm", *refs)


def _on_real_node(real_node, **extra):
    return dict({"node_selector": {"kubernetes.io/hostname": real_node}, "tolerations": [{"operator": "Exists"}]}, **extra)


@pytest.fixture
def preload(kubeconfig, namespace, test_images, real_node):
    def run(images, expect_failure=False, **args):
        result = run_module("preloader", dict({"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace, "images": images,
                                               "agent_image": test_images["agent"]["ref"]}, **_on_real_node(real_node, **args)))
        assert bool(result.get("failed")) == expect_failure, result["msg"]
        return result
    return run


@pytest.fixture
def warm_status(kubeconfig, namespace, real_node):
    def run(**args):
        result = run_module("warm_status", dict({"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace,
                                                 "nodes": [real_node]}, **args))
        assert not result.get("failed"), result["msg"]
        return result["nodes"][real_node], result
    return run


def _listed(node, name):
    return any(name in (entry.names or []) for entry in node.status.images or [])


def _user_pod(core_v1, namespace, node, ref):
    name = "user-" + uuid.uuid4().hex[:6]
    core_v1.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image=ref, image_pull_policy="IfNotPresent")],
                              node_selector={"kubernetes.io/hostname": node}, termination_grace_period_seconds=1)))
    return name


def _running(pod):
    return bool(pod.status.container_statuses) and all(s.state.running or s.state.terminated for s in pod.status.container_statuses)


def test_a_moved_tag_is_stale_then_pulled_again_and_found_by_tag_and_by_digest(
        core_v1, cluster_dir, namespace, preload, warm_status, real_node, test_images, own_repo, move_tag, watch_until):
    ref = own_repo + ":4.2"
    old = move_tag(ref, test_images["small"]["ref"])
    created = preload([ref])
    assert created["digests"] == {ref: old}
    node, _result = warm_status(wait=True, timeout=240)
    assert node["state"] == "warm" and node["images"][0]["digest"] == old

    new = move_tag(ref, test_images["noshell"]["ref"])
    assert new != old
    # The DaemonSet still records the old digest; the registry names the new one now.
    node, result = warm_status()
    assert result["digests"] == {ref: new}
    assert node["state"] == "stale" and not node["warm"], node
    image = node["images"][0]
    assert (image["state"], image["digest"], image["wanted"], image["reason"]) == ("stale", old, new, "TagMoved"), image
    assert result["states"]["stale"] == 1

    # Warm the pool again (what the prewarm playbook does): the template records the new digest, the pod is replaced.
    updated = preload([ref])
    assert updated["changed"] and updated["digests"] == {ref: new}
    node, _result = warm_status(wait=True, timeout=240)
    assert node["state"] == "warm" and node["images"][0]["digest"] == new, node
    # containerd holds the new content under the tag and under the digest.
    names = node_image_refs(cluster_dir, new)
    assert ref in names and "%s@%s" % (own_repo, new) in names, names

    for user_ref in (ref, "%s@%s" % (own_repo, new)):
        pod = _user_pod(core_v1, namespace, real_node, user_ref)
        watch_until(core_v1.list_namespaced_pod, _running, 120, namespace=namespace, field_selector="metadata.name=" + pod)
        events = watch_until(core_v1.list_namespaced_event, lambda _e, pod=pod: any(r == "Pulled" for r, _m in kubelet_pull_events(
            core_v1, namespace, pod)), 60, namespace=namespace) and kubelet_pull_events(core_v1, namespace, pod)
        # 1.37's kubelet adds "and can be accessed by the pod" (it checks the pod may use the image).
        assert any(r == "Pulled" and m.startswith('Container image "%s" already present on machine' % user_ref)
                   for r, m in events), events
        assert not any(reason == "Pulling" for reason, _message in events), events
        status = core_v1.read_namespaced_pod(pod, namespace).status.container_statuses[0]
        assert status.image_id.endswith("@" + new), status.image_id


def test_a_removed_image_is_gone_blocks_the_release_and_is_pulled_back(core_v1, cluster_dir, kubeconfig, namespace, preload,
                                                                       warm_status, real_node, test_images, own_repo, move_tag,
                                                                       watch_until):
    ref = own_repo + ":1"
    digest = move_tag(ref, test_images["small"]["ref"])
    preload([ref])
    node, _result = warm_status(wait=True, timeout=240)
    assert node["state"] == "warm"
    pod = node["pod"]
    # The kubelet lists the pulled image within about a minute; from then on its list alone decides.
    watch_until(core_v1.list_node, lambda n: _listed(n, ref), 180, field_selector="metadata.name=" + real_node)

    marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [real_node], "reason": "drift test",
                                             "by": "drift-test"})
    assert not marked.get("failed"), marked["msg"]
    try:
        removed = [name for name in node_image_refs(cluster_dir, digest) if name.startswith(own_repo)]
        assert removed
        _ctr(cluster_dir, "images", "rm", *removed)
        # The kubelet's image list follows within about a minute: watched, not slept.
        watch_until(core_v1.list_node, lambda n: not _listed(n, ref), 180, field_selector="metadata.name=" + real_node)

        node, result = warm_status()
        assert node["state"] == "gone" and node["pod"] == pod, node
        assert (node["images"][0]["state"], node["images"][0]["reason"]) == ("gone", "NotListed")
        assert result["states"]["gone"] == 1

        args = {"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace, "nodes": [real_node], "image_fs_check": False}
        held = run_module("warmup", dict(args, repull=False, timeout=15))
        assert held.get("failed") and held["released"] == [] and held["repulled"] == []
        assert held["nodes"][real_node]["state"] == "gone", held["nodes"][real_node]
        assert core_v1.read_node(real_node).metadata.labels.get("prewarm.k8s/maintenance") == "true"

        warmed = run_module("warmup", dict(args, timeout=240))
        assert not warmed.get("failed"), warmed["msg"]
        assert warmed["repulled"] == [real_node] and warmed["released"] == [real_node]
        assert warmed["nodes"][real_node]["state"] == "warm"
        assert [p.metadata.name for p in preloader_pods(core_v1, namespace, NAME) if not p.metadata.deletion_timestamp] != [pod]
        assert ref in node_image_refs(cluster_dir, digest)
    finally:
        run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": [real_node], "state": "absent", "by": "drift-test"})


def _pull_secret(core_v1, namespace, name, auths=None, secret_type="kubernetes.io/dockerconfigjson", key=".dockerconfigjson"):
    text = json.dumps({"auths": auths})
    core_v1.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name=name), type=secret_type, data={key: base64.b64encode(text.encode()).decode()}))
    return name


def test_a_private_image_is_resolved_and_pulled_with_the_pull_secret(preload, warm_status, private_registry, private_pull_secret):
    private = private_registry["image"]
    result = preload([private["ref"]], image_pull_secrets=[private_pull_secret])
    assert result["digests"] == {private["ref"]: private["digest"]}
    node, status = warm_status(wait=True, timeout=240)
    assert node["state"] == "warm" and node["images"][0]["digest"] == private["digest"]
    # Nothing of the secret comes back in a result.
    assert private_registry["password"] not in json.dumps(result) + json.dumps(status)


@pytest.mark.parametrize("case", ["wrong credentials", "no credentials", "not dockerconfigjson", "missing tag", "unreachable",
                                  "disagreeing digest"])
def test_a_reference_that_cannot_be_resolved_fails_before_any_write(case, core_v1, apps_v1, namespace, preload, test_images):
    private, small = test_images["private"], test_images["small"]
    addr = private["ref"].split("/", 1)[0]
    images, args, expected = [private["ref"]], {}, []
    if case == "wrong credentials":
        wrong = base64.b64encode(b"prewarm:not-the-password").decode()
        args["image_pull_secrets"] = [_pull_secret(core_v1, namespace, "wrong", {addr: {"auth": wrong}})]
        expected = [private["ref"], "credentials", "rejected"]
    elif case == "no credentials":
        expected = [private["ref"], "401"]
    elif case == "not dockerconfigjson":
        args["image_pull_secrets"] = [_pull_secret(core_v1, namespace, "opaque", {}, secret_type="Opaque", key="token")]
        expected = ["opaque", "Opaque", "kubernetes.io/dockerconfigjson"]
    elif case == "missing tag":
        images = [test_images["missing"]["ref"]]
        expected = [test_images["missing"]["ref"], "MANIFEST_UNKNOWN"]
    elif case == "unreachable":
        images = ["127.0.0.1:9/prewarm-test/nowhere:1"]
        args["registries"] = {"127.0.0.1:9": {"plain_http": True}}
        expected = [images[0], "127.0.0.1:9"]
    else:
        images = ["%s@%s" % (small["ref"], test_images["noshell"]["digest"])]
        expected = [images[0], small["digest"], test_images["noshell"]["digest"]]
    result = preload(images, expect_failure=True, **args)
    for text in expected:
        assert text.lower() in result["msg"].lower(), (text, result["msg"])
    assert daemonset_or_none(apps_v1, namespace, NAME) is None


def test_on_a_kwok_pool_a_moved_tag_rolls_out_and_a_forgotten_image_is_pulled_again(
        core_v1, kubeconfig, namespace, test_images, move_tag, kwok_taint_key, watch_until):
    """The same logic on simulated nodes (tests/cluster/kwok-images.py reports what their pods pulled, docs/testing.md).

    A pool of the test's own: the shared pools' image lists carry what earlier tests pulled.
    """
    pool = "driftk%s" % uuid.uuid4().hex[:4]
    with kwok_pool(pool, 3, core_v1, watch_until) as nodes:
        _kwok_moved_tag_and_forgotten_image(core_v1, kubeconfig, namespace, test_images, move_tag, kwok_taint_key, pool, nodes)


def _kwok_moved_tag_and_forgotten_image(core_v1, kubeconfig, namespace, test_images, move_tag, kwok_taint_key, pool, nodes):
    repo = "%s/prewarm-test/drift-%s" % (REGISTRY, uuid.uuid4().hex[:8])
    ref = repo + ":7"
    old = move_tag(ref, test_images["small"]["ref"])
    base = {"kubeconfig": kubeconfig, "name": NAME, "namespace": namespace}
    preloader = dict(base, images=[ref], agent_image=test_images["agent"]["ref"], pool=pool, node_selector={"pool": pool},
                     tolerations=[{"key": kwok_taint_key, "operator": "Exists"}], max_unavailable="100%")
    assert not run_module("preloader", preloader).get("failed")
    warm = run_module("warm_status", dict(base, wait=True, timeout=180, record_state=True, image_list_lag=KWOK_LIST_LAG))
    assert not warm.get("failed"), warm["msg"]
    assert warm["states"]["warm"] == len(nodes) and warm["recorded"] == nodes
    assert all(core_v1.read_node(n).metadata.labels.get("warmth.prewarm.k8s/" + NAME) == "warm" for n in nodes)

    assert forget_image(core_v1, nodes[0], "%s@%s" % (repo, old))
    new = move_tag(ref, test_images["noshell"]["ref"])
    drift = run_module("warm_status", dict(base, record_state=True, image_list_lag=KWOK_LIST_LAG))
    assert not drift.get("failed"), drift["msg"]
    assert drift["nodes"][nodes[0]]["state"] == "gone" and all(drift["nodes"][n]["state"] == "stale" for n in nodes[1:]), drift["nodes"]
    assert drift["digests"] == {ref: new} and sorted(drift["recorded"]) == nodes
    assert core_v1.read_node(nodes[0]).metadata.labels.get("warmth.prewarm.k8s/" + NAME) == "gone"

    # Warm the pool again: the new digest rolls out through the DaemonSet's rolling update.
    assert run_module("preloader", preloader)["digests"] == {ref: new}
    again = run_module("warm_status", dict(base, wait=True, timeout=180, record_state=True, image_list_lag=KWOK_LIST_LAG))
    assert not again.get("failed"), again["msg"]
    assert all(again["nodes"][n]["state"] == "warm" and again["nodes"][n]["images"][0]["digest"] == new for n in nodes)


def _playbook(name, extra, tmp_path):
    (tmp_path / "extra.json").write_text(json.dumps(dict(extra, ansible_connection="local", ansible_python_interpreter=sys.executable)))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s." + name, "-i", "localhost,",
           "-e", "@%s" % (tmp_path / "extra.json")]
    return subprocess.run(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"}), capture_output=True, text=True,
                          timeout=900, check=False)


def test_reconcile_warms_the_drifted_nodes_again_labels_them_and_writes_a_report(
        core_v1, kubeconfig, namespace, test_images, move_tag, kwok_taint_key, watch_until, tmp_path):
    pool = "drift%s" % uuid.uuid4().hex[:4]
    with kwok_pool(pool, 3, core_v1, watch_until) as nodes:
        repo = "%s/prewarm-test/drift-%s" % (REGISTRY, uuid.uuid4().hex[:8])
        ref = repo + ":2"
        old = move_tag(ref, test_images["small"]["ref"])
        extra = {"prewarm_kubeconfig": kubeconfig, "prewarm_namespace": namespace, "prewarm_agent_image": test_images["agent"]["ref"],
                 "prewarm_pools": {pool: {"node_selector": {"pool": pool}, "images": [ref],
                                          "tolerations": [{"key": kwok_taint_key, "operator": "Exists"}]}},
                 "warm_pool": pool, "preload_image_fs_check": False,
                 # The stand-in lists a pulled image within a second (a real kubelet: up to a minute).
                 "preload_image_list_lag": KWOK_LIST_LAG}
        warmed = _playbook("prewarm", extra, tmp_path)
        assert warmed.returncode == 0, warmed.stdout[-3000:]
        daemonset = "preload-" + pool
        assert forget_image(core_v1, nodes[0], "%s@%s" % (repo, old))
        new = move_tag(ref, test_images["noshell"]["ref"])

        report = tmp_path / "report.json"
        reconciled = _playbook("reconcile", dict(extra, reconcile_report_path=str(report)), tmp_path)
        assert reconciled.returncode == 0, reconciled.stdout[-3000:]
        written = json.loads(report.read_text())
        checked = written["pools"][pool]
        # What the run found before it acted: one node gone, the others holding the old content under the tag.
        assert checked["digests"] == {ref: new}
        assert checked["nodes"][nodes[0]]["state"] == "gone"
        assert all(checked["nodes"][n]["state"] == "stale" and checked["nodes"][n]["images"][0]["digest"] == old for n in nodes[1:])
        assert sorted(written["warmed"]) == nodes and all(written["warmed"][n]["warm"] for n in nodes)
        # The drift signal on the nodes says what the run left them in.
        assert [core_v1.read_node(n).metadata.labels.get("warmth.prewarm.k8s/" + daemonset) for n in nodes] == ["warm"] * 3

        after = run_module("warm_status", {"kubeconfig": kubeconfig, "name": daemonset, "namespace": namespace, "record_state": True,
                                           "image_list_lag": KWOK_LIST_LAG})
        assert not after.get("failed"), after["msg"]
        assert after["states"]["warm"] == 3 and all(after["nodes"][n]["images"][0]["digest"] == new for n in nodes)
        assert after["recorded"] == [] and not after["changed"]
