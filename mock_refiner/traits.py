"""Refiner's trait typing: integers, text and dates, and the string length cap.

Refiner keeps three trait types. Whole numbers from -2147483647 to 2147483647 are
integers, whether sent as a JSON number or as canonical integer text (`"30"`, `"-7"`;
no leading zeros, sign `+` or spaces). A trait whose name ends in `_at` or `_date` is a
date: ISO 8601 text or a Unix time (seconds, or milliseconds above 100,000,000,000)
stored as UTC text with microseconds. Everything else is text, written the way
JavaScript's `String()` writes it: `12.5`, `1e+21`, `true`, and objects or arrays as
compact JSON; null becomes empty text. Text longer than the cap is cut.

Limitations: the cap counts Python characters (code points), not bytes or UTF-16 units.
ISO text without an offset is read as UTC. What Refiner does with floats, booleans,
nested objects and over-long text is not documented; the rules above are assumptions.
"""

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

logger = logging.getLogger(__name__)

INTEGER = "integer"
STRING = "string"
DATE = "date"

INTEGER_MAX = 2147483647
MILLISECONDS_ABOVE = 100_000_000_000
DATE_SUFFIXES = ("_at", "_date")

_INTEGER_TEXT = re.compile(r"0|-?[1-9][0-9]*")
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TypedTrait:
    """A trait value after typing, its type name and what was changed on the way."""

    value: int | str
    type: str
    notes: tuple[str, ...] = field(default=())


def type_trait(name: str, value: object, string_cap: int) -> TypedTrait:
    """Type `value`, sent under trait `name`, the way Refiner stores it."""
    if is_date_name(name):
        moment = parse_date(value)
        if moment is not None:
            return TypedTrait(format_time(moment), DATE)

        text, notes = cap_text(name, as_text(value), string_cap)
        note = f"trait {name!r}: {as_text(value)[:80]!r} is not a date; kept as text"
        return TypedTrait(text, STRING, (note, *notes))

    number = as_integer(value)
    if number is not None:
        return TypedTrait(number, INTEGER)

    text, notes = cap_text(name, as_text(value), string_cap)
    return TypedTrait(text, STRING, notes)


def is_date_name(name: str) -> bool:
    """Whether Refiner reads a trait of this name as a date."""
    return name.endswith(DATE_SUFFIXES)


def as_integer(value: object) -> int | None:
    """The integer `value` stands for, if it is one within Refiner's range."""
    if isinstance(value, bool):
        return None

    if isinstance(value, float):
        value = js_number_text(value)

    if isinstance(value, str):
        if len(value) > 11 or not _INTEGER_TEXT.fullmatch(value):
            return None

        value = int(value)

    if isinstance(value, int) and -INTEGER_MAX <= value <= INTEGER_MAX:
        return value

    return None


def as_text(value: object) -> str:
    """`value` as text, the way JavaScript's `String()` would write a JSON value."""
    if value is None:
        return ""

    if isinstance(value, str):
        return value

    if isinstance(value, bool):
        return "true" if value else "false"

    if isinstance(value, int):
        return str(value)

    if isinstance(value, float):
        return js_number_text(value)

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def js_number_text(number: float) -> str:
    """A float written as JavaScript's Number::toString writes it."""
    if number != number:
        return "NaN"

    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"

    if number == 0:
        return "0"

    sign = "-" if number < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(number))).as_tuple()
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    exponent += len(all_digits) - len(digits)

    count = len(digits)
    point = exponent + count
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)

    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]

    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits

    power = point - 1
    mantissa = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def parse_date(value: object) -> datetime | None:
    """The UTC instant of ISO text or a Unix time in seconds or milliseconds."""
    if isinstance(value, bool) or value is None:
        return None

    if isinstance(value, float):
        value = js_number_text(value)

    if isinstance(value, str) and len(value) <= 20 and _INTEGER_TEXT.fullmatch(value):
        value = int(value)

    try:
        if isinstance(value, int):
            return from_unix(value)

        if isinstance(value, str):
            return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        return None

    return None


def from_unix(number: int) -> datetime:
    """The instant of a Unix time; values above 100,000,000,000 are milliseconds."""
    if abs(number) > MILLISECONDS_ABOVE:
        return _UNIX_EPOCH + timedelta(milliseconds=number)

    return _UNIX_EPOCH + timedelta(seconds=number)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without an offset is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)

    return moment.astimezone(UTC)


def format_response_time(moment: datetime) -> str:
    """Refiner's response time text: `2026-01-01 00:00:00`, in UTC."""
    moment = as_utc(moment)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def format_time(moment: datetime) -> str:
    """Refiner's contact time text: `2026-01-01T00:00:00.000000Z`."""
    moment = as_utc(moment)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}."
        f"{moment.microsecond:06d}Z"
    )


def cap_text(name: str, text: str, string_cap: int) -> tuple[str, tuple[str, ...]]:
    """`text` cut to `string_cap` characters, with a note when it was cut."""
    if len(text) <= string_cap:
        return text, ()

    note = f"trait {name!r}: text of {len(text)} characters cut to {string_cap}"
    return text[:string_cap], (note,)
