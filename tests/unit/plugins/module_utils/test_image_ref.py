# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import (
    check_image_references,
    digest_from_image_id,
    name_from_image_id,
    parse_image_reference,
)

HEX = "a" * 64
DIGEST = "sha256:" + HEX


@pytest.mark.parametrize("ref, domain, path, tag, digest, name", [
    ("busybox", "docker.io", "library/busybox", None, None, "docker.io/library/busybox"),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None, "docker.io/library/busybox"),
    ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None, "docker.io/bitnami/redis"),
    ("docker.io/busybox", "docker.io", "library/busybox", None, None, "docker.io/library/busybox"),
    ("index.docker.io/library/busybox", "docker.io", "library/busybox", None, None, "docker.io/library/busybox"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io", "pause", "3.10", None, "registry.k8s.io/pause"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000", "x", None, None, "127.0.0.1:5000/x"),
    ("localhost:5000/team/app:v1", "localhost:5000", "team/app", "v1", None, "localhost:5000/team/app"),
    ("localhost/app", "localhost", "app", None, None, "localhost/app"),
    ("[::1]:5000/app:dev", "[::1]:5000", "app", "dev", None, "[::1]:5000/app"),
    ("gcr.io/distroless/static@" + DIGEST, "gcr.io", "distroless/static", None, DIGEST, "gcr.io/distroless/static"),
    ("quay.io/a/b:1.0@" + DIGEST, "quay.io", "a/b", "1.0", DIGEST, "quay.io/a/b"),
    ("my-reg.example.com/a__b/c.d/e--f:T_9", "my-reg.example.com", "a__b/c.d/e--f", "T_9", None,
     "my-reg.example.com/a__b/c.d/e--f"),
])
def test_parse_valid_references(ref, domain, path, tag, digest, name):
    image = parse_image_reference(ref)
    assert (image.domain, image.path, image.tag, image.digest, image.name) == (domain, path, tag, digest, name)
    assert image.original == ref


def test_digest_hex_is_lower_cased():
    image = parse_image_reference("busybox@sha256:" + "A" * 64)
    assert image.digest == "sha256:" + "a" * 64


@pytest.mark.parametrize("ref, normalised", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("busybox@" + DIGEST, "docker.io/library/busybox@" + DIGEST),
    ("busybox:1.36@" + DIGEST, "docker.io/library/busybox:1.36@" + DIGEST),
    ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"),
])
def test_normalised_form_matches_what_the_kubelet_reports(ref, normalised):
    assert parse_image_reference(ref).normalised == normalised


def test_upper_case_first_component_is_a_registry():
    # Repository paths are never upper case, so the docker CLI reads "Reg/app" as a registry.
    image = parse_image_reference("MyReg/app")
    assert (image.domain, image.path) == ("MyReg", "app")


@pytest.mark.parametrize("ref, fragment", [
    ("", "non-empty"),
    ("   ", "non-empty"),
    (None, "non-empty"),
    ("busy box", "white space"),
    ("Busybox", "lower case"),
    ("docker.io/Library/busybox", "lower case"),
    ("ghcr.io/org/App:1", "lower case"),
    ("busybox:", "tag"),
    ("busybox:-bad", "tag"),
    ("busybox:" + "t" * 129, "tag"),
    (":1.0", "empty"),
    ("busybox@sha256:abc", "64 hex digits, not 3"),
    ("busybox@sha256:" + "g" * 64, "digest"),
    ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("busybox@", "digest"),
    ("busybox@sha256:" + "a" * 63, "not 63"),
    ("a//b", "path component ''"),
    ("a/b/", "path component ''"),
    ("-a/b", "path component '-a'"),
    ("a_/b", "path component 'a_'"),
    ("a___b", "path component 'a___b'"),
    ("reg.example.com:port/app", "registry"),
    ("-reg.example.com/app", "registry"),
    (HEX, "image ID"),
    ("x" * 256, "longer than 255"),
])
def test_invalid_references_name_the_reference(ref, fragment):
    with pytest.raises(InvalidInput) as err:
        parse_image_reference(ref)
    assert repr(ref) in err.value.msg
    assert fragment in err.value.msg


@pytest.mark.parametrize("image_id, digest", [
    ("docker.io/library/busybox@" + DIGEST, DIGEST),
    ("127.0.0.1:5000/x@" + DIGEST, DIGEST),
    ("docker-pullable://busybox@sha256:" + "B" * 64, "sha256:" + "b" * 64),
    ("sha256:" + HEX, None),
    ("docker://sha256:" + HEX, None),
    ("busybox:1.36", None),
    ("", None),
    (None, None),
    ("busybox@notadigest", None),
])
def test_digest_from_image_id(image_id, digest):
    assert digest_from_image_id(image_id) == digest


@pytest.mark.parametrize("image_id, name", [
    ("docker.io/library/busybox@" + DIGEST, "docker.io/library/busybox"),
    ("docker-pullable://busybox@" + DIGEST, "docker.io/library/busybox"),
    ("127.0.0.1:5000/x@" + DIGEST, "127.0.0.1:5000/x"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause"),
    ("sha256:" + HEX, None),
    ("docker://sha256:" + HEX, None),
    ("", None),
    ("NOT A NAME", None),
])
def test_name_from_image_id(image_id, name):
    assert name_from_image_id(image_id) == name


def test_reference_and_image_id_meet_on_name_and_digest():
    ref = parse_image_reference("busybox@" + DIGEST)
    image_id = "docker.io/library/busybox@" + DIGEST
    assert (ref.name, ref.digest) == (name_from_image_id(image_id), digest_from_image_id(image_id))


def test_check_image_references_keeps_order():
    images = check_image_references(["nginx:1.27", "busybox@" + DIGEST], "images")
    assert [i.original for i in images] == ["nginx:1.27", "busybox@" + DIGEST]


@pytest.mark.parametrize("refs, fragment", [
    (["busybox", "docker.io/library/busybox:latest"], "listed twice"),
    (["nginx:1", "nginx:1"], "listed twice"),
    ([], "at least one image"),
    (None, "at least one image"),
    (["ok", "Bad"], "'Bad'"),
])
def test_check_image_references_rejects(refs, fragment):
    with pytest.raises(InvalidInput) as err:
        check_image_references(refs, "images")
    assert err.value.msg.startswith("images: ")
    assert fragment in err.value.msg


def test_same_repository_with_different_tags_is_not_a_duplicate():
    assert len(check_image_references(["nginx:1", "nginx:2"], "images")) == 2
