"""The test cluster itself works: pools, a real image pull on the real node, kwok pods."""
from kubernetes import client


def _ready(node):
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def test_pools_exist_and_are_ready(core_v1, real_node, kwok_pools, kwok_taint_key):
    nodes = core_v1.list_node().items
    by_pool = {}
    for node in nodes:
        by_pool.setdefault(node.metadata.labels.get("pool"), []).append(node)

    assert [n.metadata.name for n in by_pool["real"]] == [real_node]
    assert "type" not in by_pool["real"][0].metadata.labels  # kwok must leave it alone
    for pool, count in kwok_pools.items():
        assert len(by_pool[pool]) == count
        for node in by_pool[pool]:
            assert node.metadata.labels["type"] == "kwok"
            assert {(t.key, t.value, t.effect) for t in node.spec.taints} >= {(kwok_taint_key, pool, "NoSchedule")}
    assert all(_ready(n) for n in nodes), [n.metadata.name for n in nodes if not _ready(n)]


def test_real_node_pulls_and_runs_small_image_by_digest(core_v1, namespace, real_node, test_images, watch_until):
    small = test_images["small"]
    repo = small["ref"].rsplit(":", 1)[0]
    image = f"{repo}@{small['digest']}"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="small"),
        spec=client.V1PodSpec(
            node_selector={"kubernetes.io/hostname": real_node},
            restart_policy="Never",
            termination_grace_period_seconds=5,
            containers=[client.V1Container(name="small", image=image, image_pull_policy="Always")],
        ),
    )
    core_v1.create_namespaced_pod(namespace, pod)

    running = watch_until(
        core_v1.list_namespaced_pod,
        lambda p: p.status.phase == "Running" and p.status.container_statuses[0].state.running,
        120, namespace=namespace, field_selector="metadata.name=small",
    )
    assert running.spec.node_name == real_node
    assert running.status.container_statuses[0].image_id.endswith(small["digest"])

    reasons = set()

    def pulled(event):
        if event.source.component == "kubelet" and event.involved_object.name == "small":
            reasons.add(event.reason)
        return {"Pulling", "Pulled"} <= reasons

    watch_until(core_v1.list_namespaced_event, pulled, 60, namespace=namespace)


def test_daemonset_on_kwok_pool_gets_ready_pods_with_completed_init(
        apps_v1, core_v1, namespace, kwok_pools, kwok_taint_key, test_images, watch_until):
    pool, count = next(iter(kwok_pools.items()))
    agent = test_images["agent"]["ref"]
    labels = {"app": "smoke"}
    ds = client.V1DaemonSet(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1DaemonSetSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    node_selector={"pool": pool},
                    tolerations=[client.V1Toleration(key=kwok_taint_key, operator="Exists")],
                    init_containers=[client.V1Container(name="init", image=agent, args=["exit"])],
                    containers=[client.V1Container(name="main", image=agent)],
                ),
            ),
        ),
    )
    apps_v1.create_namespaced_daemon_set(namespace, ds)

    watch_until(
        apps_v1.list_namespaced_daemon_set,
        lambda d: d.status.desired_number_scheduled == count and d.status.number_ready == count,
        120, namespace=namespace, field_selector="metadata.name=smoke",
    )
    pods = core_v1.list_namespaced_pod(namespace, label_selector="app=smoke").items
    assert len(pods) == count
    for p in pods:
        assert p.spec.node_name.startswith(f"kwok-{pool}-")
        (init,) = p.status.init_container_statuses
        assert init.state.terminated.exit_code == 0 and init.state.terminated.reason == "Completed"
        (main,) = p.status.container_statuses
        assert main.ready and main.state.running
