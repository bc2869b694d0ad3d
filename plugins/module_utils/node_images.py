# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node's own image list (node.status.images) says about one image reference.

The kubelet reports its image store there: one entry per image, with the names the runtime
keeps for it and its size. containerd names an image pulled by tag both ``<repo>:<tag>`` and
``<repo>@<digest>``, where the digest is the one the registry served for the tag (an index
digest for a multi-arch tag, never the platform manifest's); an image pulled by digest only,
or by ``<repo>:<tag>@<digest>`` (containerd drops the tag of such a reference), has no tag
name. So the digests compared here are always top-level digests on both sides.

Two limits of the list, both the kubelet's: it holds at most ``nodeStatusMaxImages`` entries
(default 50, the largest images first), so an image missing from a full list may still be on
the node; and it follows the image store with a delay (the kubelet refreshes its image cache
every 30 s and reports within its status update period), so a fresh pull or removal shows up
within about a minute. Pure functions; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple
from functools import lru_cache

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import digest_from_image_id, parse_image_reference

# The kubelet's default nodeStatusMaxImages. -1 (or 0 in our option) means the list is not capped.
DEFAULT_MAX_IMAGES = 50
# How long after a pull the pod's own status is trusted while the node's image list may not show
# the image yet: the kubelet refreshes its image cache every 30 s and reports it with its next
# status update (10 s by default); seen to take 30 to 50 s on a real node.
DEFAULT_LIST_LAG_SECONDS = 90

HELD = "held"            # the wanted digest is listed, under the tag when the reference has one
TAG_ELSEWHERE = "moved"  # the tag is listed, naming other content than the wanted digest
UNTAGGED = "untagged"    # the wanted digest is listed, but not under the reference's tag
ABSENT = "absent"        # neither is listed, and the list is complete
UNKNOWN = "unknown"      # neither is listed, but the list is at the kubelet's cap (of images, or of names of one)

Lookup = namedtuple("Lookup", ["kind", "digest"])


def check_image_list_options(params):
    """The modules' node_status_max_images and image_list_lag, checked (InvalidInput names the bad one)."""
    if params["image_list_lag"] < 0:
        raise InvalidInput("image_list_lag: must be a number of seconds >= 0, not %r" % params["image_list_lag"])
    if params["node_status_max_images"] < 0:
        raise InvalidInput("node_status_max_images: must be 0 (no cap) or the kubelet's cap, not %r" % params["node_status_max_images"])


class _NoRef(object):
    name = None


_NO_REF = _NoRef()


@lru_cache(maxsize=4096)
def _parse(name):
    try:
        return parse_image_reference(name.split("://", 1)[-1])
    except InvalidInput:
        return None


# The kubelet lists at most this many names per image (digests first): an image with more loses
# names, so a tag (or a repository's digest) missing from an entry this long may only be cut off.
MAX_NAMES_PER_IMAGE = 5
# Where narrow_images() leaves the length of the whole list and how many of its entries are at
# the names cap, which the checks for what the list may hide need.
LISTED_COUNT = "imagesListed"
LISTED_NAMES_CAPPED = "imagesWithNamesCut"
NAMES_CAPPED = "namesCut"


def _names_capped(entry):
    return entry.get(NAMES_CAPPED) or len(entry.get("names") or []) >= MAX_NAMES_PER_IMAGE


def repositories(references):
    """The normalised repository names of image references (unparsable ones left out)."""
    names = set()
    for reference in references:
        ref = _parse(reference)
        if ref is not None:
            names.add(ref.name)
    return frozenset(names)


def narrow_images(repos):
    """A watcher narrow function: keep of a node's image list only the names in `repos`.

    A 1,000-node pool's nodes are held for the whole wait, and most of each image list is
    other workloads' images; the list's length is kept (LISTED_COUNT) for the cap check.
    """
    def narrow(whole, kept):
        entries = (whole.get("status") or {}).get("images")
        if entries is None:
            return kept
        relevant = []
        for entry in entries:
            names = [name for name in entry.get("names") or [] if (_parse(name) or _NO_REF).name in repos]
            if names:
                # Marked only when cut, so a narrowed entry is as short as can be.
                relevant.append(dict({"names": names}, **({NAMES_CAPPED: True} if _names_capped(entry) else {})))
        status = dict(kept.get("status") or {}, images=relevant)
        status[LISTED_COUNT] = len(entries)
        names_capped = sum(1 for entry in entries if _names_capped(entry))
        if names_capped:
            status[LISTED_NAMES_CAPPED] = names_capped
        return dict(kept, status=status)
    return narrow


class NodeImages(object):
    """An index of one node's status.images by (repository, digest) and (repository, tag)."""

    def __init__(self, node, max_images=DEFAULT_MAX_IMAGES, list_lag=DEFAULT_LIST_LAG_SECONDS):
        self.list_lag = list_lag
        self.node = node
        status = node.get("status") or {}
        entries = status.get("images") or []
        self.count = status.get(LISTED_COUNT, len(entries))
        self.capped = bool(max_images) and max_images > 0 and self.count >= max_images
        self.max_images = max_images
        # A narrowed node says how many of all its entries are at the names cap (LISTED_COUNT marks it as narrowed).
        self.names_capped = (status.get(LISTED_NAMES_CAPPED, 0) if LISTED_COUNT in status
                             else sum(1 for entry in entries if _names_capped(entry)))
        self._tags = {}      # (repo, tag) -> set of digests of the entry holding that tag
        self._digests = {}   # (repo, digest) -> set of tags of the entry holding that digest
        self._cut = set()    # (repo, digest) listed in an entry at the names cap: its tags may be cut off
        for entry in entries:
            self._add(entry.get("names") or [], _names_capped(entry))

    def _add(self, names, names_capped):
        digests, tags = set(), set()
        for name in names:
            ref = _parse(name)
            if ref is None:
                continue
            digest = ref.digest or digest_from_image_id(name)
            if digest:
                digests.add((ref.name, digest))
            elif ref.tag:
                tags.add((ref.name, ref.tag))
        for repo, digest in digests:
            self._digests.setdefault((repo, digest), set()).update(tag for name, tag in tags if name == repo)
            if names_capped:
                self._cut.add((repo, digest))
        for repo, tag in tags:
            self._tags.setdefault((repo, tag), set()).update(digest for name, digest in digests if name == repo)

    def lookup(self, ref, wanted):
        """Lookup(kind, digest) for ImageReference `ref`, of which the pool wants digest `wanted`.

        wanted may be None (tags not resolved): then the tag being listed is enough, and the
        digest returned is the one listed with it. A reference with a digest is looked up by
        that digest alone when it also has a tag, since the runtime keeps no tag for it.
        """
        wanted = wanted or ref.digest
        tag = None if ref.digest else ref.tag or "latest"
        if wanted and (ref.name, wanted) in self._digests:
            if tag is None or tag in self._digests[(ref.name, wanted)] or (ref.name, wanted) in self._cut:
                return Lookup(HELD, wanted)
        if tag is not None and (ref.name, tag) in self._tags:
            listed = sorted(self._tags[(ref.name, tag)])
            if wanted is None:
                return Lookup(HELD, listed[0] if listed else None)
            return Lookup(TAG_ELSEWHERE, listed[0] if listed else None)
        if wanted and (ref.name, wanted) in self._digests:
            return Lookup(UNTAGGED, wanted)
        return Lookup(UNKNOWN if self.capped or self.names_capped else ABSENT, None)
