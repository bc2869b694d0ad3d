# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the ansible-playbook run that started a waiting module is still there.

A module outlives the playbook that started it: Ansible runs each task in a worker process
with a session of its own, so killing ansible-playbook, or sending SIGTERM to the job's
process group as a scheduler's cancel does, leaves the worker, its shell and the module
running, and a warm-up would go on admitting and releasing nodes nobody watches. The
collection's action plugin hands the module ansible-playbook's process ID and start time
(option `controller`); the module's waits stop once that process is gone. The start time
tells a restarted process that reuses the PID from the original.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError

# How often a wait looks: the module stops within this many seconds of the playbook's end.
CHECK_INTERVAL = 1.0


class ControllerGone(PrewarmError):
    """The ansible-playbook run that started the module ended while the module waited."""


def parse_start_time(stat_text):
    """The process start time (clock ticks since boot, field 22) from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may itself hold spaces and ')': the fields
    after it are counted from the last ')'.
    """
    fields = stat_text.rsplit(")", 1)[1].split()
    return int(fields[19])


def _read_stat(pid):
    with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def start_time(pid, read=_read_stat):
    """The start time of process `pid`, or None when there is no such process (or no /proc)."""
    try:
        return parse_start_time(read(pid))
    except (OSError, IndexError, ValueError):
        return None


def identity(pid, read=_read_stat):
    """{pid, start} of a running process, or None when it cannot be told apart (no /proc)."""
    start = start_time(pid, read)
    return None if start is None else {"pid": pid, "start": start}


def gone(controller, read=_read_stat):
    """Whether the process `controller` ({pid, start}, or None for "not watched") has ended."""
    if not controller:
        return False
    return start_time(controller["pid"], read) != controller["start"]


def stop_message(what):
    return ("the ansible-playbook run that started this module ended (killed or cancelled) while it waited, so it "
            "stopped: %s. Nodes stay as their maintenance annotations say; run the playbook again to go on" % what)
