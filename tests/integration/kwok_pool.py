"""A kwok pool of a test's own: made with tests/cluster/kwok-nodes.sh, every node Ready, deleted afterwards."""
import contextlib
import os
import subprocess

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
