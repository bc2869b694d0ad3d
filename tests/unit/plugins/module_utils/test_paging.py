# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.prewarm.k8s.plugins.module_utils import paging


class Pages(object):
    """A LIST call serving `pages` (lists of names) one after the other, with continue tokens between them."""

    def __init__(self, *pages):
        self.pages, self.calls = pages, []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        index = len(self.calls) - 1
        last = index == len(self.pages) - 1
        metadata = {"resourceVersion": str(100 + index), "continue": None if last else "token-%d" % (index + 1)}
        items = [{"metadata": {"name": name}, "status": {"big": "x"}} for name in self.pages[index]]
        return type("Response", (), {"data": json.dumps({"items": items, "metadata": metadata})})()


def test_every_page_is_read_and_the_last_pages_version_returned():
    list_func = Pages(["a", "b"], ["c"], [])
    items, version = paging.list_all(list_func, 30, label_selector="pool=gpu")
    assert [item["metadata"]["name"] for item in items] == ["a", "b", "c"]
    assert version == "102"
    assert [call["_continue"] for call in list_func.calls] == [None, "token-1", "token-2"]
    assert all(call["limit"] == paging.LIST_PAGE_SIZE and call["label_selector"] == "pool=gpu"
               and call["_request_timeout"] == 30 and call["_preload_content"] is False for call in list_func.calls)


def test_each_item_is_trimmed_as_it_arrives():
    items, _version = paging.list_all(Pages(["a"], ["b"]), 5, trim=lambda item: item["metadata"]["name"])
    assert items == ["a", "b"]


def test_an_empty_list_is_one_request():
    list_func = Pages([])
    assert paging.list_all(list_func, 5) == ([], "100")
    assert len(list_func.calls) == 1
