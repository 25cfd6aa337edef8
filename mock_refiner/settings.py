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


PLANS: dict[str, dict] = {
    "essentials": {
        "tracks_events": False,
        "mtu_limit": 5_000,
        "mpv_limit": 50_000,
        "msr_limit": 1_000,
    },
    "growth": {
        "tracks_events": True,
        "mtu_limit": 25_000,
        "mpv_limit": 250_000,
        "msr_limit": 10_000,
    },
    "enterprise": {
        "tracks_events": True,
        "mtu_limit": 1_000_000,
        "mpv_limit": 10_000_000,
        "msr_limit": 100_000,
    },
}


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
    a set accepts only those keys and answers 404 for any other. `default_page_length`
    is 50 in one source and 100 in two others. `rate_limits` turns on the documented
    4,000 calls a minute per key and 100 per user identifier. On the `essentials`
    plan, track-event is refused; the plans' monthly limits are the mock's own figures.
    A `/v1` body over `max_body_bytes` (4 MiB; Refiner documents no limit) is a 413.
    `journal_limit` is how many calls the journal keeps, the newest; 0 keeps none
    (each call is still counted as dropped).
    """

    string_cap: int = 10_000
    trait_limit: int = 1000
    api_keys: frozenset[str] | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    ids: Callable[[], str] = field(default=random_uuid)
    default_page_length: int = 50
    rate_limits: bool = False
    rate_limit_per_key: int = 4000
    rate_limit_per_user: int = 100
    plan: str = "growth"
    max_body_bytes: int = 4 * 1024 * 1024
    journal_limit: int = 10_000

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise ValueError(
                f"plan must be one of {', '.join(PLANS)}, not {self.plan!r}"
            )
        if self.string_cap < 1 or self.trait_limit < 0:
            raise ValueError("string_cap must be at least 1 and trait_limit at least 0")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")
        if not 1 <= self.default_page_length <= 1000:
            raise ValueError("default_page_length must be from 1 to 1000")
        if (
            isinstance(self.journal_limit, bool)
            or not isinstance(self.journal_limit, int)
            or self.journal_limit < 0
        ):
            raise ValueError(
                f"journal_limit must be a whole number, at least 0, "
                f"not {self.journal_limit!r}"
            )

    @property
    def plan_tracks_events(self) -> bool:
        """Event tracking exists on the Growth and Enterprise plans only."""
        return PLANS[self.plan]["tracks_events"]

    @property
    def plan_limits(self) -> dict[str, int]:
        """The monthly limits of the plan: tracked users, page views, responses."""
        return {
            name: value
            for name, value in PLANS[self.plan].items()
            if name != "tracks_events"
        }


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
