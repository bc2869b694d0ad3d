# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded worker pool: one module run acts on many nodes at once without a thread per node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

DEFAULT_WORKERS = 16


def run_concurrently(func, items, max_workers=DEFAULT_WORKERS):
    """Call func(item) for every item with at most max_workers in flight.

    Returns [(item, result, exception)] in the order of `items`; exactly one of
    result/exception is meaningful. Exceptions are collected, not raised, so a single
    failing node never hides what happened to the others.
    """
    items = list(items)
    if not items:
        return []

    def guarded(item):
        try:
            return item, func(item), None
        except Exception as exc:  # pylint: disable=broad-except
            return item, None, exc

    workers = max(1, min(max_workers, len(items)))
    if workers == 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(guarded, items))
