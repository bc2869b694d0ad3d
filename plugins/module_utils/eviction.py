# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the kubelet's eviction under disk pressure starts, and whether image GC gets there first.

The kubelet's image GC runs when the image filesystem's usage reaches
imageGCHighThresholdPercent, and deletes unused images least recently used first until usage is
down to the low threshold. Eviction runs when `imagefs.available` (or `nodefs.available`) drops
below its evictionHard (or evictionSoft) threshold: the node gets DiskPressure (tainted
NoSchedule), the kubelet deletes every unused image at once, then evicts pods if that was not
enough. A high threshold at or above 100 minus the imagefs threshold means the gradual GC never
runs first, so it is refused where we set it.

How the kubelet arrives at its thresholds (cmd/kubelet/app/server.go): when the main config file
has no evictionHard, the defaults below; when it has one, exactly that map (plus the defaults it
lacks when the main file sets mergeDefaultEvictionSettings: true); then each drop-in is applied
as a JSON merge patch, so a drop-in adds or replaces single signals and a null removes one.
A threshold of 0% or 100% is ignored by the kubelet. No file access here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict, namedtuple

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

try:
    # Only for absolute thresholds ("10Gi") on the controller; the node-host module compares percentages.
    from kubernetes.utils.quantity import parse_quantity
except ImportError:
    parse_quantity = None

# pkg/kubelet/eviction/defaults_linux.go
DEFAULT_EVICTION_HARD = OrderedDict([
    ("memory.available", "100Mi"),
    ("nodefs.available", "10%"),
    ("nodefs.inodesFree", "5%"),
    ("imagefs.available", "15%"),
    ("imagefs.inodesFree", "5%"),
])
KUBELET_DEFAULT = "kubelet default"
HARD, SOFT = "evictionHard", "evictionSoft"
IMAGEFS, NODEFS = "imagefs.available", "nodefs.available"

CONFIGZ = "the kubelet's /configz"

# One signal's threshold as the kubelet will see it: its text ("15%", "10Gi") and the file it came from.
Threshold = namedtuple("Threshold", "kind signal value source")


def _merged_map(layers, main_path, field):
    """{signal: (value, source)} for one eviction field after the main file and the drop-ins."""
    merged = OrderedDict()
    main = None
    for source, document in layers:
        if source == main_path:
            main = document
    main_map = (main or {}).get(field)
    if field == HARD and not isinstance(main_map, dict):
        merged.update((signal, (value, KUBELET_DEFAULT)) for signal, value in DEFAULT_EVICTION_HARD.items())
    elif isinstance(main_map, dict):
        merged.update((signal, (value, main_path)) for signal, value in main_map.items() if value is not None)
        if field == HARD and (main or {}).get("mergeDefaultEvictionSettings") is True:
            for signal, value in DEFAULT_EVICTION_HARD.items():
                merged.setdefault(signal, (value, KUBELET_DEFAULT))
    for source, document in layers:
        patch = document.get(field) if source != main_path else None
        if not isinstance(patch, dict):
            continue
        for signal, value in patch.items():
            if value is None:
                merged.pop(signal, None)
            else:
                merged[signal] = (value, source)
    return merged


def disk_thresholds(layers, main_path):
    """[Threshold] of imagefs.available and nodefs.available, hard and soft, the kubelet will apply.

    layers: [(source, mapping)] in the kubelet's order; main_path: the source that is the main
    config file (its --config), or None when there is none.
    """
    found = []
    for kind in (HARD, SOFT):
        found.extend(_disk_signals(kind, _merged_map(layers, main_path, kind).items()))
    return found


def _disk_signals(kind, entries):
    """[Threshold] of the disk signals among `entries` [(signal, (value, source))]; 0% and 100% the kubelet ignores."""
    return [Threshold(kind, signal, str(value).strip(), source) for signal, (value, source) in entries
            if signal in (IMAGEFS, NODEFS) and str(value).strip() not in ("0%", "100%")]


def percent(threshold):
    """The threshold as a percentage of the filesystem, or None for an absolute quantity ("10Gi")."""
    text = threshold.value
    if not text.endswith("%"):
        return None
    try:
        value = float(text[:-1])
    except ValueError:
        raise InvalidInput("%s %s %r in %s is not a percentage; the kubelet would not start"
                           % (threshold.kind, threshold.signal, text, threshold.source))
    if not 0 <= value <= 100:
        raise InvalidInput("%s %s %r in %s must be between 0%% and 100%%; the kubelet would not start"
                           % (threshold.kind, threshold.signal, text, threshold.source))
    return value


def _shown(threshold):
    return "%s %s<%s (from %s)" % (threshold.kind, threshold.signal, threshold.value, threshold.source)


def _format_number(value):
    return ("%d" % value) if value == int(value) else ("%g" % value)


def gc_versus_eviction(high, high_source, thresholds, ours):
    """(refusal or None, warnings) for image GC high threshold `high` against the disk eviction thresholds.

    ours: whether `high` is a value being written now; a threshold already in place (or the
    kubelet's default) that is too high only warns, since this change did not choose it.
    nodefs counts only where the image store shares the node's root filesystem, which the config
    files do not say, so it warns too.
    """
    problems, warnings = [], []
    for threshold in thresholds:
        share = percent(threshold)
        if share is None:
            warnings.append("%s is an absolute amount, not compared with imageGCHighThresholdPercent %d: make sure the "
                            "image filesystem reaches %d%% usage before it has that little left" % (_shown(threshold), high, high))
            continue
        limit = 100 - share
        if high < limit:
            continue
        text = ("imageGCHighThresholdPercent %d (from %s) is at or above %s%%, the usage at which %s puts the node under "
                "DiskPressure: the kubelet would then delete every unused image at once and evict pods, and its gradual "
                "image GC would never run first; use a high threshold below %s"
                % (high, high_source, _format_number(limit), _shown(threshold), _format_number(limit)))
        if threshold.signal == IMAGEFS and ours:
            problems.append(text)
        elif threshold.signal == IMAGEFS:
            warnings.append(text)
        else:
            warnings.append(text + " (this counts where the image store is on the node's root filesystem)")
    refusal = None
    if problems:
        refusal = "nothing was changed: " + "; ".join(problems)
    return refusal, warnings


def from_configz(kubeletconfig):
    """(imageGCHighThresholdPercent or None, [Threshold]) from the `kubeletconfig` of a kubelet's /configz.

    /configz is what the running kubelet uses: its files merged, its defaults and its flags.
    """
    config = kubeletconfig if isinstance(kubeletconfig, dict) else {}
    high = config.get("imageGCHighThresholdPercent")
    thresholds = []
    for kind in (HARD, SOFT):
        thresholds.extend(_disk_signals(kind, ((signal, (value, CONFIGZ)) for signal, value in sorted((config.get(kind) or {}).items()))))
    return (high if isinstance(high, int) and not isinstance(high, bool) else None), thresholds


def floor_bytes(threshold, capacity):
    """The available bytes below which `threshold` puts a filesystem of `capacity` bytes under pressure, or None
    when it cannot be read (an absolute amount without the kubernetes client, or text that is no quantity)."""
    try:
        share = percent(threshold)
    except InvalidInput:
        return None
    if share is not None:
        return capacity * share / 100.0
    if parse_quantity is None:
        return None
    try:
        return float(parse_quantity(threshold.value))
    except (ValueError, TypeError):
        return None


def pressure_floors(thresholds, capacity, shares_node_fs):
    """[(description, available bytes)] below which the image filesystem puts the node under DiskPressure.

    imagefs thresholds always count; nodefs ones where the image store is on the node's filesystem.
    """
    floors = []
    for threshold in thresholds:
        if threshold.signal == NODEFS and not shares_node_fs:
            continue
        floor = floor_bytes(threshold, capacity)
        if floor is not None:
            floors.append(("%s %s<%s" % (threshold.kind, threshold.signal, threshold.value), floor))
    return floors
