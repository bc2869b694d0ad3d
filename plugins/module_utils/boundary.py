# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every module of the collection runs, fails and warns.

A module's run(module) gathers its input, calls the API and returns (result, failure, warnings):
result is what exit_json gets (its msg included), failure a sentence when the module must fail
with that result (None otherwise), warnings the sentences to show. A PrewarmError raised on the
way means nothing was changed, unless its details say otherwise (changed=True, with what was).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError


def error_result(exc):
    """fail_json's arguments for a PrewarmError: its message and details, unchanged unless they say so."""
    return dict({"changed": False}, msg=exc.msg, **exc.details)


def final_result(result, failure):
    """(exit_json or fail_json arguments, whether to fail): a failure replaces the result's msg."""
    if failure:
        return dict(result, msg=failure), True
    return result, False


def run_module(module, run):
    """Run run(module) and end the module: warnings first, then fail_json or exit_json."""
    try:
        result, failure, warnings = run(module)
    except PrewarmError as exc:
        module.fail_json(**error_result(exc))
    for warning in warnings:
        module.warn(warning)
    arguments, failed = final_result(result, failure)
    if failed:
        module.fail_json(**arguments)
    module.exit_json(**arguments)
