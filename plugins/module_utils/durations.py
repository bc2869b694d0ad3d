# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go duration strings ("2m", "1h30m", "300ms"), parsed and printed the way Go's time package does.

The kubelet reads imageMinimumGCAge and imageMaximumGCAge with time.ParseDuration, so a value is
valid for the kubelet exactly when parse_duration accepts it. Working in integer nanoseconds lets
"120s", "2m" and "2m0s" compare equal, so a re-run never rewrites a value that means the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

# Go accepts both the micro sign (U+00B5) and the Greek small letter mu (U+03BC).
UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    u"\u00b5s": MICROSECOND,
    u"\u03bcs": MICROSECOND,
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}

# time.Duration is an int64 of nanoseconds; Go works in uint64 and checks against 1<<63.
_LIMIT = 1 << 63
_DIGITS = "0123456789"


class DurationError(ValueError):
    """The string is not a Go duration; the message says why, like Go's own error."""


def _leading_int(s, orig):
    """Consume [0-9]* from s: (value, rest). Overflow is an error, as in Go."""
    value = 0
    i = 0
    while i < len(s) and s[i] in _DIGITS:
        if value > _LIMIT // 10:
            raise DurationError("invalid duration %r: overflow" % orig)
        value = value * 10 + int(s[i])
        if value > _LIMIT:
            raise DurationError("invalid duration %r: overflow" % orig)
        i += 1
    return value, s[i:]


def _leading_fraction(s):
    """Consume [0-9]* after a dot: (digits as int, 10**len, rest). Go drops digits past int64 precision."""
    value = 0
    scale = 1.0
    overflow = False
    i = 0
    while i < len(s) and s[i] in _DIGITS:
        if not overflow:
            if value > _LIMIT // 10:
                overflow = True
            else:
                bigger = value * 10 + int(s[i])
                if bigger > _LIMIT:
                    overflow = True
                else:
                    value = bigger
                    scale *= 10
        i += 1
    return value, scale, s[i:]


def parse_duration(text):
    """Nanoseconds (int, may be negative) for a Go duration string; DurationError if Go would reject it."""
    if not isinstance(text, str):
        raise DurationError("invalid duration %r: must be a string such as \"2m\" or \"1h30m\"" % (text,))
    orig = text
    s = text
    negative = False
    if s and s[0] in "+-":
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError("invalid duration %r" % orig)
    total = 0
    while s:
        if s[0] != "." and s[0] not in _DIGITS:
            raise DurationError("invalid duration %r" % orig)
        before = len(s)
        whole, s = _leading_int(s, orig)
        has_whole = len(s) != before
        fraction, scale, has_fraction = 0, 1.0, False
        if s.startswith("."):
            s = s[1:]
            before = len(s)
            fraction, scale, s = _leading_fraction(s)
            has_fraction = len(s) != before
        if not has_whole and not has_fraction:
            raise DurationError("invalid duration %r" % orig)
        i = 0
        while i < len(s) and s[i] != "." and s[i] not in _DIGITS:
            i += 1
        if i == 0:
            raise DurationError("missing unit in duration %r (use ns, us, ms, s, m or h)" % orig)
        unit_name, s = s[:i], s[i:]
        unit = UNITS.get(unit_name)
        if unit is None:
            raise DurationError("unknown unit %r in duration %r (use ns, us, ms, s, m or h)" % (unit_name, orig))
        if whole > _LIMIT // unit:
            raise DurationError("invalid duration %r: overflow" % orig)
        value = whole * unit
        if fraction > 0:
            # Same float64 arithmetic as Go, so the rounding of fractions matches to the nanosecond.
            value += int(float(fraction) * (float(unit) / scale))
            if value > _LIMIT:
                raise DurationError("invalid duration %r: overflow" % orig)
        total += value
        if total > _LIMIT:
            raise DurationError("invalid duration %r: overflow" % orig)
    if negative:
        return -total
    if total > _LIMIT - 1:
        raise DurationError("invalid duration %r: overflow" % orig)
    return total


def _fraction_text(value, digits):
    """value / 10**digits as Go prints it: "1.5", "2", trailing zeros dropped."""
    whole, frac = divmod(value, 10 ** digits)
    frac_text = ("%0*d" % (digits, frac)).rstrip("0") if digits else ""
    return "%d.%s" % (whole, frac_text) if frac_text else "%d" % whole


def format_duration(nanoseconds):
    """Go's Duration.String(): 0 -> "0s", 90s -> "1m30s", 1.5ms -> "1.5ms", 2m -> "2m0s"."""
    sign = "-" if nanoseconds < 0 else ""
    n = abs(nanoseconds)
    if n == 0:
        return "0s"
    if n < SECOND:
        if n < MICROSECOND:
            return "%s%dns" % (sign, n)
        if n < MILLISECOND:
            return "%s%s\u00b5s" % (sign, _fraction_text(n, 3))
        return "%s%sms" % (sign, _fraction_text(n, 6))
    hours, rest = divmod(n, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    text = "%ss" % _fraction_text(rest, 9)
    if hours or minutes:
        text = "%dm%s" % (minutes, text)
    if hours:
        text = "%dh%s" % (hours, text)
    return sign + text
