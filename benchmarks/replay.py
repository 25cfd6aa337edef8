"""Replay speed and memory, step by step.

Generates SDK-shaped RudderStack events (identify, track, page, group, and the screen
and alias calls the mapper refuses) for a few thousand users, replays them in-process
through the full path (mapper, delivery, respx, the WSGI app, store), then times each
step on its own so the cost of each is visible:

    python benchmarks/replay.py [--events 20000] [--profile rudderstack] [--seed 7]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from harness.delivery import to_wire
from harness.mapper import MappingError, get_mapper, profiles
from harness.runner import replay, replay_settings
from harness.transport import in_process
from mock_refiner import ApiError, MockRefiner
from mock_refiner.params import parse_params

CONFIG = {
    "apiKey": "rf-bench-key",
    "userAttributesMapping": [{"from": "userId", "to": "id"}],
}
PLANS = ("free", "growth", "scale", "enterprise")
PAGES = (("Docs", "Getting Started"), ("Settings", "Team"), (None, "Pricing"))
EVENTS = ("Report Exported", "Invite Sent", "Dataset Downloaded", "Comment Posted")


def sdk_events(count: int, seed: int) -> list[dict[str, Any]]:
    """Messages shaped like analytics-python and analytics-node output."""
    chooser = random.Random(seed)
    users = max(count // 10, 1)
    library = {"name": "analytics-python", "version": "2.1.9"}
    events = []

    for index in range(count):
        user = f"user-{chooser.randrange(users):05d}"
        common = {
            "userId": user,
            "anonymousId": None,
            "messageId": f"msg-{index:07d}",
            "timestamp": "2026-12-04T15:27:20.840850+00:00",
            "context": {"library": library},
            "integrations": {"All": True},
            "channel": "server",
        }
        roll = chooser.random()
        if roll < 0.2:
            traits = {
                "email": f"{user}@example.test",
                "firstName": "River",
                "plan": chooser.choice(PLANS),
                "logins": chooser.randrange(1, 500),
                "created_at": "2026-03-01T10:00:00Z",
                "address": {"city": "Lisbon", "country": "PT"},
            }
            common["context"] = {"traits": traits, "library": library}
            events.append({**common, "type": "identify"})
        elif roll < 0.7:
            events.append(
                {
                    **common,
                    "type": "track",
                    "event": chooser.choice(EVENTS),
                    "properties": {"rows": chooser.randrange(10_000)},
                }
            )
        elif roll < 0.85:
            category, name = chooser.choice(PAGES)
            page = {**common, "type": "page", "name": name, "properties": {"path": "/"}}
            if category:
                page["category"] = category
            events.append(page)
        elif roll < 0.95:
            group = f"acct-{chooser.randrange(users // 5 + 1):04d}"
            traits = {
                "name": f"Org {group}",
                "employees": chooser.randrange(1, 3_000_000),
            }
            events.append(
                {**common, "type": "group", "groupId": group, "traits": traits}
            )
        else:
            events.append({**common, "type": chooser.choice(("screen", "alias"))})

    return events


def measure(label: str, count: int, step: Callable[[], Any]) -> Any:
    """Runs ``step`` once, timed, then again under tracemalloc for its peak."""
    gc.collect()
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started

    gc.collect()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        f"{label:<38} {count:>7} {seconds:>8.3f} s {count / seconds:>10,.0f} /s "
        f"{peak / 2**20:>8.1f} MiB"
    )
    return result


def event_count(text: str) -> int:
    """A number of events to generate, at least one, for argparse."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=event_count, default=20_000)
    parser.add_argument("--profile", choices=profiles(), default="rudderstack")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()

    events = sdk_events(arguments.events, arguments.seed)
    mapper = get_mapper(arguments.profile)
    print(f"{len(events)} events, profile {arguments.profile}")
    print(f"{'step':<38} {'items':>7} {'time':>10} {'rate':>13} {'peak':>12}")

    def full_path() -> None:
        with in_process(replay_settings()) as connection:
            replay(events, CONFIG, arguments.profile, connection)

    measure("full path (map, deliver, respx, WSGI)", len(events), full_path)

    def map_all() -> list[Any]:
        requests = []
        for message in events:
            with contextlib.suppress(MappingError):
                requests.append(mapper(message, CONFIG))
        return requests

    requests = measure("mapper alone", len(events), map_all)

    def encode_all() -> list[Any]:
        return [to_wire(r.method, r.endpoint, r.headers, r.form) for r in requests]

    wires = measure("delivery encoding alone", len(requests), encode_all)

    def serve_all() -> None:
        refiner = MockRefiner(replay_settings())
        for wire in wires:
            refiner.handle(
                wire.method, urlsplit(wire.url).path, b"", wire.headers, wire.body
            )

    measure("MockRefiner.handle (parse, auth, store)", len(wires), serve_all)

    parsed = [
        (
            urlsplit(wire.url).path,
            parse_params("POST", b"", wire.headers["Content-Type"], wire.body),
        )
        for wire in wires
    ]

    def store_all() -> None:
        refiner = MockRefiner(replay_settings())
        for path, params in parsed:
            if path.endswith("identify-user"):
                with contextlib.suppress(ApiError):
                    refiner.store.identify("rf-bench-key", params)
            else:
                refiner.store.track("rf-bench-key", params, path)

    measure("store alone", len(parsed), store_all)

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {peak_rss:.1f} MiB")


if __name__ == "__main__":
    main()
