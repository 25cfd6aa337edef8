"""The cost of a state file, and of the journal, per call.

Times `MockRefiner.handle` for identify and track calls in memory and with a SQLite
state file (in a temporary folder), then measures what the journal keeps per call
(tracemalloc) and what recording and reading a call cost, next to deep-copied dicts,
the way the journal kept calls before:

    python benchmarks/persistence.py [--calls 5000] [--users 500] [--threads 4]

With a state file, a call holds the store's lock until it is committed, so the
server's threads share one SQLite connection; the threaded figures show what that
costs next to the same calls in memory.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mock_refiner import MockRefiner, Settings
from mock_refiner.journal import Journal

KEY = "rf-bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def identify_body(number: int, users: int) -> bytes:
    user = f"user-{number % users:05d}"
    return json.dumps(
        {
            "id": user,
            "email": f"{user}@example.test",
            "name": "River Stone",
            "plan": ("free", "growth", "scale")[number % 3],
            "logins": number,
            "created_at": "2026-03-01T10:00:00Z",
            "account": {"id": f"acct-{number % 50}", "name": "Acme"},
        }
    ).encode()


def track_body(number: int, users: int) -> bytes:
    user = f"user-{number % users:05d}"
    event = ("Report Exported", "Invite Sent", "pageView")[number % 3]
    return json.dumps({"id": user, "event": event, "rows": number}).encode()


def calls_per_second(
    mock: MockRefiner,
    path: str,
    body: Callable[[int, int], bytes],
    calls: int,
    users: int,
) -> float:
    bodies = [body(number, users) for number in range(calls)]
    gc.collect()
    started = time.perf_counter()
    for sent in bodies:
        mock.handle("POST", path, b"", HEADERS, sent)
    return calls / (time.perf_counter() - started)


def handle_speed(calls: int, users: int) -> None:
    print(f"MockRefiner.handle, {calls} calls each, {users} users")
    print(f"{'':10} {'in memory':>12} {'state file':>12} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        memory = MockRefiner(Settings())
        saved = MockRefiner(Settings(), state_file=Path(folder) / "bench.sqlite")
        for name, path, body in (
            ("identify", "/v1/identify-user", identify_body),
            ("track", "/v1/track", track_body),
        ):
            in_memory = calls_per_second(memory, path, body, calls, users)
            in_file = calls_per_second(saved, path, body, calls, users)
            print(
                f"{name:10} {in_memory:10,.0f}/s {in_file:10,.0f}/s "
                f"{in_memory / in_file:6.1f}x"
            )
        saved.close()
        size = (Path(folder) / "bench.sqlite").stat().st_size
        print(f"state file after {2 * calls} calls: {size / 1024:,.0f} KiB")


def threaded_calls_per_second(mock: MockRefiner, calls: int, threads: int) -> float:
    """Identify calls from several threads at once, as the server's threads make
    them (each thread sends its share)."""
    shares = [
        [identify_body(number, calls) for number in range(start, calls, threads)]
        for start in range(threads)
    ]

    def send(bodies: list[bytes]) -> None:
        for sent in bodies:
            mock.handle("POST", "/v1/identify-user", b"", HEADERS, sent)

    workers = [threading.Thread(target=send, args=(share,)) for share in shares]
    gc.collect()
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return calls / (time.perf_counter() - started)


def thread_speed(calls: int, threads: int) -> None:
    print(f"\nidentify from {threads} threads at once, {calls} calls")
    print(f"{'':10} {'in memory':>12} {'state file':>12}")
    with tempfile.TemporaryDirectory() as folder:
        memory = MockRefiner(Settings())
        saved = MockRefiner(Settings(), state_file=Path(folder) / "bench.sqlite")
        in_memory = threaded_calls_per_second(memory, calls, threads)
        in_file = threaded_calls_per_second(saved, calls, threads)
        saved.close()
    print(f"{'':10} {in_memory:10,.0f}/s {in_file:10,.0f}/s")


def sample_calls(calls: int, users: int) -> list[dict]:
    """Journal fields of identify and track calls as the service records them."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    fields = []
    for number in range(calls):
        identify = number % 2 == 0
        body = (identify_body if identify else track_body)(number, users)
        fields.append(
            {
                "time": moment,
                "method": "POST",
                "path": "/v1/identify-user" if identify else "/v1/track",
                "operation": "identify-user" if identify else "track",
                "key_source": "bearer",
                "api_key": KEY,
                "content_type": "application/json",
                "params": json.loads(body),
                "status": 200,
                "reply": {"message": "ok", "contact_uuid": f"uuid-{number:08d}"},
                "notes": [],
            }
        )
    return fields


class DictJournal:
    """Calls kept as deep-copied dicts and copied again on reading, for comparison."""

    def __init__(self) -> None:
        self.calls_kept: list[dict] = []

    def record(self, **fields: object) -> dict:
        call = {"id": len(self.calls_kept) + 1, **fields}
        call["params"] = copy.deepcopy(fields["params"])
        call["reply"] = copy.deepcopy(fields["reply"])
        self.calls_kept.append(call)
        return copy.deepcopy(call)

    def calls(self) -> list[dict]:
        return [copy.deepcopy(call) for call in self.calls_kept]


def journal_cost(calls: int, users: int) -> None:
    fields = sample_calls(calls, users)
    print(f"\njournal, {calls} identify and track calls")
    print(f"{'':22} {'bytes/call':>11} {'record':>10} {'read all':>10}")
    journals: tuple[tuple[str, Callable[[], Journal | DictJournal]], ...] = (
        ("JSON text (kept)", lambda: Journal(limit=calls)),
        ("deep-copied dicts", DictJournal),
    )
    for name, make in journals:
        journal = make()
        gc.collect()
        started = time.perf_counter()
        for call in fields:
            journal.record(**call)
        recorded = time.perf_counter() - started
        started = time.perf_counter()
        journal.calls()
        read = time.perf_counter() - started

        journal = make()
        gc.collect()
        tracemalloc.start()
        for call in fields:
            journal.record(**call)
        kept, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{name:22} {kept / calls:11,.0f} {recorded / calls * 1e6:8.1f}us "
            f"{read / calls * 1e6:8.1f}us"
        )
    print("(record and read all: per call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    arguments = parser.parse_args()

    handle_speed(arguments.calls, arguments.users)
    thread_speed(arguments.calls, arguments.threads)
    journal_cost(arguments.calls, arguments.users)


if __name__ == "__main__":
    main()
