"""kubelet_config against the real node's kubelet: what the module writes is what the restarted kubelet runs with.

The module runs on the node host; here the real node's kubelet runs on this machine, so the module runs
on localhost against the kubelet's own files. The proof of a change is the kubelet's live configuration,
read through the API server's node proxy (/configz) after a restart, not the module's output.
Kubelet restarts are grouped: one per mode (main file, drop-in), one to restore the original at the end.
"""
import contextlib
import fcntl
import json
import os
import tempfile
import time
from datetime import datetime, timezone

import pytest
import yaml

from run_ansible import run_module

GC_FIELDS = ("imageGCHighThresholdPercent", "imageGCLowThresholdPercent", "imageMinimumGCAge", "imageMaximumGCAge")
DROPIN_NAME = "90-prewarm-image-gc.conf"
LOCK_PATH = os.path.join(tempfile.gettempdir(), "prewarm-it-kubelet-config.lock")


def live_config(core_v1, node):
    """The running kubelet's configuration, from its /configz through the API server."""
    # _preload_content=False: the client would otherwise turn the JSON body into a Python repr string.
    response = core_v1.connect_get_node_proxy_with_path(node, "configz", _preload_content=False, _request_timeout=30)
    return json.loads(response.data)["kubeletconfig"]


def live_gc_settings(core_v1, node):
    """The four GC settings the running kubelet uses."""
    live = live_config(core_v1, node)
    return {field: live[field] for field in GC_FIELDS}


def live_disk_eviction(core_v1, node):
    """{(kind, signal): value} of the running kubelet's imagefs/nodefs.available eviction thresholds (/configz)."""
    live = live_config(core_v1, node)
    return {(kind, signal): value for kind in ("evictionHard", "evictionSoft") for signal, value in (live.get(kind) or {}).items()
            if signal in ("imagefs.available", "nodefs.available") and value not in ("0%", "100%")}


def _disk_eviction(thresholds):
    return {(t["kind"], t["signal"]): t["value"] for t in thresholds}


def _ready_since(node, since):
    """Ready, as posted by a kubelet that reported at or after `since` (the restarted one)."""
    return any(c.type == "Ready" and c.status == "True" and c.last_heartbeat_time >= since
               for c in node.status.conditions or [])


def _snapshot(config_path, dropin_dir):
    """{path: bytes} of the kubelet's main file and every file of its drop-in directory, and whether that exists."""
    files = {config_path: _read(config_path)}
    if os.path.isdir(dropin_dir):
        for root, _dirs, names in os.walk(dropin_dir):
            files.update((os.path.join(root, n), _read(os.path.join(root, n))) for n in names)
    return files, os.path.isdir(dropin_dir)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


class KubeletHost:
    """The real kubelet's config files, a snapshot of them to restore, and a restart that waits for Ready."""

    def __init__(self, config_path, restart, core_v1, node, watch_until):
        self.config_path = config_path
        # The harness starts the kubelet with --config-dir=<kubelet dir>/config.d (tests/cluster/lib/kubelet.sh).
        self.dropin_dir = os.path.join(os.path.dirname(config_path), "config.d")
        self.node = node
        self._restart, self._core_v1, self._watch_until = restart, core_v1, watch_until
        self.saved = _snapshot(config_path, self.dropin_dir)
        self.original_live = live_gc_settings(core_v1, node)
        self.restarted = False
        self.restart_times = []

    def files_unchanged(self):
        return _snapshot(self.config_path, self.dropin_dir) == self.saved

    def restore_files(self):
        """Put back the main file and the drop-in directory exactly as they were (no restart)."""
        files, dir_existed = self.saved
        kubelet_dir, base = os.path.split(self.config_path)
        for name in os.listdir(kubelet_dir):
            # Backups (backup=true) of the main file, and any temporary file an atomic write left behind.
            if name.startswith((base + ".", "." + base + ".")):
                os.unlink(os.path.join(kubelet_dir, name))
        current = _snapshot(self.config_path, self.dropin_dir)[0]
        for path in current:
            if path not in files:
                os.unlink(path)
        for path, data in files.items():
            if current.get(path) != data:
                with open(path, "wb") as handle:
                    handle.write(data)
        if not dir_existed and os.path.isdir(self.dropin_dir):
            os.rmdir(self.dropin_dir)

    def restart(self):
        """Restart the kubelet and wait until the node is Ready again, as posted by the new kubelet."""
        self.restarted = True
        # Heartbeats have whole seconds. The kubelet posts its node status as soon as it starts, while the old
        # one posts rarely (only on changes), so a heartbeat from this second on is the new kubelet's.
        since = datetime.now(timezone.utc).replace(microsecond=0)
        started = time.monotonic()
        self._restart()
        self._watch_until(self._core_v1.list_node, lambda n: _ready_since(n, since), 90,
                          field_selector=f"metadata.name={self.node}")
        elapsed = time.monotonic() - started
        self.restart_times.append(elapsed)


@contextlib.contextmanager
def exclusive(path, timeout):
    """Hold an exclusive lock on `path`, waiting up to `timeout` seconds for it."""
    with open(path, "a", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another run of these tests still holds {path} after {timeout}s")
                time.sleep(1)
        yield  # closing the file releases the lock


@pytest.fixture(scope="module")
def kubelet_host(kubelet_config_path, kubelet_restart, core_v1, real_node, watch_until):
    """The real kubelet, given back at the end of the module with its original files and running config.

    Other tests use the real node, so after a restart with our settings the kubelet is restarted once more
    on the restored files and must come back Ready with the settings it had before.
    """
    # Two runs of this module at once (two engineers, one cluster) would each restore the other's edits as
    # the original: they take turns.
    with exclusive(LOCK_PATH, 300):
        host = KubeletHost(kubelet_config_path, kubelet_restart, core_v1, real_node, watch_until)
        yield host
        host.restore_files()
        assert host.files_unchanged()
        if host.restarted:
            host.restart()
            assert live_gc_settings(core_v1, real_node) == host.original_live
        print("kubelet restart to node Ready, each restart: " + ", ".join(f"{t:.1f}s" for t in host.restart_times))


@pytest.fixture
def kubelet(kubelet_host):
    """kubelet_host, with its files restored after each test (so tests run in any order; no restart here)."""
    yield kubelet_host
    kubelet_host.restore_files()


def _without_gc_lines(text):
    return [line for line in text.splitlines() if not line.startswith(GC_FIELDS)]


def test_main_file_settings_are_what_the_restarted_kubelet_runs(kubelet, core_v1, real_node):
    before_text = _read(kubelet.config_path).decode()
    before_mode = os.stat(kubelet.config_path).st_mode
    args = {"path": kubelet.config_path, "image_gc_high_threshold": 92, "image_gc_low_threshold": 88,
            "image_minimum_gc_age": "24h", "image_maximum_gc_age": "168h", "backup": True}

    result = run_module("kubelet_config", args)

    assert not result.get("failed"), result
    assert result["changed"] and result["restart_required"]
    assert result["path"] == kubelet.config_path
    expected = {"imageGCHighThresholdPercent": 92, "imageGCLowThresholdPercent": 88,
                "imageMinimumGCAge": "24h0m0s", "imageMaximumGCAge": "168h0m0s"}
    assert result["effective"] == expected
    assert _read(result["backup_file"]).decode() == before_text

    # Every other setting is kept, byte for byte: the lines that are not ours (comments included) are the same.
    after_text = _read(kubelet.config_path).decode()
    assert _without_gc_lines(after_text) == _without_gc_lines(before_text)
    before_doc, after_doc = yaml.safe_load(before_text), yaml.safe_load(after_text)
    assert {k: v for k, v in after_doc.items() if k not in GC_FIELDS} == \
        {k: v for k, v in before_doc.items() if k not in GC_FIELDS}
    assert {k: after_doc[k] for k in GC_FIELDS} == {"imageGCHighThresholdPercent": 92, "imageGCLowThresholdPercent": 88,
                                                    "imageMinimumGCAge": "24h", "imageMaximumGCAge": "168h"}
    assert os.stat(kubelet.config_path).st_mode == before_mode

    # Idempotent, also when an age is spelled differently but means the same (1440m = 24h).
    again = run_module("kubelet_config", dict(args, image_minimum_gc_age="1440m", backup=False))
    assert not again.get("failed"), again
    assert not again["changed"] and not again["restart_required"]
    assert _read(kubelet.config_path).decode() == after_text

    # The kubelet accepts the file and runs with exactly what the module predicted.
    kubelet.restart()
    assert live_gc_settings(core_v1, real_node) == expected
    assert _disk_eviction(result["eviction"]) == live_disk_eviction(core_v1, real_node)


def test_dropin_settings_are_what_the_restarted_kubelet_runs(kubelet, core_v1, real_node):
    main_before = _read(kubelet.config_path)
    dropin_path = os.path.join(kubelet.dropin_dir, DROPIN_NAME)
    args = {"path": kubelet.config_path, "dropin_dir": kubelet.dropin_dir, "image_gc_high_threshold": 93,
            "image_gc_low_threshold": 89, "image_minimum_gc_age": "36h", "image_maximum_gc_age": "72h"}

    result = run_module("kubelet_config", args)

    assert not result.get("failed"), result
    assert result["changed"] and result["restart_required"]
    assert result["path"] == dropin_path
    expected = {"imageGCHighThresholdPercent": 93, "imageGCLowThresholdPercent": 89,
                "imageMinimumGCAge": "36h0m0s", "imageMaximumGCAge": "72h0m0s"}
    assert result["effective"] == expected
    assert _read(kubelet.config_path) == main_before  # drop-in mode never touches the main file
    assert os.stat(dropin_path).st_mode & 0o777 == 0o644
    assert yaml.safe_load(_read(dropin_path)) == {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "imageGCHighThresholdPercent": 93, "imageGCLowThresholdPercent": 89,
        "imageMinimumGCAge": "36h", "imageMaximumGCAge": "72h"}

    dropin_text = _read(dropin_path)
    again = run_module("kubelet_config", args)
    assert not again.get("failed"), again
    assert not again["changed"] and not again["restart_required"]
    assert _read(dropin_path) == dropin_text

    # The main file now also sets the high threshold; the kubelet reads the drop-in after it, so the module
    # warns that this has no effect, and the restarted kubelet below shows that it indeed has none.
    shadowed = run_module("kubelet_config", {"path": kubelet.config_path, "dropin_dir": kubelet.dropin_dir, "target": "config",
                                             "image_gc_high_threshold": 94})
    assert not shadowed.get("failed"), shadowed
    assert shadowed["changed"]
    assert shadowed["overridden"] == [{"field": "imageGCHighThresholdPercent", "file": dropin_path, "value": 93}]
    assert shadowed["effective"] == expected
    assert any(dropin_path in w and "no effect" in w for w in shadowed.get("warnings", [])), shadowed

    kubelet.restart()
    assert live_gc_settings(core_v1, real_node) == expected


def test_eviction_thresholds_are_read_as_the_kubelet_merges_them(kubelet, core_v1, real_node):
    # A site drop-in read before ours raises imagefs.available to 12% and drops nodefs.available (null removes a
    # signal in a JSON merge patch): disk pressure now starts at 88% usage.
    os.makedirs(kubelet.dropin_dir, exist_ok=True)
    site = os.path.join(kubelet.dropin_dir, "40-site-eviction.conf")
    with open(site, "w", encoding="utf-8") as handle:
        handle.write("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                     "evictionHard:\n  imagefs.available: 12%\n  nodefs.available: null\n")
    args = {"path": kubelet.config_path, "dropin_dir": kubelet.dropin_dir, "image_gc_high_threshold": 88,
            "image_gc_low_threshold": 80}
    before = _snapshot(kubelet.config_path, kubelet.dropin_dir)

    refused = run_module("kubelet_config", args)

    assert refused.get("failed"), refused
    assert "imageGCHighThresholdPercent 88" in refused["msg"] and "evictionHard imagefs.available<12%% (from %s)" % site in refused["msg"]
    assert _snapshot(kubelet.config_path, kubelet.dropin_dir) == before

    result = run_module("kubelet_config", dict(args, image_gc_high_threshold=87))
    assert not result.get("failed"), result
    assert _disk_eviction(result["eviction"]) == {("evictionHard", "imagefs.available"): "12%"}
    # The restarted kubelet runs with exactly the thresholds the module computed.
    kubelet.restart()
    assert live_disk_eviction(core_v1, real_node) == _disk_eviction(result["eviction"])


@pytest.mark.parametrize("mode, args, named", [
    pytest.param("config", {"image_gc_high_threshold": 80, "image_gc_low_threshold": 80}, "imageGCLowThresholdPercent 80",
                 id="low-equal-to-high"),
    # Only the low threshold is given: it is checked against the high threshold already in the file ({high}: 85 on a
    # new test cluster, 80 after a demo run).
    pytest.param("config", {"image_gc_low_threshold": 90}, "imageGCHighThresholdPercent {high}", id="low-above-high-of-the-file"),
    pytest.param("config", {"image_gc_high_threshold": 101}, "101", id="high-101"),
    pytest.param("config", {"image_minimum_gc_age": "5 minutes"}, "5 minutes", id="bad-duration"),
    pytest.param("config", {"image_minimum_gc_age": "1h", "image_maximum_gc_age": "30m"}, "imageMaximumGCAge 30m0s",
                 id="max-age-below-min-age"),
    pytest.param("config", {"image_minimum_gc_age": "1h", "image_maximum_gc_age": "1h"}, "imageMaximumGCAge 1h0m0s",
                 id="max-age-equal-to-min-age"),
    # A drop-in is checked against the main file it overrides (its high threshold) and the kubelet's defaults (min age 2m).
    pytest.param("dropin", {"image_gc_low_threshold": "{high}"}, "imageGCHighThresholdPercent {high}",
                 id="dropin-low-equal-to-high-of-main-file"),
    pytest.param("dropin", {"image_maximum_gc_age": "1m"}, "imageMinimumGCAge 2m0s", id="dropin-max-age-below-default-min-age"),
    # The test kubelet's evictionHard has imagefs.available 5%: disk pressure from 95% usage on.
    pytest.param("config", {"image_gc_high_threshold": 95}, "is at or above 95%", id="high-at-imagefs-eviction"),
    pytest.param("dropin", {"image_gc_high_threshold": 100}, "evictionHard imagefs.available<5%", id="dropin-gc-off-above-eviction"),
])
def test_bad_values_fail_before_writing_anything(kubelet, mode, args, named):
    # {high}: the high threshold in the main file now.
    high = yaml.safe_load(_read(kubelet.config_path)).get("imageGCHighThresholdPercent", 85)
    assert high < 90, "the main file's image GC high threshold is %s: these cases need it below 90" % high
    args = dict((name, int(value.format(high=high)) if value == "{high}" else value) for name, value in args.items())
    named = named.format(high=high)
    module_args = dict(args, path=kubelet.config_path)
    if mode == "dropin":
        module_args["dropin_dir"] = kubelet.dropin_dir

    result = run_module("kubelet_config", module_args)

    assert result.get("failed"), result
    assert named in result["msg"], result["msg"]
    # Not a byte of the main file changed, and no drop-in appeared.
    assert kubelet.files_unchanged()


@pytest.mark.parametrize("mode", ["config", "dropin"])
def test_check_mode_reports_the_change_and_writes_nothing(kubelet, mode):
    args = {"path": kubelet.config_path, "image_gc_high_threshold": 94, "image_maximum_gc_age": "48h"}
    if mode == "dropin":
        args["dropin_dir"] = kubelet.dropin_dir
    mtime = os.stat(kubelet.config_path).st_mtime_ns

    result = run_module("kubelet_config", args, check=True, diff=True)

    assert not result.get("failed"), result
    assert result["changed"] and result["restart_required"]
    assert result["msg"].startswith("would update")
    assert "imageGCHighThresholdPercent: 94" in result["diff"]["after"]
    assert kubelet.files_unchanged()
    assert os.stat(kubelet.config_path).st_mtime_ns == mtime
