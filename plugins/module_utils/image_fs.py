# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Would pulling a pool's images onto a node push its image filesystem into the kubelet's image GC?

The kubelet starts deleting unused images when the image filesystem's usage reaches its
`imageGCHighThresholdPercent`, computing usage as 100 - available * 100 / capacity (integer
division). Preloading past that point would make the kubelet delete images, perhaps the ones
just preloaded. Inputs: the kubelet's stats summary (node.runtime.imageFs), Node objects
(status.images lists what each node holds, with sizeBytes) and the sizes the user gave.
No API calls here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.prewarm.k8s.plugins.module_utils import eviction
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference


def _parsed(text):
    try:
        return parse_image_reference(text)
    except InvalidInput:
        return None


def same_image(wanted, name):
    """Whether a name the kubelet lists for an image (status.images[].names) is the image `wanted`.

    wanted: an ImageReference. By digest when it has one (the tag then says nothing), else by
    repository and tag (no tag means latest).
    """
    listed = _parsed(name)
    if listed is None or listed.name != wanted.name:
        return False
    if wanted.digest:
        return listed.digest == wanted.digest
    return listed.digest is None and (listed.tag or "latest") == (wanted.tag or "latest")


def _node_images(node):
    return (node.get("status") or {}).get("images") or []


def missing_images(node, refs):
    """The references of `refs` the node does not list in status.images, in order.

    The kubelet lists at most nodeStatusMaxImages (50 by default) images, largest first, so a
    small image may be missing from the list although it is there: counting it as missing
    only makes the check more careful.
    """
    held = [name for image in _node_images(node) for name in image.get("names") or []]
    return [ref for ref in refs if not any(same_image(parse_image_reference(ref), name) for name in held)]


def image_sizes(refs, nodes, given=None):
    """{ref: bytes or None}: the size from `given` (user's image_sizes, by any spelling of the
    reference), else the largest sizeBytes any node reports for the image, else None (unknown)."""
    given_by_form = {}
    for ref, size in (given or {}).items():
        given_by_form[parse_image_reference(ref).normalised] = size
    sizes = {}
    for ref in refs:
        wanted = parse_image_reference(ref)
        if wanted.normalised in given_by_form:
            sizes[ref] = given_by_form[wanted.normalised]
            continue
        seen = [image.get("sizeBytes") for node in nodes for image in _node_images(node)
                if isinstance(image.get("sizeBytes"), int) and any(same_image(wanted, name) for name in image.get("names") or [])]
        sizes[ref] = max(seen) if seen else None
    return sizes


def check_image_sizes(sizes, option):
    """The user's image_sizes option: image reference -> non-negative number of bytes."""
    checked = {}
    for ref, size in (sizes or {}).items():
        try:
            parse_image_reference(ref)
        except InvalidInput as exc:
            raise InvalidInput("%s: %s" % (option, exc.msg))
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput("%s: size of %s must be a whole number of bytes >= 0, not %r" % (option, ref, size))
        checked[ref] = size
    return checked


def human_size(size):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return "%.1f %s" % (size / float(scale), unit)
    return "%d B" % size


def usage_percent(capacity, available):
    """Image filesystem usage the way the kubelet's image GC computes it."""
    return 100 - (available * 100) // capacity


def shares_node_fs(summary):
    """Whether the image filesystem looks like the node's own: the stats summary gives both the same capacity.

    The summary does not name devices; two disks of one size count as one, which only makes the
    check stricter where a nodefs threshold is above the imagefs one.
    """
    node = (summary or {}).get("node") or {}
    image_fs = (node.get("runtime") or {}).get("imageFs") or {}
    return bool(image_fs.get("capacityBytes")) and (node.get("fs") or {}).get("capacityBytes") == image_fs.get("capacityBytes")


def image_fs_verdict(summary, missing, sizes, high_threshold, high_source="option image_gc_high_threshold", kubelet_config=None):
    """(refusal, warnings) for pulling `missing` onto a node whose stats summary is `summary`.

    summary: the kubelet's /stats/summary (dict), or None when it could not be read;
    missing: the references the node lacks; sizes: image_sizes(); high_threshold: the
    kubelet's imageGCHighThresholdPercent (100 disables its image GC: then only a pull
    that does not fit at all is refused), from `high_source`; kubelet_config: the
    `kubeletconfig` of the node's /configz, or None. When given, its own high threshold
    replaces `high_threshold`, and a pull that would bring the image filesystem below an
    eviction threshold (DiskPressure) is refused too. refusal is None when the node may be admitted.
    """
    thresholds = []
    if kubelet_config is not None:
        live_high, thresholds = eviction.from_configz(kubelet_config)
        if live_high is not None:
            high_threshold, high_source = live_high, eviction.CONFIGZ
    if not missing:
        return None, []
    runtime = ((summary or {}).get("node") or {}).get("runtime") or {}
    fs = runtime.get("imageFs") or {}
    capacity, available = fs.get("capacityBytes"), fs.get("availableBytes")
    if not capacity or available is None:
        why = "no stats summary" if summary is None else "the stats summary has no runtime.imageFs capacity and available bytes"
        return None, ["image filesystem not checked (%s)" % why]
    unknown = [ref for ref in missing if sizes.get(ref) is None]
    warnings = []
    if unknown:
        warnings.append("size unknown (no node holds it yet; give it in image_sizes) of %s: the check counts only the others"
                        % ", ".join(unknown))
    need = sum(sizes[ref] for ref in missing if sizes.get(ref) is not None)
    now = usage_percent(capacity, available)
    after_available = available - need
    detail = ("image filesystem %s of %s used (%d%%), missing images need %s (%s)"
              % (human_size(capacity - available), human_size(capacity), now, human_size(need),
                 ", ".join(ref for ref in missing if ref not in unknown) or "none of known size"))
    if after_available < 0:
        return "the images do not fit: %s, only %s available" % (detail, human_size(available)), warnings
    after = usage_percent(capacity, after_available)
    for name, floor in eviction.pressure_floors(thresholds, capacity, shares_node_fs(summary)):
        if after_available <= floor:
            return ("preloading would leave %s available on the image filesystem, at or below the %s (from %s) at which the "
                    "node gets DiskPressure and the kubelet deletes every unused image and evicts pods: %s. Free space on "
                    "the node or preload fewer images" % (human_size(max(after_available, 0)), name, eviction.CONFIGZ, detail)), warnings
    if high_threshold < 100 and after >= high_threshold:
        return ("preloading would bring image filesystem usage to %d%%, at or above image_gc_high_threshold %d%% (%s), where "
                "the kubelet's image GC deletes images: %s. Free space on the node or preload fewer images"
                % (after, high_threshold, high_source, detail)), warnings
    return None, warnings
