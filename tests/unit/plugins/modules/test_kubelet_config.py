# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubelet_config end to end on temporary files: real AnsibleModule, real writes, no mocks of the node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.prewarm.k8s.plugins.modules import kubelet_config

CONFIG = """\
# kubeadm, then hand-tuned
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
imageGCHighThresholdPercent: 85 # default
unknownFutureField:
  keep: me
"""


def run_module(capsys, check_mode=False, diff=False, **args):
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            kubelet_config.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_info.value.code
    return result


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    path.chmod(0o600)
    return path


def test_edits_main_file_keeping_the_rest_then_is_idempotent(capsys, config):
    args = dict(path=str(config), image_gc_high_threshold=82, image_gc_low_threshold=75, image_minimum_gc_age="24h")
    first = run_module(capsys, diff=True, **args)
    assert first["rc"] == 0 and first["changed"] and first["restart_required"]
    assert config.read_text() == CONFIG.replace("85 # default", "82 # default") + (
        'imageGCLowThresholdPercent: 75\nimageMinimumGCAge: "24h"\n')
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # mode kept by the atomic rename
    assert first["diff"]["before"] == CONFIG and first["diff"]["after"] == config.read_text()
    assert first["effective"] == {"imageGCHighThresholdPercent": 82, "imageGCLowThresholdPercent": 75,
                                  "imageMinimumGCAge": "24h0m0s", "imageMaximumGCAge": "0s"}
    assert "imageGCHighThresholdPercent 85 -> 82" in first["msg"]
    assert [p.name for p in config.parent.iterdir()] == ["config.yaml"]  # no temp file left behind

    args["image_minimum_gc_age"] = "1440m"  # the same age spelled differently
    second = run_module(capsys, **args)
    assert not second["changed"] and not second["restart_required"]
    assert "already holds" in second["msg"]


def test_check_mode_reports_without_writing(capsys, config):
    result = run_module(capsys, check_mode=True, diff=True, path=str(config), image_gc_high_threshold=84)
    assert result["changed"] and result["restart_required"] and not result["image_gc_disabled"]
    assert result["msg"].startswith("would update")
    assert "imageGCHighThresholdPercent: 84 # default" in result["diff"]["after"]
    assert config.read_text() == CONFIG


def test_backup_is_made_only_when_changing(capsys, config):
    result = run_module(capsys, path=str(config), image_gc_high_threshold=82, backup=True)
    assert open(result["backup_file"]).read() == CONFIG
    again = run_module(capsys, path=str(config), image_gc_high_threshold=82, backup=True)
    assert "backup_file" not in again


def test_bad_value_fails_naming_it_and_writes_nothing(capsys, config):
    result = run_module(capsys, path=str(config), image_gc_high_threshold=82, image_maximum_gc_age="1day")
    assert result["failed"] and "image_maximum_gc_age: unknown unit 'day'" in result["msg"]
    result = run_module(capsys, path=str(config), image_gc_low_threshold=85)
    assert result["failed"] and "imageGCLowThresholdPercent 85" in result["msg"]
    assert config.read_text() == CONFIG


def test_missing_main_file_fails(capsys, tmp_path):
    result = run_module(capsys, path=str(tmp_path / "nope.yaml"), image_gc_high_threshold=82)
    assert result["failed"] and "does not exist" in result["msg"]


def test_dropin_is_created_and_later_dropins_are_reported(capsys, config, tmp_path):
    dropins = tmp_path / "kubelet.conf.d"
    result = run_module(capsys, path=str(config), dropin_dir=str(dropins), image_gc_high_threshold=82, image_gc_low_threshold=75)
    ours = dropins / "90-prewarm-image-gc.conf"
    assert result["changed"] and result["path"] == str(ours)
    assert stat.S_IMODE(ours.stat().st_mode) == 0o644
    assert yaml.safe_load(ours.read_text()) == {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                                                "imageGCHighThresholdPercent": 82, "imageGCLowThresholdPercent": 75}
    assert config.read_text() == CONFIG  # the main file is only read in drop-in mode

    (dropins / "99-site.conf").write_text('{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", '
                                          '"imageGCLowThresholdPercent": 70}')
    (dropins / "README.md").write_text("not read by the kubelet: imageGCLowThresholdPercent: 1")
    again = run_module(capsys, path=str(config), dropin_dir=str(dropins), image_gc_high_threshold=82, image_gc_low_threshold=75)
    assert not again["changed"]
    assert again["overridden"] == [{"field": "imageGCLowThresholdPercent", "file": str(dropins / "99-site.conf"), "value": 70}]
    assert again["effective"]["imageGCLowThresholdPercent"] == 70
    # ansible-core 2.19 reports warnings as structured events: look for the text anywhere in them.
    assert "has no effect" in json.dumps(again["warnings"])


def test_dropin_mode_check_mode_creates_nothing(capsys, tmp_path):
    dropins = tmp_path / "kubelet.conf.d"
    result = run_module(capsys, check_mode=True, dropin_dir=str(dropins), path=str(tmp_path / "absent.yaml"),
                        image_maximum_gc_age="0s")
    assert result["changed"] and not dropins.exists()


def test_main_file_target_with_dropin_dir_warns_about_overrides(capsys, config, tmp_path):
    dropins = tmp_path / "d"
    dropins.mkdir()
    (dropins / "10.conf").write_text("kind: KubeletConfiguration\nimageGCHighThresholdPercent: 88\n")
    result = run_module(capsys, path=str(config), dropin_dir=str(dropins), target="config", image_gc_high_threshold=82)
    assert result["path"] == str(config) and result["changed"]
    assert result["effective"]["imageGCHighThresholdPercent"] == 88
    assert result["overridden"][0]["file"] == str(dropins / "10.conf")


def test_symlinked_config_keeps_the_link(capsys, config, tmp_path):
    link = tmp_path / "link.yaml"
    link.symlink_to(config)
    result = run_module(capsys, path=str(link), image_gc_high_threshold=82)
    assert result["changed"] and link.is_symlink()
    assert "imageGCHighThresholdPercent: 82" in config.read_text()


def test_dropin_without_kind_is_reported(capsys, config, tmp_path):
    dropins = tmp_path / "d"
    dropins.mkdir()
    (dropins / "10-old.conf").write_text("maxPods: 200\n")
    result = run_module(capsys, path=str(config), dropin_dir=str(dropins), image_gc_high_threshold=82)
    assert result["changed"]
    assert "10-old.conf has no apiVersion and kind" in json.dumps(result["warnings"])


def test_invalid_dropin_name_fails(capsys, tmp_path):
    result = run_module(capsys, dropin_dir=str(tmp_path), dropin_name="prewarm.yaml", image_gc_high_threshold=82)
    assert result["failed"] and "dropin_name" in result["msg"]


def test_json_main_file(capsys, tmp_path):
    path = tmp_path / "kubelet.json"
    path.write_text('{\n  "kind": "KubeletConfiguration",\n  "port": 10250\n}\n')
    result = run_module(capsys, path=str(path), image_gc_high_threshold=84, image_gc_low_threshold=80)
    assert result["changed"]
    assert path.read_text() == ('{\n  "kind": "KubeletConfiguration",\n  "port": 10250,\n'
                                '  "imageGCHighThresholdPercent": 84,\n  "imageGCLowThresholdPercent": 80\n}\n')


ANSIBLE_CLI = shutil.which("ansible", path=os.path.dirname(sys.executable)) or shutil.which("ansible")
# Set by the Makefile to a tree where Ansible finds this checkout as prewarm.k8s.
COLLECTIONS_PATH = os.environ.get("ANSIBLE_COLLECTIONS_PATH")


@pytest.mark.skipif(not ANSIBLE_CLI or not COLLECTIONS_PATH, reason="needs the ansible CLI and ANSIBLE_COLLECTIONS_PATH (make unit sets it)")
def test_runs_through_the_ansible_cli(config):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOCALHOST_WARNING="0")
    out = subprocess.run([ANSIBLE_CLI, "localhost", "-m", "prewarm.k8s.kubelet_config", "-a",
                          "path=%s image_gc_high_threshold=82" % config], env=env, capture_output=True, text=True, check=False)
    result = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] and result["effective"]["imageGCHighThresholdPercent"] == 82
