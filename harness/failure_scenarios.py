"""Minimal failing examples written as scenario files, and checked by replaying them.

Each failure of a fuzz run becomes ``<property>-<profile>-<n>.yaml``: ``name``,
``description`` (what went wrong), ``config``, ``events``, ``expect`` (what the
property expected, in ``docs/scenarios.md`` sections) and ``profiles: [P]``, so that
``refiner-harness run FILE --profile P`` fails the same way. The file is read back at
once; when YAML would not give back the same messages, they go to a JSON Lines file
beside it instead. Then the scenario is replayed in-process, and the caller learns
whether it fails as the property did.

Limitations: a scenario compares only what it writes, so a property that expected an
attribute to be absent writes it as expected null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from harness.runner import run_scenario
from harness.scenario import ScenarioError, load_scenario
from harness.trait_changes import same_value


def scenario_document(
    name: str, profile: str, failure: Any, description: str | None = None
) -> dict[str, Any]:
    """The scenario of one failure (a ``harness.fuzz.Failure``) under ``profile``."""
    return {
        "name": f"fuzz: {name} under {profile}: {failure.signature}",
        "description": description or failure.message,
        "config": failure.config,
        "events": failure.events,
        "expect": failure.expect,
        "profiles": [profile],
    }


def save_failure(
    name: str, profile: str, failure: Any, directory: Path, number: int
) -> tuple[Path, bool]:
    """Writes a failure as a scenario file and replays it; returns the file and
    whether the replay fails as the property did."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{profile}-{number}"
    path = directory / f"{stem}.yaml"
    document = scenario_document(name, profile, failure)
    write_yaml(path, document)

    if not _survives(path, document):
        events_path = directory / f"{stem}.jsonl"
        events_path.write_text(
            "".join(json.dumps(message) + "\n" for message in failure.events),
            encoding="utf-8",
        )
        write_yaml(path, {**document, "events": events_path.name})

    try:
        result = run_scenario(load_scenario(path), profile)
    except ScenarioError:
        return path, False
    return path, not result.passed


class _ScenarioDumper(yaml.SafeDumper):
    """Writes every value in full: a stream replayed twice holds each message twice,
    and a scenario reads better without YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_yaml(path: Path, document: dict[str, Any]) -> None:
    """Writes a scenario document as block YAML with flow-style leaves."""
    text = yaml.dump(
        document,
        Dumper=_ScenarioDumper,
        sort_keys=False,
        allow_unicode=True,
        width=88,
        default_flow_style=None,
    )
    path.write_text(text, encoding="utf-8")


def _survives(path: Path, document: dict[str, Any]) -> bool:
    """Whether the file reads back as the same config, events and expectations."""
    try:
        scenario = load_scenario(path)
    except ScenarioError:
        return False
    return (
        same_value(document["events"], scenario.events)
        and same_value(document["config"], scenario.config)
        and same_value(document["expect"], scenario.expect)
    )
