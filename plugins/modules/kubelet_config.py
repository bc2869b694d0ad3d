#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_config
short_description: Keep kubelet image garbage collection from deleting pre-warmed images
version_added: 0.1.0
author: prewarm.k8s maintainers (@prewarm-k8s)
description:
  - Runs on the node host. Sets C(imageGCHighThresholdPercent), C(imageGCLowThresholdPercent),
    C(imageMinimumGCAge) and C(imageMaximumGCAge) in the kubelet's KubeletConfiguration file, or in a
    drop-in file of the kubelet's configuration directory (C(--config-dir)).
  - Only the settings given are set. Every other setting of the file is kept as it was, including fields
    this module does not know, comments and key order. YAML files are edited line by line and the result
    is parsed again and compared with the original plus the new settings; when a file cannot be edited that
    way (flow style, anchors, a value spanning several lines) it is written out in full with the same
    settings and a warning that comments were lost. JSON files stay JSON, with their key order.
  - Before writing, checks the settings the kubelet will see after a restart, that is after merging the main
    file and every C(*.conf) drop-in of O(dropin_dir) in the kubelet's order (lexical, later files win),
    with the kubelet's defaults for what no file sets. A change that would keep the kubelet from starting
    (low threshold not below the high one, a maximum age not above the minimum age) fails without writing.
  - Warns when a drop-in read after the file written sets the same field, since the change would then have
    no effect.
  - Writes atomically (a temporary file in the same directory renamed over the old one), keeping the
    file's mode and owner. The kubelet reads its configuration only when it starts; the module does not
    restart it but returns RV(restart_required).
  - Does not talk to the Kubernetes API and needs no credentials. Reading YAML needs the PyYAML library
    on the node (usually installed, for example as C(python3-yaml)).
options:
  image_gc_high_threshold:
    description:
      - C(imageGCHighThresholdPercent), 0 to 100. Disk usage (percent) at which image garbage collection
        always runs. Kubelet default 85.
      - At 100, with a maximum age of 0s, the kubelet does not run image garbage collection at all.
      - Must stay above the effective C(imageGCLowThresholdPercent), given or already set.
      - Must stay below the usage at which disk pressure eviction starts, 100 minus the effective
        C(evictionHard) (and C(evictionSoft)) C(imagefs.available) percentage (85 with the kubelet's default
        of 15%). At or above it the node gets DiskPressure first, the kubelet deletes every unused image at
        once and evicts pods, and the gradual image garbage collection never runs; the module fails, naming
        both numbers and the files they come from, without writing. The same for C(nodefs.available) only
        warns, since it counts only where the image store is on the node's root filesystem, and so does an
        absolute threshold such as C(10Gi), which cannot be compared with a percentage.
    type: int
  image_gc_low_threshold:
    description:
      - C(imageGCLowThresholdPercent), 0 to 100. Disk usage (percent) that garbage collection frees down to,
        and below which it never runs. Kubelet default 80.
      - Must stay below the effective C(imageGCHighThresholdPercent), given or already set.
    type: int
  image_minimum_gc_age:
    description:
      - C(imageMinimumGCAge), a Go duration such as V(2m), V(1h30m) or V(300ms); not negative.
        Minimum age of an unused image before it can be garbage collected. Kubelet default V(2m).
      - A value that means the same as the one in the file (V(120s) and V(2m0s) for V(2m)) is not a change.
    type: str
  image_maximum_gc_age:
    description:
      - C(imageMaximumGCAge), a Go duration; not negative. An image unused for longer is garbage collected
        whatever the disk usage. V(0s) (the kubelet default) disables this.
      - When not zero it must be greater than the effective C(imageMinimumGCAge), and needs the
        C(ImageMaximumGCAge) feature gate (on by default since Kubernetes 1.30); the module fails if a config
        file turns that gate off.
    type: str
  path:
    description:
      - The kubelet's main configuration file (its C(--config)). Edited when O(target=config). In
        O(target=dropin) it is only read, if it exists, to compute the effective settings.
      - It must exist and hold a mapping to be edited; its C(kind), when present, must be C(KubeletConfiguration).
    type: path
    default: /var/lib/kubelet/config.yaml
  dropin_dir:
    description:
      - The kubelet's drop-in configuration directory (its C(--config-dir), for example
        C(/etc/kubernetes/kubelet.conf.d)). Drop-in directories are beta and on by default since Kubernetes 1.30.
      - When given, every C(*.conf) file under it is taken into account for the effective settings and the
        override warnings, and O(target) defaults to V(dropin).
    type: path
  dropin_name:
    description:
      - File name of the drop-in written in O(dropin_dir) when O(target=dropin). It must end in C(.conf)
        (the kubelet ignores other files). Files sorting after it override it.
      - Created with mode 0644 (and O(dropin_dir) with mode 0755) when missing; it gets C(apiVersion) and
        C(kind), which the kubelet requires in every drop-in.
    type: str
    default: 90-prewarm-image-gc.conf
  target:
    description:
      - Which file to write. V(config) edits O(path); V(dropin) writes O(dropin_name) in O(dropin_dir).
      - Default V(dropin) when O(dropin_dir) is given, V(config) otherwise. V(dropin) needs O(dropin_dir).
    type: str
    choices: [config, dropin]
  backup:
    description:
      - Copy the file to a timestamped backup next to it before changing it.
    type: bool
    default: false
notes:
  - The kubelet's command-line flags (for example C(--image-gc-high-threshold)) override its configuration
    files; this module cannot see them. Check the running kubelet's C(/configz) after a restart.
  - Eviction under disk pressure (C(evictionHard) C(imagefs.available) / C(nodefs.available)) also deletes
    unused images, whatever these settings are. The thresholds are taken as the kubelet builds them - its
    defaults when the main file has no C(evictionHard), exactly the main file's map otherwise (plus the defaults
    it lacks with C(mergeDefaultEvictionSettings=true)), then each drop-in merged over it signal by signal - and
    returned in RV(eviction).
  - A drop-in that sets a field to null is treated as not setting it.
attributes:
  check_mode:
    support: full
    description: Reads and validates everything, writes nothing, and reports whether the file would change.
  diff_mode:
    support: full
    description: Shows the text of the file before and after the change.
  platform:
    support: full
    platforms: posix
    description: Runs on the Kubernetes node whose kubelet it configures.
"""

EXAMPLES = r"""
- name: Keep pre-warmed images through the maintenance window (main config file)
  prewarm.k8s.kubelet_config:
    image_gc_high_threshold: 80
    image_gc_low_threshold: 70
    image_minimum_gc_age: 24h
    backup: true
  register: kubelet_gc

- name: Restart the kubelet when its configuration changed
  ansible.builtin.systemd_service:
    name: kubelet
    state: restarted
  when: kubelet_gc.restart_required

- name: Same, as a drop-in file of the kubelet's --config-dir
  prewarm.k8s.kubelet_config:
    dropin_dir: /etc/kubernetes/kubelet.conf.d
    image_gc_high_threshold: 80
    image_gc_low_threshold: 70
    image_maximum_gc_age: 0s

- name: Preview the change
  prewarm.k8s.kubelet_config:
    path: /etc/kubernetes/kubelet-config.json
    image_gc_high_threshold: 84
  check_mode: true
  diff: true
"""

RETURN = r"""
path:
  description: The file written (or that would be written in check mode).
  returned: always
  type: str
  sample: /etc/kubernetes/kubelet.conf.d/90-prewarm-image-gc.conf
restart_required:
  description:
    - Whether the file changed (or would change in check mode). The kubelet reads its configuration only
      at start, so it must be restarted for the change to take effect.
  returned: always
  type: bool
  sample: true
effective:
  description:
    - The four settings as the kubelet will see them after a restart, merging the main file, the drop-ins
      and the kubelet defaults (command-line flags excluded). Ages in Go's format.
  returned: always
  type: dict
  sample:
    imageGCHighThresholdPercent: 80
    imageGCLowThresholdPercent: 70
    imageMinimumGCAge: 24h0m0s
    imageMaximumGCAge: 0s
image_gc_disabled:
  description: Whether the kubelet will skip image garbage collection entirely (high threshold 100, maximum age 0s).
  returned: always
  type: bool
  sample: false
changes:
  description: Each setting written, with its value before (null when absent) and after.
  returned: always
  type: list
  elements: dict
  sample:
    - field: imageGCHighThresholdPercent
      before: 85
      after: 80
overridden:
  description: Settings given to this module that a file read later by the kubelet sets again (the module warns).
  returned: always
  type: list
  elements: dict
  sample:
    - field: imageGCHighThresholdPercent
      file: /etc/kubernetes/kubelet.conf.d/99-site.conf
      value: 85
eviction:
  description:
    - The C(imagefs.available) and C(nodefs.available) eviction thresholds the kubelet will apply after a
      restart (command-line flags excluded), each with the file it comes from, or C(kubelet default).
      Thresholds of 0% and 100%, which the kubelet ignores, are left out.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: evictionHard
      signal: imagefs.available
      value: 15%
      source: kubelet default
    - kind: evictionHard
      signal: nodefs.available
      value: 10%
      source: kubelet default
backup_file:
  description: The backup copy of the file, when O(backup=true) and the file changed.
  returned: changed and backup requested
  type: str
  sample: /var/lib/kubelet/config.yaml.2351.2024-05-01@03:00:00~
msg:
  description: What was done.
  returned: always
  type: str
  sample: "updated /var/lib/kubelet/config.yaml (imageGCHighThresholdPercent 85 -> 80); restart the kubelet to apply it"
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.prewarm.k8s.plugins.module_utils import config_text, kubelet_gc
from ansible_collections.prewarm.k8s.plugins.module_utils.boundary import run_module
from ansible_collections.prewarm.k8s.plugins.module_utils.errors import PrewarmError

DROPIN_FILE_MODE = 0o644
DROPIN_DIR_MODE = 0o755

ARGUMENT_SPEC = dict(
    image_gc_high_threshold=dict(type="int"),
    image_gc_low_threshold=dict(type="int"),
    image_minimum_gc_age=dict(type="str"),
    image_maximum_gc_age=dict(type="str"),
    path=dict(type="path", default=kubelet_gc.DEFAULT_CONFIG_PATH),
    dropin_dir=dict(type="path"),
    dropin_name=dict(type="str", default=kubelet_gc.DEFAULT_DROPIN_NAME),
    target=dict(type="str", choices=["config", "dropin"]),
    backup=dict(type="bool", default=False),
)


def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PrewarmError("cannot read %s: %s" % (path, exc))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PrewarmError("%s is not UTF-8 text: %s" % (path, exc))


def read_layer(path, warnings, dropin=False):
    """(path, mapping) for a config file the kubelet reads besides ours; None when it is missing or empty."""
    text = read_text(path)
    if text is None:
        return None
    document = config_text.parse(text, path)[0]
    if dropin and not (isinstance(document, dict) and "kind" in document and "apiVersion" in document):
        warnings.append("%s has no apiVersion and kind: the kubelet refuses such a drop-in and will not start "
                        "until it is fixed or removed" % path)
    if document is None:
        return None
    kubelet_gc.check_document(document, path)
    return path, document


def dropin_files(dropin_dir):
    """Every file under the drop-in directory, relative to it (the kubelet walks subdirectories too)."""
    found = []
    for root, dirs, files in os.walk(dropin_dir, onerror=_raise):
        dirs.sort()
        found.extend(os.path.relpath(os.path.join(root, name), dropin_dir) for name in files)
    return found


def _raise(exc):
    raise PrewarmError("cannot list %s: %s" % (exc.filename, exc))


def gather(params, warnings):
    """(path to write, current text, layers before it, layers after it, drop-in mode)."""
    dropin_dir = params["dropin_dir"]
    dropin = (params["target"] or ("dropin" if dropin_dir else "config")) == "dropin"
    ours = None
    path = params["path"]
    if dropin:
        kubelet_gc.check_dropin_name(params["dropin_name"])
        ours = params["dropin_name"]
        path = os.path.join(dropin_dir, ours)
    present = dropin_files(dropin_dir) if dropin_dir and os.path.isdir(dropin_dir) else []
    before_names, after_names = kubelet_gc.split_dropins(present, ours)
    before = [read_layer(os.path.join(dropin_dir, name), warnings, True) for name in before_names]
    after = [read_layer(os.path.join(dropin_dir, name), warnings, True) for name in after_names]
    if dropin:
        before.insert(0, read_layer(params["path"], warnings))
    return path, read_text(path), [x for x in before if x], [x for x in after if x], dropin


def write_atomically(module, path, text, dropin):
    """Temp file in the same directory, flushed to disk, renamed over the old file (keeping its mode and owner)."""
    # Rename over the file a symlink points to, not over the symlink itself.
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    creating = not os.path.exists(path)
    if dropin and not os.path.isdir(directory):
        os.makedirs(directory, DROPIN_DIR_MODE)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if creating:
        os.chmod(path, DROPIN_FILE_MODE)


def describe(plan, path, check_mode):
    if not plan.changed:
        return "%s already holds the requested image garbage collection settings" % path
    changes = ", ".join("%s %s -> %s" % (c["field"], "unset" if c["before"] is None else c["before"], c["after"])
                        for c in plan.changes) or "apiVersion and kind added"
    verb = "would update" if check_mode else "updated"
    return "%s %s (%s); restart the kubelet to apply it" % (verb, path, changes)


def run(module):
    """Everything the module does: (result, failure, warnings) for boundary.run_module."""
    desired = kubelet_gc.desired_settings(module.params)
    warnings = []
    path, text, before, after, dropin = gather(module.params, warnings)
    plan = kubelet_gc.plan_change(desired, path, text, before, after, dropin, main_path=module.params["path"])
    result = dict(changed=plan.changed, path=path, restart_required=plan.changed,
                  effective=plan.effective, image_gc_disabled=plan.image_gc_disabled,
                  changes=plan.changes, overridden=plan.overridden, eviction=plan.eviction,
                  msg=describe(plan, path, module.check_mode))
    if module._diff:
        result["diff"] = dict(before=plan.before, after=plan.after, before_header=path, after_header=path)
    if plan.changed and not module.check_mode:
        try:
            if module.params["backup"] and text is not None:
                result["backup_file"] = module.backup_local(path)
            write_atomically(module, path, plan.after, dropin)
        except Exception as exc:  # atomic_move and backup_local raise plain Exception
            raise PrewarmError("cannot write %s: %s" % (path, exc))
    return result, None, warnings + plan.warnings


def main():
    run_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                             required_if=[("target", "dropin", ["dropin_dir"])]), run)


if __name__ == "__main__":
    main()
