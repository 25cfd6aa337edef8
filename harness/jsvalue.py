"""JavaScript value semantics that RudderStack's transformer relies on.

The transformer is JavaScript. Reproducing it from JSON-decoded Python values means
reproducing a handful of JavaScript rules exactly:

- truthiness: ``{}`` and ``[]`` are truthy, ``""``, ``0``, ``false`` and null are not;
- the ``get-value`` package that reads dotted paths such as ``context.externalId.0.id``
  (a literal key ``"traits.email"`` wins over the path, and joined segments are tried
  when a segment is missing);
- ``String()`` of numbers (``12.5``, ``1e+21``), arrays (``a,b``) and objects;
- object key order: integer-like keys first, ascending, then insertion order;
- object spread (``{...value}``) of strings and arrays, which spreads their indexes.

JavaScript's ``undefined`` is :data:`UNDEFINED`; JSON null is ``None``.

Limitations: numbers are Python ``int`` or ``float`` as ``json`` decodes them; integers
above 2**53 keep their exact value here, where JavaScript would round them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any


class _Undefined:
    """JavaScript's ``undefined``: a missing value, distinct from JSON null."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_ARRAY_INDEX_LIMIT = 2**32 - 1


def truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON-decoded value."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, int | float):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True


def trim(text: str) -> str:
    """``String.prototype.trim``: strips JavaScript's whitespace set only."""
    return text.strip(WHITESPACE)


def is_array_index(key: str) -> bool:
    """Whether JavaScript orders ``key`` as an integer index (``"7"``, not ``"07"``)."""
    if not key or not key.isascii() or not key.isdigit():
        return False
    if len(key) > 1 and key[0] == "0":
        return False
    return int(key) < _ARRAY_INDEX_LIMIT


def ordered(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object with its keys in JavaScript's enumeration order."""
    indexes = sorted((key for key in obj if is_array_index(key)), key=int)
    if not indexes:
        return dict(obj)
    result = {key: obj[key] for key in indexes}
    result.update((key, value) for key, value in obj.items() if key not in result)
    return result


def number_string(number: int | float) -> str:
    """``Number.prototype.toString()`` for a JSON-decoded number."""
    if isinstance(number, int):
        number = float(number) if abs(number) >= 10**21 else number
        if isinstance(number, int):
            return str(number)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"

    sign = "-" if number < 0 else ""
    digits_tuple = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(str(digit) for digit in digits_tuple.digits)
    point = len(digits) + int(digits_tuple.exponent)

    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def to_string(value: Any) -> str:
    """``String(value)``, as a template literal or a property key converts it."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return number_string(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(
            "" if item is None or item is UNDEFINED else to_string(item)
            for item in value
        )
    return "[object Object]"


def lodash_to_string(value: Any) -> str:
    """lodash ``_.toString``: null and undefined give ``""``, ``-0`` gives ``"-0"``."""
    if value is None or value is UNDEFINED:
        return ""
    return _lodash_base_string(value)


def _lodash_base_string(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_lodash_base_string(item) for item in value)
    if isinstance(value, float) and value == 0 and math.copysign(1, value) < 0:
        return "-0"
    return to_string(value)


def _utf16_units(text: str) -> Iterator[str]:
    for char in text:
        if ord(char) > 0xFFFF:
            code = ord(char) - 0x10000
            yield chr(0xD800 + (code >> 10))
            yield chr(0xDC00 + (code & 0x3FF))
        else:
            yield char


def spread(value: Any) -> dict[str, Any]:
    """The own enumerable properties that ``{...value}`` copies, in order."""
    if isinstance(value, Mapping):
        return ordered(value)
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    if isinstance(value, str):
        return {str(index): unit for index, unit in enumerate(_utf16_units(value))}
    return {}


def _is_container(value: Any) -> bool:
    return isinstance(value, Mapping | list)


def _has(target: Any, key: str) -> bool:
    if isinstance(target, Mapping):
        return key in target
    if key == "length":
        return True
    return is_array_index(key) and int(key) < len(target)


def _read(target: Any, key: str) -> Any:
    if isinstance(target, Mapping):
        return target[key]
    if key == "length":
        return len(target)
    return target[int(key)]


def get_value(target: Any, path: str) -> Any:
    """The ``get-value`` package: read a dotted path, ``UNDEFINED`` when absent."""
    if not _is_container(target):
        return target
    if _has(target, path):
        return _read(target, path)

    segments = path.split(".")
    index = 0
    while True:
        prop = segments[index]
        while prop and prop.endswith("\\"):
            index += 1
            following = segments[index] if index < len(segments) else ""
            prop = prop[:-1] + "." + following
        if _has(target, prop):
            target = _read(target, prop)
        else:
            found = False
            joined = index + 1
            while joined < len(segments):
                prop = prop + "." + segments[joined]
                joined += 1
                if _has(target, prop):
                    target = _read(target, prop)
                    index = joined - 1
                    found = True
                    break
            if not found:
                return UNDEFINED
        index += 1
        if index >= len(segments) or not _is_container(target):
            break

    return target if index == len(segments) else UNDEFINED
