"""The collection's rbac/ manifests, applied to the test cluster under names of a test's own, and a kubeconfig for them.

Shared by test_rbac.py, test_no_secret_leak.py and conftest.py (PREWARM_TEST_IDENTITY=operator). The manifests are read
from rbac/ as shipped; only their namespace (prewarm-system) and the names of their cluster-wide objects are changed, so
that test runs sharing the cluster never touch each other's (or a real install's) ClusterRoles and bindings.
"""
import base64
import glob
import os

import yaml
from kubernetes import client, utils

RBAC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "rbac")
SHIPPED_NAMESPACE = "prewarm-system"
SERVICE_ACCOUNT = "prewarm-operator"
PRELOADER_ROLE = "prewarm-k8s-preloader"
CLUSTER_KINDS = ("ClusterRole", "ClusterRoleBinding", "Namespace")


def shipped_manifests(optional=False):
    """Every object of rbac/*.yaml (what `kubectl apply -f rbac/` applies), plus rbac/optional/ if asked."""
    paths = sorted(glob.glob(os.path.join(RBAC_DIR, "*.yaml")))
    if optional:
        paths += sorted(glob.glob(os.path.join(RBAC_DIR, "optional", "*.yaml")))
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            docs.extend(doc for doc in yaml.safe_load_all(handle) if doc)
    return docs


class Identity(object):
    """The shipped rbac/ objects installed as namespace `namespace`, cluster-wide names suffixed with it."""

    def __init__(self, api_client, namespace, optional=False):
        self.api_client, self.namespace = api_client, namespace
        self.docs = [self._localise(doc) for doc in shipped_manifests(optional)]
        self.preloader_role = self.cluster_name(PRELOADER_ROLE)
        self.user = "system:serviceaccount:%s:%s" % (namespace, SERVICE_ACCOUNT)

    def cluster_name(self, name):
        return "%s-%s" % (name, self.namespace)

    def _localise(self, doc):
        doc = yaml.safe_load(yaml.safe_dump(doc))  # a deep copy
        meta = doc["metadata"]
        if doc["kind"] == "Namespace":
            meta["name"] = self.namespace
        elif doc["kind"] in CLUSTER_KINDS:
            meta["name"] = self.cluster_name(meta["name"])
        elif meta.get("namespace") == SHIPPED_NAMESPACE:
            meta["namespace"] = self.namespace
        if doc.get("roleRef", {}).get("kind") == "ClusterRole":
            doc["roleRef"]["name"] = self.cluster_name(doc["roleRef"]["name"])
        for subject in doc.get("subjects", []):
            if subject.get("namespace") == SHIPPED_NAMESPACE:
                subject["namespace"] = self.namespace
        return doc

    def apply(self):
        for doc in self.docs:
            utils.create_from_dict(self.api_client, doc)
        return self

    def delete(self):
        """Delete what apply() made; the namespace last (it takes the ServiceAccount and RoleBindings with it)."""
        rbac = client.RbacAuthorizationV1Api(self.api_client)
        for doc in self.docs:
            kind, meta = doc["kind"], doc["metadata"]
            try:
                if kind == "ClusterRole":
                    rbac.delete_cluster_role(meta["name"])
                elif kind == "ClusterRoleBinding":
                    rbac.delete_cluster_role_binding(meta["name"])
                elif kind == "Role" and meta["namespace"] != self.namespace:
                    rbac.delete_namespaced_role(meta["name"], meta["namespace"])
                elif kind == "RoleBinding" and meta["namespace"] != self.namespace:
                    rbac.delete_namespaced_role_binding(meta["name"], meta["namespace"])
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
        client.CoreV1Api(self.api_client).delete_namespace(self.namespace, propagation_policy="Background")

    def bind_preloader(self, namespace):
        """A RoleBinding giving the preloader rules in `namespace`, as docs/rbac.md tells users to add one per namespace."""
        body = client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name=PRELOADER_ROLE, namespace=namespace),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=self.preloader_role),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name=SERVICE_ACCOUNT, namespace=self.namespace)])
        client.RbacAuthorizationV1Api(self.api_client).create_namespaced_role_binding(namespace, body)

    def token(self, seconds=3600):
        """A bound token for the ServiceAccount from the TokenRequest API (what `kubectl create token` does)."""
        request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds))
        response = client.CoreV1Api(self.api_client).create_namespaced_service_account_token(SERVICE_ACCOUNT, self.namespace, request)
        return response.status.token

    def write_kubeconfig(self, path, token):
        """A kubeconfig for the token: the admin connection's server and CA, the token as the only credential."""
        write_token_kubeconfig(path, self.api_client.configuration, token, self.namespace)
        return path


def write_token_kubeconfig(path, configuration, token, namespace):
    with open(configuration.ssl_ca_cert, "rb") as handle:
        ca_data = base64.b64encode(handle.read()).decode()
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "prewarm", "cluster": {"server": configuration.host, "certificate-authority-data": ca_data}}],
        "users": [{"name": SERVICE_ACCOUNT, "user": {"token": token}}],
        "contexts": [{"name": SERVICE_ACCOUNT, "context": {"cluster": "prewarm", "user": SERVICE_ACCOUNT, "namespace": namespace}}],
        "current-context": SERVICE_ACCOUNT,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(kubeconfig, handle)
