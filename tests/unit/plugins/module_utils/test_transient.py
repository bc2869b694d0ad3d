# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which failures of a node write are sent again, after how long, and how often."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from kubernetes.client import ApiException
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from ansible_collections.prewarm.k8s.plugins.module_utils import transient


def api_error(status, retry_after=None):
    exc = ApiException(status=status, reason="r")
    exc.headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return exc


class Requests(object):
    """Raises the given exceptions in turn, then returns "ok"; records the waits asked for."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.sent = 0
        self.waits = []

    def __call__(self):
        self.sent += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"

    def send(self, **kwargs):
        return transient.send(self, sleep=self.waits.append, rand=lambda low, high: high, **kwargs)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_overload_and_server_errors_are_transient(status):
    assert transient.is_transient(api_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_answers_that_would_not_change_are_not(status):
    assert not transient.is_transient(api_error(status))


def test_lost_connections_are_transient_other_errors_are_not():
    assert transient.is_transient(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    assert transient.is_transient(ReadTimeoutError(None, "/api/v1/nodes/w1", "read timed out"))
    assert not transient.is_transient(ValueError("not JSON"))


def test_retry_after_is_obeyed_with_up_to_a_second_of_jitter_and_bounded():
    def most(low, high):
        return high
    assert transient.retry_delay(api_error(429, "2"), 1, rand=most) == 3.0
    assert transient.retry_delay(api_error(429, "2"), 1, rand=lambda low, high: low) == 2.0
    assert transient.retry_delay(api_error(429, "0.5"), 1, rand=most) == 1.0
    assert transient.retry_delay(api_error(429, "0"), 1, rand=most) == 0.0
    assert transient.retry_delay(api_error(429, "32"), 1, rand=most) == 33.0
    # Longer than the API server ever asks for: not waited out, the node is reported instead.
    assert transient.retry_delay(api_error(429, "60"), 1, rand=most) is None


def test_without_retry_after_the_wait_is_random_under_a_doubling_bound():
    bounds = [transient.retry_delay(api_error(503), attempt, rand=lambda low, high: high) for attempt in range(1, 7)]
    assert bounds == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    # An HTTP-date Retry-After (the API server sends seconds) falls back to the back-off.
    assert transient.retry_delay(api_error(503, "Wed, 21 Oct 2026 07:28:00 GMT"), 1, rand=lambda low, high: low) == 0


def test_a_transient_failure_is_sent_again_until_it_succeeds():
    requests = Requests(api_error(429, "1"), api_error(503))
    assert requests.send() == "ok"
    assert requests.sent == 3
    assert requests.waits == [2.0, 1.0]


def test_other_failures_are_raised_at_once():
    requests = Requests(api_error(403))
    with pytest.raises(ApiException) as caught:
        requests.send()
    assert caught.value.status == 403
    assert requests.sent == 1 and requests.waits == []


@pytest.mark.parametrize("status, bound", [(500, transient.MAX_ATTEMPTS), (503, transient.MAX_ATTEMPTS),
                                           (429, transient.MAX_ATTEMPTS_OVERLOADED)])
def test_attempts_are_bounded_and_the_last_failure_is_kept(status, bound):
    requests = Requests(*[api_error(status, "1" if status == 429 else None) for _attempt in range(bound)])
    with pytest.raises(transient.GaveUp) as caught:
        requests.send()
    assert requests.sent == bound
    assert caught.value.attempts == bound
    assert caught.value.cause.status == status
    assert len(requests.waits) == bound - 1


def test_a_success_after_the_last_allowed_429_but_one_is_a_success():
    requests = Requests(*[api_error(429, "0") for _attempt in range(transient.MAX_ATTEMPTS_OVERLOADED - 1)])
    assert requests.send() == "ok"
    assert requests.sent == transient.MAX_ATTEMPTS_OVERLOADED


def test_a_retry_after_beyond_the_bound_gives_up_after_one_request():
    requests = Requests(api_error(429, "120"))
    with pytest.raises(transient.GaveUp) as caught:
        requests.send()
    assert caught.value.attempts == 1 and requests.waits == []
