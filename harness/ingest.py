"""Reading JSON and JSON Lines: messages, or ``{config, message}`` items.

Every JSON text the harness reads goes through :func:`load_json`, which takes only
what JSON allows and what the mapper and delivery can use: no ``NaN`` or
``Infinity``, no number beyond the range of a double (``1e999``), and no nesting
deeper than :data:`MAX_DEPTH` levels.

Every JSON Lines input goes through :func:`read_json_lines`, which splits bytes on
``\\n`` only (a trailing ``\\r`` is dropped), so text holding U+2028, U+2029 or U+0085
stays on its line, and decodes each line from UTF-8 on its own: one bad line is
reported and the others are still read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 100
"""The deepest nesting of objects and arrays (or mappings and lists) accepted."""

_JSON_BLANK = b" \t\r\n"
_EXCERPT = 24


class JsonError(ValueError):
    """JSON text the harness refuses; the message says why."""


def load_json(text: str) -> Any:
    """Parses one JSON text strictly; raises :class:`JsonError`."""
    try:
        value = json.loads(
            text,
            parse_int=_finite_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
    except JsonError:
        raise
    except RecursionError:
        raise JsonError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise JsonError(f"not valid JSON: {error}") from None

    if nesting_exceeds(value, MAX_DEPTH):
        raise JsonError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest deeper than ``limit`` levels in ``value``."""
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > limit:
            return True
        pending.extend((child, level + 1) for child in children)
    return False


def _finite_int(text: str) -> int:
    if math.isinf(float(text)):
        raise JsonError(f"number {_excerpt(text)} overflows to infinity")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise JsonError(f"number {_excerpt(text)} overflows to infinity")
    return number


def _refuse_constant(name: str) -> Any:
    raise JsonError(f"not valid JSON: {name} is not a JSON number")


def _excerpt(text: str) -> str:
    return (
        text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}... ({len(text)} chars)"
    )


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line of JSON Lines: its value, or why it could not be read."""

    number: int
    value: Any = None
    problem: str | None = None


def read_json_lines(stream: Iterable[bytes]) -> Iterator[JsonLine]:
    """Parses the lines of a binary stream; blank lines are skipped.

    ``stream`` yields lines as a binary file does: split after each ``\\n``.
    """
    for number, raw in enumerate(stream, start=1):
        if not raw.strip(_JSON_BLANK):
            continue
        line = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            yield JsonLine(number, problem=f"not valid UTF-8: {error}")
            continue
        try:
            yield JsonLine(number, value=load_json(text))
        except JsonError as error:
            yield JsonLine(number, problem=str(error))


@dataclass(frozen=True)
class MapInput:
    """One line of ``refiner-harness map`` input, or why it could not be read."""

    line: int
    config: dict[str, Any] | None = None
    message: Any = None
    problem: str | None = None


def read_map_inputs(stream: Iterable[bytes]) -> Iterator[MapInput]:
    """Parses ``{"config": {...}, "message": {...}}`` lines; blank lines are skipped."""
    for line in read_json_lines(stream):
        number, item = line.number, line.value
        if line.problem is not None:
            yield MapInput(number, problem=f"line {number}: {line.problem}")
            continue
        if not isinstance(item, dict):
            yield MapInput(number, problem=f"line {number}: expected a JSON object")
            continue
        if not isinstance(item.get("config"), dict):
            yield MapInput(number, problem=f'line {number}: "config" must be an object')
            continue
        if "message" not in item:
            yield MapInput(number, problem=f'line {number}: "message" is missing')
            continue
        yield MapInput(number, config=item["config"], message=item["message"])


def read_messages(stream: Iterable[bytes], source: str) -> list[Any]:
    """Reads a JSON Lines file of RudderStack messages; raises :class:`JsonError`."""
    messages = []
    for line in read_json_lines(stream):
        if line.problem is not None:
            raise JsonError(f"{source}:{line.number}: {line.problem}")
        messages.append(line.value)
    return messages
