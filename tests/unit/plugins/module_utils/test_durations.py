# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.prewarm.k8s.plugins.module_utils.durations import (
    HOUR,
    MICROSECOND,
    MILLISECOND,
    MINUTE,
    SECOND,
    DurationError,
    format_duration,
    parse_duration,
)

MAX_INT64 = (1 << 63) - 1


@pytest.mark.parametrize("text, expected", [
    ("0", 0),
    ("+0", 0),
    ("-0", 0),
    ("0s", 0),
    ("5s", 5 * SECOND),
    ("2m", 2 * MINUTE),
    ("120s", 2 * MINUTE),
    ("2m0s", 2 * MINUTE),
    ("2h45m", 2 * HOUR + 45 * MINUTE),
    ("1h30m", 90 * MINUTE),
    ("300ms", 300 * MILLISECOND),
    ("-1.5h", -90 * MINUTE),
    ("+5s", 5 * SECOND),
    ("1.5h", 90 * MINUTE),
    (".5s", 500 * MILLISECOND),
    ("1.s", SECOND),
    ("1.004s", 1004 * MILLISECOND),
    ("100.00100s", 100 * SECOND + MILLISECOND),
    ("10ns", 10),
    ("11us", 11 * MICROSECOND),
    (u"12\u00b5s", 12 * MICROSECOND),
    (u"12\u03bcs", 12 * MICROSECOND),
    ("1h1m1s1ms1us1ns", HOUR + MINUTE + SECOND + MILLISECOND + MICROSECOND + 1),
    ("39h9m14.425s", 39 * HOUR + 9 * MINUTE + 14425 * MILLISECOND),
    # Go's float64 handling of long fractions, to the nanosecond.
    ("0.3333333333333333333h", 20 * MINUTE),
    ("0.830103483285477580700h", 49 * MINUTE + 48 * SECOND + 372539827),
    ("9223372036854775807ns", MAX_INT64),
    ("9223372036.854775807s", MAX_INT64),
    ("-9223372036854775808ns", -(1 << 63)),
])
def test_parse_accepts_what_go_accepts(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("", "invalid duration"),
    ("3", "missing unit"),
    ("-", "invalid duration"),
    ("s", "invalid duration"),
    (".", "invalid duration"),
    ("-.", "invalid duration"),
    (".s", "invalid duration"),
    ("+.s", "invalid duration"),
    ("1d", "unknown unit 'd'"),
    ("1 s", "unknown unit ' s'"),
    ("2m ", "unknown unit 'm '"),
    ("1h-5m", "unknown unit 'h-'"),
    ("1e3s", "unknown unit 'e'"),
    ("9223372036854775808ns", "overflow"),
    ("9223372036854775807.9s", "overflow"),
    ("3000000h", "overflow"),
])
def test_parse_rejects_what_go_rejects(text, reason):
    with pytest.raises(DurationError, match=reason):
        parse_duration(text)


@pytest.mark.parametrize("value", [120, None, 1.5, True])
def test_parse_rejects_non_strings(value):
    with pytest.raises(DurationError, match="must be a string"):
        parse_duration(value)


@pytest.mark.parametrize("nanoseconds, expected", [
    (0, "0s"),
    (1, "1ns"),
    (1100, u"1.1\u00b5s"),
    (2200 * MICROSECOND, "2.2ms"),
    (3300 * MILLISECOND, "3.3s"),
    (2 * MINUTE, "2m0s"),
    (4 * MINUTE + 5 * SECOND, "4m5s"),
    (4 * MINUTE + 5001 * MILLISECOND, "4m5.001s"),
    (5 * HOUR + 6 * MINUTE + 7001 * MILLISECOND, "5h6m7.001s"),
    (8 * MINUTE + 1, "8m0.000000001s"),
    (24 * HOUR, "24h0m0s"),
    (-90 * MINUTE, "-1h30m0s"),
    (MAX_INT64, "2562047h47m16.854775807s"),
    (-(1 << 63), "-2562047h47m16.854775808s"),
])
def test_format_matches_go(nanoseconds, expected):
    assert format_duration(nanoseconds) == expected


@pytest.mark.parametrize("text", ["2m", "1h30m", "300ms", "1.5us", "0s", "-2h", "8m0.000000001s"])
def test_format_round_trips(text):
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
