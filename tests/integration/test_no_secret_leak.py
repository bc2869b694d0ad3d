"""No credential reaches the output: a full `ansible-playbook -vvv prewarm.k8s.os_upgrade` per way of passing credentials.

Each run goes through the whole window on a kwok pool of this module's own (mark, drain, the stand-in upgrade, Ready,
uncordon, preloader, warm-up with the disk check, release, summary), with a pull secret referenced by the pool. Its
whole stdout and stderr at -vvv (task arguments, module invocations and results, the summary) are searched for every
secret it was given: the ServiceAccount token, the client key's PEM body, the kubeconfig's embedded certificate data,
the pull secret's password and its base64 forms, and the password of a proxy URL.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest
import yaml
from kubernetes import client

from rbac_helpers import Identity
from run_ansible import ansible_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KWOK_NODES = os.path.join(REPO, "tests", "cluster", "kwok-nodes.sh")
DEMO = os.path.join(REPO, "tests", "demo")
POOL = "leak"
NODES = ["kwok-leak-0", "kwok-leak-1"]
POOL_TAINT = {"key": "prewarm.test/pool", "operator": "Equal", "value": POOL, "effect": "NoSchedule"}
PULL_SECRET = "leak-registry"
FORMS = ["kubeconfig_path", "kubeconfig_inline", "api_key_and_proxy_password", "client_cert_and_key"]


def _resize_pool(count):
    subprocess.run([KWOK_NODES], env=dict(os.environ, PREWARM_KWOK_POOLS="%s=%d" % (POOL, count)), check=True,
                   capture_output=True, timeout=120)


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _pem_body_lines(pem):
    """The base64 lines of a PEM block: any one of them in the output is a leak."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


@pytest.fixture(scope="module")
def setup(api_client, core_v1, admin_kubeconfig, watch_until):
    """The pool, the operator identity, a pull secret, and the admin's client certificate and key as files."""
    identity = Identity(api_client, "prewarm-leak-" + uuid.uuid4().hex[:6]).apply()
    tmp = tempfile.mkdtemp(prefix="prewarm-leak-")
    _resize_pool(len(NODES))
    try:
        for name in NODES:
            watch_until(core_v1.list_node, lambda n: any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []),
                        60, field_selector="metadata.name=" + name)
        token = identity.token(3600)
        kubeconfig = identity.write_kubeconfig(os.path.join(tmp, "kubeconfig"), token)
        with open(kubeconfig, encoding="utf-8") as handle:
            inline = yaml.safe_load(handle)
        password = "Pull-Pw-" + uuid.uuid4().hex
        auth = _b64("leakuser:" + password)
        dockerconfig = json.dumps({"auths": {"127.0.0.1:5000": {"username": "leakuser", "password": password, "auth": auth}}})
        core_v1.create_namespaced_secret(identity.namespace, client.V1Secret(
            metadata=client.V1ObjectMeta(name=PULL_SECRET), type="kubernetes.io/dockerconfigjson",
            data={".dockerconfigjson": _b64(dockerconfig)}))
        with open(admin_kubeconfig, encoding="utf-8") as handle:
            admin_user = yaml.safe_load(handle)["users"][0]["user"]
        files = {}
        for name, field in (("client.crt", "client-certificate-data"), ("client.key", "client-key-data")):
            files[name] = os.path.join(tmp, name)
            with open(files[name], "wb") as handle:
                handle.write(base64.b64decode(admin_user[field]))
        key_pem = base64.b64decode(admin_user["client-key-data"]).decode()
        proxy_password = "Proxy-Pw-" + uuid.uuid4().hex
        secrets = {"token": [token], "pull secret password": [password], "pull secret auth (base64)": [auth],
                   "pull secret .dockerconfigjson (base64)": [_b64(dockerconfig)],
                   "kubeconfig certificate-authority-data": [inline["clusters"][0]["cluster"]["certificate-authority-data"]],
                   "client key PEM body": _pem_body_lines(key_pem), "admin client-key-data": [admin_user["client-key-data"]],
                   "proxy password": [proxy_password]}
        yield {"identity": identity, "tmp": tmp, "kubeconfig": kubeconfig, "inline": inline, "token": token, "files": files,
               "ca": api_client.configuration.ssl_ca_cert, "host": api_client.configuration.host, "proxy_password": proxy_password,
               "secrets": secrets}
    finally:
        _resize_pool(0)
        identity.delete()
        shutil.rmtree(tmp)


def _connection(form, setup):
    """(extra vars, environment) passing the credentials in `form`."""
    if form == "kubeconfig_path":
        return {"prewarm_kubeconfig": setup["kubeconfig"]}, {}
    if form == "kubeconfig_inline":
        return {"prewarm_kubeconfig": setup["inline"]}, {}
    # The AWX "Kubernetes Bearer Token" way: K8S_AUTH_* variables, no kubeconfig.
    env = {"K8S_AUTH_HOST": setup["host"], "K8S_AUTH_SSL_CA_CERT": setup["ca"]}
    if form == "api_key_and_proxy_password":
        # A proxy URL with a password; NO_PROXY keeps the local API server out of it, so the run works.
        env.update({"K8S_AUTH_API_KEY": setup["token"], "K8S_AUTH_NO_PROXY": "127.0.0.1",
                    "K8S_AUTH_PROXY": "http://proxyuser:%s@127.0.0.9:3128" % setup["proxy_password"]})
    else:
        env.update({"K8S_AUTH_CERT_FILE": setup["files"]["client.crt"], "K8S_AUTH_KEY_FILE": setup["files"]["client.key"]})
    return {"prewarm_kubeconfig": None}, env


@pytest.mark.parametrize("form", FORMS)
def test_a_verbose_os_upgrade_shows_no_credential(form, setup, core_v1, test_images):
    identity, tmp = setup["identity"], os.path.join(setup["tmp"], form)
    os.makedirs(tmp)
    extra, env = _connection(form, setup)
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                         "children": {POOL: {"vars": {"prewarm_pool": POOL, "prewarm_kubelet_managed": False},
                                             "hosts": dict((name, {}) for name in NODES)}}}}
    extra.update({"prewarm_namespace": identity.namespace,
                  "prewarm_pools": {POOL: {"node_selector": {"pool": POOL}, "tolerations": [POOL_TAINT],
                                           "image_pull_secrets": [PULL_SECRET],
                                           "images": [test_images["small"]["ref"], test_images["noshell"]["ref"]]}},
                  "node_upgrade_upgrade_tasks": os.path.join(DEMO, "fake_os_upgrade.yml"),
                  "node_upgrade_done_label": None, "os_upgrade_batch_size": 2})
    paths = [os.path.join(tmp, "inventory.json"), os.path.join(tmp, "extra.json")]
    for path, data in zip(paths, (inventory, extra)):
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "prewarm.k8s.os_upgrade", "-i", paths[0],
           "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@" + paths[1]]
    try:
        proc = subprocess.run(cmd, env=ansible_env(dict(env, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1", TMPDIR=tmp)),
                              capture_output=True, text=True, timeout=900, check=False)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-8000:]
        # It really went through the window with these credentials, pull secret included.
        summary = [line for line in output.splitlines() if " | pool " + POOL in line]
        assert len(summary) == len(NODES) and all("released" in line for line in summary), "\n".join(summary)
        ds = client.AppsV1Api(core_v1.api_client).read_namespaced_daemon_set("preload-" + POOL, identity.namespace)
        assert [s.name for s in ds.spec.template.spec.image_pull_secrets] == [PULL_SECRET]
        leaks = ["%s (%d times)" % (what, output.count(value)) for what, values in setup["secrets"].items() for value in values
                 if value in output]
        # Where each leak is: the lines before it name the task or plugin that printed it.
        where = ["...%s..." % output[max(0, output.index(value) - 600):output.index(value)].replace(value, "<SECRET>")
                 for values in setup["secrets"].values() for value in values if value in output]
        assert not leaks, "credentials in the -vvv output: %s\n%s" % (", ".join(leaks), "\n".join(where))
    finally:
        for name in NODES:
            if core_v1.read_node(name).spec.unschedulable:
                core_v1.patch_node(name, {"spec": {"unschedulable": None}})
