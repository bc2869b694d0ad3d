"""The run's HTML report, as a browser shows it: the prewarm playbook over the demo's gpu pool, then headless chromium.

The playbook runs with the demo's inventory and variables, its preloader in a namespace of the test's own under a name
of its own (so its admission label is not that of another run warming the same pool), and marks no node (warm_mark
stays false); the test takes its admission label off again, so the shared nodes are left as they were. Chromium (tests/cluster/install-deps.sh
installs it) loads the report from its file: no console message, and every node of the run in the rendered DOM.
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


def test_a_prewarm_run_writes_a_report_that_chromium_renders_with_every_node(kubeconfig, core_v1, namespace, kwok_pools, tmp_path):
    nodes = ["kwok-gpu-%d" % index for index in range(kwok_pools["gpu"])]
    preloader = "report-%s" % uuid.uuid4().hex[:6]
    report = tmp_path / "reports" / "prewarm.html"
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"prewarm_kubeconfig": kubeconfig, "prewarm_namespace": namespace, "warm_pool": "gpu",
                                 "preload_name": preloader, "prewarm_report_path": str(report)}))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "prewarm.k8s.prewarm",
           "-i", os.path.join(DEMO, "inventory.yml"), "-e", "@" + os.path.join(DEMO, "vars.yml"), "-e", "@%s" % extra]
    try:
        proc = subprocess.run(cmd, env=ansible_env({"ANSIBLE_SHOW_CUSTOM_STATS": "1"}), capture_output=True, text=True,
                              timeout=900, check=False)
    finally:
        for node in nodes:
            core_v1.patch_node(node, {"metadata": {"labels": {"preload.prewarm.k8s/" + preloader: None}}})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    run = json.loads(proc.stdout)

    # The path is printed at the end, and AWX gets the summary (set_stats) with every node's result.
    said = [task["hosts"]["localhost"].get("msg") for task in run["plays"][-1]["tasks"] if task["task"]["name"] == "Say where the report is"]
    assert said == ["report of %d node(s) written to %s" % (len(nodes), report)]
    stats = run["global_custom_stats"]["prewarm_report"]
    assert stats["path"] == str(report) and stats["playbook"] == "prewarm" and not stats["check_mode"]
    assert stats["nodes"] == dict((node, "warm") for node in nodes) and stats["failed"] == {}
    assert 1 <= stats["max_pulling"] <= len(nodes)

    dom, console = chromium(report.as_uri())
    assert console == []
    parsed = Dom()
    parsed.feed(dom)
    assert parsed.labels == nodes  # the timeline: a row per node
    assert sorted(parsed.row_heads) == nodes  # the pool's nodes x images grid
