"""Settings of a mock Refiner: string cap, trait limit, accepted keys, time and ids.

Time and generated ids are injectable so a replay gives the same uuids and timestamps
every time: pass a `StepClock` and a `SequentialIds`.
"""

import itertools
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def random_uuid() -> str:
    """A new random version 4 UUID as text."""
    return str(uuid.uuid4())


@dataclass
class Settings:
    """How the mock behaves where Refiner's documentation allows more than one reading.

    `string_cap` is 10,000 on Refiner's trait page and 255 on its older data index page.
    `api_keys` of None accepts every well-formed key, each with its own environment;
    a set accepts only those keys and answers 404 for any other.
    """

    string_cap: int = 10_000
    trait_limit: int = 1000
    api_keys: frozenset[str] | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    ids: Callable[[], str] = field(default=random_uuid)


class StepClock:
    """A clock that returns `start`, then `start + step`, and so on, one per call."""

    def __init__(self, start: datetime, step: timedelta = timedelta(seconds=1)) -> None:
        self.start = start if start.tzinfo else start.replace(tzinfo=UTC)
        self.step = step
        self._calls = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            index = next(self._calls)

        return self.start + self.step * index


class SequentialIds:
    """Deterministic UUID-shaped ids, counting up from 1.

    With the default seed the ids are `00000000-0000-4000-8000-000000000001`, then
    `...002`; `prefix_seed` fills the first group (as hex) so sequences can differ.
    """

    def __init__(self, prefix_seed: int = 0) -> None:
        if not 0 <= prefix_seed <= 0xFFFFFFFF:
            raise ValueError("prefix_seed must fit in 8 hex digits")

        self.prefix_seed = prefix_seed
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            number = next(self._numbers)

        return f"{self.prefix_seed:08x}-0000-4000-8000-{number:012x}"
