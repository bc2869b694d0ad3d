# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node's image list (status.images) says about one image reference."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.kept_fields import NODE_FIELDS, keep
from ansible_collections.prewarm.k8s.plugins.module_utils.node_images import (
    ABSENT,
    DEFAULT_MAX_IMAGES,
    HELD,
    LISTED_COUNT,
    TAG_ELSEWHERE,
    UNKNOWN,
    UNTAGGED,
    Lookup,
    NodeImages,
    narrow_images,
    repositories,
)

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
INDEX = "sha256:" + "3" * 64      # a multi-arch tag's image index
PLATFORM = "sha256:" + "4" * 64   # the linux/amd64 manifest inside that index
BUSYBOX = "sha256:" + "5" * 64
BASE = "127.0.0.1:5000/base"


def tagged(repo, tag, digest, size=10 ** 8):
    """An image pulled by tag, as containerd names it: <repo>:<tag> and <repo>@<digest>."""
    return {"names": ["%s@%s" % (repo, digest), "%s:%s" % (repo, tag)], "sizeBytes": size}


def by_digest(repo, digest, size=10 ** 8):
    """An image pulled by digest (or by repo:tag@digest): no tag name."""
    return {"names": ["%s@%s" % (repo, digest)], "sizeBytes": size}


def others(count):
    """`count` images of other workloads, larger than the pool's (the kubelet lists the largest first)."""
    return [tagged("registry.example/team-%d/app" % index, "v%d" % index, "sha256:%064x" % (index + 1), 10 ** 10 - index)
            for index in range(count)]


def node(*entries):
    return {"metadata": {"name": "node-1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "images": list(entries)}}


def lookup(listed, reference, wanted=None, max_images=DEFAULT_MAX_IMAGES):
    return NodeImages(listed, max_images).lookup(parse_image_reference(reference), wanted)


# Tag references.

def test_a_tag_pulled_at_the_wanted_digest_is_held():
    listed = node(tagged(BASE, "1", NEW))
    assert lookup(listed, BASE + ":1", NEW) == Lookup(HELD, NEW)


def test_without_a_wanted_digest_the_listed_tag_is_enough_and_names_its_digest():
    listed = node(tagged(BASE, "1", OLD))
    assert lookup(listed, BASE + ":1", None) == Lookup(HELD, OLD)
    # Another tag of the same repository is not this one.
    assert lookup(listed, BASE + ":2", None) == Lookup(ABSENT, None)
    # Nor the same tag of another repository.
    assert lookup(listed, "127.0.0.1:5000/other:1", None) == Lookup(ABSENT, None)


def test_a_tag_imported_without_a_repository_digest_is_held_with_no_digest():
    listed = node({"names": [BASE + ":1"], "sizeBytes": 10 ** 8})
    assert lookup(listed, BASE + ":1", None) == Lookup(HELD, None)


def test_a_reference_without_tag_means_latest():
    listed = node(tagged("docker.io/library/busybox", "latest", BUSYBOX))
    assert lookup(listed, "busybox", None) == Lookup(HELD, BUSYBOX)
    assert lookup(listed, "busybox:1.36", None) == Lookup(ABSENT, None)


def test_a_moved_tag_is_reported_with_the_digest_the_node_holds():
    listed = node(tagged(BASE, "1", OLD))
    assert lookup(listed, BASE + ":1", NEW) == Lookup(TAG_ELSEWHERE, OLD)


def test_the_tag_counts_even_when_the_wanted_digest_is_also_held_untagged():
    # The new content was pulled by digest, but a pod naming the tag still gets the old one.
    listed = node(tagged(BASE, "1", OLD), by_digest(BASE, NEW))
    assert lookup(listed, BASE + ":1", NEW) == Lookup(TAG_ELSEWHERE, OLD)
    assert lookup(listed, BASE + ":1", OLD) == Lookup(HELD, OLD)


def test_the_wanted_digest_held_without_the_tag_is_untagged():
    listed = node(by_digest(BASE, NEW))
    assert lookup(listed, BASE + ":1", NEW) == Lookup(UNTAGGED, NEW)
    # The same digest under another tag is not this tag either.
    assert lookup(node(tagged(BASE, "2", NEW)), BASE + ":1", NEW) == Lookup(UNTAGGED, NEW)


# Digest references.

def test_a_digest_reference_is_held_when_its_digest_is_listed():
    assert lookup(node(by_digest("docker.io/library/busybox", BUSYBOX)), "busybox@" + BUSYBOX) == Lookup(HELD, BUSYBOX)
    # Pulled by tag by someone else: the digest name is there as well.
    assert lookup(node(tagged("docker.io/library/busybox", "1.36", BUSYBOX)), "busybox@" + BUSYBOX) == Lookup(HELD, BUSYBOX)
    assert lookup(node(by_digest("docker.io/library/busybox", OLD)), "busybox@" + BUSYBOX) == Lookup(ABSENT, None)


def test_a_digest_reference_without_wanted_uses_its_own_digest():
    listed = node(by_digest(BASE, NEW))
    assert lookup(listed, BASE + "@" + NEW, None) == Lookup(HELD, NEW)
    assert lookup(listed, BASE + "@" + NEW, NEW) == Lookup(HELD, NEW)


def test_a_tag_and_digest_reference_is_looked_up_by_its_digest_alone():
    # containerd drops the tag of repo:tag@digest: the node lists the digest only.
    listed = node(by_digest(BASE, NEW))
    assert lookup(listed, BASE + ":1@" + NEW, None) == Lookup(HELD, NEW)
    # The tag naming other content on the node does not matter to such a reference...
    listed = node(tagged(BASE, "1", OLD), by_digest(BASE, NEW))
    assert lookup(listed, BASE + ":1@" + NEW, None) == Lookup(HELD, NEW)
    # ...nor makes it held or moved when its digest is not listed.
    assert lookup(node(tagged(BASE, "1", OLD)), BASE + ":1@" + NEW, None) == Lookup(ABSENT, None)


# Names.

@pytest.mark.parametrize("reference", ["busybox:1.36", "library/busybox:1.36", "docker.io/library/busybox:1.36",
                                       "index.docker.io/library/busybox:1.36", "registry-1.docker.io/library/busybox:1.36"])
@pytest.mark.parametrize("names", [
    ["docker.io/library/busybox:1.36", "docker.io/library/busybox@" + BUSYBOX],   # containerd
    ["busybox:1.36", "busybox@" + BUSYBOX],                                       # docker's short names
    ["docker-pullable://busybox@" + BUSYBOX, "busybox:1.36"],                     # an older runtime's id form
])
def test_docker_hub_names_are_normalised_on_both_sides(reference, names):
    listed = node({"names": names, "sizeBytes": 4 * 10 ** 6})
    assert lookup(listed, reference, BUSYBOX) == Lookup(HELD, BUSYBOX)
    assert lookup(listed, reference, None) == Lookup(HELD, BUSYBOX)


def test_a_docker_hub_user_repository_is_not_the_official_one():
    listed = node(tagged("docker.io/someone/busybox", "1.36", OLD))
    assert lookup(listed, "busybox:1.36", None) == Lookup(ABSENT, None)
    assert lookup(listed, "someone/busybox:1.36", None) == Lookup(HELD, OLD)


def test_a_registry_with_a_port_is_part_of_the_repository():
    listed = node(tagged("127.0.0.1:5000/base", "1", NEW))
    assert lookup(listed, "127.0.0.1:5000/base:1", NEW) == Lookup(HELD, NEW)
    assert lookup(listed, "127.0.0.1:5001/base:1", NEW) == Lookup(ABSENT, None)
    assert lookup(listed, "base:1", NEW) == Lookup(ABSENT, None)


def test_multi_arch_the_node_lists_the_index_digest_not_the_platform_one():
    listed = node(tagged(BASE, "1", INDEX))
    assert lookup(listed, BASE + ":1", INDEX) == Lookup(HELD, INDEX)
    # A digest that names the platform manifest is other content as far as the list can tell.
    assert lookup(listed, BASE + ":1", PLATFORM) == Lookup(TAG_ELSEWHERE, INDEX)
    assert lookup(listed, BASE + "@" + PLATFORM) == Lookup(ABSENT, None)
    assert lookup(listed, BASE + "@" + INDEX) == Lookup(HELD, INDEX)


def test_junk_names_and_entries_are_skipped_but_counted():
    junk = [
        {"names": ["<none>@<none>", "<none>:<none>"], "sizeBytes": 1},     # a dangling docker image
        {"names": [], "sizeBytes": 2},
        {"sizeBytes": 3},                                                    # names is omitempty
        {"names": None, "sizeBytes": 4},
        {"names": ["UPPER/Case:1", "has space:1", "", "repo@sha256:short"], "sizeBytes": 5},
        {"names": ["sha256:" + "9" * 64], "sizeBytes": 6},                   # a bare image ID
    ]
    good = {"names": ["not valid!", BASE + "@" + NEW, BASE + ":1"], "sizeBytes": 7}
    listed = node(*(junk + [good]))
    images = NodeImages(listed)
    assert images.count == len(junk) + 1
    assert lookup(listed, BASE + ":1", NEW) == Lookup(HELD, NEW)
    assert lookup(listed, "127.0.0.1:5000/other:1", None) == Lookup(ABSENT, None)
    # A junk entry still counts toward the kubelet's cap.
    assert lookup(node(*(junk * 9)), BASE + ":1", NEW, max_images=50) == Lookup(UNKNOWN, None)


def test_a_node_without_an_image_list_holds_nothing():
    bare = {"metadata": {"name": "node-1"}, "status": {}}
    assert lookup(bare, BASE + ":1", NEW) == Lookup(ABSENT, None)
    assert lookup({"metadata": {"name": "node-1"}}, BASE + ":1", None) == Lookup(ABSENT, None)
    assert NodeImages(bare).count == 0


# The kubelet's cap (nodeStatusMaxImages).

def test_missing_from_a_list_below_the_cap_is_absent_at_the_cap_unknown():
    assert DEFAULT_MAX_IMAGES == 50
    assert lookup(node(*others(49)), BASE + ":1", NEW) == Lookup(ABSENT, None)
    assert lookup(node(*others(50)), BASE + ":1", NEW) == Lookup(UNKNOWN, None)
    assert lookup(node(*others(50)), BASE + ":1", None) == Lookup(UNKNOWN, None)
    assert lookup(node(*others(50)), BASE + "@" + NEW) == Lookup(UNKNOWN, None)
    assert NodeImages(node(*others(49))).capped is False
    assert NodeImages(node(*others(50))).capped is True


def test_a_custom_cap():
    assert lookup(node(*others(60)), BASE + ":1", NEW, max_images=100) == Lookup(ABSENT, None)
    assert lookup(node(*others(100)), BASE + ":1", NEW, max_images=100) == Lookup(UNKNOWN, None)
    assert lookup(node(*others(5)), BASE + ":1", NEW, max_images=5) == Lookup(UNKNOWN, None)


def test_cap_zero_means_the_list_is_complete():
    assert lookup(node(*others(300)), BASE + ":1", NEW, max_images=0) == Lookup(ABSENT, None)
    assert NodeImages(node(*others(300)), 0).capped is False


def test_the_cap_hides_nothing_that_is_listed():
    full = others(49) + [tagged(BASE, "1", OLD)]
    assert lookup(node(*full), BASE + ":1", OLD) == Lookup(HELD, OLD)
    assert lookup(node(*full), BASE + ":1", NEW) == Lookup(TAG_ELSEWHERE, OLD)
    assert lookup(node(*(others(49) + [by_digest(BASE, NEW)])), BASE + ":1", NEW) == Lookup(UNTAGGED, NEW)


# narrow_images: what the watcher keeps of each node.

POOL = ["127.0.0.1:5000/base:1", "busybox@" + BUSYBOX, "registry.example/ml/model:2@" + NEW]


def test_repositories_are_the_normalised_names_of_the_references():
    assert repositories(POOL + ["Not A Reference"]) == frozenset(
        ["127.0.0.1:5000/base", "docker.io/library/busybox", "registry.example/ml/model"])
    assert repositories([]) == frozenset()


def whole_node(*entries):
    listed = node(*entries)
    listed["metadata"]["managedFields"] = [{"manager": "kubelet"}]
    listed["status"]["nodeInfo"] = {"kubeletVersion": "v1.34.4"}
    return listed


def narrowed(listed):
    return narrow_images(repositories(POOL))(listed, keep(listed, NODE_FIELDS))


def test_narrow_keeps_only_the_pools_names_and_the_count():
    entries = others(40) + [
        tagged(BASE, "1", OLD, size=5),
        {"names": ["docker.io/library/busybox@" + BUSYBOX, "docker.io/library/busybox:1.36",
                   "registry.example/mirror/busybox:1.36"], "sizeBytes": 6},     # also pushed under another repo
        by_digest("registry.example/ml/model", NEW),
        {"names": ["<none>@<none>"], "sizeBytes": 7},
    ]
    whole = whole_node(*entries)
    before = copy.deepcopy(whole)
    kept = narrowed(whole)
    assert whole == before
    assert kept["status"]["images"] == [
        {"names": [BASE + "@" + OLD, BASE + ":1"]},
        {"names": ["docker.io/library/busybox@" + BUSYBOX, "docker.io/library/busybox:1.36"]},
        {"names": ["registry.example/ml/model@" + NEW]},
    ]
    assert kept["status"][LISTED_COUNT] == 44
    # What NODE_FIELDS keeps is still there, what it drops still gone.
    assert kept["status"]["conditions"] == whole["status"]["conditions"]
    assert "nodeInfo" not in kept["status"] and "managedFields" not in kept["metadata"]
    assert NodeImages(kept).count == 44


def test_narrow_leaves_a_node_without_an_image_list_as_kept():
    whole = {"metadata": {"name": "node-1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    kept = keep(whole, NODE_FIELDS)
    assert narrow_images(repositories(POOL))(whole, kept) == kept
    assert "images" not in keep(whole_node(tagged(BASE, "1", OLD)), NODE_FIELDS)["status"]


NODES = [
    whole_node(),
    whole_node(tagged(BASE, "1", NEW), by_digest("docker.io/library/busybox", BUSYBOX), by_digest("registry.example/ml/model", NEW)),
    whole_node(*(others(10) + [tagged(BASE, "1", OLD), by_digest(BASE, NEW)])),
    whole_node(*(others(48) + [by_digest(BASE, NEW)])),
    whole_node(*others(49)),
    whole_node(*others(50)),
    whole_node(*(others(60) + [tagged("docker.io/library/busybox", "1.36", BUSYBOX)])),
    whole_node({"names": ["busybox:1.36", "busybox@" + BUSYBOX]}, {"names": ["<none>:<none>"]}, {"sizeBytes": 1}),
]
LOOKUPS = [(BASE + ":1", NEW), (BASE + ":1", OLD), (BASE + ":1", None), (BASE + "@" + NEW, None),
           ("busybox@" + BUSYBOX, None), ("docker.io/library/busybox:1.36", BUSYBOX), ("busybox:1.36", None),
           ("registry.example/ml/model:2@" + NEW, None), ("registry.example/ml/model:2", NEW)]


@pytest.mark.parametrize("listed", NODES)
@pytest.mark.parametrize("max_images", [DEFAULT_MAX_IMAGES, 0, 10])
def test_a_narrowed_node_gives_the_same_lookups_as_the_whole_one(listed, max_images):
    whole, kept = NodeImages(listed, max_images), NodeImages(narrowed(listed), max_images)
    assert kept.count == whole.count and kept.capped == whole.capped
    for reference, wanted in LOOKUPS:
        ref = parse_image_reference(reference)
        assert kept.lookup(ref, wanted) == whole.lookup(ref, wanted), (reference, wanted)


def test_the_narrowed_lookups_cover_every_kind():
    kinds = set()
    for listed in NODES:
        images = NodeImages(narrowed(listed))
        kinds.update(images.lookup(parse_image_reference(reference), wanted).kind for reference, wanted in LOOKUPS)
    assert kinds == set([HELD, TAG_ELSEWHERE, UNTAGGED, ABSENT, UNKNOWN])


# The kubelet lists at most 5 names per image, digests first: a tag (or a repository's digest) may be cut off.
CUT_DIGEST = "sha256:" + "9" * 64
CUT_ENTRY = {"names": ["127.0.0.1:5000/mirror-%d@%s" % (i, CUT_DIGEST) for i in range(4)] + ["127.0.0.1:5000/app@" + CUT_DIGEST]}


def _node_with(*entries):
    return {"metadata": {"name": "n"}, "status": {"images": list(entries)}}


def test_a_digest_in_an_entry_at_the_names_cap_is_held_though_its_tag_is_not_listed():
    found = NodeImages(_node_with(CUT_ENTRY)).lookup(parse_image_reference("127.0.0.1:5000/app:1"), CUT_DIGEST)
    assert found == (HELD, CUT_DIGEST)
    # Below the cap a missing tag is told: the image would be pulled by a pod naming the tag.
    short = {"names": CUT_ENTRY["names"][3:]}
    assert NodeImages(_node_with(short)).lookup(parse_image_reference("127.0.0.1:5000/app:1"), CUT_DIGEST).kind == UNTAGGED


def test_an_image_not_listed_beside_an_entry_at_the_names_cap_is_unknown_not_absent():
    other = parse_image_reference("127.0.0.1:5000/other:1")
    assert NodeImages(_node_with(CUT_ENTRY)).lookup(other, "sha256:" + "8" * 64).kind == UNKNOWN
    assert NodeImages(_node_with({"names": CUT_ENTRY["names"][:2]})).lookup(other, "sha256:" + "8" * 64).kind == ABSENT


def test_narrowing_keeps_what_the_names_cap_hides():
    node = _node_with(CUT_ENTRY, {"names": ["127.0.0.1:5000/unrelated@" + "sha256:" + "7" * 64]})
    narrowed = narrow_images(repositories(["127.0.0.1:5000/app:1", "127.0.0.1:5000/other:1"]))(node, keep(node, NODE_FIELDS))
    for name, wanted in (("127.0.0.1:5000/app:1", CUT_DIGEST), ("127.0.0.1:5000/other:1", "sha256:" + "8" * 64)):
        ref = parse_image_reference(name)
        assert NodeImages(narrowed).lookup(ref, wanted) == NodeImages(node).lookup(ref, wanted)
