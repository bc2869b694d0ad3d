# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""API failures worth sending the same node write again for, and how long to wait first.

A busy API server answers 429 Too Many Requests (API Priority and Fairness) with a
Retry-After header; one that is restarting, or whose etcd is changing leader, answers 5xx or
drops the connection. The kubernetes Python client sends a PATCH once whatever happens, so
without this one such answer leaves a warm node tainted and fails the run.

Sending our node writes again is safe: a maintenance patch carries the resourceVersion it was
planned from (a repeat of one that did land gets 409 Conflict and is planned again from a
fresh read), and an admission label patch sets the same value each time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

try:
    from urllib3.exceptions import HTTPError as TransportError
except ImportError:
    TransportError = None  # client.api_module() reports the missing library

RETRIED_STATUSES = frozenset([429, 500, 502, 503, 504])
# Attempts in all, the first included. A server error or a lost connection is tried about 5 s
# long; a 429 says to come back later, and is tried as often as client-go does.
MAX_ATTEMPTS = 4
MAX_ATTEMPTS_OVERLOADED = 10
BASE_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 4.0
# The API server raises its Retry-After up to 32 s while it keeps shedding load; longer than
# that is not waited out: the node is reported and the run goes on.
MAX_RETRY_AFTER_SECONDS = 32.0


def is_transient(exc):
    """Whether the request may well succeed if sent again unchanged."""
    status = getattr(exc, "status", None)
    if status in RETRIED_STATUSES:
        return True
    # Connection refused or reset, a read timeout: urllib3 retries none of these for PATCH.
    return TransportError is not None and isinstance(exc, TransportError)


def _retry_after(exc):
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None  # absent, or an HTTP date (the API server sends seconds)
    return seconds if seconds >= 0 else None


def retry_delay(exc, attempt, rand=random.uniform):
    """Seconds to wait before attempt number `attempt` + 1, or None when not worth waiting.

    The server's Retry-After wins when it gives one, plus up to a second more so that the
    many nodes refused in the same second do not all come back in the same second; otherwise
    a random wait up to a bound that doubles each attempt (full jitter).
    """
    retry_after = _retry_after(exc)
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER_SECONDS:
            return None
        return retry_after + rand(0, min(1.0, retry_after))
    return full_jitter(attempt, BASE_DELAY_SECONDS, MAX_DELAY_SECONDS, rand)


def full_jitter(attempt, base, cap, rand=random.uniform):
    """A random wait up to base * 2**attempt, at most cap: retries that met once do not meet again."""
    return rand(0, min(cap, base * 2 ** attempt))


def _attempts_for(exc, attempts):
    if attempts is not None:
        return attempts
    return MAX_ATTEMPTS_OVERLOADED if getattr(exc, "status", None) == 429 else MAX_ATTEMPTS


class GaveUp(Exception):
    """The last failure of a request retried in vain; `attempts` says how many were sent."""

    def __init__(self, cause, attempts):
        super(GaveUp, self).__init__(str(cause))
        self.cause, self.attempts = cause, attempts


def send(request, attempts=None, sleep=None, rand=random.uniform):
    """request(): its result, sent again after a transient failure.

    A failure that is not transient is raised as it is, at once; the last of transient ones
    is raised as GaveUp, so the caller can say it was tried more than once. attempts: the
    bound in all, by default MAX_ATTEMPTS_OVERLOADED after a 429 and MAX_ATTEMPTS otherwise.
    """
    attempt = 1
    while True:
        try:
            return request()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = retry_delay(exc, attempt, rand) if attempt < _attempts_for(exc, attempts) else None
            if delay is None:
                raise GaveUp(exc, attempt)
        (sleep or time.sleep)(delay)
        attempt += 1
