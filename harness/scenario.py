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
the scenario's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.ingest import read_messages

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


def load_scenario(path: Path) -> Scenario:
    """Loads one scenario file; raises :class:`ScenarioError`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ScenarioError(f"{path}: cannot be read: {error}") from None
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
        _check_expect(path, f"expect_by_profile.{profile}", sections)

    profiles = document.get("profiles")
    if profiles is not None and (
        not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles)
    ):
        raise ScenarioError(f"{path}: 'profiles' must be a list of profile names")

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


def _check_expect(path: Path, where: str, expect: Any) -> dict[str, Any]:
    if not isinstance(expect, dict):
        raise ScenarioError(f"{path}: '{where}' must be a mapping")
    for section, value in expect.items():
        if section == "counts":
            if not isinstance(value, dict) or not all(
                key in COUNTABLE and isinstance(count, int)
                for key, count in value.items()
            ):
                raise ScenarioError(
                    f"{path}: '{where}.counts' maps {list(COUNTABLE)} to whole numbers"
                )
        elif section in SECTIONS:
            if not isinstance(value, list):
                raise ScenarioError(f"{path}: '{where}.{section}' must be a list")
        else:
            known = [*SECTIONS, "counts"]
            raise ScenarioError(f"{path}: '{where}.{section}' is not one of {known}")
    return expect


def _load_seed(path: Path, seed: Any, config: dict[str, Any]) -> dict[str, Any] | None:
    """The state the scenario starts from; one environment defaults to its key."""
    if seed is None:
        return None
    if isinstance(seed, str):
        seed_path = path.parent / seed
        try:
            seed = yaml.safe_load(seed_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ScenarioError(f"{path}: seed file {seed_path}: {error}") from None
    if not isinstance(seed, dict):
        raise ScenarioError(f"{path}: 'seed' must be a mapping or a file name")
    if "environments" not in seed and "api_key" not in seed:
        seed = {**seed, "api_key": config.get("apiKey", "")}
    return seed


def _load_events(path: Path, events: Any) -> list[Any]:
    if isinstance(events, list):
        return events
    if isinstance(events, str):
        events_path = path.parent / events
        try:
            lines = events_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ScenarioError(f"{path}: events file {events_path}: {error}") from None
        try:
            return read_messages(lines, str(events_path))
        except ValueError as error:
            raise ScenarioError(f"{path}: {error}") from None
    raise ScenarioError(f"{path}: 'events' must be a list or a JSON Lines file name")


def find_scenarios(paths: Iterable[Path]) -> list[Path]:
    """Scenario files named directly, or found below directories, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
            )
        elif path.exists():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or directory")
    return found
