# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error a failed window step leaves on its node: what the failed task said, short enough for an annotation.

The node_upgrade role's rescue writes it into the node's maintenance annotation and the run's summary. A failed drain
says how often it was tried and which PodDisruptionBudgets held it: the Eviction API's refusal names no budget.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.disruption import describe_holding, holding_budgets
from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import cut_at_space

# A drain is this module's task, or a window_step that drains (its failed result says the drain failed).
DRAIN_ACTION = "kubernetes.core.k8s_drain"
# The annotation holds the whole record (256 KiB for all of a node's annotations); the summary shows the start.
MAX_ERROR = 900


def is_drain(task, result=None):
    """Whether the failed task (ansible_failed_task, its result ansible_failed_result) is a drain that failed."""
    return (task or {}).get("action") == DRAIN_ACTION or bool((result or {}).get("drain_failed"))


def task_error(result, task):
    """What the failed task said: its message, or for a loop its first failed item's.

    A task run once for the batch gives its result to one host only: the others say so, naming the task.
    """
    items = (result or {}).get("results")
    if isinstance(items, list) and items:
        failed = [item for item in items if isinstance(item, dict) and item.get("failed")]
        return (failed[0].get("msg") or "") if failed else "one or more items failed"
    if (result or {}).get("msg") is not None:
        return result["msg"]
    return ('the batch-wide task "%s" failed; its error is reported on the first node of the batch'
            % ((task or {}).get("name") or "?"))


def window_error(result, task, pods=None, budgets=None, drain_tries=None, drain_delay=None):
    """The failed step's error: the task's message (a drain's with its tries and the budgets that held it), at most
    MAX_ERROR - 3 characters (as Jinja's truncate left it, its "..." then stripped), cut at a word, without trailing
    dots."""
    if is_drain(task, result):
        error = "drain: %s (after %s tries, %s s apart)%s" % (
            (result or {}).get("msg") or "failed", drain_tries, drain_delay,
            describe_holding(holding_budgets(pods or [], budgets or [])))
    else:
        error = "%s" % (task_error(result, task),)
    if len(error) > MAX_ERROR:
        error = cut_at_space(error, MAX_ERROR - 3)[0]
    return error.rstrip(".")
