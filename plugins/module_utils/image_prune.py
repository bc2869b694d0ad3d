# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which old versions of a pool's images a node host may delete, decided from what its CRI runtime reports.

A version is any image of the repository, tagged or not: an image whose tag moved on keeps only its
``repo@digest`` name and still counts. Versions are ordered by the creation time of their image config (the
CRI's ``imageSpec.created``, what ``crictl inspecti`` shows), newest first.

An image is never removed when:
- a container on the node uses it, running or exited (the kubelet's image GC counts both);
- a container mounts it as an image volume;
- the pool names it now (by tag or by digest);
- it is the runtime's sandbox image, or the runtime marks it pinned;
- it also carries a name outside the repositories being pruned (removing it would take that name too);
- its creation time is missing, or is the Unix epoch (what reproducible builds write when they have no
  date): it cannot be ordered;
- it has the same creation time as another version of its repository: which is newer cannot be told.

Of the rest, the newest ``keep`` of each repository stay; images kept for any reason above (except a missing
time, which gives no place in the order) count toward ``keep``. Pure functions; the module runs crictl.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple
from datetime import datetime, timezone

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import parse_image_reference

DEFAULT_KEEP = 2
# Reproducible builds (SOURCE_DATE_EPOCH unset, or ko, bazel, nix) write the epoch: not a real date.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# One image of the runtime's store. names: its tag names (repo:tag); digests: its repo@digest names.
Image = namedtuple("Image", ["id", "names", "digests", "size", "pinned"])
# A decision about one image: reasons is empty for an image to remove.
Verdict = namedtuple("Verdict", ["image", "repository", "created", "reasons"])


def _text_list(value, what):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("the runtime's image list has %s that is not a list of strings: %r" % (what, value))
    return value


def images_from_cri(listing):
    """The images of ``crictl images -o json`` (the CRI's ListImages) as Image tuples."""
    if not isinstance(listing, dict) or not isinstance(listing.get("images"), list):
        raise InvalidInput("the runtime's image list is not an object with an 'images' list: %r" % (listing,)[:200])
    images = []
    for entry in listing["images"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise InvalidInput("the runtime listed an image without an id: %r" % (entry,))
        try:
            size = int(entry.get("size") or 0)
        except (TypeError, ValueError):
            raise InvalidInput("the runtime listed image %s with a size that is not a number: %r" % (entry["id"], entry.get("size")))
        images.append(Image(id=entry["id"], names=tuple(_text_list(entry.get("repoTags"), "repoTags")),
                            digests=tuple(_text_list(entry.get("repoDigests"), "repoDigests")), size=size,
                            pinned=bool(entry.get("pinned"))))
    return images


def parse_created(text):
    """A creation time (RFC 3339, as the OCI image config writes it) as an aware datetime; None when missing,
    unreadable or the Unix epoch."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip()
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    # Go writes up to nine fractional digits; Python reads six.
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = head + "." + rest[:min(digits, 6)] + rest[digits:]
    try:
        created = datetime.fromisoformat(value)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return None if created <= _EPOCH else created


def created_from_inspect(inspection):
    """The image config's creation time in ``crictl inspecti -o json`` output (its verbose info), or None."""
    info = inspection.get("info") if isinstance(inspection, dict) else None
    spec = info.get("imageSpec") if isinstance(info, dict) else None
    return parse_created(spec.get("created")) if isinstance(spec, dict) else None


def _image_field(value):
    """The image a CRI container or mount names: the ImageSpec's ``image``, or the text itself."""
    if isinstance(value, dict):
        value = value.get("image")
    return value if isinstance(value, str) and value else None


def container_images(containers):
    """Every image reference the containers of ``crictl ps -a -o json`` name: the image and the resolved imageRef."""
    if not isinstance(containers, dict) or not isinstance(containers.get("containers"), list):
        raise InvalidInput("the runtime's container list is not an object with a 'containers' list")
    refs = set()
    for container in containers["containers"]:
        for value in (container.get("image"), container.get("imageRef")):
            ref = _image_field(value)
            if ref:
                refs.add(ref)
    return refs


def mounted_images(inspection):
    """The images one container mounts as image volumes, from ``crictl inspect -o json``: the CRI status's mounts
    and, for runtimes that keep it only there, the container config in the verbose info."""
    refs = set()
    status = inspection.get("status") if isinstance(inspection, dict) else None
    info = inspection.get("info") if isinstance(inspection, dict) else None
    config = info.get("config") if isinstance(info, dict) else None
    for holder in (status, config):
        mounts = holder.get("mounts") if isinstance(holder, dict) else None
        for mount in mounts if isinstance(mounts, list) else []:
            ref = _image_field(mount.get("image")) if isinstance(mount, dict) else None
            if ref:
                refs.add(ref)
    return refs


def sandbox_images(runtime_info):
    """The sandbox (pause) image a runtime's ``crictl info -o json`` names: containerd 1.x ``config.sandboxImage``
    (which does not mark the image pinned). containerd 2.x does not report it there, but marks it pinned in the image
    list; CRI-O reports neither, so its ``pause_image`` must be given."""
    config = runtime_info.get("config") if isinstance(runtime_info, dict) else None
    image = config.get("sandboxImage") if isinstance(config, dict) else None
    return {image} if isinstance(image, str) and image else set()


def _parsed(name):
    """The parsed ``repo:tag`` or ``repo@digest`` a runtime reports, or None for something unparsable."""
    try:
        return parse_image_reference(name)
    except InvalidInput:
        return None


def _repository(name):
    parsed = _parsed(name)
    return parsed.name if parsed else None


def repositories_of(image):
    """The normalised repositories an image has names in."""
    return {r for r in (_repository(n) for n in image.names + image.digests) if r}


def _matches(image, ref):
    """Whether a reference (by tag, digest, both, or the image id) names this image."""
    if ref == image.id or ref == image.id.split(":", 1)[-1]:
        return True
    parsed = _parsed(ref)
    if parsed is None:
        return False
    if parsed.digest:
        return any(_repository(d) == parsed.name and d.rpartition("@")[2] == parsed.digest for d in image.digests)
    return any(named is not None and named.normalised == parsed.normalised for named in map(_parsed, image.names))


def repositories_to_prune(refs):
    """The normalised repositories of the given image references (InvalidInput names a bad one)."""
    return sorted({parse_image_reference(ref).name for ref in refs})


def _protections(image, used, mounted, named, sandbox, repositories):
    reasons = []
    if any(_matches(image, ref) for ref in used):
        reasons.append("used by a container")
    if any(_matches(image, ref) for ref in mounted):
        reasons.append("mounted as an image volume")
    names = [ref for ref in named if _matches(image, ref)]
    if names:
        reasons.append("named by the pool (%s)" % ", ".join(sorted(names)))
    if any(_matches(image, ref) for ref in sandbox):
        reasons.append("the runtime's sandbox image")
    elif image.pinned:
        reasons.append("pinned by the runtime")
    others = sorted(n for n in image.names + image.digests if _repository(n) not in repositories)
    if others:
        reasons.append("also named %s" % ", ".join(others))
    return reasons


def plan_prune(images, created, repositories, keep, used=(), mounted=(), named=(), sandbox=()):
    """Decide, per repository, which of its versions go.

    images: Image tuples of the whole store; created: {image id: aware datetime or None}; repositories: the
    normalised repositories to prune; keep: versions to keep per repository (>= 1); used, mounted, named, sandbox:
    image references (or ids) in use by containers, mounted as image volumes, named by the pool, and the runtime's
    sandbox images. Returns (remove, kept): Verdict lists, newest first per repository. An image in several of the
    repositories is removed only when every one of them lets it go.
    """
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise InvalidInput("keep: must be a whole number of versions >= 1, not %r" % (keep,))
    wanted = set(repositories)
    verdicts = {}
    for repository in sorted(wanted):
        versions = [i for i in images if repository in repositories_of(i)]
        dated = sorted((i for i in versions if created.get(i.id)), key=lambda i: created[i.id], reverse=True)
        counted = 0
        for image in dated:
            when = created[image.id]
            reasons = _protections(image, used, mounted, named, sandbox, wanted)
            twins = [i.id for i in dated if i.id != image.id and created[i.id] == when]
            if twins:
                reasons.append("same creation time as %s" % ", ".join(sorted(twins)))
            if not reasons and counted < keep:
                reasons.append("among the newest %d" % keep)
            if reasons:
                counted += 1
            verdicts.setdefault(image.id, []).append(Verdict(image, repository, when, reasons))
        for image in versions:
            if not created.get(image.id):
                reasons = _protections(image, used, mounted, named, sandbox, wanted) + ["no creation time to order it by"]
                verdicts.setdefault(image.id, []).append(Verdict(image, repository, None, reasons))
    remove, kept = [], []
    for per_repository in verdicts.values():
        holding = [v for v in per_repository if v.reasons]
        if holding:
            reasons = []
            for verdict in holding:
                reasons.extend(r for r in verdict.reasons if r not in reasons)
            kept.append(per_repository[0]._replace(reasons=reasons))
        else:
            remove.append(per_repository[0])
    order = sorted(wanted)

    def newest_first(verdict):
        return (order.index(verdict.repository), -(verdict.created.timestamp() if verdict.created else float("-inf")),
                verdict.image.id)
    return sorted(remove, key=newest_first), sorted(kept, key=newest_first)


def verdict_result(verdict):
    """One image of the module's return: id, names, digests, size, creation time, repository, and why it stays."""
    result = {"id": verdict.image.id, "repository": verdict.repository, "tags": list(verdict.image.names),
              "digests": list(verdict.image.digests), "size": verdict.image.size,
              "created": verdict.created.strftime("%Y-%m-%dT%H:%M:%SZ") if verdict.created else None}
    if verdict.reasons:
        result["kept_because"] = list(verdict.reasons)
    return result
