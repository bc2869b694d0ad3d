"""The run's HTML report, as a browser shows it: a playbook run over the demo's kwok pools, then headless chromium.

The playbooks run with the demo's inventory and variables, the preloader in a namespace of the test's own under a name
of its own (so its admission label is not that of another run warming the same pool). The prewarm run marks no node
(warm_mark stays false) and the test takes its admission label off again; the os_upgrade run is a check run over the
kwok pools only. The shared nodes are left as they were. Chromium (tests/cluster/install-deps.sh installs it) loads
each report from its file: no console message, and every node of the run in the rendered DOM.
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from html.parser import HTMLParser

from run_ansible import ansible_env

DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo")


class Dom(HTMLParser):
    """The text of the rendered DOM's SVG labels (one per timeline row) and of its table header cells."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.labels, self.row_heads, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag == "text" and classes == "label":
            self._in = self.labels
        elif tag == "th" and classes == "node":
            self._in = self.row_heads
        elif tag == "title":  # a label's hover text
            self._in = None

    def handle_endtag(self, tag):
        if tag in ("text", "th"):
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self._in.append(data.strip())


def chromium(url):
    """(DOM, console lines) of the page, as headless chromium renders it."""
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed: run tests/cluster/install-deps.sh"
    # --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
    proc = subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                           "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def test_chromium_reports_what_a_page_says_on_its_console(tmp_path):
    """The check below would pass on any page if chromium's console never reached its log: it does."""
    page = tmp_path / "noisy.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("noisy page")</script></body></html>')
    _dom, console = chromium(page.as_uri())
    assert any('"noisy page"' in line for line in console), console


def run_playbook(playbook, extra, tmp_path, *options):
    """The json callback's account of one ansible-playbook run of prewarm.k8s.<playbook> (with set_stats shown)."""
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s." + playbook,
           "-i", os.path.join(DEMO, "inventory.yml"), "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@%s" % extra_file]
    proc = subprocess.run(cmd + list(options), env=ansible_env({"ANSIBLE_SHOW_CUSTOM_STATS": "1"}), capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)


def said(run, host):
    """What the run's last task of that name printed: the report's path."""
    return [task["hosts"][host].get("msg") for task in run["plays"][-1]["tasks"]
            if task["task"]["name"] == "Say where the report is" and host in task["hosts"]]


def rendered(report):
    dom, console = chromium(report.as_uri())
    assert console == []
    parsed = Dom()
    parsed.feed(dom)
    return parsed


def test_a_prewarm_run_writes_a_report_that_chromium_renders_with_every_node(kubeconfig, core_v1, namespace, kwok_pools, tmp_path):
    nodes = ["kwok-gpu-%d" % index for index in range(kwok_pools["gpu"])]
    preloader = "report-%s" % uuid.uuid4().hex[:6]
    report = tmp_path / "reports" / "prewarm.html"
    try:
        run = run_playbook("prewarm", {"prewarm_kubeconfig": kubeconfig, "prewarm_namespace": namespace, "warm_pool": "gpu",
                                       "preload_name": preloader, "prewarm_report_path": str(report)}, tmp_path)
    finally:
        for node in nodes:
            core_v1.patch_node(node, {"metadata": {"labels": {"preload.prewarm.k8s/" + preloader: None}}})

    # The path is printed at the end, and AWX gets the summary (set_stats) with every node's result.
    assert said(run, "localhost") == ["report of %d node(s) written to %s" % (len(nodes), report)]
    stats = run["global_custom_stats"]["prewarm_report"]
    assert stats["path"] == str(report) and stats["playbook"] == "prewarm" and not stats["check_mode"]
    assert stats["nodes"] == dict((node, "warm") for node in nodes) and stats["failed"] == {}
    assert 1 <= stats["max_pulling"] <= len(nodes)

    page = rendered(report)
    assert page.labels == nodes  # the timeline: a row per node
    assert sorted(page.row_heads) == nodes  # the pool's nodes x images grid


def test_a_check_run_of_os_upgrade_over_the_kwok_pools_writes_a_report_that_says_so(kubeconfig, namespace, kwok_pools, tmp_path):
    nodes = sorted("kwok-%s-%d" % (pool, index) for pool in ("cpu", "gpu") for index in range(kwok_pools[pool]))
    report = tmp_path / "check.html"
    run = run_playbook("os_upgrade", {"prewarm_kubeconfig": kubeconfig, "prewarm_namespace": namespace, "os_upgrade_pools": "cpu,gpu",
                                      "preload_name": "report-%s" % uuid.uuid4().hex[:6], "prewarm_report_path": str(report)},
                       tmp_path, "--check")

    # The host that ran the Summary play's tasks: that of its last task with a result (the play ends with a meta task,
    # which has none).
    first = [task["hosts"] for task in run["plays"][-1]["tasks"] if task["hosts"]][-1]
    assert said(run, sorted(first)[0]) == ["report of %d node(s) written to %s (check mode: the run changed nothing)" % (len(nodes), report)]
    stats = run["global_custom_stats"]["prewarm_report"]
    assert stats["check_mode"] and stats["playbook"] == "os_upgrade" and sorted(stats["nodes"]) == nodes

    page = rendered(report)
    assert page.labels == nodes
    assert "Check mode: nothing was changed on the cluster" in report.read_text(encoding="utf-8")
