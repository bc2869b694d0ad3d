"""Every option of every module, given a bad value: the run fails, names the option and the value, and changes nothing.

One test per module runs all its cases concurrently (one `ansible -m` process each) between two fingerprints of
everything the module could change: the nodes of a kwok pool of this test's own, the DaemonSets and pods of a
namespace of its own, and for kubelet_config the real kubelet's config file and drop-in directory.
Run with -s to see the number of cases per module.
"""
import os
import subprocess
import uuid

import pytest
import yaml
from kubernetes import client

from bad_input_helpers import Case, cluster_fingerprint, kubeconfig_without_scheme, files_fingerprint, problems_of, report_count, run_module_cases
from run_ansible import run_module
from test_kubelet_config import LOCK_PATH, exclusive

POOL = "badin"
POOL_SELECTOR = "pool=" + POOL
NODES = ["kwok-%s-0" % POOL, "kwok-%s-1" % POOL]
KWOK_NODES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cluster", "kwok-nodes.sh")
PRELOADER = "badin-pre"
OTHER_PRELOADER = "badin-elsewhere"
NO_SUCH_NODE = "no-such-node-badin"


@pytest.fixture(scope="module")
def pool(kubeconfig, core_v1, watch_until):  # pylint: disable=unused-argument
    """A kwok pool of this module's own, so no other test's writes move its nodes' resourceVersions."""
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
def setup(kubeconfig, core_v1, pool, test_images, kwok_taint_key):
    """A namespace with two preloaders (scope admitted, so no pod runs): one for the pool, one for no node."""
    namespace = "prewarm-badin-%s" % uuid.uuid4().hex[:6]
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        for name, selector in ((PRELOADER, {"pool": POOL}), (OTHER_PRELOADER, {"pool": "nowhere-badin"})):
            result = run_module("preloader", {
                "kubeconfig": kubeconfig, "name": name, "namespace": namespace, "scope": "admitted",
                "node_selector": selector, "images": [test_images["small"]["ref"]],
                "agent_image": test_images["agent"]["ref"],
                "tolerations": [{"key": kwok_taint_key, "operator": "Exists"}]})
            assert not result.get("failed"), result
        yield {"namespace": namespace, "kubeconfig": kubeconfig, "images": test_images, "nodes": pool}
    finally:
        core_v1.delete_namespace(namespace, propagation_policy="Background")


def _run_and_check(module, cases, base_args, core_v1, apps_v1, namespace):
    report_count(module, cases)
    before = cluster_fingerprint(core_v1, apps_v1, POOL_SELECTOR, namespace)
    outcomes = run_module_cases(module, cases, base_args)
    after = cluster_fingerprint(core_v1, apps_v1, POOL_SELECTOR, namespace)
    problems = problems_of(outcomes)
    assert not problems, "\n".join(problems)
    assert after == before, "the cluster changed: before %s, after %s" % (before, after)


def auth_cases(kubeconfig, full):
    """The connection options every API module shares (module_utils/client.py); all of them when full."""
    cases = [
        # kubeconfig is no_log (it may be an inline kubeconfig), so Ansible masks its value wherever it appears.
        Case("kubeconfig-missing-file", {"kubeconfig": "/nonexistent/kubeconfig"}, ["kubeconfig", "no such file"]),
        Case("request-timeout-zero", {"request_timeout": 0}, ["request_timeout", "0"]),
        # Ansible's own float check names the option but not the value.
        Case("request-timeout-text", {"request_timeout": "soon"}, ["request_timeout", "float"]),
    ]
    if not full:
        return cases
    return cases + [
        Case("kubeconfig-not-a-kubeconfig", {"kubeconfig": "/etc/hostname"}, ["kubeconfig", "a kubeconfig file"]),
        Case("kubeconfig-list", {"kubeconfig": ["/tmp/one-badin", "/tmp/two-badin"]}, ["kubeconfig", "not a list"]),
        Case("context-unknown", {"context": "no-such-context"}, ["context", "no-such-context"]),
        Case("host-not-a-url", {"host": "not a url"}, ["not a url"]),
        Case("host-nothing-listens", {"host": "https://127.0.0.1:1"}, ["https://127.0.0.1:1"]),
        # Without a scheme the client would send the token over plain HTTP: refused before any request.
        Case("host-without-scheme", {"kubeconfig": None, "host": "127.0.0.1:6443", "api_key": "not-a-valid-token-badin"},
             ["has no scheme", "write https://127.0.0.1:6443"]),
        # The kubeconfig is no_log, so its server is masked in the message; the source and the cause are not.
        Case("kubeconfig-server-without-scheme", {"kubeconfig": kubeconfig_without_scheme(kubeconfig)},
             ["the kubeconfig's cluster server", "has no scheme"]),
        # The token is a secret: the message names the option, never the value.
        Case("api-key-rejected", {"kubeconfig": None, "host": "https://127.0.0.1:6443", "validate_certs": False,
                                  "api_key": "not-a-valid-token-badin"}, ["api_key", "401"]),
        Case("validate-certs-not-bool", {"validate_certs": "perhaps"}, ["validate_certs", "perhaps"]),
        Case("ca-cert-missing-file", {"ca_cert": "/nonexistent/ca.crt"}, ["ca_cert", "/nonexistent/ca.crt"]),
        Case("client-cert-missing-file", {"client_cert": "/nonexistent/client.crt"}, ["client_cert", "/nonexistent/client.crt"]),
        Case("client-key-missing-file", {"client_key": "/nonexistent/client.key"}, ["client_key", "/nonexistent/client.key"]),
        Case("proxy-not-a-url", {"proxy": "not a proxy"}, ["not a proxy"]),
        Case("request-timeout-negative", {"request_timeout": -1}, ["request_timeout", "-1"]),
        Case("unknown-option", {"nmaes": ["x"]}, ["nmaes"]),
    ]


def test_node_maintenance(setup, core_v1, apps_v1):
    kubeconfig, node = setup["kubeconfig"], setup["nodes"][0]
    cases = auth_cases(kubeconfig, full=True) + [
        Case("nodes-missing-and-no-selector", {"label_selector": None, "nodes": None}, ["nodes", "label_selector"]),
        Case("nodes-empty", {"label_selector": None, "nodes": []}, ["nodes", "empty"]),
        Case("nodes-empty-allowed", {"label_selector": None, "nodes": [], "allow_empty": True}, ["0 unchanged"], ok=True),
        Case("nodes-unknown-node", {"label_selector": None, "nodes": [node, NO_SUCH_NODE]}, ["nodes", NO_SUCH_NODE]),
        # names, the option's old name, is its alias: checked the same, reported under nodes.
        Case("names-alias-unknown-node", {"label_selector": None, "names": [node, NO_SUCH_NODE]}, ["nodes", NO_SUCH_NODE]),
        Case("nodes-uppercase", {"label_selector": None, "nodes": ["Kwok-Badin-0"]}, ["nodes", "Kwok-Badin-0"]),
        Case("nodes-empty-string", {"label_selector": None, "nodes": [""]}, ["nodes", "''"]),
        Case("nodes-not-strings", {"label_selector": None, "nodes": [{"a": 1}]}, ["nodes"]),
        Case("selector-matches-nothing", {"label_selector": "pool=nowhere-badin"}, ["label_selector", "pool=nowhere-badin"]),
        Case("selector-matches-nothing-allowed", {"label_selector": "pool=nowhere-badin", "allow_empty": True},
             ["0 unchanged"], ok=True),
        Case("selector-malformed", {"label_selector": "pool in (badin"}, ["label_selector", "pool in (badin"]),
        Case("allow-empty-not-bool", {"allow_empty": "sometimes"}, ["allow_empty", "sometimes"]),
        Case("missing-unknown-choice", {"missing": "ignore"}, ["missing", "ignore"]),
        Case("state-unknown-choice", {"state": "gone"}, ["state", "gone"]),
        # Ansible's own check of an option with suboptions names neither the option nor the value (ansible-core 2.19).
        Case("taint-not-a-dict", {"taint": "NoSchedule"}, ["dictionary requested"]),
        Case("taint-effect-unknown", {"taint": {"effect": "NoSchedul"}}, ["effect", "NoSchedul"]),
        Case("taint-effect-lowercase", {"taint": {"effect": "noschedule"}}, ["effect", "noschedule"]),
        Case("taint-key-with-space", {"taint": {"key": "bad key"}}, ["taint.key", "bad key"]),
        Case("taint-key-empty", {"taint": {"key": ""}}, ["taint.key", "''"]),
        Case("taint-key-uppercase-prefix", {"taint": {"key": "Example.COM/x"}}, ["taint.key", "Example.COM/x"]),
        Case("taint-value-with-space", {"taint": {"value": "two words"}}, ["taint.value", "two words"]),
        Case("taint-value-too-long", {"taint": {"value": "v" * 64}}, ["taint.value", "v" * 64]),
        Case("taint-unknown-field", {"taint": {"efect": "NoExecute"}}, ["efect"]),
        Case("label-not-a-dict", {"label": ["prewarm"]}, ["dictionary requested"]),
        Case("label-key-leading-dash", {"label": {"key": "-maintenance"}}, ["label.key", "-maintenance"]),
        Case("label-key-two-slashes", {"label": {"key": "a/b/c"}}, ["label.key", "a/b/c"]),
        Case("label-key-name-too-long", {"label": {"key": "k" * 64}}, ["label.key", "k" * 64]),
        Case("label-value-with-space", {"label": {"value": "under maintenance"}}, ["label.value", "under maintenance"]),
        Case("label-value-trailing-dot", {"label": {"value": "x."}}, ["label.value", "x."]),
        # The pool's nodes carry pool=badin: marking with label pool=true would take that label from its owner.
        Case("label-owned-by-someone-else", {"label": {"key": "pool"}}, ["pool=" + POOL, "no node changed"]),
        Case("cordon-not-bool", {"cordon": "later"}, ["cordon", "later"]),
        Case("status-not-a-dict", {"status": "drain"}, ["status", "dict"]),
        Case("status-value-a-list", {"status": {"step": ["drain"]}}, ["status.step", "drain"]),
        Case("status-on-release", {"state": "absent", "status": {"step": "drain"}}, ["status", "state=present"]),
        Case("workers-zero", {"workers": 0}, ["workers", "0"]),
        Case("workers-negative", {"workers": -4}, ["workers", "-4"]),
        Case("workers-text", {"workers": "many"}, ["workers", "many"]),
        # check mode changes nothing anyway; these are here to show the same checks run in it.
        Case("check-mode-bad-effect", {"taint": {"effect": "NoRun"}}, ["effect", "NoRun"], check=True),
        Case("check-mode-unknown-node", {"label_selector": None, "nodes": [NO_SUCH_NODE]}, ["nodes", NO_SUCH_NODE], check=True),
    ]
    base = {"kubeconfig": kubeconfig, "label_selector": POOL_SELECTOR, "reason": "bad input test"}
    _run_and_check("node_maintenance", cases, base, core_v1, apps_v1, setup["namespace"])


def test_preloader(setup, core_v1, apps_v1):
    kubeconfig, namespace, images = setup["kubeconfig"], setup["namespace"], setup["images"]
    small = images["small"]["ref"]
    repo = small.rsplit(":", 1)[0]
    cases = auth_cases(kubeconfig, full=False) + [
        Case("name-missing", {"name": None}, ["name"]),
        Case("name-uppercase", {"name": "Badin_Pre"}, ["name", "Badin_Pre"]),
        Case("name-too-long", {"name": "p" * 64}, ["name", "p" * 64]),
        Case("namespace-invalid", {"namespace": "Bad Namespace"}, ["namespace", "Bad Namespace"]),
        Case("namespace-does-not-exist", {"namespace": "no-such-namespace-badin"}, ["namespace", "no-such-namespace-badin"]),
        Case("pool-invalid", {"pool": "gpu pool"}, ["pool", "gpu pool"]),
        Case("state-unknown-choice", {"state": "running"}, ["state", "running"]),
        Case("images-missing", {"images": None}, ["images"]),
        Case("images-empty", {"images": []}, ["images", "at least one"]),
        Case("image-uppercase-path", {"images": ["example.com/Shop/App:1"]}, ["images", "example.com/Shop/App:1"]),
        Case("image-with-space", {"images": ["example.com/shop app:1"]}, ["images", "example.com/shop app:1"]),
        Case("image-bad-digest", {"images": [repo + "@sha256:abc"]}, ["images", repo + "@sha256:abc"]),
        Case("image-unknown-digest-algorithm", {"images": [repo + "@md5:" + "0" * 32]}, ["images", "md5"]),
        Case("image-empty-tag", {"images": [repo + ":"]}, ["images", repo + ":"]),
        Case("image-empty-string", {"images": [""]}, ["images", "''"]),
        Case("image-listed-twice", {"images": [small, small]}, ["images", small, "twice"]),
        Case("agent-image-invalid", {"agent_image": "Agent Image"}, ["agent_image", "Agent Image"]),
        Case("pause-image-invalid", {"agent_image": None, "pause_image": "Pause Image"}, ["pause_image", "Pause Image"]),
        Case("copier-image-invalid", {"agent_image": None, "copier_image": "busybox:"}, ["copier_image", "busybox:"]),
        Case("agent-image-with-pause-image", {"pause_image": "registry.k8s.io/pause:3.10.2"}, ["agent_image", "pause_image"]),
        Case("mode-unknown-choice", {"mode": "volumes"}, ["mode", "volumes"]),
        Case("node-selector-not-a-dict", {"node_selector": "pool"}, ["node_selector", "dict"]),
        Case("node-selector-bad-key", {"node_selector": {"bad key": "x"}}, ["node_selector", "bad key"]),
        Case("node-selector-bad-value", {"node_selector": {"pool": "bad value"}}, ["node_selector", "bad value"]),
        Case("node-selector-bool-value", {"node_selector": {"pool": True}}, ["node_selector", "True"]),
        Case("node-selector-contradicts-scope", {"scope": "maintenance", "node_selector": {"prewarm.k8s/maintenance": "false"}},
             ["node_selector", "prewarm.k8s/maintenance", "'false'", "scope=maintenance"]),
        # A preloader is declarative: a pool with no node yet (scaled to zero) may get its DaemonSet. Check mode
        # shows it is accepted without writing it.
        Case("node-selector-matches-nothing", {"node_selector": {"pool": "nowhere-badin"}}, ["would be created"],
             ok=True, check=True),
        Case("scope-unknown-choice", {"scope": "everything"}, ["scope", "everything"]),
        Case("tolerations-not-dicts", {"tolerations": ["NoSchedule"]}, ["tolerations"]),
        Case("toleration-unknown-operator", {"tolerations": [{"key": "a", "operator": "Maybe"}]}, ["tolerations[0]", "Maybe"]),
        Case("toleration-unknown-effect", {"tolerations": [{"key": "a", "effect": "NoSchedul"}]}, ["tolerations[0]", "NoSchedul"]),
        Case("toleration-no-key-equal", {"tolerations": [{"value": "x"}]}, ["tolerations[0]", "no key"]),
        Case("toleration-exists-with-value", {"tolerations": [{"key": "a", "operator": "Exists", "value": "v"}]},
             ["tolerations[0]", "Exists"]),
        Case("toleration-seconds-without-noexecute", {"tolerations": [{"key": "a", "tolerationSeconds": 5}]},
             ["tolerations[0]", "tolerationSeconds"]),
        Case("toleration-seconds-text", {"tolerations": [{"key": "a", "effect": "NoExecute", "tolerationSeconds": "5s"}]},
             ["tolerationSeconds", "5s"]),
        Case("toleration-unknown-field", {"tolerations": [{"key": "a", "efect": "NoSchedule"}]}, ["tolerations[0]", "efect"]),
        Case("toleration-bad-key", {"tolerations": [{"key": "bad key", "operator": "Exists"}]}, ["tolerations[0]", "bad key"]),
        Case("tolerate-maintenance-not-bool", {"tolerate_maintenance": "often"}, ["tolerate_maintenance", "often"]),
        Case("pull-secret-invalid", {"image_pull_secrets": ["Bad_Secret"]}, ["image_pull_secrets", "Bad_Secret"]),
        Case("pull-secret-twice", {"image_pull_secrets": ["regcred", "regcred"]}, ["image_pull_secrets", "regcred"]),
        Case("pull-policy-unknown-choice", {"image_pull_policy": "Sometimes"}, ["image_pull_policy", "Sometimes"]),
        Case("resources-not-a-dict", {"resources": "small"}, ["resources", "dict"]),
        Case("resources-unknown-section", {"resources": {"limit": {"cpu": "1"}}}, ["resources", "limit"]),
        Case("resources-section-not-a-dict", {"resources": {"requests": "1"}}, ["resources.requests"]),
        Case("resources-bad-quantity", {"resources": {"requests": {"cpu": "lots"}}}, ["resources.requests.cpu", "lots"]),
        Case("resources-negative-quantity", {"resources": {"limits": {"memory": "-1Mi"}}}, ["resources.limits.memory", "-1Mi"]),
        Case("resources-bad-name", {"resources": {"requests": {"bad name": "1"}}}, ["resources.requests", "bad name"]),
        Case("resources-request-above-limit", {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
             ["resources", "requests"]),
        Case("priority-class-invalid", {"priority_class_name": "High Priority"}, ["priority_class_name", "High Priority"]),
        Case("priority-class-does-not-exist", {"priority_class_name": "no-such-class-badin"},
             ["priority_class_name", "no-such-class-badin"]),
        Case("labels-not-a-dict", {"labels": "team"}, ["labels", "dict"]),
        Case("labels-bad-key", {"labels": {"bad key": "x"}}, ["labels", "bad key"]),
        Case("labels-bad-value", {"labels": {"team": "the team"}}, ["labels", "the team"]),
        Case("labels-reserved", {"labels": {"prewarm.k8s/pool": "x"}}, ["labels", "prewarm.k8s/pool"]),
        Case("max-unavailable-zero", {"max_unavailable": 0}, ["max_unavailable", "0"]),
        Case("max-unavailable-negative", {"max_unavailable": -1}, ["max_unavailable", "-1"]),
        Case("max-unavailable-zero-percent", {"max_unavailable": "0%"}, ["max_unavailable", "0%"]),
        Case("max-unavailable-over-100-percent", {"max_unavailable": "101%"}, ["max_unavailable", "101%"]),
        Case("max-unavailable-text", {"max_unavailable": "some"}, ["max_unavailable", "some"]),
        Case("max-unavailable-list", {"max_unavailable": [1]}, ["max_unavailable", "[1]"]),
        Case("absent-name-invalid", {"state": "absent", "name": "Bad_Name"}, ["name", "Bad_Name"]),
        Case("absent-namespace-invalid", {"state": "absent", "namespace": "Bad Namespace"}, ["namespace", "Bad Namespace"]),
    ]
    base = {"kubeconfig": kubeconfig, "name": "badin-new", "namespace": namespace, "pool": POOL,
            "node_selector": {"pool": POOL}, "images": [small], "agent_image": images["agent"]["ref"]}
    _run_and_check("preloader", cases, base, core_v1, apps_v1, namespace)


def _daemonset_cases(kubeconfig, namespace):
    """name and namespace: the same for warm_status and warmup (the preloader_ref doc fragment)."""
    return auth_cases(kubeconfig, full=False) + [
        Case("name-missing", {"name": None}, ["name"]),
        Case("name-invalid", {"name": "Badin Pre"}, ["name", "Badin Pre"]),
        Case("name-no-such-daemonset", {"name": "no-such-preloader"}, ["%s/no-such-preloader" % namespace, "not found"]),
        Case("namespace-invalid", {"namespace": "Bad_NS"}, ["namespace", "Bad_NS"]),
        Case("namespace-does-not-exist", {"namespace": "no-such-namespace-badin"}, ["no-such-namespace-badin/" + PRELOADER]),
    ]


def test_warm_status(setup, core_v1, apps_v1):
    kubeconfig, namespace, nodes = setup["kubeconfig"], setup["namespace"], setup["nodes"]
    cases = _daemonset_cases(kubeconfig, namespace) + [
        Case("nodes-unknown", {"nodes": [nodes[0], NO_SUCH_NODE]}, ["nodes", NO_SUCH_NODE]),
        Case("nodes-invalid-name", {"nodes": ["Kwok Badin"]}, ["nodes", "Kwok Badin"]),
        # Asked about no node: answered about no node (a read; nothing to get wrong).
        Case("nodes-empty", {"nodes": []}, ["0 of 0 nodes warm"], ok=True),
        Case("nodes-not-a-list-of-strings", {"nodes": [["a"]]}, ["nodes"]),
        Case("wait-not-bool", {"wait": "until-warm"}, ["wait", "until-warm"]),
        Case("timeout-zero", {"timeout": 0}, ["timeout", "0"]),
        Case("timeout-negative", {"timeout": -1}, ["timeout", "-1"]),
        Case("timeout-duration-text", {"timeout": "5x"}, ["timeout", "5x"]),
        Case("timeout-go-duration", {"timeout": "10m"}, ["timeout", "10m"]),
        Case("require-ready-not-bool", {"require_ready": "mostly"}, ["require_ready", "mostly"]),
        Case("fail-on-cold-not-bool", {"fail_on_cold": "yes please"}, ["fail_on_cold", "yes please"]),
        # The pool's nodes are not admitted, so they are cold; with fail_on_cold that must fail, naming them.
        Case("cold-nodes-fail-on-cold", {"nodes": nodes, "fail_on_cold": True}, [nodes[0], nodes[1]]),
    ]
    base = {"kubeconfig": kubeconfig, "name": PRELOADER, "namespace": namespace}
    _run_and_check("warm_status", cases, base, core_v1, apps_v1, namespace)


def test_warmup(setup, core_v1, apps_v1):
    kubeconfig, namespace, nodes = setup["kubeconfig"], setup["namespace"], setup["nodes"]
    cases = _daemonset_cases(kubeconfig, namespace) + [
        Case("nodes-missing", {"nodes": None}, ["nodes"]),
        # The preload role passes the batch's nodes; a batch with none warms none (documented), and says so.
        Case("nodes-empty", {"nodes": []}, ["no nodes given"], ok=True),
        Case("nodes-unknown", {"nodes": [nodes[0], NO_SUCH_NODE]}, ["nodes", NO_SUCH_NODE]),
        Case("nodes-invalid-name", {"nodes": ["kwok_badin_0"]}, ["nodes", "kwok_badin_0"]),
        # A node the preloader cannot run on (outside its node selector) is refused before it is admitted.
        Case("node-outside-the-pool", {"name": OTHER_PRELOADER, "nodes": [nodes[0]]}, [nodes[0], "refused"]),
        Case("max-pulling-zero", {"max_pulling": 0}, ["max_pulling", "0"]),
        Case("max-pulling-negative", {"max_pulling": -2}, ["max_pulling", "-2"]),
        Case("max-pulling-text", {"max_pulling": "ten"}, ["max_pulling", "ten"]),
        Case("release-not-bool", {"release": "when-warm"}, ["release", "when-warm"]),
        Case("timeout-zero", {"timeout": 0}, ["timeout", "0"]),
        Case("timeout-duration-text", {"timeout": "-1s"}, ["timeout", "-1s"]),
        Case("require-ready-not-bool", {"require_ready": "mostly"}, ["require_ready", "mostly"]),
        Case("image-fs-check-not-bool", {"image_fs_check": "sure"}, ["image_fs_check", "sure"]),
        Case("gc-threshold-zero", {"image_gc_high_threshold": 0}, ["image_gc_high_threshold", "0"]),
        Case("gc-threshold-over-100", {"image_gc_high_threshold": 101}, ["image_gc_high_threshold", "101"]),
        Case("gc-threshold-text", {"image_gc_high_threshold": "85%"}, ["image_gc_high_threshold", "85%"]),
        Case("image-sizes-not-a-dict", {"image_sizes": "big"}, ["image_sizes", "dict"]),
        Case("image-sizes-bad-reference", {"image_sizes": {"Bad Image:1": 10}}, ["image_sizes", "Bad Image:1"]),
        Case("image-sizes-negative", {"image_sizes": {"example.com/a:1": -1}}, ["image_sizes", "-1"]),
        Case("image-sizes-text", {"image_sizes": {"example.com/a:1": "300MB"}}, ["image_sizes", "300MB"]),
        Case("workers-zero", {"workers": 0}, ["workers", "0"]),
        Case("check-mode-unknown-node", {"nodes": [NO_SUCH_NODE]}, ["nodes", NO_SUCH_NODE], check=True),
    ]
    base = {"kubeconfig": kubeconfig, "name": PRELOADER, "namespace": namespace, "nodes": [nodes[0]], "timeout": 60}
    _run_and_check("warmup", cases, base, core_v1, apps_v1, namespace)


def test_node_wait(setup, core_v1, apps_v1):
    kubeconfig, nodes = setup["kubeconfig"], setup["nodes"]
    cases = auth_cases(kubeconfig, full=False) + [
        Case("nodes-missing", {"nodes": None}, ["nodes"]),
        Case("nodes-invalid", {"nodes": ["Kwok-Badin-0"]}, ["nodes", "Kwok-Badin-0"]),
        # names, the option's old name, is its alias: checked the same, reported under nodes.
        Case("names-alias-invalid", {"nodes": None, "names": ["Kwok-Badin-0"]}, ["nodes", "Kwok-Badin-0"]),
        # A node being reinstalled may register again under its name, so an unknown name is waited for, then named.
        Case("nodes-unknown", {"nodes": [NO_SUCH_NODE], "timeout": 2}, [NO_SUCH_NODE]),
        Case("nodes-empty", {"nodes": []}, ["0 of 0 nodes"], ok=True),
        Case("ready-after-not-a-time", {"ready_after": "yesterday"}, ["ready_after", "yesterday"]),
        Case("ready-after-bad-month", {"ready_after": "2024-13-01T00:00:00Z"}, ["ready_after", "2024-13-01T00:00:00Z"]),
        Case("ready-after-in-the-future", {"ready_after": "2999-01-01T00:00:00Z", "timeout": 2}, ["2999-01-01"]),
        Case("kernel-version-never-reported", {"kernel_version": "0.0.0-none", "timeout": 2}, ["0.0.0-none", nodes[0]]),
        Case("os-image-never-reported", {"os_image": "No Such OS", "timeout": 2}, ["No Such OS", nodes[0]]),
        Case("timeout-zero", {"timeout": 0}, ["timeout", "0"]),
        Case("timeout-negative", {"timeout": -30}, ["timeout", "-30"]),
        Case("timeout-duration-text", {"timeout": "5x"}, ["timeout", "5x"]),
    ]
    base = {"kubeconfig": kubeconfig, "nodes": nodes, "timeout": 30}
    _run_and_check("node_wait", cases, base, core_v1, apps_v1, setup["namespace"])


def test_kubelet_config(kubelet_config_path):
    """On the real kubelet's files (the lock of test_kubelet_config.py: its tests restore those files)."""
    dropin_dir = os.path.join(os.path.dirname(kubelet_config_path), "config.d")
    with exclusive(LOCK_PATH, 300):
        # The main file's high threshold as it is now (a demo run may have set it; 85 is the kubelet's default when
        # the file has none): a drop-in's low threshold equal to it is refused naming it.
        with open(kubelet_config_path, encoding="utf-8") as handle:
            high_now = (yaml.safe_load(handle) or {}).get("imageGCHighThresholdPercent", 85)
        cases = _kubelet_config_cases(kubelet_config_path, dropin_dir, high_now)
        report_count("kubelet_config", cases)
        before = files_fingerprint([kubelet_config_path], [dropin_dir])
        outcomes = run_module_cases("kubelet_config", cases, {"path": kubelet_config_path, "image_gc_high_threshold": 95})
        after = files_fingerprint([kubelet_config_path], [dropin_dir])
    problems = problems_of(outcomes)
    assert not problems, "\n".join(problems)
    assert after == before, "the kubelet's files changed: before %s, after %s" % (before, after)


def _kubelet_config_cases(kubelet_config_path, dropin_dir, high_now):
    return [
        Case("nothing-to-set", {"image_gc_high_threshold": None}, ["nothing to set", "image_gc_high_threshold"]),
        Case("high-over-100", {"image_gc_high_threshold": 101}, ["image_gc_high_threshold", "101"]),
        Case("high-negative", {"image_gc_high_threshold": -1}, ["image_gc_high_threshold", "-1"]),
        Case("high-text", {"image_gc_high_threshold": "high"}, ["image_gc_high_threshold", "high"]),
        Case("high-percent-sign", {"image_gc_high_threshold": "90%"}, ["image_gc_high_threshold", "90%"]),
        Case("low-over-100", {"image_gc_high_threshold": None, "image_gc_low_threshold": 150}, ["image_gc_low_threshold", "150"]),
        Case("low-equal-high", {"image_gc_high_threshold": 80, "image_gc_low_threshold": 80}, ["imageGCLowThresholdPercent 80"]),
        Case("low-above-high", {"image_gc_high_threshold": 70, "image_gc_low_threshold": 90}, ["imageGCLowThresholdPercent 90", "70"]),
        Case("min-age-bad-unit", {"image_minimum_gc_age": "5x"}, ["image_minimum_gc_age", "5x"]),
        Case("min-age-negative", {"image_minimum_gc_age": "-1s"}, ["image_minimum_gc_age", "-1s"]),
        Case("min-age-words", {"image_minimum_gc_age": "5 minutes"}, ["image_minimum_gc_age", "5 minutes"]),
        Case("min-age-no-unit", {"image_minimum_gc_age": "300"}, ["image_minimum_gc_age", "300"]),
        Case("max-age-negative", {"image_maximum_gc_age": "-2h"}, ["image_maximum_gc_age", "-2h"]),
        Case("max-age-below-min-age", {"image_minimum_gc_age": "2h", "image_maximum_gc_age": "1h"}, ["imageMaximumGCAge 1h0m0s"]),
        Case("path-does-not-exist", {"path": "/nonexistent/kubelet/config.yaml"}, ["/nonexistent/kubelet/config.yaml"]),
        Case("path-is-a-directory", {"path": dropin_dir}, [dropin_dir]),
        Case("path-not-a-kubelet-config", {"path": "/etc/hostname"}, ["/etc/hostname"]),
        Case("target-unknown-choice", {"target": "both"}, ["target", "both"]),
        Case("target-dropin-without-dir", {"target": "dropin"}, ["target", "dropin_dir"]),
        Case("dropin-name-not-conf", {"dropin_dir": dropin_dir, "dropin_name": "90-prewarm.yaml"}, ["dropin_name", "90-prewarm.yaml"]),
        Case("dropin-name-with-dir", {"dropin_dir": dropin_dir, "dropin_name": "../90-prewarm.conf"}, ["dropin_name", "../90-prewarm.conf"]),
        Case("dropin-dir-is-a-file", {"dropin_dir": kubelet_config_path}, [kubelet_config_path]),
        Case("dropin-low-equal-high-of-main-file", {"dropin_dir": dropin_dir, "image_gc_high_threshold": None,
                                                    "image_gc_low_threshold": high_now},
             ["imageGCHighThresholdPercent %s" % high_now]),
        Case("backup-not-bool", {"backup": "twice"}, ["backup", "twice"]),
        Case("unknown-option", {"image_gc_threshold": 90}, ["image_gc_threshold"]),
    ]
