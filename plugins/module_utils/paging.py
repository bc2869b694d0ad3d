# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One LIST, page by page, as plain dicts: the only pager of the collection.

Plain JSON, not the client's model objects: deserialising a thousand nodes with their image
lists into models takes longer than a whole run should. A 1,000-node LIST is a few requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

LIST_PAGE_SIZE = 500


def list_all(list_func, request_timeout, trim=None, **selectors):
    """(items, resourceVersion) of every page of list_func(**selectors); each item passed through trim.

    list_func is a LIST call of the API client (or lean_api.LeanCoreApi) that takes limit and
    _continue; selectors left None are not sent.
    """
    items, token = [], None
    while True:
        response = list_func(limit=LIST_PAGE_SIZE, _continue=token, _preload_content=False,
                             _request_timeout=request_timeout, **selectors)
        page = json.loads(response.data)
        page_items = page.get("items") or []
        items.extend(trim(item) for item in page_items) if trim else items.extend(page_items)
        metadata = page.get("metadata") or {}
        token = metadata.get("continue")
        if not token:
            return items, metadata.get("resourceVersion")
