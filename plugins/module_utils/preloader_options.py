# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the preloader module's options and turn them into one validated PreloaderSpec.

Everything the API server would reject is rejected here first, with the option and the value
named, so a bad play fails before it writes anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils.constants import (
    DEFAULT_COPIER_IMAGE,
    DEFAULT_PAUSE_IMAGE,
    MAINTENANCE_KEY,
    MAINTENANCE_LABEL_VALUE,
    MANAGED_BY_LABEL,
    MODE_AUTO,
    MODES,
    POOL_LABEL,
    PRELOADER_LABEL,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.image_ref import (
    check_image_references,
    parse_image_reference,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.names import (
    TAINT_EFFECTS,
    check_dns_label,
    check_label_value,
    check_labels,
    check_object_name,
    label_key_problem,
)
from ansible_collections.prewarm.k8s.plugins.module_utils.registry_auth import check_registry_options
from ansible_collections.prewarm.k8s.plugins.module_utils.waves import ADMIT_LABEL_VALUE, admission_label

SCOPES = ("pool", "maintenance", "admitted")
PULL_POLICIES = ("IfNotPresent", "Always", "Never")
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_FIELDS = ("key", "operator", "value", "effect", "tolerationSeconds")
RESOURCE_SECTIONS = ("requests", "limits")
# A pull container exits at once, the copier copies one small binary and the hold container sleeps: they need next to nothing.
# The kubelet pulls images outside the pod's cgroups, so these limits do not slow a pull.
DEFAULT_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "16Mi"},
    "limits": {"cpu": "100m", "memory": "32Mi"},
}
DEFAULT_MAX_UNAVAILABLE = "10%"
# A DaemonSet name is also the value of its selector label, so it must fit in 63 characters.
NAME_MAX = 63

# Kubernetes quantity: a non-negative decimal with an optional SI, binary or exponent suffix.
_QUANTITY_RE = re.compile(r"^(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_PERCENT_RE = re.compile(r"^(\d{1,3})%$")

PreloaderSpec = namedtuple("PreloaderSpec", [
    "name", "namespace", "pool", "images", "agent_image", "node_selector", "tolerations",
    "image_pull_secrets", "image_pull_policy", "resources", "priority_class_name", "labels",
    "max_unavailable", "resolve_tags", "registries", "mode", "pause_image", "copier_image", "pool_selector",
])


def maintenance_toleration():
    """Tolerate node_maintenance's taint whatever its value and effect."""
    return {"key": MAINTENANCE_KEY, "operator": "Exists"}


def check_toleration(toleration, option):
    """Return a toleration in the pod spec's form, or raise InvalidInput naming what is wrong."""
    if not isinstance(toleration, dict):
        raise InvalidInput("%s: %r must be a dictionary with key, operator, value, effect, tolerationSeconds"
                           % (option, toleration))
    unknown = sorted(set(toleration) - set(TOLERATION_FIELDS))
    if unknown:
        raise InvalidInput("%s: unknown field(s) %s in %r (known: %s)"
                           % (option, ", ".join(unknown), toleration, ", ".join(TOLERATION_FIELDS)))
    result = dict((field, value) for field, value in toleration.items() if value not in (None, ""))
    operator = result.setdefault("operator", "Equal")
    if operator not in TOLERATION_OPERATORS:
        raise InvalidInput("%s: invalid operator %r in %r: must be Exists or Equal" % (option, operator, toleration))
    if "key" in result:
        problem = label_key_problem(result["key"])
        if problem:
            raise InvalidInput("%s: invalid key %r: %s" % (option, result["key"], problem))
    elif operator != "Exists":
        raise InvalidInput("%s: %r has no key: an empty key needs operator Exists (it tolerates every taint)"
                           % (option, toleration))
    if operator == "Exists" and "value" in result:
        raise InvalidInput("%s: %r: operator Exists takes no value" % (option, toleration))
    if "value" in result:
        check_label_value(result["value"], "%s value" % option)
    if "effect" in result and result["effect"] not in TAINT_EFFECTS:
        raise InvalidInput("%s: invalid effect %r: must be one of %s (or omitted for all effects)"
                           % (option, result["effect"], ", ".join(TAINT_EFFECTS)))
    if "tolerationSeconds" in result:
        seconds = result["tolerationSeconds"]
        if result.get("effect") != "NoExecute":
            raise InvalidInput("%s: %r: tolerationSeconds applies only to effect NoExecute" % (option, toleration))
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise InvalidInput("%s: tolerationSeconds %r must be an integer" % (option, seconds))
    return result


def merge_tolerations(tolerations, tolerate_maintenance):
    """The user's tolerations, checked, plus the maintenance one unless already there."""
    merged = [check_toleration(t, "tolerations[%d]" % index) for index, t in enumerate(tolerations or [])]
    if tolerate_maintenance and maintenance_toleration() not in merged:
        merged.append(maintenance_toleration())
    return merged


def check_resources(resources, option):
    """Return {requests: {...}, limits: {...}} with every quantity a string."""
    if not isinstance(resources, dict):
        raise InvalidInput("%s: must be a dictionary with requests and/or limits" % option)
    unknown = sorted(set(resources) - set(RESOURCE_SECTIONS))
    if unknown:
        raise InvalidInput("%s: unknown key(s) %s (known: requests, limits)" % (option, ", ".join(unknown)))
    result = {}
    for section in RESOURCE_SECTIONS:
        quantities = resources.get(section) or {}
        if not isinstance(quantities, dict):
            raise InvalidInput("%s.%s: must be a dictionary of resource name to quantity" % (option, section))
        for resource, quantity in quantities.items():
            problem = label_key_problem(resource)
            if problem:
                raise InvalidInput("%s.%s: invalid resource name %r: %s" % (option, section, resource, problem))
            text = str(quantity) if isinstance(quantity, (int, float)) and not isinstance(quantity, bool) else quantity
            if not isinstance(text, str) or not _QUANTITY_RE.match(text):
                raise InvalidInput("%s.%s.%s: invalid quantity %r (e.g. 10m, 0.5, 16Mi, 1G)"
                                   % (option, section, resource, quantity))
            result.setdefault(section, {})[resource] = text
    return result


def check_max_unavailable(value, option):
    """An integer >= 1 or a percentage from 1% to 100%: the DaemonSet's rolling update bound."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 1:
            return value
    elif isinstance(value, str):
        match = _PERCENT_RE.match(value)
        if match and 1 <= int(match.group(1)) <= 100:
            return value
    raise InvalidInput("%s: invalid value %r: must be an integer >= 1 or a percentage from 1%% to 100%%"
                       % (option, value))


def _node_selector(node_selector, scope, name):
    check_labels(node_selector, "node_selector")
    selector = dict(node_selector or {})
    scoped = {"maintenance": (MAINTENANCE_KEY, MAINTENANCE_LABEL_VALUE),
              "admitted": (admission_label(name), ADMIT_LABEL_VALUE)}.get(scope)
    if scoped:
        key, value = scoped
        if selector.get(key, value) != value:
            raise InvalidInput("node_selector: %s=%r contradicts scope=%s (which selects %s=%s)"
                               % (key, selector[key], scope, key, value))
        selector[key] = value
    return selector


def _extra_labels(labels):
    check_labels(labels, "labels")
    reserved = sorted(set(labels or {}) & {MANAGED_BY_LABEL, POOL_LABEL, PRELOADER_LABEL})
    if reserved:
        raise InvalidInput("labels: %s set by the module itself; use the pool option for %s"
                           % (", ".join(reserved), POOL_LABEL))
    return dict(labels or {})


def _image_pull_secrets(names):
    for name in names or []:
        check_object_name(name, "image_pull_secrets")
    if len(set(names or [])) != len(names or []):
        raise InvalidInput("image_pull_secrets: %r lists a secret twice" % (names,))
    return list(names or [])


def _image_option(params, option):
    """The image reference of a helper image option, checked, or None when not given."""
    reference = params.get(option)
    if reference in (None, ""):
        return None
    try:
        parse_image_reference(reference)
    except InvalidInput as exc:
        raise InvalidInput("%s: %s" % (option, exc.msg))
    return reference


def _helper_images(params):
    """(agent, pause, copier): the agent image, or the pause and copier images (defaults filled in).

    The agent has both jobs itself (its `pause` and `install` commands), so naming another image
    for either next to it would leave one of the two unused: refused rather than ignored.
    """
    agent = _image_option(params, "agent_image")
    pause, copier = _image_option(params, "pause_image"), _image_option(params, "copier_image")
    if agent and (pause or copier):
        raise InvalidInput("%s: not used with agent_image %r, which is the hold and the copier image itself; "
                           "give agent_image or pause_image/copier_image, not both"
                           % ("pause_image" if pause else "copier_image", agent))
    return agent, pause or DEFAULT_PAUSE_IMAGE, copier or DEFAULT_COPIER_IMAGE


def check_identity(params):
    """Name and namespace: all that state=absent needs."""
    check_object_name(params["name"], "name", max_length=NAME_MAX)
    check_dns_label(params["namespace"], "namespace")


def build_preloader_spec(params):
    """Validate the module's parameters for state=present; return a PreloaderSpec.

    `params` uses the module's option names. Raises InvalidInput on the first bad value.
    """
    check_identity(params)
    pool = params.get("pool") or params["name"]
    check_label_value(pool, "pool")
    agent_image, pause_image, copier_image = _helper_images(params)
    mode = params.get("mode") or MODE_AUTO
    if mode not in MODES:
        raise InvalidInput("mode: %r must be one of %s" % (mode, ", ".join(MODES)))
    policy = params.get("image_pull_policy")
    if policy is not None and policy not in PULL_POLICIES:
        raise InvalidInput("image_pull_policy: %r must be one of %s" % (policy, ", ".join(PULL_POLICIES)))
    scope = params.get("scope") or "pool"
    if scope not in SCOPES:
        raise InvalidInput("scope: %r must be one of %s" % (scope, ", ".join(SCOPES)))
    priority_class_name = params.get("priority_class_name")
    if priority_class_name:
        check_object_name(priority_class_name, "priority_class_name")
    resources = params.get("resources")
    return PreloaderSpec(
        name=params["name"],
        namespace=params["namespace"],
        pool=pool,
        images=check_image_references(params.get("images"), "images"),
        agent_image=agent_image,
        node_selector=_node_selector(params.get("node_selector"), scope, params["name"]),
        tolerations=merge_tolerations(params.get("tolerations"), params.get("tolerate_maintenance", True)),
        image_pull_secrets=_image_pull_secrets(params.get("image_pull_secrets")),
        image_pull_policy=policy,
        resources=check_resources(DEFAULT_RESOURCES if resources is None else resources, "resources"),
        priority_class_name=priority_class_name or None,
        labels=_extra_labels(params.get("labels")),
        max_unavailable=check_max_unavailable(
            DEFAULT_MAX_UNAVAILABLE if params.get("max_unavailable") is None else params["max_unavailable"],
            "max_unavailable"),
        resolve_tags=params.get("resolve_tags", True),
        registries=check_registry_options(params.get("registries") or {}),
        mode=mode,
        pause_image=pause_image,
        copier_image=copier_image,
        # The nodes of the pool whatever the scope: those `auto` asks whether they mount image volumes.
        pool_selector=dict(params.get("node_selector") or {}),
    )
