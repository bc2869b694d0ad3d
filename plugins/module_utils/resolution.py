# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve a pool's tags to digests: which references to ask for, with which pull secrets.

The edge between the API (the pool's pull secrets, read in the preloader's namespace) and the
registries (registry.resolve_references). The secrets' contents stay in memory for the length
of the call: they are never returned, logged or written anywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.prewarm.k8s.plugins.module_utils.client import api_host
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import ApiFailure, InvalidInput, describe_api_exception
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import DIGEST_HEX_LENGTHS, parse_image_reference
from ansible_collections.prewarm.k8s.plugins.module_utils.registry import resolve_references
from ansible_collections.prewarm.k8s.plugins.module_utils.registry_auth import credentials_from_secret

try:
    from kubernetes import client as k8s_client
except ImportError:
    pass  # api_module() reports the missing library


def check_pinned_digests(digests, references, option="digests"):
    """{reference: digest} given by the user (or an earlier run), checked against the pool's references."""
    pinned = {}
    known = set(references)
    for reference, digest in (digests or {}).items():
        if reference not in known:
            raise InvalidInput("%s: %r is not one of the images (%s)" % (option, reference, ", ".join(references)))
        algorithm, _colon, hex_part = str(digest).partition(":")
        if DIGEST_HEX_LENGTHS.get(algorithm) != len(hex_part) or not all(c in "0123456789abcdef" for c in hex_part):
            raise InvalidInput("%s: %r for %s is not a digest (sha256:<64 lower-case hex digits>)" % (option, digest, reference))
        pinned[reference] = digest
    return pinned


def to_resolve(images, pinned):
    """The ImageReferences to ask a registry about: every tag not pinned (with or without a digest).

    A reference with neither tag nor digest names the tag latest.
    """
    return [image for image in images if (image.tag or not image.digest) and image.original not in pinned]


def unresolved_tags(images):
    """The references that name a tag only: what goes unchecked when resolution is off."""
    return [image.original for image in images if not image.digest]


def read_pull_secrets(api_client, namespace, names, timeout):
    """The registry credentials in the named pull secrets, in the pod's order (the kubelet's)."""
    core = k8s_client.CoreV1Api(api_client)
    credentials = []
    for name in names:
        try:
            response = core.read_namespaced_secret(name, namespace, _preload_content=False, _request_timeout=timeout)
        except k8s_client.ApiException as exc:
            if exc.status == 404:
                raise InvalidInput("image_pull_secrets: secret %r does not exist in namespace %s" % (name, namespace))
            if exc.status == 403:
                raise ApiFailure("image_pull_secrets: reading secret %s/%s to resolve the pool's tags is forbidden (HTTP 403); "
                                 "grant get on that secret (docs/rbac.md) or set resolve_tags: false" % (namespace, name))
            raise ApiFailure(describe_api_exception(exc, "reading secret %s/%s" % (namespace, name), api_host(api_client)))
        credentials.append(credentials_from_secret(json.loads(response.data)))
    return credentials


def resolve_pool(api_client, images, secret_names, namespace, registries, pinned, timeout):
    """{reference: digest} for every image of the pool that has one: resolved now, pinned or its own.

    images: ImageReferences; raises PrewarmError naming every reference that could not be
    resolved and the registry's answer, before the caller writes anything.
    """
    digests = dict(pinned)
    for image in images:
        if image.digest and not image.tag:
            digests[image.original] = image.digest
    wanted = to_resolve(images, pinned)
    if wanted:
        # Read only when a registry asks for credentials: public images need no right on any secret.
        def credentials():
            return read_pull_secrets(api_client, namespace, secret_names, timeout) if secret_names else []
        resolved = resolve_references(wanted, credentials, registries, timeout=timeout)
        digests.update((reference, answer.digest) for reference, answer in resolved.items())
    return digests


def parse_references(references):
    """ImageReferences of the references recorded on a DaemonSet (all valid: the preloader checked them)."""
    return [parse_image_reference(reference) for reference in references]
