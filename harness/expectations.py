"""Comparing expected Refiner state with what the mock holds.

Expectations are partial: a mapping compares only the keys it writes, at every depth. A
list compares item by item and must have the same length. Numbers compare by value
(``1`` equals ``1.0``) but never equal text or booleans (``1`` is not ``"1"``).

Each section (``contacts``, ``accounts``, ``events``, ``rejected``, ``calls``) is a
list of expected items; each must match a different actual item. ``calls`` must match
in the order written (other calls may come between them). ``counts`` fixes the exact
number of items in a section. A failure names what was expected, what was found, and
the nearest actual items with the keys where they differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NEAREST_SHOWN = 3

_SINGULAR = {
    "contacts": "contact",
    "accounts": "account",
    "events": "event",
    "rejected": "rejected event",
    "calls": "call",
}


@dataclass
class Nearest:
    """An actual item close to an expected one, and where the two differ."""

    item: Any
    differences: list[str]


@dataclass
class Mismatch:
    """One expectation that does not hold."""

    section: str
    problem: str
    expected: Any = None
    nearest: list[Nearest] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "problem": self.problem,
            "expected": self.expected,
            "nearest": [
                {"item": near.item, "differences": near.differences}
                for near in self.nearest
            ],
        }


def show(value: Any) -> str:
    """Compact JSON text of a value, for messages."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` fails the partial expectation ``expected`` (empty: it holds)."""
    where = path or "value"
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{where}: expected a mapping, found {show(actual)}"]
        found: list[str] = []
        for key, value in expected.items():
            key_path = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{key_path}: missing, expected {show(value)}")
            else:
                found.extend(differences(value, actual[key], key_path))
        return found

    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, found {show(actual)}"]
        if len(expected) != len(actual):
            return [
                f"{where}: expected {len(expected)} items, found {len(actual)}: "
                f"{show(actual)}"
            ]
        found = []
        for index, (item, actual_item) in enumerate(zip(expected, actual, strict=True)):
            found.extend(differences(item, actual_item, f"{path}[{index}]"))
        return found

    if _is_number(expected) and _is_number(actual):
        equal = expected == actual
    else:
        equal = type(expected) is type(actual) and expected == actual
    if equal:
        return []
    return [f"{where}: expected {show(expected)}, found {show(actual)}"]


def nearest(expected: Any, actual_items: list[Any]) -> list[Nearest]:
    """The actual items with the fewest differences from ``expected``."""
    scored = [
        (len(found), index, Nearest(item, found))
        for index, item in enumerate(actual_items)
        for found in [differences(expected, item)]
    ]
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [near for _, _, near in scored[:NEAREST_SHOWN]]


def compare_section(
    section: str, expected_items: list[Any], actual_items: list[Any]
) -> list[Mismatch]:
    """Each expected item must match a different actual item."""
    mismatches = []
    unused = list(range(len(actual_items)))
    in_order = section == "calls"
    start = 0

    for position, expected in enumerate(expected_items):
        candidates = [index for index in unused if not in_order or index >= start]
        match = next(
            (i for i in candidates if not differences(expected, actual_items[i])),
            None,
        )
        if match is None:
            noun = _SINGULAR.get(section, section)
            order = " after the previous one" if in_order and position else ""
            mismatches.append(
                Mismatch(
                    section=section,
                    problem=f"{section}[{position}]: no {noun}{order} matches",
                    expected=expected,
                    nearest=nearest(expected, actual_items),
                )
            )
            continue
        unused.remove(match)
        start = match + 1

    return mismatches


def compare(
    expect: Mapping[str, Any], actual: Mapping[str, list[Any]]
) -> list[Mismatch]:
    """Every mismatch between a scenario's expectations and the actual sections."""
    mismatches = []
    for section, expected_items in expect.items():
        if section == "counts":
            continue
        mismatches.extend(compare_section(section, expected_items, actual[section]))

    for section, count in expect.get("counts", {}).items():
        found = len(actual[section])
        if found != count:
            mismatches.append(
                Mismatch(
                    section=section,
                    problem=f"counts.{section}: expected {count}, found {found}",
                    expected=count,
                    nearest=[Nearest(item, []) for item in actual[section][:5]],
                )
            )
    return mismatches
