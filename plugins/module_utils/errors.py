# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors. Decisions raise them; only the module boundary turns them into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


class PrewarmError(Exception):
    """An error with a message meant for the person running the play."""

    def __init__(self, msg, **details):
        super(PrewarmError, self).__init__(msg)
        self.msg = msg
        self.details = details


class InvalidInput(PrewarmError):
    """A value given to a module is wrong; nothing was changed."""


class ApiFailure(PrewarmError):
    """The API server refused or could not be reached."""


def _api_reason(exc):
    """The API server's own message from an ApiException body, else its reason phrase."""
    body = getattr(exc, "body", None)
    if body:
        try:
            parsed = json.loads(body)
            if isinstance(parsed, dict) and parsed.get("message"):
                return parsed["message"]
        except (TypeError, ValueError):
            pass
    return getattr(exc, "reason", None) or str(exc)


def describe_api_exception(exc, action, host=None):
    """A sentence for a kubernetes ApiException raised while doing `action`."""
    status = getattr(exc, "status", None)
    where = " at %s" % host if host else ""
    if status == 401:
        return ("%s: the API server%s rejected the credentials (HTTP 401 Unauthorized); "
                "check api_key, client_cert/client_key or the kubeconfig user" % (action, where))
    if status == 403:
        return "%s: forbidden (HTTP 403): %s" % (action, _api_reason(exc))
    if status == 404:
        return "%s: not found (HTTP 404): %s" % (action, _api_reason(exc))
    if status in (0, None):
        return "%s: cannot reach the API server%s: %s" % (action, where, _api_reason(exc))
    return "%s: HTTP %s: %s" % (action, status, _api_reason(exc))
