# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set top-level keys of a YAML or JSON configuration file without disturbing the rest of it.

A kubelet config file is hand-tuned: comments, key order and fields this collection has never
heard of must survive. So YAML is edited line by line (replace the line of a top-level key, append
missing keys), and the result is parsed again and compared with the original mapping plus our
keys. Only if that proof fails (flow style, anchors, a value spanning lines...) is the file dumped
again in full, which keeps every value but loses comments; the caller warns about that.
JSON (which the kubelet also accepts) is loaded and dumped with its key order kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput, PrewarmError

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

YAML = "yaml"
JSON = "json"


def _require_yaml(source):
    if not HAS_YAML:
        raise PrewarmError("reading or writing %s needs the PyYAML Python library on the node "
                           "(package python3-yaml or pip install PyYAML)" % source)


def looks_like_json(text):
    return text.lstrip().startswith("{")


def parse(text, source):
    """(document, format) for the text of a config file; an empty or comment-only file gives None."""
    if looks_like_json(text):
        try:
            return json.loads(text), JSON
        except ValueError:
            pass  # a YAML flow mapping also starts with "{"
    _require_yaml(source)
    try:
        return yaml.safe_load(text), YAML
    except yaml.YAMLError as exc:
        raise InvalidInput("%s is not valid YAML or JSON: %s" % (source, exc))


# Words YAML 1.1 (the kubelet's parser) reads as booleans or null when left unquoted.
_YAML_WORDS = frozenset("y n yes no on off true false null".split())
_PLAIN_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9./-]*$")


def yaml_scalar(value):
    """An int, a plain word (kind, apiVersion), or a double-quoted string.

    Durations are always quoted: "0" unquoted would be read as a number and rejected by the kubelet.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError("only int and str values are written, got %r" % (value,))
    if isinstance(value, int):
        return str(value)
    if _PLAIN_WORD.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _newline(text):
    return "\r\n" if "\r\n" in text else "\n"


def _key_patterns(key):
    """(any top-level line of this key, a line holding the key and its whole value)."""
    quoted = "|".join(re.escape(k) for k in (key, '"%s"' % key, "'%s'" % key))
    mention = re.compile(r"^(?:%s)[ \t]*:" % quoted)
    # The key at column 0, a colon, then a value on the same line (never a block starting below).
    editable = re.compile(r"^(?P<key>%s)(?P<gap>[ \t]*):(?P<space>[ \t]+)(?P<value>[^#\s][^#]*?)(?P<comment>[ \t]+#.*)?$" % quoted)
    return mention, editable


def _edit_yaml_lines(text, updates):
    """Text with each key's line replaced or appended, or None when a key cannot be edited in place."""
    lines = text.splitlines(True)
    newline = _newline(text)
    appended = []
    for key, value in updates.items():
        mention, pattern = _key_patterns(key)
        mentions = [i for i, line in enumerate(lines) if mention.match(line)]
        matches = [i for i in mentions if pattern.match(lines[i].rstrip("\r\n"))]
        if len(mentions) > 1 or (mentions and not matches):
            return None  # duplicate key, or a value that does not sit on the key's line
        if matches:
            i = matches[0]
            body = lines[i].rstrip("\r\n")
            ending = lines[i][len(body):]
            m = pattern.match(body)
            lines[i] = "%s%s:%s%s%s%s" % (m.group("key"), m.group("gap"), m.group("space"),
                                          yaml_scalar(value), m.group("comment") or "", ending)
        else:
            appended.append("%s: %s%s" % (key, yaml_scalar(value), newline))
    if appended and lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    return "".join(lines + appended)


def _same(document, expected):
    return isinstance(document, dict) and document == expected


def _json_indent(text):
    match = re.search(r"\n([ \t]+)\"", text)
    if match:
        return match.group(1) if "\t" in match.group(1) else len(match.group(1))
    return 2 if "\n" in text.strip() else None


def update(text, fmt, document, updates, source):
    """(new text, rewritten_in_full) for a config file whose parsed mapping is `document`.

    `updates` is an ordered {key: int or str}; keys already there keep their place.
    """
    expected = dict(document or {})
    expected.update(updates)
    if fmt == JSON:
        indent = _json_indent(text)
        separators = (",", ": ") if indent is not None else (", ", ": ")
        trailing = "\n" if text.endswith("\n") or not text else ""
        return json.dumps(expected, indent=indent, separators=separators, ensure_ascii=False) + trailing, False
    _require_yaml(source)
    edited = _edit_yaml_lines(text, updates)
    if edited is not None:
        try:
            if _same(yaml.safe_load(edited), expected):
                return edited, False
        except yaml.YAMLError:
            pass  # the line edit broke the document: fall back to a full dump below
    dumped = yaml.safe_dump(expected, default_flow_style=False, sort_keys=False, allow_unicode=True)
    if not _same(yaml.safe_load(dumped), expected):
        raise PrewarmError("cannot rewrite %s safely: its content does not survive a YAML round trip; "
                           "edit it by hand or use a drop-in file (dropin_dir)" % source)
    return dumped, True
