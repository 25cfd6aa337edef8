import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mock_refiner.traits import (
    TypedTrait,
    as_text,
    format_time,
    js_number_text,
    parse_date,
    type_trait,
)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("age", 30, TypedTrait(30, "integer")),
        ("age", "30", TypedTrait(30, "integer")),
        ("age", "-7", TypedTrait(-7, "integer")),
        ("age", "0", TypedTrait(0, "integer")),
        ("age", 2147483647, TypedTrait(2147483647, "integer")),
        ("age", 2147483648, TypedTrait("2147483648", "string")),
        ("age", -2147483647, TypedTrait(-2147483647, "integer")),
        ("age", -2147483648, TypedTrait("-2147483648", "string")),
        ("age", "2147483648", TypedTrait("2147483648", "string")),
        ("age", "030", TypedTrait("030", "string")),
        ("age", "+7", TypedTrait("+7", "string")),
        ("age", " 7", TypedTrait(" 7", "string")),
        ("age", "-0", TypedTrait("-0", "string")),
        ("big", "1e+06", TypedTrait("1e+06", "string")),
        ("ratio", 12.5, TypedTrait("12.5", "string")),
        ("ratio", -0.75, TypedTrait("-0.75", "string")),
        ("ratio", 36.0, TypedTrait(36, "integer")),
        ("ratio", 1e21, TypedTrait("1e+21", "string")),
        ("ratio", 2147483648.0, TypedTrait("2147483648", "string")),
        ("admin", True, TypedTrait("true", "string")),
        ("admin", False, TypedTrait("false", "string")),
        ("nick", None, TypedTrait("", "string")),
        ("nick", "", TypedTrait("", "string")),
        (
            "address",
            {"city": "Pune", "zip": [4, 1.5], "ok": None},
            TypedTrait('{"city":"Pune","zip":[4,1.5],"ok":null}', "string"),
        ),
        ("tags", ["a", "\u00e9"], TypedTrait('["a","\u00e9"]', "string")),
        (
            "created_at",
            "2020-04-26T17:58:14+02:00",
            TypedTrait("2020-04-26T15:58:14.000000Z", "date"),
        ),
        (
            "created_at",
            "2021-05-05 17:12",
            TypedTrait("2021-05-05T17:12:00.000000Z", "date"),
        ),
        (
            "created_at",
            "2026-03-01T10:00:00Z",
            TypedTrait("2026-03-01T10:00:00.000000Z", "date"),
        ),
        (
            "trial_end_date",
            "2027-01-15",
            TypedTrait("2027-01-15T00:00:00.000000Z", "date"),
        ),
        ("created_at", 1714000000, TypedTrait("2024-04-24T23:06:40.000000Z", "date")),
        (
            "created_at",
            "1714000000",
            TypedTrait("2024-04-24T23:06:40.000000Z", "date"),
        ),
        (
            "created_at",
            1714000000123,
            TypedTrait("2024-04-24T23:06:40.123000Z", "date"),
        ),
        (
            "created_at",
            100_000_000_000,
            TypedTrait("5138-11-16T09:46:40.000000Z", "date"),
        ),
        (
            "created_at",
            100_000_000_001,
            TypedTrait("1973-03-03T09:46:40.001000Z", "date"),
        ),
        ("updated_at", 1714000000.0, TypedTrait("2024-04-24T23:06:40.000000Z", "date")),
        ("format_at_all", "x", TypedTrait("x", "string")),
    ],
)
def test_trait_typing(name, value, expected):
    assert type_trait(name, value, 10_000) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("soon", "soon"),
        (True, "true"),
        (None, ""),
        (1714000000.5, "1714000000.5"),
        (10**30, "1000000000000000000000000000000"),
        ("2026-13-01", "2026-13-01"),
    ],
)
def test_unparseable_date_is_kept_as_text_with_a_note(value, text):
    typed = type_trait("created_at", value, 10_000)

    assert typed == TypedTrait(
        text,
        "string",
        (f"trait 'created_at': {text!r} is not a date; kept as text",),
    )


def test_text_over_the_cap_is_cut_with_a_note():
    typed = type_trait("bio", "x" * 300, 255)

    assert typed == TypedTrait(
        "x" * 255, "string", ("trait 'bio': text of 300 characters cut to 255",)
    )


def test_text_at_the_cap_is_kept_whole():
    assert type_trait("bio", "y" * 255, 255) == TypedTrait("y" * 255, "string")


def test_json_text_of_an_object_is_capped_too():
    typed = type_trait("address", {"street": "z" * 20}, 10)

    assert typed == TypedTrait(
        '{"street":', "string", ("trait 'address': text of 33 characters cut to 10",)
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (12.5, "12.5"),
        (-0.75, "-0.75"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (36.0, "36"),
        (-0.0, "0"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (123456.789, "123456.789"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (math.nan, "NaN"),
    ],
)
def test_js_number_text(number, text):
    assert js_number_text(number) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("a", "a"), (False, "false"), (-3, "-3"), (2.5, "2.5"), ([], "[]")],
)
def test_as_text(value, text):
    assert as_text(value) == text


def test_parse_date_reads_naive_iso_text_as_utc():
    assert parse_date("2026-03-01T10:00:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_parse_date_reads_negative_unix_seconds():
    assert parse_date(-86400) == datetime(1969, 12, 31, tzinfo=UTC)


def test_format_time_converts_to_utc_with_microseconds():
    moment = datetime(2026, 1, 1, 2, 30, 0, 42, tzinfo=timezone(timedelta(hours=2)))

    assert format_time(moment) == "2026-01-01T00:30:00.000042Z"
