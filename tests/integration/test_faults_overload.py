"""An API server shedding load: API Priority and Fairness answers most node patches with 429 Too Many Requests.

A FlowSchema sends one service account's node PATCH requests to a priority level of its own with the smallest
share of the server's seats and no queue (limitResponse Reject), so whatever goes over those few seats at the same
moment is refused at once with 429 and a Retry-After, as a busy production API server does to a client that is
not exempt. node_maintenance then marks and releases a kwok pool with many workers through that identity. Every
node must end marked, then released, and the server's own rejection counter for the FlowSchema must have moved:
a run with rejections and no failed node shows the refused patches were sent again.

The service account is bound to cluster-admin (not system:masters, whose requests APF exempts). The pool, the
FlowSchema, the priority level, the binding and the namespace are this test's own and deleted afterwards.
"""
import re
import time
import uuid

import pytest
from kubernetes import client

from kwok_pool import kwok_pool
from rbac_helpers import write_token_kubeconfig
from run_ansible import run_module

MAINTENANCE_KEY = "prewarm.k8s/maintenance"
POOL = "fload"
POOL_SIZE = 60
WORKERS = 32
FLOWCONTROL = ("flowcontrol.apiserver.k8s.io", "v1")


def _metrics(api_client):
    """The API server's /metrics text, read with the admin's client certificate."""
    response = api_client.call_api("GET", api_client.configuration.host + "/metrics")
    response.read()
    return response.data.decode()


def _sample(text, metric, **labels):
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(metric + "{"):
            continue
        if all('%s="%s"' % item in line for item in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def squeezed_identity(api_client, core_v1, tmp_path):
    """A kubeconfig whose node PATCH requests go to a priority level of a few seats that rejects the rest."""
    suffix = uuid.uuid4().hex[:6]
    name = "prewarm-it-squeeze-" + suffix
    custom = client.CustomObjectsApi(api_client)
    rbac = client.RbacAuthorizationV1Api(api_client)
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        core_v1.create_namespaced_service_account(name, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="operator")))
        rbac.create_cluster_role_binding(client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=name),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="operator", namespace=name)]))
        custom.create_cluster_custom_object(*FLOWCONTROL, "prioritylevelconfigurations", {
            "apiVersion": "/".join(FLOWCONTROL), "kind": "PriorityLevelConfiguration", "metadata": {"name": name},
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 1, "lendablePercent": 0, "borrowingLimitPercent": 0,
                                                    "limitResponse": {"type": "Reject"}}}})
        custom.create_cluster_custom_object(*FLOWCONTROL, "flowschemas", {
            "apiVersion": "/".join(FLOWCONTROL), "kind": "FlowSchema", "metadata": {"name": name},
            "spec": {"priorityLevelConfiguration": {"name": name}, "matchingPrecedence": 500,
                     "distinguisherMethod": {"type": "ByUser"},
                     "rules": [{"subjects": [{"kind": "ServiceAccount", "serviceAccount": {"name": "operator", "namespace": name}}],
                                "resourceRules": [{"verbs": ["patch"], "apiGroups": [""], "resources": ["nodes"], "clusterScope": True}]}]}})
        token = core_v1.create_namespaced_service_account_token(
            "operator", name, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)))
        kubeconfig = str(tmp_path / "squeezed.kubeconfig")
        write_token_kubeconfig(kubeconfig, api_client.configuration, token.status.token, name)
        # The API server's flow-control configuration follows the objects within moments; its gauge of the
        # level's seats appears once the level is in force.
        deadline = time.monotonic() + 60
        while not re.search(r'apiserver_flowcontrol_nominal_limit_seats\{priority_level="%s"\}' % name, _metrics(api_client)):
            assert time.monotonic() < deadline, "priority level %s not in force after 60 s" % name
            time.sleep(0.5)  # test set-up: the API server offers no watch on its own flow-control state
        yield kubeconfig, name
    finally:
        for plural in ("flowschemas", "prioritylevelconfigurations"):
            try:
                custom.delete_cluster_custom_object(*FLOWCONTROL, plural, name)
            except client.ApiException:
                pass
        try:
            rbac.delete_cluster_role_binding(name)
        except client.ApiException:
            pass
        core_v1.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def overload_pool(core_v1, watch_until):
    with kwok_pool(POOL, POOL_SIZE, core_v1, watch_until) as names:
        yield names


def test_node_writes_refused_with_429_are_sent_again(api_client, core_v1, squeezed_identity, overload_pool):
    kubeconfig, level = squeezed_identity
    seats = _sample(_metrics(api_client), "apiserver_flowcontrol_nominal_limit_seats", priority_level=level)
    rejected_before = _sample(_metrics(api_client), "apiserver_flowcontrol_rejected_requests_total", flow_schema=level)

    marked = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": overload_pool, "by": "it@overload",
                                             "reason": "overload it", "workers": WORKERS})
    assert not marked.get("failed"), marked["msg"]
    for node in core_v1.list_node(label_selector="pool=" + POOL).items:
        assert any(t.key == MAINTENANCE_KEY for t in node.spec.taints or []), node.metadata.name
    released = run_module("node_maintenance", {"kubeconfig": kubeconfig, "nodes": overload_pool, "state": "absent",
                                               "workers": WORKERS})
    assert not released.get("failed"), released["msg"]
    for node in core_v1.list_node(label_selector="pool=" + POOL).items:
        assert not any(t.key == MAINTENANCE_KEY for t in node.spec.taints or []), node.metadata.name
        assert MAINTENANCE_KEY not in (node.metadata.annotations or {}), node.metadata.name

    rejected = _sample(_metrics(api_client), "apiserver_flowcontrol_rejected_requests_total", flow_schema=level) - rejected_before
    # Without rejections the test proves nothing: the level must have been too small for the workers.
    assert rejected > 0, "no request rejected: %d workers on %g seats did not overload the level" % (WORKERS, seats)
    print("%d node patches rejected with 429 on %g seats, every node marked and released" % (rejected, seats))
