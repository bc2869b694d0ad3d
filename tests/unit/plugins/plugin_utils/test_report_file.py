# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window_report action's file (plugin_utils/report_file.py): its default path, the checks of its inputs, the atomic write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from datetime import datetime, timezone

import pytest

from ansible_collections.prewarm.k8s.plugins.plugin_utils.report_file import check_inputs, default_path, write_atomically


def args(**given):
    return dict({"playbook": "os_upgrade", "rows": [], "timelines": None, "states": None, "steps": [], "path": None}, **given)


def test_the_default_path_is_a_new_file_per_run_under_prewarm_reports():
    moment = datetime(2026, 12, 4, 10, 25, 0, tzinfo=timezone.utc)
    assert default_path("os_upgrade", moment) == os.path.join("prewarm-reports", "os_upgrade-20261204T102500Z.html")


@pytest.mark.parametrize("given, message", [
    (dict(path="report.txt"), "path 'report.txt' must name an .html file"),
    (dict(path="  "), "path '  ' must name an .html file"),
    (dict(rows=[{"pool": "gpu"}]), "each row needs a node; this one has none: {'pool': 'gpu'}"),
    (dict(timelines={"n1": "marked"}), "timelines['n1'] must be a list of {step, start, end, result, error}, not 'str'"),
    (dict(timelines={"n1": ["marked"]}), "timelines['n1'] must be a list of {step, start, end, result, error}, not 'list'"),
    (dict(states={"gpu": ["n1"]}), "states['gpu'] must map node names to {state, images}, not 'list'"),
])
def test_bad_inputs_are_named(given, message):
    assert check_inputs(args(**given)) == message


def test_a_directory_is_not_a_report_file(tmp_path):
    directory = tmp_path / "r.html"
    directory.mkdir()
    assert check_inputs(args(path=str(directory))) == "path %r is a directory; name the report file in it" % str(directory)


def test_good_inputs_pass():
    assert check_inputs(args(path="out/r.HTML", rows=[{"node": "n1"}], timelines={"n1": [], "n2": None},
                             states={"gpu": {}})) is None


def test_the_report_is_written_whole_with_its_directory_and_no_temporary_file_left(tmp_path):
    path = tmp_path / "a" / "b" / "report.html"
    write_atomically(str(path), u"<p>\u00e9t\u00e9</p>")
    write_atomically(str(path), u"<p>second</p>")
    assert path.read_text(encoding="utf-8") == u"<p>second</p>"
    assert os.listdir(str(path.parent)) == ["report.html"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_report_and_no_temporary_file(tmp_path):
    path = tmp_path / "report.html"
    write_atomically(str(path), u"old")
    with pytest.raises(TypeError):
        write_atomically(str(path), b"not text")
    assert path.read_text(encoding="utf-8") == "old" and os.listdir(str(tmp_path)) == ["report.html"]
