"""Scenario files: RudderStack events and the Refiner state they must produce.

A scenario is a YAML file::

    name: identify then track
    config: {apiKey: rf-demo-key}          # the destination's Config
    events:                                 # inline messages, or a JSON Lines file
      - {type: identify, userId: u1, traits: {plan: pro}}
      - {type: track, userId: u1, event: Signed Up}
    expect:                                 # partial: only the keys written count
      contacts: [{remote_id: u1, attributes: {plan: pro}}]
      events: [{name: Signed Up, contact: {remote_id: u1}}]
      counts: {contacts: 1, events: 1}
    expect_by_profile:                      # replaces sections for one profile
      documented:
        contacts: [{remote_id: u1}]
    profiles: [rudderstack, documented]     # optional: the profiles it runs under
    seed:                                   # optional: the Refiner to start from
      contacts: [{remote_id: u1, email: ada@example.test}]

``events`` (and ``seed``) given as text name a file next to the scenario. A seed is a
state document (``mock_refiner.state``); one environment without an ``api_key`` takes
the key the mapper sends.

Below a folder, a YAML file is a scenario when one of its documents is a mapping with
``name``, ``config`` and ``events`` (:func:`is_scenario_file`); other YAML, such as a
seed file, is left alone, and a file that cannot be parsed is refused.

Loading walks the whole document once and refuses what would break a run later:
aliases that form a cycle, nesting deeper than ``MAX_DEPTH`` levels, aliases that
expand to more than ``MAX_VALUES`` values, text with unpaired UTF-16 surrogates and
non-finite numbers. Each refusal names the file and the path of the bad value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.ingest import MAX_DEPTH, JsonError, read_messages
from harness.jsvalue import UNDEFINED, to_string
from harness.mapper import profiles as known_profiles
from mock_refiner.state import load_yaml, load_yaml_all

MAX_VALUES = 1_000_000
"""The most values a scenario or seed document may hold once aliases are expanded."""

SUFFIXES = (".yaml", ".yml")
SCENARIO_KEYS = ("name", "config", "events")
"""The keys that make a YAML document a scenario rather than another kind of file."""

SECTIONS = ("contacts", "accounts", "events", "rejected", "calls")
COUNTABLE = SECTIONS
_KEYS = {
    "name",
    "description",
    "config",
    "events",
    "expect",
    "expect_by_profile",
    "profiles",
    "seed",
}


class ScenarioError(Exception):
    """A scenario file that cannot be used, with the file named in the message."""


@dataclass
class Scenario:
    """One scenario file, loaded and checked."""

    name: str
    path: Path
    config: dict[str, Any]
    events: list[Any]
    expect: dict[str, Any] = field(default_factory=dict)
    expect_by_profile: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: list[str] | None = None
    description: str = ""
    seed: dict[str, Any] | None = None

    def runs_under(self, profile: str) -> bool:
        return self.profiles is None or profile in self.profiles

    def expectations(self, profile: str) -> dict[str, Any]:
        """The expectations for one profile: the shared ones, with its overrides."""
        merged = dict(self.expect)
        merged.update(self.expect_by_profile.get(profile, {}))
        return merged


def api_key(config: Mapping[str, Any]) -> str:
    """The key the mapper sends: JavaScript ``String()`` of ``apiKey``."""
    return to_string(config.get("apiKey", UNDEFINED))


def load_scenario(path: Path) -> Scenario:
    """Loads one scenario file; raises :class:`ScenarioError`."""
    document = _load_yaml(path, path, "cannot be read")
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping")

    unknown = sorted(set(document) - _KEYS)
    if unknown:
        raise ScenarioError(f"{path}: unknown keys {unknown}; known: {sorted(_KEYS)}")
    if not isinstance(document.get("name"), str) or not document["name"]:
        raise ScenarioError(f"{path}: 'name' must be non-empty text")
    if not isinstance(document.get("config"), dict):
        raise ScenarioError(f"{path}: 'config' must be a mapping")

    expect = _check_expect(path, "expect", document.get("expect", {}))
    by_profile = document.get("expect_by_profile", {})
    if not isinstance(by_profile, dict):
        raise ScenarioError(f"{path}: 'expect_by_profile' must be a mapping")
    for profile, sections in by_profile.items():
        _check_profile(path, "expect_by_profile", profile)
        _check_expect(path, f"expect_by_profile.{profile}", sections)

    profiles = document.get("profiles")
    if profiles is not None:
        if not isinstance(profiles, list):
            raise ScenarioError(f"{path}: 'profiles' must be a list of profile names")
        for profile in profiles:
            _check_profile(path, "profiles", profile)

    return Scenario(
        name=document["name"],
        path=path,
        config=document["config"],
        events=_load_events(path, document.get("events")),
        expect=expect,
        expect_by_profile=by_profile,
        profiles=profiles,
        description=document.get("description", ""),
        seed=_load_seed(path, document.get("seed"), document["config"]),
    )


def _check_profile(path: Path, where: str, profile: Any) -> None:
    known = known_profiles()
    if profile not in known:
        raise ScenarioError(
            f"{path}: '{where}' names {profile!r}, not a profile "
            f"(known: {', '.join(known)})"
        )


def _check_expect(path: Path, where: str, expect: Any) -> dict[str, Any]:
    if not isinstance(expect, dict):
        raise ScenarioError(f"{path}: '{where}' must be a mapping")
    for section, value in expect.items():
        if section == "counts":
            _check_counts(path, where, value)
        elif section in SECTIONS:
            if not isinstance(value, list):
                raise ScenarioError(f"{path}: '{where}.{section}' must be a list")
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    raise ScenarioError(
                        f"{path}: '{where}.{section}[{index}]' must be a mapping, "
                        f"not {item!r}"
                    )
        else:
            known = [*SECTIONS, "counts"]
            raise ScenarioError(f"{path}: '{where}.{section}' is not one of {known}")
    return expect


def _check_counts(path: Path, where: str, counts: Any) -> None:
    rule = f"{path}: '{where}.counts' maps {list(COUNTABLE)} to whole numbers >= 0"
    if not isinstance(counts, dict):
        raise ScenarioError(rule)
    for section, count in counts.items():
        whole = isinstance(count, int) and not isinstance(count, bool)
        if section not in COUNTABLE or not whole or count < 0:
            raise ScenarioError(f"{rule}, not {section}: {count!r}")


def _load_seed(path: Path, seed: Any, config: dict[str, Any]) -> dict[str, Any] | None:
    """The state the scenario starts from; one environment defaults to its key."""
    if seed is None:
        return None
    if isinstance(seed, str):
        seed_path = path.parent / seed
        seed = _load_yaml(path, seed_path, f"seed file {seed_path}")
    if not isinstance(seed, dict):
        raise ScenarioError(f"{path}: 'seed' must be a mapping or a file name")
    if "environments" not in seed and "api_key" not in seed:
        seed = {**seed, "api_key": api_key(config)}
    return seed


def _load_events(path: Path, events: Any) -> list[Any]:
    if isinstance(events, list):
        return events
    if isinstance(events, str):
        events_path = path.parent / events
        try:
            with events_path.open("rb") as stream:
                return read_messages(stream, str(events_path))
        except OSError as error:
            raise ScenarioError(f"{path}: events file {events_path}: {error}") from None
        except JsonError as error:
            raise ScenarioError(f"{path}: {error}") from None
    raise ScenarioError(f"{path}: 'events' must be a list or a JSON Lines file name")


def find_scenarios(paths: Iterable[Path]) -> list[Path]:
    """Scenario files named directly, or found below directories, each once.

    A file named directly is taken as it is (loading refuses it if it is no scenario);
    below a directory, only the YAML files :func:`is_scenario_file` accepts. Files
    keep the order of ``paths``; those found below a directory are sorted.
    """
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            below = [p for p in _yaml_files(path) if is_scenario_file(p)]
        elif path.exists():
            below = [path]
        else:
            raise ScenarioError(f"{path}: no such file or directory")
        for scenario_path in below:
            found.setdefault(scenario_path.resolve(), scenario_path)
    return list(found.values())


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def is_scenario_file(path: Path) -> bool:
    """Whether a YAML file holds a scenario: a document that is a mapping with
    ``name``, ``config`` and ``events``.

    Other YAML (a seed file, a compose file) is not a scenario. A file that cannot be
    read or parsed raises :class:`ScenarioError`, so a broken scenario is never
    mistaken for another kind of file.
    """
    documents = _parse_yaml(path, path, "cannot be read", _all_documents)
    return any(
        isinstance(document, dict) and all(key in document for key in SCENARIO_KEYS)
        for document in documents
    )


def _all_documents(text: str) -> list[Any]:
    return load_yaml_all(text)


def _load_yaml(path: Path, source: Path, what: str) -> Any:
    """Parses one YAML file of a scenario and checks the whole document."""
    document = _parse_yaml(path, source, what, load_yaml)

    problem = _DocumentCheck().first_problem(document)
    if problem is not None:
        where, reason = problem
        prefix = f"{path}: " if source == path else f"{path}: {what}: "
        raise ScenarioError(f"{prefix}{where}: {reason}")
    return document


def _parse_yaml(
    path: Path, source: Path, what: str, parse: Callable[[str], Any]
) -> Any:
    try:
        return parse(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ScenarioError(f"{path}: {what}: {error}") from None
    except RecursionError:
        raise ScenarioError(
            f"{path}: {what}: nested deeper than {MAX_DEPTH} levels"
        ) from None


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PATH_SHOWN = (6, 3)


class _Refusal(Exception):
    def __init__(self, where: list[str], reason: str) -> None:
        super().__init__(reason)
        self.where = where
        self.reason = reason


class _DocumentCheck:
    """One walk over a YAML document, aliases included, that stops at the first fault.

    Shared values (YAML aliases) are walked once; each remembers its height (levels
    of nesting) and its size (values once expanded).
    """

    def __init__(self) -> None:
        self.on_path: set[int] = set()
        self.walked: dict[int, tuple[int, int]] = {}

    def first_problem(self, document: Any) -> tuple[str, str] | None:
        """``(path, reason)`` of the first bad value, or None."""
        try:
            self.walk(document, [])
        except _Refusal as refusal:
            return _show_path(refusal.where), refusal.reason
        return None

    def walk(self, value: Any, where: list[str]) -> tuple[int, int]:
        """The height and the expanded size of ``value``; raises ``_Refusal``."""
        if isinstance(value, str):
            _check_text(value, where, "text")
            return 0, 1
        if isinstance(value, float) and not math.isfinite(value):
            raise _Refusal(where, f"{value} is not a number JSON can carry")
        if not isinstance(value, dict | list):
            return 0, 1

        identity = id(value)
        if identity in self.on_path:
            raise _Refusal(where, "an alias of a value that contains it (a cycle)")
        level = len(where) + 1
        known = self.walked.get(identity)
        if known is not None and level + known[0] - 1 <= MAX_DEPTH:
            return known
        if level > MAX_DEPTH:
            raise _Refusal(where, f"nested deeper than {MAX_DEPTH} levels")

        self.on_path.add(identity)
        height, size = 0, 1
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            if isinstance(value, dict):
                step = [*where, _key_step(key, first=not where)]
                if isinstance(key, str):
                    _check_text(key, step, "key")
            else:
                step = [*where, f"[{key}]"]
            child_height, child_size = self.walk(child, step)
            height = max(height, child_height)
            size += child_size
            if size > MAX_VALUES:
                raise _Refusal(
                    where, f"expands to more than {MAX_VALUES} values through aliases"
                )
        self.on_path.discard(identity)

        self.walked[identity] = (height + 1, size)
        return height + 1, size


def _check_text(text: str, where: list[str], what: str) -> None:
    unpaired = _SURROGATE.search(text)
    if unpaired is not None:
        raise _Refusal(
            where,
            f"{what} holds an unpaired UTF-16 surrogate \\u{ord(unpaired.group()):04x}",
        )


def _key_step(key: Any, first: bool) -> str:
    shown = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return shown if first else f".{shown}"


def _show_path(where: list[str]) -> str:
    if not where:
        return "the document"
    head, tail = _PATH_SHOWN
    if len(where) <= head + tail:
        return "".join(where)
    return "".join(where[:head]) + " ... " + "".join(where[-tail:])
