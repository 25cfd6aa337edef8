"""The scenario files in ``scenarios/`` hold under both built-in profiles."""

from __future__ import annotations

import pytest

from harness.ingest import read_messages
from harness.runner import run_scenario
from harness.scenario import find_scenarios, load_scenario
from tests.conftest import ROOT

PATHS = find_scenarios([ROOT / "scenarios"])


def test_there_are_at_least_twenty_scenarios():
    assert len(PATHS) >= 20


@pytest.mark.parametrize("profile", ["rudderstack", "documented"])
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_scenario_holds(path, profile):
    scenario = load_scenario(path)
    if not scenario.runs_under(profile):
        pytest.skip(f"{scenario.name} does not run under {profile}")

    result = run_scenario(scenario, profile)

    assert result.error is None
    assert [mismatch.problem for mismatch in result.mismatches] == []


def test_sdk_scenarios_replay_the_captured_sdk_messages(sdk_messages):
    replayed = []
    for name in ("sdk-python.jsonl", "sdk-node.jsonl"):
        path = ROOT / "scenarios" / "sdk" / name
        with path.open("rb") as stream:
            replayed.extend(read_messages(stream, str(path)))

    assert replayed == sdk_messages
