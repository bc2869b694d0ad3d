# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.resolution import (
    check_pinned_digests,
    resolve_pool,
    to_resolve,
    unresolved_tags,
)

DIGEST = "sha256:" + "a" * 64
REFS = ["nginx:1.27", "busybox", "gcr.io/distroless/static@" + DIGEST, "registry.example.com/app:2@" + DIGEST]
IMAGES = [parse_image_reference(ref) for ref in REFS]


def test_every_tag_is_asked_for_digest_only_references_are_not():
    # A reference with neither tag nor digest names latest; one with tag and digest is checked against the registry.
    assert [image.original for image in to_resolve(IMAGES, {})] == ["nginx:1.27", "busybox", "registry.example.com/app:2@" + DIGEST]
    assert [image.original for image in to_resolve(IMAGES, {"nginx:1.27": DIGEST})] == ["busybox", "registry.example.com/app:2@" + DIGEST]


def test_what_goes_unchecked_without_resolution():
    assert unresolved_tags(IMAGES) == ["nginx:1.27", "busybox"]


def test_pinned_digests_must_name_images_of_the_pool_and_be_digests():
    assert check_pinned_digests({"nginx:1.27": DIGEST}, REFS) == {"nginx:1.27": DIGEST}
    with pytest.raises(InvalidInput) as failure:
        check_pinned_digests({"nginx:1.28": DIGEST}, REFS)
    assert "digests: 'nginx:1.28' is not one of the images" in failure.value.msg
    for bad in ("sha256:abc", "md5:" + "a" * 32, "sha256:" + "A" * 64, 12):
        with pytest.raises(InvalidInput) as failure:
            check_pinned_digests({"nginx:1.27": bad}, REFS)
        assert "is not a digest" in failure.value.msg and "nginx:1.27" in failure.value.msg


def test_nothing_to_ask_needs_no_secret_and_no_registry():
    only_digests = [parse_image_reference("gcr.io/distroless/static@" + DIGEST)]
    # api_client None: reading a secret or asking a registry here would fail the test.
    assert resolve_pool(None, only_digests, ["regcred"], "ns", {}, {}, 5) == {"gcr.io/distroless/static@" + DIGEST: DIGEST}
    assert resolve_pool(None, IMAGES[:1], ["regcred"], "ns", {}, {"nginx:1.27": DIGEST}, 5) == {"nginx:1.27": DIGEST}
