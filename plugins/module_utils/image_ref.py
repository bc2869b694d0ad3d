# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container image references: parse, validate and normalise them.

Implements the distribution reference grammar (the one the kubelet, containerd and the
docker CLI use):

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component [ "/" path-component ]*
    domain     := host [ ":" port ]
    path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex

A bad reference is caught before anything is written, and warm_status can match the
kubelet's imageIDs (``docker.io/library/busybox@sha256:...``) against the references a
user wrote (``busybox``), because both normalise to the same repository name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

DEFAULT_DOMAIN = "docker.io"
# Docker Hub answers to several names; the kubelet and containerd report docker.io.
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

# Digest algorithms the registries and runtimes accept, with their hex lengths. Anything
# else would fail at pull time on every node; rejecting it here fails once, early.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT_RE = re.compile(r"^%s(?:%s%s)*$" % (_ALNUM, _SEPARATOR, _ALNUM))
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = r"(?:%s(?:\.%s)*|\[[a-fA-F0-9:]+\])" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_DOMAIN_RE = re.compile(r"^%s(?::[0-9]+)?$" % _HOST)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]+)$")
# A bare 64-hex string is an image ID, not a name; docker refuses it as ambiguous too.
_IMAGE_ID_RE = re.compile(r"^[a-f0-9]{64}$")


class ImageReference(namedtuple("ImageReference", ["original", "domain", "path", "tag", "digest"])):
    """A parsed image reference.

    original: the text as given; domain: registry host[:port] (docker.io when omitted);
    path: repository path (library/ added for official Docker Hub images);
    tag: the tag or None; digest: ``algorithm:hex`` (hex lower-cased) or None.
    """

    __slots__ = ()

    @property
    def name(self):
        """The normalised repository name, e.g. docker.io/library/busybox."""
        return "%s/%s" % (self.domain, self.path)

    @property
    def normalised(self):
        """The reference in the form the kubelet reports it: name[:tag][@digest].

        A reference with neither tag nor digest means the tag ``latest``.
        """
        tag = self.tag if self.tag or self.digest else DEFAULT_TAG
        text = self.name
        if tag:
            text += ":" + tag
        if self.digest:
            text += "@" + self.digest
        return text


def _fail(ref, problem):
    raise InvalidInput("invalid image reference %r: %s" % (ref, problem))


def _check_digest(ref, digest):
    match = _DIGEST_RE.match(digest)
    if not match:
        _fail(ref, "digest %r must be <algorithm>:<hex>, e.g. sha256:<64 hex digits>" % digest)
    algorithm, hex_part = match.groups()
    expected = DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        _fail(ref, "unsupported digest algorithm %r (use one of %s)" % (algorithm, ", ".join(sorted(DIGEST_HEX_LENGTHS))))
    if len(hex_part) != expected:
        _fail(ref, "a %s digest has %d hex digits, not %d" % (algorithm, expected, len(hex_part)))
    return "%s:%s" % (algorithm, hex_part.lower())


def _split_domain(ref, name):
    """Split `name` into (domain, path) the way the docker CLI and kubelet do.

    The first component is a registry only when it looks like a host: it has a dot or a
    port, is ``localhost``, or has upper-case letters (repository paths never do).
    """
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        if not _DOMAIN_RE.match(first):
            _fail(ref, "registry %r is not a valid host[:port]" % first)
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain in _DOCKER_HUB_ALIASES:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path


def parse_image_reference(ref):
    """Parse and validate one image reference; return an ImageReference.

    Raises InvalidInput naming the reference and what is wrong with it.
    """
    if not isinstance(ref, str) or not ref.strip():
        _fail(ref, "must be a non-empty string")
    if ref != ref.strip() or any(c.isspace() for c in ref):
        _fail(ref, "must not contain white space")
    if _IMAGE_ID_RE.match(ref):
        _fail(ref, "a bare 64-hex string is an image ID, not a repository name; reference it as name@sha256:<hex>")

    remainder, at, digest = ref.partition("@")
    if at:
        digest = _check_digest(ref, digest)
    else:
        digest = None

    # A tag follows the last ':' only if no '/' comes after it (else the ':' is a port).
    name, tag = remainder, None
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        name, tag = remainder[:colon], remainder[colon + 1:]
        if not _TAG_RE.match(tag):
            _fail(ref, "tag %r must be 1 to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'" % tag)

    if not name:
        _fail(ref, "the repository name is empty")
    if len(name) > NAME_TOTAL_MAX:
        _fail(ref, "the repository name is longer than %d characters" % NAME_TOTAL_MAX)
    domain, path = _split_domain(ref, name)
    if path.lower() != path:
        _fail(ref, "repository name %r must be lower case" % path)
    for component in path.split("/"):
        if not _PATH_COMPONENT_RE.match(component):
            _fail(ref, "path component %r must be lower-case letters and digits, separated by '.', '_', '__' or '-'"
                  % component)
    return ImageReference(original=ref, domain=domain, path=path, tag=tag, digest=digest)


def digest_from_image_id(image_id):
    """The registry digest in a kubelet imageID, or None when it carries none.

    The kubelet reports e.g. ``docker.io/library/busybox@sha256:<hex>`` (containerd),
    ``docker-pullable://busybox@sha256:<hex>`` (older docker runtimes). A bare
    ``sha256:<hex>`` is the image's config ID (an image with no repository digest, e.g.
    imported locally), which never equals a manifest digest: None is returned for it.
    """
    if not isinstance(image_id, str) or "@" not in image_id:
        return None
    digest = image_id.rpartition("@")[2]
    match = _DIGEST_RE.match(digest)
    if not match:
        return None
    return "%s:%s" % (match.group(1), match.group(2).lower())


def name_from_image_id(image_id):
    """The normalised repository name in a kubelet imageID or image field, or None.

    ``docker-pullable://busybox@sha256:...`` gives ``docker.io/library/busybox``; a bare
    image ID or anything unparsable gives None.
    """
    if not isinstance(image_id, str) or not image_id:
        return None
    text = image_id.split("://", 1)[1] if "://" in image_id else image_id
    if _DIGEST_RE.match(text):
        return None
    try:
        return parse_image_reference(text).name
    except InvalidInput:
        return None


def check_image_references(refs, option):
    """Parse a list of references; reject duplicates (same normalised form).

    Returns the ImageReference list in the order given. Raises InvalidInput naming
    `option` and the bad or repeated reference.
    """
    if not refs:
        raise InvalidInput("%s: at least one image is required" % option)
    parsed, seen = [], {}
    for ref in refs:
        try:
            image = parse_image_reference(ref)
        except InvalidInput as exc:
            raise InvalidInput("%s: %s" % (option, exc.msg))
        if image.normalised in seen:
            raise InvalidInput("%s: %r names the same image as %r (listed twice)" % (option, ref, seen[image.normalised]))
        seen[image.normalised] = ref
        parsed.append(image)
    return parsed
