"""The picture of a run's report in the docs: a demo-like os_upgrade run rendered, then shot with headless chromium.

    python tests/tools/window_report_screenshot.py docs/images/window-report.png

The run is tests/unit/plugins/module_utils/window_report_runs.py's demo_run (the demo's three pools, one node
failing its drain), so the picture shows every kind of bar without a cluster.
"""
import os
import shutil
import subprocess
import sys
import tempfile

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)
# Importing it makes the collection importable, as for the unit tests.
import conftest  # noqa: F401 pylint: disable=unused-import,wrong-import-position

from ansible_collections.prewarm.k8s.plugins.module_utils.window_report import build_report  # pylint: disable=wrong-import-position
from ansible_collections.prewarm.k8s.tests.unit.plugins.module_utils.window_report_runs import demo_run  # pylint: disable=wrong-import-position

WINDOW = "1120,1560"


def main(target):
    html, _summary = build_report(demo_run())
    with tempfile.TemporaryDirectory() as work:
        page = os.path.join(work, "window-report.html")
        with open(page, "w", encoding="utf-8") as stream:
            stream.write(html)
        # --no-sandbox: chromium refuses its sandbox as root.
        subprocess.run([shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=" + WINDOW, "--screenshot=" + os.path.abspath(target), "file://" + page],
                       check=True, capture_output=True, timeout=120)
    print("%s: %d bytes" % (target, os.path.getsize(target)))


if __name__ == "__main__":
    main(sys.argv[1])
