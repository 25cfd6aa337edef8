"""Replaying scenarios: events through mapper, delivery and transport into a mock.

For each scenario and profile the runner starts from an empty Refiner (a fresh
in-process mock with a stepping clock and sequential ids, or a reset live target), maps
every event, delivers what the mapper produced, then reads the state the mock holds
for the scenario's API key and compares it with the scenario's expectations.

Events are mapped all at once (``harness.mapper.map_many``), so a transformer URL is
asked in batches rather than once per event; a transformer URL is checked against the
scenario's ``rudderstack`` expectations. A transformer that cannot be asked stops
the run (:class:`harness.transformer.TransformerError`) instead of failing one
scenario.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from harness.delivery import send, to_wire
from harness.expectations import Mismatch, compare
from harness.mapper import (
    MappingError,
    MappingOutcome,
    get_mapper,
    map_many,
    reference_profile,
    shown_profile,
)
from harness.scenario import Scenario, api_key
from harness.transformer import TransformerError
from harness.transport import Connection, TransportError, connect
from mock_refiner import SequentialIds, Settings, StepClock

logger = logging.getLogger(__name__)

REPLAY_START = datetime(2026, 1, 1, tzinfo=UTC)


def replay_settings() -> Settings:
    """Settings that make an in-process replay deterministic."""
    return Settings(
        clock=StepClock(REPLAY_START, timedelta(seconds=1)), ids=SequentialIds()
    )


@dataclass
class Replay:
    """What happened to each event of a stream."""

    rejected: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ScenarioResult:
    """The outcome of one scenario under one profile."""

    scenario: Scenario
    profile: str
    mismatches: list[Mismatch] = field(default_factory=list)
    replay: Replay = field(default_factory=Replay)
    seconds: float = 0.0
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "path": str(self.scenario.path),
            "profile": self.profile,
            "passed": self.passed,
            "events": len(self.scenario.events),
            "delivered": len(self.replay.delivered),
            "rejected": len(self.replay.rejected),
            "seconds": round(self.seconds, 4),
            "error": self.error,
            "mismatches": [mismatch.to_json() for mismatch in self.mismatches],
        }


def replay(
    events: Iterable[Any],
    config: Mapping[str, Any],
    profile: str,
    connection: Connection,
) -> Replay:
    """Maps every event (in one batch), then delivers them in order through one
    connection."""
    messages = list(events)
    outcomes = map_many(
        get_mapper(profile), [(message, config) for message in messages]
    )

    replayed = Replay()
    for index, (message, mapped) in enumerate(zip(messages, outcomes, strict=True)):
        deliver(replayed, index, message, mapped, connection)
    return replayed


def deliver(
    replayed: Replay,
    index: int,
    message: Any,
    mapped: MappingOutcome,
    connection: Connection,
) -> httpx.Response | None:
    """Notes a refusal in ``replayed``, or delivers the request and notes Refiner's
    answer, which it returns."""
    if isinstance(mapped, MappingError):
        replayed.rejected.append(
            {
                "index": index,
                "type": message.get("type") if isinstance(message, dict) else None,
                "status": mapped.status,
                "message": mapped.message,
            }
        )
        return None

    wire = to_wire(
        mapped.method,
        mapped.endpoint,
        mapped.headers,
        mapped.form,
        target=connection.target,
    )
    response = send(wire, connection.client)
    replayed.delivered.append(
        {"index": index, "status": response.status_code, "path": wire.url}
    )
    return response


def actual_sections(
    connection: Connection, config: Mapping[str, Any], outcome: Replay
) -> dict[str, list[Any]]:
    """The mock's state for the scenario's key, the refusals and the calls."""
    environment = connection.environment(api_key(config))
    return {
        "contacts": environment["contacts"],
        "accounts": environment["accounts"],
        "events": environment["events"],
        "rejected": outcome.rejected,
        "calls": connection.calls(),
    }


def run_scenario(
    scenario: Scenario, profile: str, target: str | None = None
) -> ScenarioResult:
    """Replays one scenario under one profile, against a fresh in-process mock or
    the live mock at ``target``, and checks its expectations."""
    with connect(target, replay_settings()) as connection:
        return replay_scenario(scenario, profile, connection)


def replay_scenario(
    scenario: Scenario, profile: str, connection: Connection
) -> ScenarioResult:
    """Resets the mock behind ``connection``, seeds it, replays the scenario into it
    and compares its expectations; whatever goes wrong is the result's error."""
    result = ScenarioResult(scenario=scenario, profile=shown_profile(profile))
    started = time.perf_counter()

    try:
        connection.reset()
        if scenario.seed is not None:
            connection.load(scenario.seed)
        result.replay = replay(scenario.events, scenario.config, profile, connection)
        actual = actual_sections(connection, scenario.config, result.replay)
        expectations = scenario.expectations(reference_profile(profile))
        result.mismatches = compare(expectations, actual)
    except TransformerError:
        raise
    except TransportError as error:
        result.error = str(error)
    except httpx.HTTPError as error:
        result.error = f"could not reach the mock: {error}"
    except Exception as error:  # one broken scenario must not stop the others
        logger.info(
            "scenario %s under %s failed to run",
            scenario.name,
            result.profile,
            exc_info=True,
        )
        result.error = f"{type(error).__name__}: {error}"

    result.seconds = time.perf_counter() - started
    return result


def run_scenarios(
    scenarios: Iterable[Scenario], profiles: list[str], target: str | None = None
) -> list[ScenarioResult]:
    """Every scenario under every requested profile it runs under."""
    return [
        run_scenario(scenario, profile, target)
        for scenario in scenarios
        for profile in profiles
        if scenario.runs_under(reference_profile(profile))
    ]
