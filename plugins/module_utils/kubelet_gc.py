# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of kubelet_config: which image garbage-collection settings to write where, and what
the kubelet will make of them.

The kubelet reads its main config file (--config), then every *.conf file under its drop-in
directory (--config-dir) in lexical order, each one a JSON merge patch over the result, so for a
plain field the last file that sets it wins. It validates the merged result at start-up and
refuses to start when it is invalid, so the checks below run on the merged (effective) values:
a change that would keep the kubelet from starting is refused before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import OrderedDict, namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils import config_text, eviction
from ansible_collections.prewarm.k8s.plugins.module_utils.durations import DurationError, format_duration, parse_duration
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

API_GROUP = "kubelet.config.k8s.io"
API_VERSION = API_GROUP + "/v1beta1"
KIND = "KubeletConfiguration"
DROPIN_SUFFIX = ".conf"
DEFAULT_CONFIG_PATH = "/var/lib/kubelet/config.yaml"
DEFAULT_DROPIN_NAME = "90-prewarm-image-gc.conf"
# Alpha (off by default) in 1.29, beta (on) since 1.30; an explicit false makes a non-zero
# imageMaximumGCAge a start-up error.
MAX_AGE_FEATURE_GATE = "ImageMaximumGCAge"
KUBELET_DEFAULT = "kubelet default"

DROPIN_HEADER = (
    "# Written by prewarm.k8s.kubelet_config: image garbage collection settings that keep\n"
    "# pre-pulled images on this node. The kubelet reads this file only when it starts.\n"
)

Setting = namedtuple("Setting", "option field is_duration default")

HIGH = Setting("image_gc_high_threshold", "imageGCHighThresholdPercent", False, 85)
LOW = Setting("image_gc_low_threshold", "imageGCLowThresholdPercent", False, 80)
MIN_AGE = Setting("image_minimum_gc_age", "imageMinimumGCAge", True, "2m")
MAX_AGE = Setting("image_maximum_gc_age", "imageMaximumGCAge", True, "0s")
SETTINGS = (HIGH, LOW, MIN_AGE, MAX_AGE)

# One effective setting: its value (int percent, or nanoseconds for ages) and where it came from.
Effective = namedtuple("Effective", "value source")

Plan = namedtuple("Plan", "before after changed changes effective image_gc_disabled overridden eviction warnings")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _percent_problem(value):
    if not _is_int(value):
        return "must be an integer percentage"
    if not 0 <= value <= 100:
        return "must be between 0 and 100"
    return None


def desired_settings(params):
    """Ordered {field: value} for the options that were given; InvalidInput naming the first bad one."""
    desired = OrderedDict()
    for setting in SETTINGS:
        value = params.get(setting.option)
        if value is None:
            continue
        if setting.is_duration:
            value = value.strip() if isinstance(value, str) else value
            try:
                nanoseconds = parse_duration(value)
            except DurationError as exc:
                raise InvalidInput("%s: %s" % (setting.option, exc))
            if nanoseconds < 0:
                raise InvalidInput("%s: %r is negative; a garbage collection age must be 0 or more" % (setting.option, value))
        else:
            problem = _percent_problem(value)
            if problem:
                raise InvalidInput("%s: %r %s" % (setting.option, value, problem))
        desired[setting.field] = value
    if not desired:
        raise InvalidInput("nothing to set: give at least one of %s" % ", ".join(s.option for s in SETTINGS))
    return desired


def check_dropin_name(name):
    """The kubelet loads only *.conf files from its drop-in directory; anything else would be ignored."""
    if not name or "/" in name or name in (".", "..") or not name.endswith(DROPIN_SUFFIX):
        raise InvalidInput("dropin_name: %r must be a plain file name ending in %s, or the kubelet "
                           "will not read it" % (name, DROPIN_SUFFIX))


def check_document(document, source):
    """A config file must be a mapping; kind and apiVersion, when present, must be the kubelet's."""
    if not isinstance(document, dict):
        raise InvalidInput("%s is not a KubeletConfiguration: the top level is a %s, not a mapping"
                           % (source, type(document).__name__))
    kind = document.get("kind")
    if kind is not None and kind != KIND:
        raise InvalidInput("%s has kind %r, not %s; refusing to edit it" % (source, kind, KIND))
    api_version = document.get("apiVersion")
    if api_version is not None and not str(api_version).startswith(API_GROUP + "/"):
        raise InvalidInput("%s has apiVersion %r, not %s; refusing to edit it" % (source, api_version, API_VERSION))


def _same_value(setting, current, wanted):
    if not setting.is_duration:
        return _is_int(current) and current == wanted
    try:
        return parse_duration(current) == parse_duration(wanted)
    except DurationError:
        return False


def pending_updates(document, desired):
    """The desired fields whose current value means something else ("2m" and "120s" are the same)."""
    updates = OrderedDict()
    for setting in SETTINGS:
        if setting.field in desired and not _same_value(setting, document.get(setting.field), desired[setting.field]):
            updates[setting.field] = desired[setting.field]
    return updates


def _winner(setting, layers):
    value, source = setting.default, KUBELET_DEFAULT
    for layer_source, document in layers:
        # A null in a drop-in does not set a field; treat it as absent.
        if document.get(setting.field) is not None:
            value, source = document[setting.field], layer_source
    return value, source


def effective_settings(layers):
    """{field: Effective} after merging `layers` [(source, mapping)] in the kubelet's order."""
    effective = OrderedDict()
    for setting in SETTINGS:
        value, source = _winner(setting, layers)
        if setting.is_duration:
            try:
                value = parse_duration(value)
            except DurationError as exc:
                raise InvalidInput("%s in %s: %s; the kubelet would not start" % (setting.field, source, exc))
        elif _percent_problem(value):
            raise InvalidInput("%s in %s: %r %s; the kubelet would not start"
                               % (setting.field, source, value, _percent_problem(value)))
        effective[setting.field] = Effective(value, source)
    return effective


def max_age_gate(layers):
    """The ImageMaximumGCAge feature gate as the config files set it: (True/False, source) or (None, None)."""
    result = (None, None)
    for source, document in layers:
        gates = document.get("featureGates")
        if isinstance(gates, dict) and gates.get(MAX_AGE_FEATURE_GATE) is not None:
            result = (gates[MAX_AGE_FEATURE_GATE], source)
    return result


def _shown(setting, effective):
    entry = effective[setting.field]
    value = format_duration(entry.value) if setting.is_duration else entry.value
    return "%s %s (option %s; from %s)" % (setting.field, value, setting.option, entry.source)


def check_effective(effective, gate):
    """The kubelet's own start-up checks on these fields; InvalidInput naming the values and their files."""
    problems = []
    if effective[LOW.field].value >= effective[HIGH.field].value:
        problems.append("%s must be less than %s" % (_shown(LOW, effective), _shown(HIGH, effective)))
    max_age, min_age = effective[MAX_AGE.field].value, effective[MIN_AGE.field].value
    if max_age < 0:
        problems.append("%s must not be negative" % _shown(MAX_AGE, effective))
    if max_age > 0 and max_age <= min_age:
        problems.append("%s must be greater than %s, or 0s to disable it"
                        % (_shown(MAX_AGE, effective), _shown(MIN_AGE, effective)))
    enabled, gate_source = gate
    if max_age != 0 and enabled is False:
        problems.append("%s needs the %s feature gate, which %s turns off"
                        % (_shown(MAX_AGE, effective), MAX_AGE_FEATURE_GATE, gate_source))
    if problems:
        raise InvalidInput("the kubelet would refuse to start with this configuration, so nothing was changed: %s"
                           % "; ".join(problems))


def describe_effective(effective):
    """{field: value} as the kubelet reports them: ints, and ages in Go's format ("2m0s")."""
    return OrderedDict(
        (s.field, format_duration(effective[s.field].value) if s.is_duration else effective[s.field].value)
        for s in SETTINGS)


def image_gc_disabled(effective):
    """The kubelet skips image GC entirely at a high threshold of 100 with no maximum age."""
    return effective[HIGH.field].value == 100 and effective[MAX_AGE.field].value == 0


def overriding(later_layers, fields):
    """[{field, file, value}] for the given fields set again by a file the kubelet reads after ours."""
    found = []
    for source, document in later_layers:
        for field in fields:
            if document.get(field) is not None:
                found.append(OrderedDict(field=field, file=source, value=document[field]))
    return found


def _walk_key(relative_path):
    # Go's filepath.WalkDir visits entries in byte order, depth first: compare path components as bytes.
    return tuple(os.fsencode(part) for part in relative_path.split(os.sep))


def split_dropins(relative_paths, ours=None):
    """Drop-in files (paths relative to the directory) in the kubelet's order: (before ours, after ours).

    Without `ours` (main-file mode) every drop-in comes after the main file.
    """
    ordered = sorted((p for p in relative_paths if os.path.basename(p).endswith(DROPIN_SUFFIX)), key=_walk_key)
    if ours is None:
        return [], ordered
    ours_key = _walk_key(ours)
    return ([p for p in ordered if _walk_key(p) < ours_key],
            [p for p in ordered if _walk_key(p) > ours_key])


def _load_target(path, text, dropin):
    """(document, format, text to edit) for the file we write; a missing drop-in starts empty."""
    if text is None:
        if not dropin:
            raise InvalidInput("%s does not exist: the kubelet's main config file must be there to be edited "
                               "(give path, or dropin_dir to write a drop-in file)" % path)
        return {}, config_text.YAML, DROPIN_HEADER
    document, fmt = config_text.parse(text, path)
    if document is None:
        if not dropin:
            raise InvalidInput("%s is empty: it is not a KubeletConfiguration; refusing to write the kubelet's "
                               "main config from scratch" % path)
        return {}, config_text.YAML, text or DROPIN_HEADER
    check_document(document, path)
    return document, fmt, text


def check_against_eviction(desired, effective, layers, path, main_path):
    """(thresholds, warnings): the disk eviction thresholds; InvalidInput when the high threshold
    being written sits at or above the usage where imagefs eviction starts (module_utils/eviction)."""
    thresholds = eviction.disk_thresholds(layers, main_path)
    high = effective[HIGH.field]
    # Refused only where the high threshold in effect is the one being written; one that another
    # file sets (or the kubelet's default) is warned about.
    ours = HIGH.field in desired and high.source == path
    refusal, warnings = eviction.gc_versus_eviction(high.value, high.source, thresholds, ours)
    if refusal:
        raise InvalidInput(refusal)
    return thresholds, warnings


def describe_thresholds(thresholds):
    """[{kind, signal, value, source}] for the module's result."""
    return [OrderedDict(kind=t.kind, signal=t.signal, value=t.value, source=t.source) for t in thresholds]


def plan_change(desired, path, text, before, after, dropin, main_path=None):
    """What writing `desired` into the file at `path` (current text, None if missing) does.

    `before` and `after` are the other config layers [(source, mapping)] the kubelet reads before
    and after this file; `main_path` is the kubelet's main config file (`path` itself when not
    `dropin`). Raises InvalidInput, before anything is written, when the result would not be a
    valid kubelet configuration, or would put image GC above the disk eviction thresholds.
    """
    document, fmt, base_text = _load_target(path, text, dropin)
    warnings = []
    updates = OrderedDict()
    if dropin:
        # The kubelet rejects a drop-in without its own apiVersion and kind.
        for key, value in (("apiVersion", API_VERSION), ("kind", KIND)):
            if key not in document:
                updates[key] = value
    elif "kind" not in document:
        warnings.append("%s has no kind: %s; the kubelet may not accept it" % (path, KIND))
    updates.update(pending_updates(document, desired))
    merged = dict(document)
    merged.update(updates)
    layers = list(before) + [(path, merged)] + list(after)
    effective = effective_settings(layers)
    check_effective(effective, max_age_gate(layers))
    thresholds, eviction_warnings = check_against_eviction(desired, effective, layers, path, path if not dropin else main_path)
    warnings.extend(eviction_warnings)
    changes = [OrderedDict(field=s.field, before=document.get(s.field), after=updates[s.field])
               for s in SETTINGS if s.field in updates]
    new_text = text or ""
    if updates:
        new_text, rewritten = config_text.update(base_text, fmt, document, updates, path)
        if rewritten:
            warnings.append("%s could not be edited line by line (flow style, anchors or multi-line values), "
                            "so it was written out in full: every setting is kept but comments and "
                            "formatting are lost" % path)
    overridden = overriding(after, list(desired))
    for entry in overridden:
        warnings.append("%s sets %s to %r and the kubelet reads it after %s, so %s=%r has no effect"
                        % (entry["file"], entry["field"], entry["value"], path, entry["field"], desired[entry["field"]]))
    return Plan(before=text or "", after=new_text, changed=bool(updates), changes=changes,
                effective=describe_effective(effective), image_gc_disabled=image_gc_disabled(effective),
                overridden=overridden, eviction=describe_thresholds(thresholds), warnings=warnings)
