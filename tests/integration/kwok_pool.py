"""A kwok pool of a test's own: made with tests/cluster/kwok-nodes.sh, every node Ready, deleted afterwards."""
import contextlib
import os
import subprocess

from kubernetes.client.rest import ApiException

CLUSTER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tests", "cluster")


def resize(pool, size):
    subprocess.run([os.path.join(CLUSTER, "kwok-nodes.sh")], env=dict(os.environ, PREWARM_KWOK_POOLS="%s=%d" % (pool, size)),
                   check=True, capture_output=True, timeout=300)


@contextlib.contextmanager
def kwok_pool(pool, size, core_v1, watch_until, ready_timeout=120):
    """Yields the node names, once each node reports Ready (watched, not polled)."""
    resize(pool, size)
    try:
        names = ["kwok-%s-%d" % (pool, i) for i in range(size)]
        for name in names:
            watch_until(core_v1.list_node, lambda n: any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []),
                        ready_timeout, field_selector="metadata.name=" + name)
        yield names
    finally:
        resize(pool, 0)


def forget_image(core_v1, node, name):
    """Remove from a kwok node's status.images the entry that lists `name` (repo@digest or repo:tag), as `crictl rmi`
    would on a real node. tests/cluster/kwok-images.py lists it again only when a new pod (or container) pulls it."""
    for _attempt in range(10):
        current = core_v1.read_node(node)
        images = current.status.images or []
        kept = [{"names": i.names, "sizeBytes": i.size_bytes or 0} for i in images if name not in (i.names or [])]
        if len(kept) == len(images):
            return False
        try:  # guarded by the resourceVersion read: a concurrent change is read again
            core_v1.patch_node_status(node, {"metadata": {"resourceVersion": current.metadata.resource_version},
                                             "status": {"images": kept}})
            return True
        except ApiException as exc:
            if exc.status != 409:
                raise
    raise RuntimeError("could not update the status of node %s: it kept changing" % node)
