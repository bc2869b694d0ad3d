"""The playbooks' and roles' inputs, given bad values: the run fails before any change, naming the variable and value.

Each case is one `ansible-playbook` run of a real playbook (os_upgrade, prewarm, reconcile, release) with the demo's
variables (tests/demo/vars.yml) and one bad extra variable, over an inventory of this test's own kwok pool. The
fingerprint of the pool's nodes and of the namespace's DaemonSets and pods is taken before and after all of them.
Run with -s to see the number of cases per playbook.
"""
import json
import os
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client

from bad_input_helpers import CASE_WORKERS, Case, cluster_fingerprint, kubeconfig_without_scheme, report_count
from run_ansible import ansible_env

POOL = "badrole"
NODES = ["kwok-%s-0" % POOL, "kwok-%s-1" % POOL]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KWOK_NODES = os.path.join(ROOT, "tests", "cluster", "kwok-nodes.sh")
DEMO = os.path.join(ROOT, "tests", "demo")
# The module's pools.json (written by the workdir fixture), for cases that build on its pool.
_POOLS_FILE = []


@pytest.fixture(scope="module")
def pool(kubeconfig, core_v1, watch_until):  # pylint: disable=unused-argument
    env = dict(os.environ, PREWARM_KWOK_POOLS="%s=%d" % (POOL, len(NODES)))
    subprocess.run([KWOK_NODES], env=env, check=True, timeout=120, capture_output=True)
    for name in NODES:
        watch_until(core_v1.list_node, lambda node: True, 60, field_selector="metadata.name=" + name)
    try:
        yield NODES
    finally:
        subprocess.run([KWOK_NODES], env=dict(os.environ, PREWARM_KWOK_POOLS=POOL + "=0"), check=True, timeout=120,
                       capture_output=True)


@pytest.fixture(scope="module")
def workdir(core_v1, pool, kwok_taint_key):
    """A namespace, and an inventory whose node hosts are the pool's nodes, with the pool in prewarm_pools."""
    namespace = "prewarm-badrole-%s" % uuid.uuid4().hex[:6]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    tmp = tempfile.mkdtemp(prefix="prewarm-badrole-")
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "prewarm_kubelet_managed": False},
        "children": {POOL: {"vars": {"prewarm_pool": POOL}, "hosts": {name: {} for name in pool}}}}}
    with open(os.path.join(tmp, "inventory.yml"), "w", encoding="utf-8") as handle:
        json.dump(inventory, handle)  # JSON is YAML
    # The demo's catalogue plus this test's pool (a later -e file replaces prewarm_pools as a whole).
    pools = {"prewarm_namespace": namespace, "prewarm_pools": {POOL: {
        "node_selector": {"pool": POOL},
        "tolerations": [{"key": kwok_taint_key, "operator": "Exists"}],
        "images": ["{{ prewarm_demo_images.small.ref }}"]}}}
    with open(os.path.join(tmp, "pools.json"), "w", encoding="utf-8") as handle:
        json.dump(pools, handle)
    _POOLS_FILE[:] = [os.path.join(tmp, "pools.json")]
    try:
        yield {"tmp": tmp, "namespace": namespace}
    finally:
        core_v1.delete_namespace(namespace, propagation_policy="Background")
        subprocess.run(["rm", "-rf", tmp], check=True)


def run_playbook(workdir, playbook, extra):
    """(exit code, output) of one ansible-playbook run of prewarm.k8s.<playbook> with extra vars on top of the demo's."""
    handle, extra_path = tempfile.mkstemp(suffix=".json", dir=workdir["tmp"])
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(extra, out)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s." + playbook,
           "-i", os.path.join(workdir["tmp"], "inventory.yml"), "-e", "@" + os.path.join(DEMO, "vars.yml"),
           "-e", "@" + os.path.join(workdir["tmp"], "pools.json"), "-e", "@" + extra_path]
    proc = subprocess.run(cmd, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1"}),
                          capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def check_cases(workdir, playbook, cases, core_v1, apps_v1):
    report_count(playbook, cases)
    before = cluster_fingerprint(core_v1, apps_v1, "pool=" + POOL, workdir["namespace"])
    with ThreadPoolExecutor(CASE_WORKERS) as executor:
        outcomes = list(executor.map(lambda case: (case, run_playbook(workdir, playbook, case.args)), cases))
    after = cluster_fingerprint(core_v1, apps_v1, "pool=" + POOL, workdir["namespace"])
    problems = []
    for case, (code, output) in outcomes:
        if code == 0:
            problems.append("%s: expected a failure, the playbook succeeded:\n%s" % (case.id, output[-1500:]))
            continue
        missing = [name for name in case.names if name not in output]
        if missing:
            problems.append("%s: output does not name %s:\n%s" % (case.id, missing, output[-2500:]))
        if "Traceback" in output:
            problems.append("%s: a traceback reached the user:\n%s" % (case.id, output[-2500:]))
    assert not problems, "\n\n".join(problems)
    assert after == before, "the cluster changed: before %s, after %s" % (before, after)


def test_os_upgrade_and_its_roles(workdir, core_v1, apps_v1):
    upgrade = os.path.join(DEMO, "fake_os_upgrade.yml")
    cases = [
        # The playbook's own inputs.
        Case("batch-size-zero", {"os_upgrade_batch_size": 0}, ["os_upgrade_batch_size 0"]),
        Case("batch-size-text", {"os_upgrade_batch_size": "two"}, ["os_upgrade_batch_size two"]),
        Case("max-fail-101", {"os_upgrade_max_fail_percentage": 101}, ["os_upgrade_max_fail_percentage", "101"]),
        Case("max-fail-negative", {"os_upgrade_max_fail_percentage": -1}, ["os_upgrade_max_fail_percentage", "-1"]),
        Case("max-fail-text", {"os_upgrade_max_fail_percentage": "some"}, ["os_upgrade_max_fail_percentage", "some"]),
        Case("pools-unknown", {"os_upgrade_pools": "nosuchpool"}, ["os_upgrade_pools", "nosuchpool"]),
        Case("pools-one-unknown", {"os_upgrade_pools": [POOL, "gpu-typo"]}, ["os_upgrade_pools", "gpu-typo"]),
        Case("no-pools-defined", {"prewarm_pools": {}}, ["prewarm_pools"]),
        # node_upgrade's preflight, per host, before the first node is marked.
        Case("host-pool-not-in-catalogue", {"prewarm_pool": "nosuchpool"}, ["prewarm_pools", "nosuchpool"]),
        Case("pool-without-images", {"prewarm_pools": {POOL: {"node_selector": {"pool": POOL}}}}, ["pool '%s'" % POOL, "images"]),
        Case("upgrade-tasks-relative", {"node_upgrade_upgrade_tasks": "fake_os_upgrade.yml"},
             ["node_upgrade_upgrade_tasks", "fake_os_upgrade.yml"]),
        Case("upgrade-tasks-and-role", {"node_upgrade_upgrade_tasks": upgrade, "node_upgrade_upgrade_role": "site.upgrade"},
             ["node_upgrade_upgrade_role", "site.upgrade"]),
        Case("drain-timeout-zero", {"node_upgrade_drain_timeout": 0}, ["drain timeout 0"]),
        Case("drain-retries-negative", {"node_upgrade_drain_retries": -1}, ["drain retries -1"]),
        Case("ready-timeout-zero", {"node_upgrade_ready_timeout": 0}, ["ready timeout 0"]),
        Case("done-label-without-key", {"node_upgrade_done_label": {"value": "done"}}, ["node_upgrade_done_label", "done"]),
        # The role's argument spec (Ansible validates it when the role starts).
        Case("drain-not-bool", {"node_upgrade_drain": "maybe"}, ["node_upgrade_drain", "maybe"]),
        # The role's argument-spec check (Ansible's own) names the variable and the type, not the value.
        Case("taint-not-a-dict", {"node_upgrade_taint": "NoSchedule"}, ["node_upgrade_taint", "dict"]),
        # kubelet_image_gc's inputs, checked in node_upgrade's preflight (they are used only after the drain).
        Case("gc-high-101", {"prewarm_kubelet_managed": True, "kubelet_image_gc_high_threshold": 101},
             ["kubelet_image_gc_high_threshold 101"]),
        Case("gc-low-equal-high", {"prewarm_kubelet_managed": True, "kubelet_image_gc_high_threshold": 80,
                                   "kubelet_image_gc_low_threshold": 80}, ["kubelet_image_gc_low_threshold 80"]),
        Case("gc-low-above-high", {"prewarm_kubelet_managed": True, "kubelet_image_gc_high_threshold": 70,
                                   "kubelet_image_gc_low_threshold": 90}, ["kubelet_image_gc_low_threshold 90"]),
        Case("gc-min-age-5x", {"prewarm_kubelet_managed": True, "kubelet_image_gc_minimum_age": "5x"},
             ["kubelet_image_gc_minimum_age '5x'"]),
        Case("gc-max-age-negative", {"prewarm_kubelet_managed": True, "kubelet_image_gc_maximum_age": "-1s"},
             ["kubelet_image_gc_maximum_age '-1s'"]),
        Case("gc-nothing-to-set", {"prewarm_kubelet_managed": True, "kubelet_image_gc_high_threshold": None,
                                   "kubelet_image_gc_low_threshold": None}, ["at least one setting"]),
        # preload's preflight (included by node_upgrade's), and the preloader's API server dry run.
        Case("max-pulling-zero", {"preload_max_pulling": 0}, ["max_pulling 0"]),
        Case("preload-timeout-zero", {"preload_timeout": 0}, ["timeout 0"]),
        Case("preload-gc-threshold-101", {"preload_image_gc_high_threshold": 101}, ["image_gc_high_threshold 101"]),
        Case("preload-scope-unknown", {"preload_scope": "everywhere"}, ["preload_scope", "everywhere"]),
        Case("pool-image-uppercase", {"prewarm_pools": {POOL: {"node_selector": {"pool": POOL}, "images": ["example.com/Shop/App:1"]}}},
             ["images", "example.com/Shop/App:1"]),
        Case("agent-image-invalid", {"prewarm_agent_image": "Agent Image"}, ["agent_image", "Agent Image"]),
        # A later pool's bad settings fail the run before the first pool's first batch changes anything.
        Case("later-pool-bad-image", _later_pool({"images": ["example.com/Later/App:1"]}), ["images", "example.com/Later/App:1"]),
        # Caught by the preload role's argument spec (choices), before its own checks.
        Case("later-pool-mode-unknown", _later_pool({"mode": "everywhere"}), ["preload_mode", "everywhere"]),
    ]
    check_cases(workdir, "os_upgrade", cases, core_v1, apps_v1)


def _later_pool(settings):
    """Extra vars that put the pool's second node in a pool of its own, upgraded after the first one, batch by batch."""
    later = POOL + "-later"
    with open(_POOLS_FILE[0], encoding="utf-8") as handle:
        good = json.load(handle)["prewarm_pools"][POOL]
    return {"prewarm_pool": "{{ '%s' if inventory_hostname == '%s' else '%s' }}" % (POOL, NODES[0], later),
            "os_upgrade_pools": [POOL, later], "os_upgrade_batch_size": 1,
            "prewarm_pools": {POOL: good, later: dict(good, **settings)}}


def _kubeconfig_without_scheme(workdir):
    """A copy of the cluster's kubeconfig whose server is written host:port, the way a typo would."""
    config = kubeconfig_without_scheme(os.path.join(os.environ.get("PREWARM_CLUSTER_DIR", "/var/lib/prewarm-k8s-cluster"), "kubeconfig"))
    path = os.path.join(workdir["tmp"], "kubeconfig-without-scheme")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return path


def test_prewarm_reconcile_release(workdir, core_v1, apps_v1):
    cases = {
        "prewarm": [
            # The first request is the collection's own, whose client refuses the URL: kubernetes.core's would have
            # sent it plain HTTP.
            Case("kubeconfig-server-without-scheme", {"warm_pool": POOL, "prewarm_kubeconfig": _kubeconfig_without_scheme(workdir)},
                 ["has no scheme"]),
            Case("pool-missing", {}, ["warm_pool"]),
            Case("pool-unknown", {"warm_pool": "nosuchpool"}, ["warm_pool ('nosuchpool')"]),
            Case("nodes-unknown", {"warm_pool": POOL, "warm_nodes": "no-such-node-badrole"}, ["nodes", "no-such-node-badrole"]),
            Case("nodes-unknown-marking", {"warm_pool": POOL, "warm_nodes": "no-such-node-badrole", "warm_mark": True},
                 ["nodes: no such node", "no-such-node-badrole"]),
            Case("max-pulling-zero", {"warm_pool": POOL, "preload_max_pulling": 0}, ["max_pulling 0"]),
        ],
        "reconcile": [
            Case("pools-unknown", {"reconcile_pools": "nosuchpool"}, ["reconcile_pools", "nosuchpool"]),
            Case("label-not-a-dict", {"reconcile_upgraded_label": "done"}, ["reconcile_upgraded_label", "done"]),
        ],
        "release": [
            Case("nothing-given", {}, ["release_nodes", "release_label_selector"]),
            Case("nodes-unknown", {"release_nodes": "no-such-node-badrole"}, ["nodes: no such node", "no-such-node-badrole"]),
            Case("nodes-empty", {"release_nodes": ""}, ["nodes: empty list", "empty"]),
            Case("selector-matches-nothing", {"release_label_selector": "pool=nowhere-badrole"},
                 ["label_selector", "pool=nowhere-badrole"]),
        ],
    }
    for playbook, playbook_cases in cases.items():
        check_cases(workdir, playbook, playbook_cases, core_v1, apps_v1)
