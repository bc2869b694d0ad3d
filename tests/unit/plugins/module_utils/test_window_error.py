# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error a failed window step leaves on its node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.filter.window_error import FilterModule
from ansible_collections.prewarm.k8s.plugins.module_utils.window_error import MAX_ERROR, is_drain, window_error
from ansible_collections.prewarm.k8s.plugins.test.failed_drain import TestModule as FailedDrainPlugin

DRAIN = {"name": "Drain the node", "action": "kubernetes.core.k8s_drain"}
SITE = {"name": "Upgrade the packages", "action": "ansible.builtin.apt"}
REFUSED = "Failed to delete pod shop/web-0 due to: Cannot evict pod as it would violate the pod's disruption budget."


def _pod(name, labels):
    return {"metadata": {"name": name, "namespace": "shop", "labels": labels, "ownerReferences": []}, "spec": {}}


def _budget(name, labels, allowed=0):
    return {"metadata": {"name": name, "namespace": "shop"},
            "spec": {"selector": {"matchLabels": labels}, "minAvailable": 1},
            "status": {"disruptionsAllowed": allowed, "currentHealthy": 1, "desiredHealthy": 1}}


def test_a_failed_task_leaves_its_message():
    assert window_error({"failed": True, "msg": "apt: could not fetch linux-image-6.8"}, SITE) == \
        "apt: could not fetch linux-image-6.8"


def test_a_loop_leaves_its_first_failed_items_message():
    result = {"failed": True, "msg": "One or more items failed",
              "results": [{"failed": False, "msg": "ok"}, {"failed": True, "msg": "disk full."}, {"failed": True, "msg": "later"}]}
    assert window_error(result, SITE) == "disk full"
    assert window_error({"results": [{"failed": False}]}, SITE) == "one or more items failed"


def test_a_batch_wide_task_that_failed_on_another_host_is_named():
    assert window_error({}, {"name": "Wait until the nodes are Ready again", "action": "prewarm.k8s.node_wait"}) == (
        'the batch-wide task "Wait until the nodes are Ready again" failed; its error is reported on the first node '
        'of the batch')


def test_a_failed_drain_says_how_often_it_was_tried_and_which_budget_held_it():
    pods = [_pod("web-0", {"app": "web"})]
    budgets = [_budget("web", {"app": "web"}), _budget("loose", {"app": "web"}, allowed=1), _budget("api", {"app": "api"})]
    error = window_error({"failed": True, "msg": REFUSED, "attempts": 3}, DRAIN, pods, budgets, 3, 10)
    assert error == ("drain: " + REFUSED + " (after 3 tries, 10 s apart); held by PodDisruptionBudget shop/web "
                     "(minAvailable 1; now 1 healthy of 1 wanted, 0 disruptions allowed) for pod web-0")
    # The pods or budgets could not be read: the drain's own error all the same.
    assert window_error({"failed": True, "msg": REFUSED}, DRAIN, None, None, 1, 5) == \
        "drain: " + REFUSED + " (after 1 tries, 5 s apart)"
    assert window_error({"failed": True}, DRAIN, [], [], 1, 5) == "drain: failed (after 1 tries, 5 s apart)"
    assert is_drain(DRAIN) and not is_drain(SITE) and not is_drain(None)


def test_the_rescue_asks_the_filters_question_through_the_test_plugin():
    failed_drain = FailedDrainPlugin().tests()["failed_drain"]
    assert failed_drain({"failed": True}, DRAIN) and not failed_drain({"failed": True}, SITE)
    assert not failed_drain(None, None) and not failed_drain({}, {})
    # A window_step that drains: its result says whether the drain, or the record after it, failed.
    step = {"name": "Drain the node and record it", "action": "prewarm.k8s.window_step"}
    assert failed_drain({"failed": True, "drain_failed": True, "msg": "held"}, step)
    assert not failed_drain({"failed": True, "msg": "could not be recorded: gone"}, step)
    assert window_error({"failed": True, "drain_failed": True, "msg": "held"}, step, [], [], 2, 1) == (
        "drain: held (after 2 tries, 1 s apart)")


def test_a_long_error_is_cut_at_a_word_and_ends_without_dots():
    error = window_error({"msg": "word " * 400}, SITE)
    assert len(error) <= MAX_ERROR and error.endswith("word") and not error.endswith(".")
    assert window_error({"msg": "x" * 2000}, SITE) == "x" * (MAX_ERROR - 3)


def test_the_filter_is_the_function():
    assert FilterModule().filters() == {"window_error": window_error}
