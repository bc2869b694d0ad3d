# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How an os_upgrade run ends: the steps its check-mode summary names, and the message the run fails with.

In Python, for the actions of the playbook's Summary play (upgrade_table, upgrade_failures): a task that templates
these over thousands of node hosts spends a tenth of a second or more iterating Ansible's lazy lists alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The node_upgrade role's steps, in order: its node_upgrade_steps (roles/node_upgrade/vars/main.yml; a unit test keeps
# the two the same). A play that prints the summary without including the role has no role variable to read.
UPGRADE_STEPS = ("marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm")


def _text(value):
    # As a template prints a value: nothing for None.
    return "" if value is None else str(value)


def failure_message(outcome):
    """The message an os_upgrade run fails with, from upgrade_outcome's answer; None when no node failed.

    The failed nodes, each with its result, in host order; how to resume; and, when some hosts were never reached,
    that the batches after the failure were not started. Word for word what the playbook's fail task said (its
    template ended in a space).
    """
    failed = outcome["failed"]
    if not failed:
        return None
    return ("%d node(s) failed and stay under maintenance: %s. Fix the cause and run the playbook again: each node "
            "resumes at the step that failed. %s" % (
                len(failed), " | ".join("%s (%s)" % (_text(report.get("node")), _text(report.get("result"))) for report in failed),
                "Batches after the failure were not started. " if outcome["unreached"] else ""))
