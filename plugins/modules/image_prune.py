#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: image_prune
short_description: Remove old versions of a pool's images from a node, never one in use
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Runs on the node host and talks to its container runtime through the CRI, with C(crictl) (cri-tools). For each
    repository of O(images) and of O(repositories), removes the versions beyond the newest O(keep).
  - A version is any image of the repository, tagged or not; an image whose tag moved to newer content keeps only its
    C(repo@digest) name and still counts.
  - Versions are ordered by the creation time of their image config (C(imageSpec.created), as C(crictl inspecti)
    shows it), newest first. An image without a creation time, or with the Unix epoch (what reproducible builds write
    when they have no date), cannot be ordered and is kept; so are images of a repository that share one creation
    time, since which is newer cannot be told.
  - Never removes an image that a container on the node uses, running or exited (as the kubelet's image garbage
    collection counts them), that a container mounts as an image volume, that O(images) names (by tag or digest), the
    runtime's sandbox image (from C(crictl info), and O(sandbox_images)) or an image the runtime marks pinned, or an
    image that also has a name in a repository not being pruned. Images kept for these reasons count toward O(keep).
  - Check mode and diff mode list exactly the images that would go and the bytes they hold. The containers are listed
    again just before the removal, and the decision made again on that list, so a container started meanwhile keeps
    its image.
  - Does not talk to the Kubernetes API and needs no credentials.
options:
  images:
    description:
      - The images the pool names now, as the pool's preloader lists them (V(repo:tag), V(repo@sha256:...) or
        both). They are never removed, and their repositories are pruned.
    type: list
    elements: str
    default: []
  repositories:
    description:
      - More repositories to prune (V(registry.example.com/team/model-server), or any image reference of it), for
        example ones the pool named before.
    type: list
    elements: str
    default: []
  keep:
    description: Versions to keep per repository, at least 1; the images kept because they are in use or named count.
    type: int
    default: 2
  runtime_endpoint:
    description:
      - The CRI socket, for example V(unix:///run/containerd/containerd.sock) (containerd) or
        V(unix:///var/run/crio/crio.sock) (CRI-O); used for images and containers alike.
      - Unset, C(crictl) uses its own configuration (C(/etc/crictl.yaml)) when the host has one, else the first of
        the usual containerd and CRI-O sockets that exists.
    type: str
  crictl:
    description: The C(crictl) to run; unset, found on C(PATH) or in C(/usr/local/bin), C(/usr/bin), C(/opt/bin).
    type: path
  sandbox_images:
    description:
      - More sandbox (pause) images never to remove, for runtimes whose C(crictl info) does not report theirs
        (CRI-O keeps it in its own configuration, as C(pause_image)).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds each C(crictl) call may take.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description: Reads the runtime's images and containers and returns what would be removed; removes nothing.
  diff_mode:
    support: full
    description: Lists the names of the pruned repositories' images before and after.
  platform:
    support: full
    platforms: posix
    description: Runs on the Kubernetes node whose image store it prunes.
notes:
  - The sizes are those the runtime reports for each image; layers an image shares with one that stays are not freed,
    so RV(freed_bytes) is an upper bound.
  - Run it after the node is warm, or before the warm-up to give the warm-up's disk check the space; the pool's
    current images are never touched either way.
seealso:
  - module: prewarm.k8s.kubelet_config
"""

EXAMPLES = r"""
- name: Keep the two newest versions of each of the pool's images on the node
  prewarm.k8s.image_prune:
    images:
      - registry.example.com/ml/model-server:2026.11
      - registry.example.com/ml/tokenizer@sha256:2a6c6c1d2d8a6cf1f1b5b0ec7bff8b1f7d7f2e0d6b8ec0f8c2e9f6a1a1b2c3d4
    keep: 2
  become: true

- name: See what would go on a CRI-O node, without removing anything
  prewarm.k8s.image_prune:
    repositories: [registry.example.com/ml/model-server]
    runtime_endpoint: unix:///var/run/crio/crio.sock
    sandbox_images: [registry.k8s.io/pause:3.10]
  check_mode: true
  diff: true
  register: prune
"""

RETURN = r"""
removed:
  description: The images removed (in check mode, that would be), newest first per repository.
  returned: always
  type: list
  elements: dict
  sample:
    - id: sha256:5b0be3f1a6c2e8f0b4c1a3d2e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4
      repository: registry.example.com/ml/model-server
      tags: []
      digests: ["registry.example.com/ml/model-server@sha256:0f3c2b1a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a"]
      size: 2147483648
      created: "2026-09-01T10:00:00Z"
  contains:
    id:
      description: The image's ID (its config digest).
      type: str
    repository:
      description: The repository it was pruned from.
      type: str
    tags:
      description: Its tag names.
      type: list
      elements: str
    digests:
      description: Its C(repo@digest) names.
      type: list
      elements: str
    size:
      description: Its size in bytes, as the runtime reports it.
      type: int
    created:
      description: Its image config's creation time (UTC), null when it has none.
      type: str
kept:
  description: The versions that stay, with the same fields and C(kept_because), the reasons (for example
    V(used by a container), V(named by the pool (repo:tag)), V(among the newest 2)).
  returned: always
  type: list
  elements: dict
freed_bytes:
  description: The sum of the sizes of RV(removed).
  returned: always
  type: int
  sample: 2147483648
repositories:
  description: The repositories pruned, normalised (V(docker.io/library/busybox) for V(busybox)).
  returned: always
  type: list
  elements: str
msg:
  description: What was removed and freed, or why nothing could be.
  returned: always
  type: str
  sample: "removed 1 image (2.0 GiB) of 1 repository; 3 kept"
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.prewarm.k8s.plugins.module_utils import image_prune
from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError

# Where containerd and CRI-O listen by default, in the order crictl itself tries them.
USUAL_ENDPOINTS = ("unix:///run/containerd/containerd.sock", "unix:///run/crio/crio.sock", "unix:///var/run/crio/crio.sock")
CRICTL_DIRS = ["/usr/local/bin", "/usr/bin", "/opt/bin"]

ARGUMENT_SPEC = dict(
    images=dict(type="list", elements="str", default=[]),
    repositories=dict(type="list", elements="str", default=[]),
    keep=dict(type="int", default=image_prune.DEFAULT_KEEP),
    runtime_endpoint=dict(type="str"),
    crictl=dict(type="path"),
    sandbox_images=dict(type="list", elements="str", default=[]),
    timeout=dict(type="int", default=120),
)


class Crictl(object):
    """crictl against one runtime, its JSON output parsed; a failure names the command and what it said."""

    def __init__(self, module, binary, endpoint, timeout):
        self.module, self.base = module, [binary]
        if endpoint:
            self.base += ["--runtime-endpoint", endpoint, "--image-endpoint", endpoint]
        self.base += ["--timeout", "%ds" % timeout]

    def run(self, *args):
        rc, out, err = self.module.run_command(self.base + list(args))
        if rc != 0:
            raise PrewarmError("crictl %s failed (exit %d): %s" % (" ".join(args), rc, (err or out).strip()[-500:]))
        return out

    def json(self, *args):
        out = self.run(*args)
        try:
            return json.loads(out)
        except ValueError:
            raise PrewarmError("crictl %s did not print JSON: %s" % (" ".join(args), out.strip()[:300]))


def find_crictl(module, given):
    if given:
        if not os.access(given, os.X_OK):
            raise InvalidInput("crictl: %s is not an executable file" % given)
        return given
    found = module.get_bin_path("crictl", required=False, opt_dirs=CRICTL_DIRS)
    if not found:
        raise InvalidInput("no CRI client on this host: crictl (cri-tools) is not on PATH nor in %s; install cri-tools "
                           "or give its path in crictl" % ", ".join(CRICTL_DIRS))
    return found


def default_endpoint(given):
    """The endpoint to pass, or None to let crictl read its own configuration."""
    if given:
        if given.startswith("unix://") and not os.path.exists(given[len("unix://"):]):
            raise InvalidInput("runtime_endpoint: %s: no such socket on this host (is the runtime running?)" % given)
        return given
    if os.path.exists("/etc/crictl.yaml"):
        return None
    for endpoint in USUAL_ENDPOINTS:
        if os.path.exists(endpoint[len("unix://"):]):
            return endpoint
    raise InvalidInput("runtime_endpoint: none given, no /etc/crictl.yaml, and none of the usual CRI sockets exists (%s)"
                       % ", ".join(USUAL_ENDPOINTS))


def in_use(crictl):
    """(images used by containers, images mounted as image volumes), running and exited containers alike."""
    containers = crictl.json("ps", "--all", "--output", "json")
    used = image_prune.container_images(containers)
    mounted = set()
    for container in containers["containers"]:
        mounted |= image_prune.mounted_images(crictl.json("inspect", "--output", "json", container["id"]))
    return used, mounted


def decide(crictl, params, repositories, sandbox, created):
    """(remove, kept) on the runtime's lists as they are now; `created` (image id -> creation time) is filled as
    images are inspected, so deciding again inspects only images new since (an image's config never changes)."""
    images = image_prune.images_from_cri(crictl.json("images", "--output", "json"))
    for image in images:
        if image.id not in created and image_prune.repositories_of(image) & set(repositories):
            created[image.id] = image_prune.created_from_inspect(crictl.json("inspecti", "--output", "json", image.id))
    used, mounted = in_use(crictl)
    return image_prune.plan_prune(images, created, repositories, params["keep"], used=used, mounted=mounted,
                                  named=params["images"], sandbox=sandbox)


def _size(count):
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= factor:
            return "%.1f %s" % (count / float(factor), unit)
    return "%d B" % count


def _names(verdict):
    return list(verdict.image.names) or list(verdict.image.digests) or [verdict.image.id]


def run(module):
    params = module.params
    if params["keep"] < 1:
        raise InvalidInput("keep: must be a whole number of versions >= 1, not %r" % params["keep"])
    if params["timeout"] < 1:
        raise InvalidInput("timeout: must be a number of seconds >= 1, not %r" % params["timeout"])
    repositories = image_prune.repositories_to_prune(list(params["images"]) + list(params["repositories"]))
    for ref in params["sandbox_images"]:
        image_prune.repositories_to_prune([ref])  # names the bad one
    crictl = Crictl(module, find_crictl(module, params["crictl"]), default_endpoint(params["runtime_endpoint"]),
                    params["timeout"])
    sandbox = image_prune.sandbox_images(crictl.json("info", "--output", "json")) | set(params["sandbox_images"])
    created = {}
    remove, kept = decide(crictl, params, repositories, sandbox, created) if repositories else ([], [])
    if remove and not module.check_mode:
        # Decide again on a fresh list right before removing: a container started since keeps its image.
        remove, kept = decide(crictl, params, repositories, sandbox, created)
        done = []
        for verdict in remove:
            try:
                crictl.run("rmi", verdict.image.id)
            except PrewarmError as exc:
                raise PrewarmError("%s; removed before it: %s" % (exc.msg, ", ".join(v.image.id for v in done) or "none"),
                                   changed=bool(done), removed=[image_prune.verdict_result(v) for v in done])
            done.append(verdict)
    freed = sum(v.image.size for v in remove)
    result = {"changed": bool(remove), "removed": [image_prune.verdict_result(v) for v in remove],
              "kept": [image_prune.verdict_result(v) for v in kept], "freed_bytes": freed, "repositories": repositories,
              "msg": "%s %d image%s (%s) of %d repositor%s; %d kept" % (
                  "would remove" if module.check_mode else "removed", len(remove), "" if len(remove) == 1 else "s",
                  _size(freed), len(repositories), "y" if len(repositories) == 1 else "ies", len(kept))}
    if module._diff:
        before = sorted(n for v in remove + kept for n in _names(v))
        gone = {n for v in remove for n in _names(v)}
        result["diff"] = {"before": "\n".join(before) + "\n", "after": "\n".join(n for n in before if n not in gone) + "\n",
                          "before_header": "images of the pruned repositories", "after_header": "after the prune"}
    return result, None, []


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
