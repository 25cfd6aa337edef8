"""The journal: a record of the calls the mock received, refused ones included.

Each call is kept as the CALL dict of `docs/architecture.md`, encoded once as compact
JSON text when it is recorded: that is the one copy taken (the caller's params and
reply may change afterwards), it is what a state file stores, and decoding it gives
each reader a fresh copy, faster than copying dicts. Ids count up from 1 and are not
reused when calls are dropped; `clear` starts them from 1 again.

The journal keeps the newest `limit` calls (`Settings.journal_limit`); older ones are
dropped, oldest first, and counted in `dropped`. A limit of 0 keeps no call and
counts every one as dropped, for long runs that need no journal.

With `keep_changes`, the journal also remembers what changed since the last save
(calls added, a clear) for `mock_refiner.persistence`.

Limitations: a value that is not JSON (a tuple, a mapping with keys that are not
text) is stored as JSON reads it back: a list, text keys. Parsed parameters and the
mock's replies hold JSON values only.
"""

import json
import logging
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from mock_refiner.traits import format_time

logger = logging.getLogger(__name__)

_encode = json.JSONEncoder(separators=(",", ":")).encode


class Entry(NamedTuple):
    """One journaled call: its id, path and status (for filters), and its JSON."""

    id: int
    path: str
    status: int | None
    text: str


@dataclass
class JournalChanges:
    """What changed since the journal was last saved."""

    cleared: bool = False
    added: list[Entry] = field(default_factory=list)


@dataclass
class JournalState:
    """What a save writes: the changes, the first id still kept, and the counters."""

    changes: JournalChanges
    first_kept: int
    next_id: int
    dropped: int


class Journal:
    """The newest calls, oldest first, safe to use from several threads."""

    def __init__(self, limit: int = 10_000) -> None:
        if limit < 0:
            raise ValueError("the journal limit must be at least 0")

        self.limit = limit
        self._calls: deque[Entry] = deque()
        self._next_id = 1
        self._dropped = 0
        self._lock = threading.Lock()
        self._changes: JournalChanges | None = None

    @property
    def dropped(self) -> int:
        """How many calls were dropped to keep the journal within its limit."""
        with self._lock:
            return self._dropped

    def record(
        self,
        *,
        time: datetime,
        method: str,
        path: str,
        operation: str | None,
        key_source: str | None,
        api_key: str | None,
        content_type: str | None,
        params: Mapping,
        status: int | None,
        reply: Any,
        notes: list[str] | None = None,
    ) -> dict:
        """Add one call; `api_key` is left out of its params. Returns the call, whose
        params and reply values are still the caller's (the journal keeps its own
        copy). Raises `TypeError` or `ValueError` for values JSON cannot hold."""
        call_params = {key: value for key, value in params.items() if key != "api_key"}
        call = {
            "id": 0,
            "time": format_time(time),
            "method": method,
            "path": path,
            "operation": operation,
            "key_source": key_source,
            "api_key": api_key,
            "content_type": content_type,
            "params": call_params,
            "status": status,
            "reply": dict(reply) if isinstance(reply, Mapping) else reply,
            "notes": list(notes or []),
        }
        without_id = _encode(call)[len('{"id":0') :]

        with self._lock:
            call["id"] = self._next_id
            self._next_id += 1
            entry = Entry(call["id"], path, status, f'{{"id":{call["id"]}{without_id}')
            self._keep(entry)
            if self._changes is not None:
                self._changes.added.append(entry)

        return call

    def calls(self, path: str | None = None, status: int | None = None) -> list[dict]:
        """The calls, oldest first, optionally only those with this path or status."""
        with self._lock:
            texts = [
                entry.text
                for entry in self._calls
                if (path is None or entry.path == path)
                and (status is None or entry.status == status)
            ]

        return [json.loads(text) for text in texts]

    def clear(self) -> None:
        """Forget every call; ids start from 1 again and nothing counts as dropped."""
        with self._lock:
            self._calls.clear()
            self._next_id = 1
            self._dropped = 0
            if self._changes is not None:
                self._changes = JournalChanges(cleared=True)

    def keep_changes(self) -> None:
        """From now on, remember what changes until `take_changes`."""
        with self._lock:
            if self._changes is None:
                self._changes = JournalChanges()

    def take_changes(self) -> JournalState:
        """The changes since the last call (which are forgotten), and the counters."""
        with self._lock:
            changes = self._changes or JournalChanges()
            if self._changes is not None:
                self._changes = JournalChanges()
            first_kept = self._calls[0].id if self._calls else self._next_id
            return JournalState(changes, first_kept, self._next_id, self._dropped)

    def give_back(self, changes: JournalChanges) -> None:
        """Put back changes that could not be saved, before any newer ones."""
        with self._lock:
            if self._changes is None:
                return
            if self._changes.cleared:
                return

            self._changes = JournalChanges(
                changes.cleared, changes.added + self._changes.added
            )

    def restore(self, entries: Iterable[Entry], next_id: int, dropped: int) -> None:
        """Start from saved calls (oldest first) and counters, dropping the oldest
        calls beyond the limit."""
        with self._lock:
            self._calls.clear()
            self._next_id = next_id
            self._dropped = dropped
            for entry in entries:
                self._keep(entry)

    def _keep(self, entry: Entry) -> None:
        self._calls.append(entry)
        while len(self._calls) > self.limit:
            self._calls.popleft()
            self._dropped += 1
