# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window_report action's file: its default path, the checks of the action's inputs, the atomic write.

Apart from the action so that tests import them without Ansible's action machinery, whose import changes how
modules run in the same process report their warnings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

DEFAULT_DIRECTORY = "prewarm-reports"
REPORT_SUFFIXES = (".html", ".htm")


def default_path(playbook, moment):
    """prewarm-reports/<playbook>-<UTC time>.html, relative to the working directory."""
    return os.path.join(DEFAULT_DIRECTORY, "%s-%s.html" % (playbook, moment.strftime("%Y%m%dT%H%M%SZ")))


def check_inputs(args):
    """The message naming the first bad value, or None."""
    path = args.get("path")
    if path is not None:
        if not path.strip() or not path.lower().endswith(REPORT_SUFFIXES):
            return "path %r must name an .html file" % path
        if os.path.isdir(path):
            return "path %r is a directory; name the report file in it" % path
    for row in args["rows"]:
        if "node" not in row:
            return "each row needs a node; this one has none: %r" % dict((key, row[key]) for key in sorted(row)[:5])
    for node, timeline in (args.get("timelines") or {}).items():
        if timeline is not None and not (isinstance(timeline, list) and all(isinstance(entry, dict) for entry in timeline)):
            return "timelines[%r] must be a list of {step, start, end, result, error}, not %r" % (node, type(timeline).__name__)
    for pool, nodes in (args.get("states") or {}).items():
        if not isinstance(nodes, dict):
            return "states[%r] must map node names to {state, images}, not %r" % (pool, type(nodes).__name__)
    return None


def write_atomically(path, content):
    """Write the file next to its final name, then rename it over: a reader sees the old report or the new one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def same_content(path, content):
    """Whether the file at path holds this text already."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read() == content
    except (IOError, OSError, UnicodeDecodeError):
        return False
