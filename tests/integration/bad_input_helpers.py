"""Shared parts of the bad-input tests: cases, running them concurrently, and fingerprints of what must not change.

A case is one `ansible` (or `ansible-playbook`) process with one bad value. Each asserts that the run failed, that
its message names the option and the bad value, and that nothing the run could have touched changed: the
fingerprint taken before all the cases of a test equals the one taken after them.
"""
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import yaml

from run_ansible import run_module

# Each case is a whole Ansible process (about 2 s of CPU): a few at a time keep the machine busy without thrashing.
CASE_WORKERS = 6
# Label, annotation and taint keys written by Kubernetes' own components (node controller, kubelet, kwok).
SYSTEM_PREFIXES = ("node.kubernetes.io/", "node.alpha.kubernetes.io/", "kubernetes.io/", "beta.kubernetes.io/", "kwok.x-k8s.io/")


class Case:
    """One bad input.

    names: substrings the failure message must contain (the option and the bad value).
    ok: the run must succeed instead (a decision recorded by the test, e.g. an empty node list is a no-op),
    and its message must contain `names`.
    """

    def __init__(self, case_id, args, names, ok=False, check=False):
        self.id, self.args, self.names, self.ok, self.check = case_id, args, list(names), ok, check

    def __repr__(self):
        return self.id


def run_module_cases(module, cases, base_args):
    """[(case, result)] for every case, each an `ansible -m` process with base_args updated by the case's args.

    A value of None in a case's args removes that option from base_args (to leave out a required option).
    """
    def one(case):
        args = dict(base_args)
        for key, value in case.args.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = value
        return case, run_module(module, args, check=case.check, timeout=300)
    with ThreadPoolExecutor(CASE_WORKERS) as pool:
        return list(pool.map(one, cases))


def problems_of(outcomes):
    """One line per case whose outcome is not as expected (empty when all are)."""
    problems = []
    for case, result in outcomes:
        msg = str(result.get("msg", ""))
        failed = bool(result.get("failed"))
        if case.ok and failed:
            problems.append("%s: expected success, failed: %s" % (case.id, msg))
            continue
        if not case.ok and not failed:
            problems.append("%s: expected a failure, succeeded (changed=%s): %s" % (case.id, result.get("changed"), msg))
            continue
        if not case.ok and result.get("changed"):
            problems.append("%s: failed but reports changed=true: %s" % (case.id, msg))
        missing = [name for name in case.names if name not in msg]
        if missing:
            problems.append("%s: message does not name %s: %s" % (case.id, missing, msg))
        if "Traceback" in msg or "MODULE FAILURE" in msg:
            problems.append("%s: a traceback reached the user: %s" % (case.id, msg))
    return problems


def report_count(what, cases):
    """Print (pytest -s) the number of cases of a module or role, for docs/reliability.md."""
    print("bad-input cases: %s %d (%d failing as they must, %d a deliberate no-op success)"
          % (what, len(cases), sum(1 for c in cases if not c.ok), sum(1 for c in cases if c.ok)))


def cluster_fingerprint(core_v1, apps_v1, label_selector, namespace):
    """What a module may write on every node matching label_selector; resourceVersion of every DaemonSet and pod of namespace.

    Nodes: their labels, annotations, taints and cordon, not their resourceVersion. On this shared cluster kwok
    and other sessions' runs post node status updates at any time (seen: resourceVersions of this test's own pool
    moved during a run of read-only modules), which would fail the test for writes none of the cases made.
    Keys of Kubernetes' own components are left out too: under load the node controller sets the
    node.alpha.kubernetes.io/ttl annotation and the node.kubernetes.io/unreachable and not-ready taints.
    """
    nodes = core_v1.list_node(label_selector=label_selector).items
    assert nodes, "no node matches %s: the fingerprint would prove nothing" % label_selector
    node_versions = {node.metadata.name: (_ours(node.metadata.labels), _ours(node.metadata.annotations),
                                          sorted((t.key, t.value, t.effect) for t in node.spec.taints or [] if _not_system(t.key)),
                                          node.spec.unschedulable)
                     for node in nodes}
    daemonsets = {ds.metadata.name: ds.metadata.resource_version for ds in apps_v1.list_namespaced_daemon_set(namespace).items}
    pods = sorted(pod.metadata.name for pod in core_v1.list_namespaced_pod(namespace).items)
    return {"nodes": node_versions, "daemonsets": daemonsets, "pods": pods}


def _not_system(key):
    return not key.startswith(SYSTEM_PREFIXES)


def _ours(mapping):
    """The entries of a label or annotation map that no Kubernetes component writes."""
    return {key: value for key, value in (mapping or {}).items() if _not_system(key)}


def files_fingerprint(paths, directories):
    """sha256 and mtime of each file, and the sorted listing (with sha256) of each directory (None when absent)."""
    def digest(path):
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    result = {}
    for path in paths:
        stat = os.stat(path)
        result[path] = (digest(path), stat.st_mtime_ns)
    for directory in directories:
        if not os.path.isdir(directory):
            result[directory] = None
            continue
        listing = []
        for root, _dirs, names in os.walk(directory):
            listing.extend((os.path.join(root, name), digest(os.path.join(root, name))) for name in names)
        result[directory] = sorted(listing)
    return result


def kubeconfig_without_scheme(path):
    """The kubeconfig at `path` as a dict, each cluster's server written host:port, the way a typo would."""
    with open(path, encoding="utf-8") as source:
        config = yaml.safe_load(source)
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = cluster["cluster"]["server"].partition("://")[2]
    return config
