"""Refiner's rate limits: calls a minute per API key and per user identifier.

The documented limits are 4,000 calls a minute per API key and 100 a minute per user
identifier, counted on calls that carry `id`, `email` or `uuid`. `RateLimiter.check`
counts a call against its key and against each identifier of the call, paired with
the key, or refuses it with a 429 and a `Retry-After` header. A refused call is not
counted. The mock leaves limiting off unless the app turns it on.

Each counter is a deque of the times of the calls it admitted. A call leaves the
window `window` after it was made. `Retry-After` is the whole seconds, rounded up and
at least 1, until the oldest call of a full counter leaves; when several counters are
full it is the longest of their waits, and the message names the first of them, the
key before the identifiers. Every admitted count is also kept in one queue in time
order, so old calls are dropped from every counter, and emptied counters removed, as
time passes: memory holds only the calls still in the window.

Limitations: time comes only from the `now` argument; a `now` earlier than the latest
call counted is taken as that time, so the counters stay in order. Empty identifiers
are not counted, and an identifier given twice in one call counts once. Refiner's 429
body and whether it counts refused calls are not documented; the message is the mock's.
"""

import logging
import threading
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

from mock_refiner.errors import ApiError

logger = logging.getLogger(__name__)

PER_KEY = 4000
PER_USER = 100
WINDOW = timedelta(minutes=1)

Counter = tuple[str, ...]

_MICROSECONDS_PER_SECOND = 1_000_000


class RateLimiter:
    """Sliding-window limits per API key and per (API key, user identifier)."""

    def __init__(
        self,
        per_key: int = PER_KEY,
        per_user: int = PER_USER,
        window: timedelta = WINDOW,
    ) -> None:
        if per_key < 1 or per_user < 1:
            raise ValueError(f"limits must be 1 or more, not {per_key} and {per_user}")

        if window <= timedelta(0):
            raise ValueError(f"the window must be longer than zero, not {window}")

        self.per_key = per_key
        self.per_user = per_user
        self.window = window
        self._calls: dict[Counter, deque[datetime]] = {}
        self._admitted: deque[tuple[datetime, Counter]] = deque()
        self._latest: datetime | None = None
        self._lock = threading.Lock()

    def check(self, api_key: str, user_ids: Iterable[str], now: datetime) -> None:
        """Count a call at `now`, or raise a 429 `ApiError` if a limit is reached."""
        counters: list[Counter] = [("key", api_key)]
        counters.extend(
            ("user", api_key, user_id) for user_id in dict.fromkeys(user_ids) if user_id
        )

        with self._lock:
            if self._latest is not None and now < self._latest:
                now = self._latest

            self._forget_before(now - self.window)

            full = [
                counter
                for counter in counters
                if len(self._calls.get(counter, ())) >= self._limit_of(counter)
            ]
            if full:
                raise self._refusal(full, now)

            for counter in counters:
                self._calls.setdefault(counter, deque()).append(now)
                self._admitted.append((now, counter))

            self._latest = now

    def counts(self) -> dict[Counter, int]:
        """The calls each counter holds: `("key", api_key)` or `("user", key, id)`."""
        with self._lock:
            return {counter: len(times) for counter, times in self._calls.items()}

    def reset(self) -> None:
        """Forget every counted call."""
        with self._lock:
            self._calls.clear()
            self._admitted.clear()
            self._latest = None

    def _forget_before(self, cutoff: datetime) -> None:
        while self._admitted and self._admitted[0][0] <= cutoff:
            _, counter = self._admitted.popleft()
            times = self._calls[counter]
            times.popleft()
            if not times:
                del self._calls[counter]

    def _limit_of(self, counter: Counter) -> int:
        return self.per_key if counter[0] == "key" else self.per_user

    def _refusal(self, full: list[Counter], now: datetime) -> ApiError:
        wait = max(self._calls[counter][0] + self.window - now for counter in full)
        microseconds = wait // timedelta(microseconds=1)
        seconds = max(1, -(-microseconds // _MICROSECONDS_PER_SECOND))

        first = full[0]
        if first[0] == "key":
            subject = "this API key"
        else:
            subject = f"user identifier {first[2]!r}"

        message = (
            f"Too many requests: the limit of {self._limit_of(first)} calls per "
            f"{_describe(self.window)} for {subject} is reached."
        )
        logger.debug("rate limit: %s (retry after %d s)", message, seconds)
        return ApiError(429, {"error": message}, {"Retry-After": str(seconds)})


def _describe(window: timedelta) -> str:
    seconds = window.total_seconds()
    if seconds == 60:
        return "minute"

    return f"{seconds:g} seconds"
