"""The journal: a record of every call the mock received, refused ones included.

Each call is kept as the CALL dict of `docs/architecture.md`; ids count up from 1 and
start again after `clear`. Readers get deep copies.

Limitations: the journal lives in memory and is not bounded; clear it between long
replays.
"""

import copy
import logging
import threading
from collections.abc import Mapping
from datetime import datetime

from mock_refiner.traits import format_time

logger = logging.getLogger(__name__)


class Journal:
    """Every call, oldest first, safe to use from several threads."""

    def __init__(self) -> None:
        self._calls: list[dict] = []
        self._next_id = 1
        self._lock = threading.Lock()

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
        status: int,
        reply: Mapping,
        notes: list[str] | None = None,
    ) -> dict:
        """Add one call; `api_key` is left out of its params. Returns a copy."""
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
            "params": copy.deepcopy(call_params),
            "status": status,
            "reply": copy.deepcopy(dict(reply)),
            "notes": list(notes or []),
        }

        with self._lock:
            call["id"] = self._next_id
            self._next_id += 1
            self._calls.append(call)
            return copy.deepcopy(call)

    def calls(self, path: str | None = None, status: int | None = None) -> list[dict]:
        """The calls, oldest first, optionally only those with this path or status."""
        with self._lock:
            return [
                copy.deepcopy(call)
                for call in self._calls
                if (path is None or call["path"] == path)
                and (status is None or call["status"] == status)
            ]

    def clear(self) -> None:
        """Forget every call; ids start from 1 again."""
        with self._lock:
            self._calls.clear()
            self._next_id = 1
