"""Reading event streams: JSON Lines of messages, or of ``{config, message}`` items."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MapInput:
    """One line of ``refiner-harness map`` input, or why it could not be read."""

    line: int
    config: dict[str, Any] | None = None
    message: Any = None
    problem: str | None = None


def read_map_inputs(lines: Iterable[str]) -> Iterator[MapInput]:
    """Parses ``{"config": {...}, "message": {...}}`` lines; blank lines are skipped."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as error:
            yield MapInput(number, problem=f"line {number}: not valid JSON: {error}")
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


def read_messages(lines: Iterable[str], source: str) -> list[Any]:
    """Reads a JSON Lines file of RudderStack messages; raises ``ValueError``."""
    messages = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            messages.append(json.loads(text))
        except json.JSONDecodeError as error:
            raise ValueError(f"{source}:{number}: not valid JSON: {error}") from None
    return messages
