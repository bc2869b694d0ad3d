# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.client import readiness_problem

# What kube-apiserver 1.34 answers on /readyz?verbose with etcd stopped (abridged).
ETCD_DOWN = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[-]etcd-readiness failed: reason withheld\n" \
            "[+]informer-sync ok\nreadyz check failed\n"


def test_a_ready_server_is_no_problem():
    assert readiness_problem(200, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n") is None


def test_etcd_down_names_the_failed_checks():
    assert readiness_problem(500, ETCD_DOWN) == "not ready (HTTP 500 from /readyz: failed checks: etcd failed: reason withheld, " \
                                                "etcd-readiness failed: reason withheld)"


def test_not_ready_without_details_still_says_so():
    assert readiness_problem(503, "") == "not ready (HTTP 503 from /readyz)"


@pytest.mark.parametrize("status", [401, 403, 404])
def test_answers_that_say_nothing_about_readiness_are_left_to_the_list_that_follows(status):
    # Anonymous requests turned off, or a proxy in front that does not pass /readyz.
    assert readiness_problem(status, "Unauthorized") is None
