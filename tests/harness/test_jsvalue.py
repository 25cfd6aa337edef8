from __future__ import annotations

import pytest

from harness.jsvalue import (
    UNDEFINED,
    get_value,
    lodash_to_string,
    number_string,
    ordered,
    spread,
    to_string,
    trim,
    truthy,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (UNDEFINED, False),
        (False, False),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (float("nan"), False),
        ("", False),
        (True, True),
        (1, True),
        (-0.5, True),
        (" ", True),
        ("0", True),
        ({}, True),
        ([], True),
    ],
)
def test_truthiness_follows_javascript(value, expected):
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0, "0"),
        (-0.0, "0"),
        (42, "42"),
        (12.5, "12.5"),
        (2025.0, "2025"),
        (-0.75, "-0.75"),
        (1e21, "1e+21"),
        (10**21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123456789.125, "123456789.125"),
        (0.000001, "0.000001"),
        (0.0000001, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (1.5e300, "1.5e+300"),
        (9876543210, "9876543210"),
    ],
)
def test_number_string_matches_javascript(number, text):
    assert number_string(number) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (UNDEFINED, "undefined"),
        (None, "null"),
        (True, "true"),
        ("Café", "Café"),
        (12.5, "12.5"),
        (["a", None, 3, ["b", "c"]], "a,,3,b,c"),
        ({"a": 1}, "[object Object]"),
    ],
)
def test_to_string_matches_string_conversion(value, text):
    assert to_string(value) == text


def test_lodash_to_string_blanks_null_and_keeps_negative_zero():
    assert lodash_to_string(None) == ""
    assert lodash_to_string(UNDEFINED) == ""
    assert lodash_to_string(-0.0) == "-0"
    assert lodash_to_string([None, "a"]) == "null,a"
    assert lodash_to_string(7) == "7"


def test_trim_uses_javascript_whitespace():
    assert trim("\ufeff\u00a0 team \u3000") == "team"
    assert trim("\x1cteam") == "\x1cteam"


def test_ordered_puts_array_indexes_first_in_numeric_order():
    result = ordered({"b": 1, "10": 2, "a": 3, "9": 4, "07": 5, "-1": 6})
    assert list(result) == ["9", "10", "b", "a", "07", "-1"]


def test_spread_of_strings_arrays_and_scalars():
    assert spread("ab") == {"0": "a", "1": "b"}
    assert spread("😀") == {"0": "\ud83d", "1": "\ude00"}
    assert spread(["x", "y"]) == {"0": "x", "1": "y"}
    assert spread(7) == {}
    assert spread(True) == {}
    assert spread(None) == {}
    assert spread({"b": 1, "1": 2}) == {"1": 2, "b": 1}


@pytest.mark.parametrize(
    ("target", "path", "expected"),
    [
        ({"traits": {"email": "a@b"}}, "traits.email", "a@b"),
        (
            {"traits.email": "literal", "traits": {"email": "x"}},
            "traits.email",
            "literal",
        ),
        ({"context": {"traits.email": "joined"}}, "context.traits.email", "joined"),
        ({"context.traits": {"email": "dotted"}}, "context.traits.email", "dotted"),
        ({"context": {"externalId": [{"id": "E1"}]}}, "context.externalId.0.id", "E1"),
        (
            {"context": {"externalId": {"0": {"id": "E2"}}}},
            "context.externalId.0.id",
            "E2",
        ),
        ({"context": {"externalId": []}}, "context.externalId.0.id", UNDEFINED),
        ({"traits": "text"}, "traits.email", UNDEFINED),
        ({"traits": None}, "traits.email", UNDEFINED),
        ({"traits": {"email": None}}, "traits.email", None),
        ({}, "userId", UNDEFINED),
    ],
)
def test_get_value_reads_paths_like_the_get_value_package(target, path, expected):
    assert get_value(target, path) is expected or get_value(target, path) == expected
