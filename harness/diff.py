"""Two mappers side by side: the requests each makes of the same events, and the
Refiner state each leaves.

Events come in sources: a scenario file (its events, config and seed), a JSON Lines
file of ``{config, message}`` items (one source per file), or examples drawn from
``harness.strategies`` (:func:`fuzz_sources`). Every event of every source is mapped
by mapper A and by mapper B, one :func:`harness.mapper.map_many` call each, so a
transformer URL is asked in batches.

Then each source is replayed once per mapper into an in-process mock with the replay
settings (``harness.runner.replay_settings``), reset and seeded alike before each
source. After every event the mock's state for the event's API key is reduced to what
a mapper decides (:func:`project`) and the two sides are compared
(:func:`state_differences`). An
event differs when A and B made different requests of it (endpoint, form keys and
values, refusal, Refiner's answer) or when it changed how the two states differ;
the report shows both, for instance::

    contact u-201, attribute userId: "u-201" (A) vs absent (B)

Contacts are paired across the sides by remote id, else by email; accounts by remote
id; events are counted by name and contact.

Limitations: uuids and times are left out of the comparison, since each side's clock
and ids step per call and the sides can make different numbers of calls; contacts
without remote id or email, and accounts without remote id, are told apart by
position only.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.expectations import show
from harness.ingest import read_map_inputs
from harness.mapper import (
    MappingError,
    MappingOutcome,
    get_mapper,
    map_many,
    shown_profile,
)
from harness.probe import quiet_mock
from harness.report import count
from harness.runner import Replay, deliver, replay_settings
from harness.scenario import api_key, find_scenarios, load_scenario
from harness.transport import Connection, in_process

JSON_LINES = (".jsonl", ".ndjson")
SHOWN_LENGTH = 160
"""Longest value text shown in a difference line."""

_ABSENT = object()


class DiffError(ValueError):
    """Input the diff cannot read, with the file named."""


@dataclass
class Source:
    """A stream of events, each with its destination config, and where it starts."""

    name: str
    path: str | None
    events: list[tuple[Any, dict[str, Any]]]
    seed: dict[str, Any] | None = None


@dataclass
class Side:
    """What one mapper made of one event, and what Refiner answered."""

    outcome: MappingOutcome
    status: int | None = None
    reply: Any = None

    def summary(self) -> str:
        if isinstance(self.outcome, MappingError):
            return f"refused {self.outcome.status}: {self.outcome.message}"
        sent = f"{self.outcome.method} {self.outcome.endpoint}"
        return f"{sent}, Refiner {self.status}{_refiner_error(self.status, self.reply)}"

    def to_json(self) -> dict[str, Any]:
        if isinstance(self.outcome, MappingError):
            return {"refusal": self.outcome.to_json()}
        refiner: dict[str, Any] = {"status": self.status}
        if self.status != 200:
            refiner["reply"] = self.reply
        return {"request": self.outcome.to_json(), "refiner": refiner}


@dataclass
class EventDifference:
    """One event the two mappers treat differently."""

    index: int
    message: Any
    api_key: str
    a: Side
    b: Side
    request: list[str]
    state: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "type": _message_type(self.message),
            "api_key": self.api_key,
            "A": self.a.to_json(),
            "B": self.b.to_json(),
            "request": self.request,
            "state": self.state,
        }


@dataclass
class SourceDiff:
    """The differences of one source, and how the two states differ at its end."""

    source: Source
    differences: list[EventDifference] = field(default_factory=list)
    final_state: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.source.name,
            "path": self.source.path,
            "events": len(self.source.events),
            "differences": [difference.to_json() for difference in self.differences],
            "final_state": self.final_state,
        }


@dataclass
class DiffReport:
    """Every source compared under profiles A and B."""

    profile_a: str
    profile_b: str
    sources: list[SourceDiff]

    @property
    def events(self) -> int:
        return sum(len(diff.source.events) for diff in self.sources)

    @property
    def differing_events(self) -> int:
        return sum(len(diff.differences) for diff in self.sources)

    @property
    def differs(self) -> bool:
        return self.differing_events > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "profiles": {"A": self.profile_a, "B": self.profile_b},
            "events": self.events,
            "differing_events": self.differing_events,
            "sources": [diff.to_json() for diff in self.sources],
        }


# Reading sources ---------------------------------------------------------------


def read_sources(paths: Iterable[Path]) -> list[Source]:
    """Scenario files (or folders of them) and JSON Lines files of ``{config,
    message}`` items, in the order given, each file once."""
    sources: list[Source] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_file() and path.suffix in JSON_LINES:
            found = [path]
        else:
            found = find_scenarios([path])
        for file in found:
            if file.resolve() in seen:
                continue
            seen.add(file.resolve())
            sources.append(_read_source(file))
    return sources


def _read_source(path: Path) -> Source:
    if path.suffix in JSON_LINES:
        return read_json_lines(path)

    scenario = load_scenario(path)
    return Source(
        name=scenario.name,
        path=str(path),
        events=[(message, scenario.config) for message in scenario.events],
        seed=scenario.seed,
    )


def read_json_lines(path: Path) -> Source:
    """A JSON Lines file of ``{config, message}`` items as one source."""
    try:
        with path.open("rb") as stream:
            items = list(read_map_inputs(stream))
    except OSError as error:
        raise DiffError(f"{path}: {error}") from None

    events = []
    for item in items:
        if item.problem is not None:
            raise DiffError(f"{path}: {item.problem}")
        events.append((item.message, item.config or {}))
    return Source(name=path.name, path=str(path), events=events)


def fuzz_sources(events: int, seed: int = 0) -> list[Source]:
    """``events`` events as sources: examples of a config and a stream drawn from
    ``harness.strategies`` with a fixed seed, the last one cut short."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    from harness.strategies import configs, streams

    drawn: list[tuple[dict[str, Any], list[Any]]] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=events,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(st.tuples(configs(), streams()))
    def draw(example: tuple[dict[str, Any], list[Any]]) -> None:
        drawn.append(copy.deepcopy(example))

    draw()

    sources = []
    remaining = events
    for number, (config, stream) in enumerate(drawn, start=1):
        if remaining <= 0:
            break
        taken = stream[:remaining]
        remaining -= len(taken)
        sources.append(
            Source(
                name=f"fuzz example {number} (seed {seed})",
                path=None,
                events=[(message, config) for message in taken],
            )
        )
    return sources


# Comparing ---------------------------------------------------------------------


Replayed = tuple[list[Side], list[dict[str, Any]]]
"""One source under one mapper: what happened to each event, and the projected
state of the event's API key after it."""


def diff(sources: Sequence[Source], profile_a: str, profile_b: str) -> DiffReport:
    """Maps every source's events with both profiles, replays each side and
    compares requests and state event by event. The report names a transformer URL
    without its user and password."""
    pairs = [pair for source in sources for pair in source.events]
    replayed_a = replay_sources(sources, map_many(get_mapper(profile_a), pairs))
    replayed_b = replay_sources(sources, map_many(get_mapper(profile_b), pairs))

    return DiffReport(
        shown_profile(profile_a),
        shown_profile(profile_b),
        [
            diff_source(source, side_a, side_b)
            for source, side_a, side_b in zip(
                sources, replayed_a, replayed_b, strict=True
            )
        ],
    )


def replay_sources(
    sources: Sequence[Source], mapped: Sequence[MappingOutcome]
) -> list[Replayed]:
    """Delivers one mapper's requests, source by source, into an in-process mock
    that is reset (and seeded) before each source."""
    replayed = []
    start = 0
    with quiet_mock(), in_process(replay_settings()) as connection:
        for source in sources:
            end = start + len(source.events)
            replayed.append(replay_source(source, mapped[start:end], connection))
            start = end
    return replayed


def replay_source(
    source: Source, mapped: Sequence[MappingOutcome], connection: Connection
) -> Replayed:
    """One source's events delivered into the mock behind ``connection``."""
    connection.reset()
    if source.seed is not None:
        connection.load(source.seed)

    sides: list[Side] = []
    states: list[dict[str, Any]] = []
    delivered = Replay()
    for index, ((message, config), outcome) in enumerate(
        zip(source.events, mapped, strict=True)
    ):
        response = deliver(delivered, index, message, outcome, connection)
        side = Side(outcome)
        if response is not None:
            side.status = response.status_code
            side.reply = _json_or_text(response)
        sides.append(side)
        states.append(project(connection.environment(api_key(config))))
    return sides, states


def diff_source(
    source: Source, replayed_a: Replayed, replayed_b: Replayed
) -> SourceDiff:
    """Compares one source's events as the two sides replayed them."""
    sides_a, states_a = replayed_a
    sides_b, states_b = replayed_b

    result = SourceDiff(source)
    differing: dict[str, dict[tuple[Any, ...], tuple[str, str]]] = {}
    for index, (message, config) in enumerate(source.events):
        key = api_key(config)
        before = differing.get(key, {})
        after = state_differences(states_a[index], states_b[index])
        differing[key] = after

        request = request_differences(sides_a[index], sides_b[index])
        state = _changes(before, after)
        if request or state:
            result.differences.append(
                EventDifference(
                    index, message, key, sides_a[index], sides_b[index], request, state
                )
            )

    result.final_state = [
        f"{where}: {text}"
        for table in differing.values()
        for where, text in table.values()
    ]
    return result


def request_differences(a: Side, b: Side) -> list[str]:
    """What differs between the two sides' requests (or refusals) and Refiner's
    answers to them."""
    if isinstance(a.outcome, MappingError) or isinstance(b.outcome, MappingError):
        return _refusal_differences(a.outcome, b.outcome)

    request_a, request_b = a.outcome, b.outcome
    lines = []
    if request_a.method != request_b.method:
        lines.append(versus("method", request_a.method, request_b.method))
    if request_a.endpoint != request_b.endpoint:
        lines.append(versus("endpoint", request_a.endpoint, request_b.endpoint))
    lines.extend(
        versus(f"header {name}", value_a, value_b)
        for name, value_a, value_b in _keyed(request_a.headers, request_b.headers)
    )
    form = [
        versus(f"form {name}", value_a, value_b)
        for name, value_a, value_b in _keyed(request_a.form, request_b.form)
    ]
    lines.extend(form)
    if not form and list(request_a.form) != list(request_b.form):
        lines.append(
            versus("form key order", list(request_a.form), list(request_b.form))
        )

    if a.status != b.status or (a.status != 200 and not same(a.reply, b.reply)):
        lines.append(
            f"Refiner: {a.status}{_refiner_error(a.status, a.reply)} (A) vs "
            f"{b.status}{_refiner_error(b.status, b.reply)} (B)"
        )
    return lines


def _refusal_differences(a: MappingOutcome, b: MappingOutcome) -> list[str]:
    def told(outcome: MappingOutcome) -> str:
        if isinstance(outcome, MappingError):
            return f"refused {outcome.status} {shown(outcome.message)}"
        return f"sent {outcome.method} {outcome.endpoint}"

    if (
        isinstance(a, MappingError)
        and isinstance(b, MappingError)
        and (a.status, a.message) == (b.status, b.message)
    ):
        return []
    return [f"mapper: {told(a)} (A) vs {told(b)} (B)"]


# State -------------------------------------------------------------------------


def project(environment: Mapping[str, Any]) -> dict[str, Any]:
    """The part of one environment's state a mapper decides: contacts, accounts
    and events without uuids and times."""
    return {
        "contacts": [
            {
                "remote_id": contact["remote_id"],
                "email": contact["email"],
                "display_name": contact["display_name"],
                "account": (contact.get("account") or {}).get("remote_id"),
                "attributes": contact["attributes"],
            }
            for contact in environment["contacts"]
        ],
        "accounts": [
            {
                "remote_id": account["remote_id"],
                "display_name": account["display_name"],
                "domain": account["domain"],
                "attributes": account["attributes"],
                "contacts": sorted(account["contacts"], key=str),
            }
            for account in environment["accounts"]
        ],
        "events": Counter(
            (event["name"], _contact_label(event["contact"]))
            for event in environment["events"]
        ),
    }


def state_differences(
    a: Mapping[str, Any], b: Mapping[str, Any]
) -> dict[tuple[Any, ...], tuple[str, str]]:
    """How two projected states differ: for each differing field, where it is
    (``contact u-1, attribute plan``) and the two values."""
    found: dict[tuple[Any, ...], tuple[str, str]] = {}

    for label, contact_a, contact_b in _pair(
        a["contacts"], b["contacts"], _CONTACT_IDS
    ):
        found.update(_entity_differences("contact", label, contact_a, contact_b))
    for label, account_a, account_b in _pair(
        a["accounts"], b["accounts"], ("remote_id",)
    ):
        found.update(_entity_differences("account", label, account_a, account_b))

    events_a, events_b = a["events"], b["events"]
    for name, contact in sorted(set(events_a) | set(events_b), key=str):
        if events_a[(name, contact)] != events_b[(name, contact)]:
            where = f"events {shown(name)} of contact {contact}"
            text = f"{events_a[(name, contact)]} (A) vs {events_b[(name, contact)]} (B)"
            found[("event", name, contact)] = (where, text)
    return found


_CONTACT_IDS = ("remote_id", "email")
_ENTITY_FIELDS = ("remote_id", "email", "display_name", "domain", "account", "contacts")


def _pair(
    items_a: list[dict[str, Any]], items_b: list[dict[str, Any]], ids: Sequence[str]
) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """Items of A and B paired by the first of ``ids``, then by the next for those
    left, each pair with a label of its own."""
    partner: dict[int, int] = {}
    for name in ids:
        left_b = [
            index for index in range(len(items_b)) if index not in partner.values()
        ]
        for index_a, item_a in enumerate(items_a):
            value = item_a.get(name)
            if index_a in partner or value is None:
                continue
            match = next((i for i in left_b if items_b[i].get(name) == value), None)
            if match is not None:
                partner[index_a] = match
                left_b.remove(match)

    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [
        (item_a, items_b[partner[index]] if index in partner else None)
        for index, item_a in enumerate(items_a)
    ]
    pairs.extend(
        (None, item_b)
        for index, item_b in enumerate(items_b)
        if index not in partner.values()
    )

    labels: Counter[str] = Counter()
    labelled = []
    for item_a, item_b in pairs:
        label = _label(ids, item_a, item_b)
        labels[label] += 1
        if labels[label] > 1:
            label = f"{label} #{labels[label]}"
        labelled.append((label, item_a, item_b))
    return labelled


def _label(
    ids: Sequence[str], item_a: dict[str, Any] | None, item_b: dict[str, Any] | None
) -> str:
    for name in ids:
        for item in (item_a, item_b):
            if item is not None and item.get(name) is not None:
                return str(item[name])
    return f"without {' or '.join(ids)}"


def _entity_differences(
    kind: str, label: str, a: dict[str, Any] | None, b: dict[str, Any] | None
) -> dict[tuple[Any, ...], tuple[str, str]]:
    where = f"{kind} {label}"
    if a is None or b is None:
        return {(kind, label): (where, versus_values(_brief(a), _brief(b)))}

    found = {}
    for name in _ENTITY_FIELDS:
        if name in a and not same(a[name], b[name]):
            found[(kind, label, name)] = (
                f"{where}, {name}",
                versus_values(a[name], b[name]),
            )
    for name, value_a, value_b in _keyed(a["attributes"], b["attributes"]):
        found[(kind, label, "attribute", name)] = (
            f"{where}, attribute {name}",
            versus_values(value_a, value_b),
        )
    return found


def _brief(entity: dict[str, Any] | None) -> Any:
    """An entity on one side only, without its empty fields; absent when None."""
    if entity is None:
        return _ABSENT
    return {
        name: value for name, value in entity.items() if value not in (None, {}, [])
    }


def _changes(
    before: Mapping[tuple[Any, ...], tuple[str, str]],
    after: Mapping[tuple[Any, ...], tuple[str, str]],
) -> list[str]:
    """The state differences an event made: new or changed ones, and those gone."""
    lines = [
        f"{where}: {text}"
        for key, (where, text) in after.items()
        if before.get(key) != (where, text)
    ]
    lines.extend(
        f"{where}: now the same"
        for key, (where, _) in before.items()
        if key not in after
    )
    return lines


# Showing -----------------------------------------------------------------------


def versus(name: str, a: Any, b: Any) -> str:
    """``name: <A's value> (A) vs <B's value> (B)``."""
    return f"{name}: {versus_values(a, b)}"


def versus_values(a: Any, b: Any) -> str:
    return f"{shown(a)} (A) vs {shown(b)} (B)"


def shown(value: Any) -> str:
    """A value as compact JSON, ``absent`` for a missing one, cut when long."""
    if value is _ABSENT:
        return "absent"
    text = show(value)
    if len(text) > SHOWN_LENGTH:
        return f"{text[:SHOWN_LENGTH]}... ({len(text)} chars)"
    return text


def same(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same, types included (``1`` is not ``1.0``
    nor ``true``) and object key order aside."""
    return _canonical(a) == _canonical(b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, default=repr)


def _keyed(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The keys whose values differ, A's keys first, with the two values."""
    names = list(a) + [name for name in b if name not in a]
    return [
        (name, a.get(name, _ABSENT), b.get(name, _ABSENT))
        for name in names
        if name not in a or name not in b or not same(a[name], b[name])
    ]


def _contact_label(contact: Mapping[str, Any] | None) -> str:
    contact = contact or {}
    for name in _CONTACT_IDS:
        if contact.get(name) is not None:
            return str(contact[name])
    return "without remote id or email"


def _message_type(message: Any) -> Any:
    return message.get("type") if isinstance(message, dict) else None


def _json_or_text(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _refiner_error(status: int | None, reply: Any) -> str:
    if status == 200:
        return ""
    if isinstance(reply, dict) and isinstance(reply.get("error"), str):
        return f" {shown(reply['error'])}"
    return f" {shown(reply)}"


# Reports -----------------------------------------------------------------------


def text_report(report: DiffReport) -> str:
    """A readable report: the differing events of each source, then a summary."""
    lines = [f"A: {report.profile_a}", f"B: {report.profile_b}"]
    for source_diff in report.sources:
        if not source_diff.differences:
            continue
        source = source_diff.source
        where = f" ({source.path})" if source.path else ""
        lines.append("")
        lines.append(
            f"{source.name}{where}: differences in {len(source_diff.differences)} "
            f"of {count(len(source.events), 'event')}"
        )
        for difference in source_diff.differences:
            lines.extend(_event_lines(difference))

    differing_sources = sum(bool(diff.differences) for diff in report.sources)
    events = count(report.events, "event")
    sources = count(len(report.sources), "source")
    lines.append("")
    if report.differs:
        lines.append(
            f"differences in {report.differing_events} of {events}, "
            f"in {differing_sources} of {sources}"
        )
    else:
        lines.append(f"no differences in {events} from {sources}")
    return "\n".join(lines)


def _event_lines(difference: EventDifference) -> list[str]:
    kind = _message_type(difference.message)
    kind_text = kind if isinstance(kind, str) else shown(kind)
    lines = [
        f"  events[{difference.index}] {kind_text}",
        f"    A: {difference.a.summary()}",
        f"    B: {difference.b.summary()}",
    ]
    if not difference.request:
        lines.append("    request: the same")
    lines.extend(f"    request: {line}" for line in difference.request)
    if not difference.state:
        lines.append("    state: the same")
    lines.extend(f"    state: {line}" for line in difference.state)
    return lines


def json_report(report: DiffReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False, default=str)


def render(report: DiffReport, report_format: str) -> str:
    return json_report(report) if report_format == "json" else text_report(report)
