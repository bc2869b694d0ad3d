# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""prewarm.k8s.window_report: the run's HTML report, rendered and written on the controller (no module is sent)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.prewarm.k8s.plugins.module_utils.window_report import build_report

ARGUMENT_SPEC = {
    "playbook": {"type": "str", "required": True},
    "rows": {"type": "list", "elements": "dict", "required": True},
    "timelines": {"type": "dict"},
    "states": {"type": "dict"},
    "steps": {"type": "list", "elements": "str", "default": []},
    "path": {"type": "str"},
}
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


def _same_content(path, content):
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read() == content
    except (IOError, OSError, UnicodeDecodeError):
        return False


class ActionModule(ActionBase):
    """Render the report from the task's arguments, write it where `path` says, return its path and summary."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        problem = check_inputs(args)
        if problem:
            raise AnsibleActionFail("window_report: " + problem)
        moment = datetime.now(timezone.utc).replace(microsecond=0)
        path = args["path"] or default_path(args["playbook"], moment)
        check_mode = bool(self._task.check_mode)
        html, summary = build_report({
            "playbook": args["playbook"], "generated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "check_mode": check_mode,
            "steps": args["steps"], "rows": args["rows"], "timelines": args["timelines"], "states": args["states"],
        })
        changed = not _same_content(path, html)
        if changed:
            try:
                write_atomically(path, html)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail("window_report: cannot write the report to %s: %s" % (path, exc))
        summary["path"] = os.path.abspath(path)
        result.update(changed=changed, path=summary["path"], summary=summary,
                      msg="report of %d node(s) written to %s%s" % (len(summary["nodes"]), summary["path"],
                                                                    " (check mode: the run changed nothing)" if check_mode else ""))
        return result
