"""Paths of the node_upgrade window that the demo does not take: the site's upgrade given as a role, and an inventory
host that names no node of the cluster.

Each test has its own kwok pool and preloader namespace (test_faults_kill.os_upgrade_window) and runs
`ansible-playbook prewarm.k8s.os_upgrade` as an operator would.
"""
import json
import os

from test_faults_kill import (finish, open_gate, os_upgrade_window, our_taint, record_of, start_os_upgrade,
                              write_playbook_inputs)

SITE_ROLE_TASKS = """---
# The site's upgrade role of the test: it leaves a marker per node, so the test sees it ran for each one.
- name: Leave this node's upgrade marker
  ansible.builtin.copy:
    dest: "{{ site_marker_dir }}/upgraded-{{ inventory_hostname }}"
    content: "{{ inventory_hostname }}\\n"
    mode: "0600"
"""


def _released(core_v1, name):
    node = core_v1.read_node(name)
    return not our_taint(node) and record_of(node) is None and not node.spec.unschedulable


def test_the_site_upgrade_given_as_a_role_runs_for_each_node_and_the_window_completes(core_v1, test_images):
    with os_upgrade_window(core_v1, test_images) as window:
        role = os.path.join(window["tmp"], "site_upgrade")
        os.makedirs(os.path.join(role, "tasks"))
        with open(os.path.join(role, "tasks", "main.yml"), "w", encoding="utf-8") as handle:
            handle.write(SITE_ROLE_TASKS)
        with open(window["extra"], encoding="utf-8") as handle:
            extra = json.load(handle)
        extra.update(node_upgrade_upgrade_tasks=None, node_upgrade_upgrade_role=role, site_marker_dir=window["tmp"])
        with open(window["extra"], "w", encoding="utf-8") as handle:
            json.dump(extra, handle)
        code, output = finish(start_os_upgrade(window["tmp"], window["inventory"], window["extra"], "site-role"), 300)
        assert code == 0, output[-4000:]
        assert "Run the site's upgrade role] " in output, output[-4000:]
        for name in window["names"]:
            with open(os.path.join(window["tmp"], "upgraded-" + name), encoding="utf-8") as handle:
                assert handle.read() == name + "\n"
            assert _released(core_v1, name), name


def test_a_host_that_names_no_node_fails_alone_and_changes_nothing(core_v1, test_images):
    with os_upgrade_window(core_v1, test_images) as window:
        ghost = "kwok-%s-ghost" % window["pool"]
        with open(window["extra"], encoding="utf-8") as handle:
            extra = json.load(handle)
        # The ghost host is in the inventory, a host of the pool, but no node of that name exists.
        inventory, extra_path = write_playbook_inputs(window["tmp"], window["pool"], window["names"] + [ghost], extra)
        open_gate(window)
        code, output = finish(start_os_upgrade(window["tmp"], inventory, extra_path, "ghost"), 300)
        assert code != 0, output[-4000:]
        assert "there is no node '%s' in the cluster" % ghost in output, output[-4000:]
        assert "prewarm_node_name" in output and "Traceback" not in output, output[-4000:]
        # The pool's nodes went through their window.
        for name in window["names"]:
            assert _released(core_v1, name), name
        assert ghost not in [n.metadata.name for n in core_v1.list_node(label_selector="pool=" + window["pool"]).items]
