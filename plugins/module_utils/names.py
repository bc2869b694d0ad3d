# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes name syntax: label keys and values, taint effects, object names.

The API server enforces the same rules; checking them here lets a module fail before its
first write, naming the bad value, instead of half-way through a batch of nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Sequence

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_RE = re.compile(r"^%s(\.%s)*$" % (_DNS1123_LABEL, _DNS1123_LABEL))
_DNS1123_LABEL_RE = re.compile(r"^%s$" % _DNS1123_LABEL)
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_key_problem(key):
    """Why `key` is not a valid label (or taint, or annotation) key, or None."""
    if not isinstance(key, str) or not key:
        return "must be a non-empty string"
    prefix, _sep, name = key.rpartition("/")
    if "/" in key:
        if not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix):
            return "prefix %r must be a DNS subdomain (lower case, at most 253 characters)" % prefix
    if len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
        return ("name part %r must be at most 63 characters of [A-Za-z0-9-_.], "
                "starting and ending with a letter or digit" % name)
    return None


def label_value_problem(value):
    """Why `value` is not a valid label (or taint) value, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > 63 or not _LABEL_VALUE_RE.match(value):
        return ("must be at most 63 characters of [A-Za-z0-9-_.], "
                "starting and ending with a letter or digit (or empty)")
    return None


def check_label_key(key, option):
    problem = label_key_problem(key)
    if problem:
        raise InvalidInput("%s: invalid key %r: %s" % (option, key, problem))


def check_label_value(value, option):
    problem = label_value_problem(value)
    if problem:
        raise InvalidInput("%s: invalid value %r: %s" % (option, value, problem))


def check_labels(labels, option):
    """Check a {key: value} mapping of labels."""
    for key, value in (labels or {}).items():
        check_label_key(key, option)
        check_label_value(value, "%s[%s]" % (option, key))


def check_taint_effect(effect, option):
    if effect not in TAINT_EFFECTS:
        raise InvalidInput("%s: invalid taint effect %r: must be one of %s"
                           % (option, effect, ", ".join(TAINT_EFFECTS)))


def check_object_name(name, option, max_length=253):
    """Names of nodes, DaemonSets and namespaces: DNS-1123 subdomains."""
    if not isinstance(name, str) or len(name) > max_length or not _DNS1123_SUBDOMAIN_RE.match(name):
        raise InvalidInput("%s: invalid name %r: must be a DNS-1123 subdomain (lower case letters, "
                           "digits, '-' and '.', at most %d characters)" % (option, name, max_length))


def check_dns_label(name, option):
    """Namespaces and container names: DNS-1123 labels."""
    if not isinstance(name, str) or len(name) > 63 or not _DNS1123_LABEL_RE.match(name):
        raise InvalidInput("%s: invalid name %r: must be a DNS-1123 label (lower case letters, "
                           "digits and '-', at most 63 characters)" % (option, name))


def unique_in_order(names):
    """`names` without repeats, each where it first occurs (the order can be the order of work)."""
    seen, unique = set(), []
    for name in names:
        if name not in seen:
            seen.add(name)
            unique.append(name)
    return unique


def name_list(value, option="names"):
    """The names in `value`: a list, or a comma-separated string as given on the command line (-e nodes=a,b).

    Each name is trimmed; empty ones are dropped (a trailing comma, an empty survey answer) and so are repeats, the
    first occurrence keeping its place (the order can be the order of work, e.g. of pools).
    """
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        items = list(value)
    else:
        raise InvalidInput("%s: must be a list of names or a comma-separated string, got %s %r"
                           % (option, type(value).__name__, value))
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput("%s: every name must be a string, got %s %r" % (option, type(item).__name__, item))
    return unique_in_order(name for name in (item.strip() for item in items) if name)
