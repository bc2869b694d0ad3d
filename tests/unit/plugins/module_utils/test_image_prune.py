# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timezone

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils import image_prune as prune
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

REPO = "registry.example.com/ml/server"


def _id(n):
    return "sha256:" + ("%x" % n) * 64


def _digest(n):
    return "sha256:" + ("%x" % (n + 6)) * 64


def _image(n, tags=(), repo=REPO, size=100, pinned=False, extra_names=()):
    names = tuple("%s:%s" % (repo, t) for t in tags) + tuple(extra_names)
    return prune.Image(id=_id(n), names=names, digests=("%s@%s" % (repo, _digest(n)),), size=size, pinned=pinned)


def _at(month):
    return datetime(2026, month, 1, tzinfo=timezone.utc)


def _plan(images, created, keep=2, **kwargs):
    remove, kept = prune.plan_prune(images, created, prune.repositories_to_prune([REPO]), keep, **kwargs)
    return [v.image.id for v in remove], {v.image.id: v.reasons for v in kept}


# ---------------------------------------------------------------- the decision


def test_four_versions_removes_only_the_one_neither_used_nor_named_nor_among_the_newest_two():
    images = [_image(1, ["v1"]), _image(2, ["v2"]), _image(3, ["v3"]), _image(4, ["v4"])]
    created = {_id(1): _at(1), _id(2): _at(2), _id(3): _at(3), _id(4): _at(4)}
    remove, kept = _plan(images, created, used={_id(1)}, named=[REPO + ":v4"])
    assert remove == [_id(2)]
    assert kept[_id(4)] == ["named by the pool (%s:v4)" % REPO]
    assert kept[_id(3)] == ["among the newest 2"]
    assert kept[_id(1)] == ["used by a container"]


def test_kept_images_count_toward_keep():
    # The two newest are both in use: nothing else may stay.
    images = [_image(n, ["v%d" % n]) for n in (1, 2, 3)]
    created = {_id(n): _at(n) for n in (1, 2, 3)}
    remove, _kept = _plan(images, created, used={_id(3), _id(2)})
    assert remove == [_id(1)]


def test_an_old_image_in_use_stays_beyond_keep():
    images = [_image(n, ["v%d" % n]) for n in (1, 2, 3)]
    created = {_id(n): _at(n) for n in (1, 2, 3)}
    remove, kept = _plan(images, created, keep=1, used={REPO + ":v1"})
    assert remove == [_id(2)]
    assert kept[_id(1)] == ["used by a container"] and kept[_id(3)] == ["among the newest 1"]


def test_untagged_versions_count_and_go_like_tagged_ones():
    # The tag moved on: the old image keeps only its repo@digest name.
    images = [_image(1), _image(2), _image(3, ["latest"])]
    created = {_id(n): _at(n) for n in (1, 2, 3)}
    remove, _kept = _plan(images, created, named=[REPO + ":latest"])
    assert remove == [_id(1)]


def test_a_tie_keeps_every_image_of_it_and_counts_them_all():
    images = [_image(n, ["v%d" % n]) for n in (1, 2, 3, 4)]
    created = {_id(1): _at(1), _id(2): _at(2), _id(3): _at(2), _id(4): _at(4)}
    remove, kept = _plan(images, created)
    # 4 is newest; 2 and 3 cannot be ordered, both stay (and fill keep); 1 is older than all of them.
    assert remove == [_id(1)]
    assert kept[_id(2)] == ["same creation time as %s" % _id(3)]
    assert kept[_id(3)] == ["same creation time as %s" % _id(2)]


def test_missing_or_epoch_creation_time_keeps_the_image_without_counting_it():
    images = [_image(n, ["v%d" % n]) for n in (1, 2, 3, 4)]
    created = {_id(1): _at(1), _id(2): None, _id(3): _at(3), _id(4): _at(4)}
    remove, kept = _plan(images, created)
    assert remove == [_id(1)]
    assert kept[_id(2)] == ["no creation time to order it by"]
    assert prune.parse_created("1970-01-01T00:00:00Z") is None


def test_sandbox_pinned_and_mounted_images_stay():
    images = [_image(n, ["v%d" % n]) for n in (1, 2, 3, 4)] + [_image(5, ["v5"], pinned=True)]
    created = {_id(n): _at(n) for n in (1, 2, 3, 4, 5)}
    remove, kept = _plan(images, created, keep=1, sandbox={REPO + ":v1"}, mounted={REPO + "@" + _digest(2)})
    assert remove == [_id(4), _id(3)]
    assert kept[_id(5)] == ["pinned by the runtime"]
    assert kept[_id(1)] == ["the runtime's sandbox image"]
    assert kept[_id(2)] == ["mounted as an image volume"]


def test_an_image_with_a_name_outside_the_pruned_repositories_stays():
    images = [_image(1, ["v1"], extra_names=("registry.example.com/other:keepme",)), _image(2, ["v2"]), _image(3, ["v3"])]
    created = {_id(n): _at(n) for n in (1, 2, 3)}
    remove, kept = _plan(images, created)
    assert remove == []
    assert kept[_id(1)] == ["also named registry.example.com/other:keepme"]


def test_an_image_in_two_pruned_repositories_goes_only_when_both_let_it():
    other = "registry.example.com/ml/alias"
    shared = prune.Image(id=_id(1), names=(REPO + ":old", other + ":new"), digests=(), size=1, pinned=False)
    images = [shared, _image(2, ["v2"]), _image(3, ["v3"])]
    created = {_id(n): _at(n) for n in (1, 2, 3)}
    remove, kept = prune.plan_prune(images, created, prune.repositories_to_prune([REPO, other]), 2)
    # Oldest of REPO, but the newest of alias: it stays.
    assert [v.image.id for v in remove] == []
    assert [v.reasons for v in kept if v.image.id == _id(1)] == [["among the newest 2"]]


def test_repositories_and_names_are_normalised():
    image = prune.Image(id=_id(1), names=("docker.io/library/busybox:1.36",), digests=(), size=1, pinned=False)
    newer = prune.Image(id=_id(2), names=("docker.io/library/busybox:1.37",), digests=(), size=1, pinned=False)
    remove, kept = prune.plan_prune([image, newer], {_id(1): _at(1), _id(2): _at(2)}, prune.repositories_to_prune(["busybox"]),
                                    1, named=["busybox:1.36"])
    assert remove == [] and len(kept) == 2
    assert prune.repositories_to_prune(["busybox:1.36", "docker.io/library/busybox"]) == ["docker.io/library/busybox"]


def test_keep_below_one_is_refused_with_the_value():
    with pytest.raises(InvalidInput, match="keep: .* not 0"):
        prune.plan_prune([], {}, [REPO], 0)


def test_a_bad_repository_is_refused_with_its_name():
    with pytest.raises(InvalidInput, match="Upper"):
        prune.repositories_to_prune(["registry.example.com/Upper"])


def test_verdict_result_carries_what_the_module_returns():
    verdict = prune.Verdict(_image(1, ["v1"], size=42), REPO, _at(1), ["used by a container"])
    assert prune.verdict_result(verdict) == {
        "id": _id(1), "repository": REPO, "tags": [REPO + ":v1"], "digests": [REPO + "@" + _digest(1)], "size": 42,
        "created": "2026-01-01T00:00:00Z", "kept_because": ["used by a container"]}
    assert "kept_because" not in prune.verdict_result(verdict._replace(reasons=[]))


# ---------------------------------------------------------------- what crictl prints


def test_images_from_cri_reads_crictl_images_json():
    listing = {"images": [{"id": _id(1), "repoTags": [REPO + ":v1"], "repoDigests": [REPO + "@" + _digest(1)], "size": "2048",
                           "uid": None, "username": "", "spec": None, "pinned": True},
                          {"id": _id(2), "repoTags": None, "repoDigests": [], "size": "0"}]}
    assert prune.images_from_cri(listing) == [
        prune.Image(_id(1), (REPO + ":v1",), (REPO + "@" + _digest(1),), 2048, True), prune.Image(_id(2), (), (), 0, False)]


@pytest.mark.parametrize("listing, message", [
    ({}, "'images' list"),
    ({"images": [{"repoTags": []}]}, "without an id"),
    ({"images": [{"id": "sha256:1", "size": "big"}]}, "size that is not a number"),
    ({"images": [{"id": "sha256:1", "repoTags": "x:1"}]}, "repoTags"),
])
def test_images_from_cri_refuses_what_it_cannot_read(listing, message):
    with pytest.raises(InvalidInput, match=message):
        prune.images_from_cri(listing)


@pytest.mark.parametrize("text, expected", [
    ("2026-03-04T05:06:07.123456789Z", datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=timezone.utc)),
    ("2026-03-04T05:06:07Z", datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)),
    ("2026-03-04T07:06:07+02:00", datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)),
    ("1970-01-01T00:00:00Z", None),
    ("", None), (None, None), ("yesterday", None),
])
def test_parse_created(text, expected):
    assert prune.parse_created(text) == expected


def test_created_from_inspect_reads_the_image_spec():
    inspection = {"status": {"id": _id(1)}, "info": {"imageSpec": {"created": "2026-02-01T00:00:00Z", "os": "linux"}}}
    assert prune.created_from_inspect(inspection) == _at(2)
    assert prune.created_from_inspect({"status": {}}) is None
    assert prune.created_from_inspect({"info": {"imageSpec": {}}}) is None


def test_container_images_counts_running_and_exited_containers():
    containers = {"containers": [
        {"id": "a", "state": "CONTAINER_RUNNING", "image": {"image": _id(1)}, "imageRef": _id(1)},
        {"id": "b", "state": "CONTAINER_EXITED", "image": {"image": REPO + ":v2"}, "imageRef": REPO + "@" + _digest(2)},
    ]}
    assert prune.container_images(containers) == {_id(1), REPO + ":v2", REPO + "@" + _digest(2)}
    with pytest.raises(InvalidInput):
        prune.container_images({"items": []})


def test_mounted_images_reads_status_mounts_and_the_config_in_info():
    inspection = {"status": {"mounts": [{"containerPath": "/m", "image": {"image": _id(1)}}, {"containerPath": "/etc/hosts"}]},
                  "info": {"config": {"mounts": [{"container_path": "/n", "image": {"image": REPO + ":v2"}}]}}}
    assert prune.mounted_images(inspection) == {_id(1), REPO + ":v2"}
    assert prune.mounted_images({"status": {"mounts": None}}) == set()


def test_sandbox_images_of_containerd_1():
    assert prune.sandbox_images({"config": {"sandboxImage": "registry.k8s.io/pause:3.8"}}) == {"registry.k8s.io/pause:3.8"}
    # containerd 2.x: not in its info (the image list marks it pinned instead).
    assert prune.sandbox_images({"config": {"containerd": {"defaultRuntimeName": "runc"}}}) == set()
    assert prune.sandbox_images({"status": {}}) == set()
