"""The Refiner API as a plain function of a request: `MockRefiner.handle`.

No web framework is involved, so the Flask app, an in-process transport and property
tests all reach the same parsing, rules and state. A call goes through these steps,
and the first refusal ends it: route (404 for an unknown path under `/v1`, 405 for a
known path with another method), parameters (400 or 415), API key (401 or 404), the
optional rate limits (429) and plan (403), then the operation. Every call is
journaled, whatever its outcome.

The operations live in one module per resource (`contacts`, `segments`, `forms`,
`responses`, `account`), each registering its routes in `routes`.

With a state file (`MockRefiner(settings, state_file=PATH)`), the state and the
journal live in a SQLite file as well (`mock_refiner.persistence`): each call holds
the store's lock from its first step until what it changed and its journal entry
are committed, so a call that was answered is in the file, even if the process is
killed right after. Resets, loads and clearing the journal go through `MockRefiner`
(`reset`, `load`, `clear_calls`) and are saved at once. When the save fails, the
change is undone (memory is read back from the file) and `StateWriteError` is
raised, which the app answers with a 500; the call is not journaled.

Limitations: Refiner's success status codes are not documented; the mock answers 200.
With a state file, calls are answered one at a time.
"""

import itertools
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mock_refiner import account, contacts, forms, responses, segments  # noqa: F401
from mock_refiner.auth import KeyUse, check_api_key, find_api_key
from mock_refiner.errors import ApiError
from mock_refiner.faults import FaultRules, injected_notes
from mock_refiner.journal import Journal
from mock_refiner.limits import RateLimiter
from mock_refiner.params import find_header, parse_params
from mock_refiner.persistence import StateFile
from mock_refiner.routes import Call, Reply, find, operation_name
from mock_refiner.settings import Settings
from mock_refiner.state import build_environments
from mock_refiner.store import Store

logger = logging.getLogger(__name__)

IDENTITY_PARAMS = ("id", "email", "uuid")
TRACK_OPERATIONS = ("track-event", "track")


@dataclass
class CallRecord:
    """What is known about a call so far, for its journal entry."""

    operation: str | None = None
    params: dict = field(default_factory=dict)
    key: KeyUse | None = None
    notes: list[str] = field(default_factory=list)


class MockRefiner:
    """A Refiner API: settings, state and the journal of calls, in memory and, with
    `state_file`, in a SQLite file that a new mock on the same path continues from
    (a file that is not a state file raises `StateError`)."""

    def __init__(
        self, settings: Settings | None = None, state_file: str | Path | None = None
    ) -> None:
        self.settings = settings or Settings()
        self.store = Store(self.settings)
        self.journal = Journal(self.settings.journal_limit)
        self.limiter = RateLimiter(
            per_key=self.settings.rate_limit_per_key,
            per_user=self.settings.rate_limit_per_user,
        )
        self.faults = FaultRules()
        self.state_file: StateFile | None = None
        if state_file is not None:
            self.state_file = StateFile(state_file)
            try:
                self.state_file.restore(self.store, self.journal)
                self.store.keep_changes()
                self.journal.keep_changes()
                self.save()
            except BaseException:
                self.state_file.close()
                raise

    def handle(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Reply:
        """Answer one call to the Refiner API and journal it; with a state file, both
        are saved before this returns.

        `body` is None when the server could not read it (a broken chunked body).
        """
        with self._saving():
            return self._handle(method, path, query_string, headers, body)

    def _handle(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Reply:
        method = method.upper()
        content_type = find_header(headers, "Content-Type")
        record = CallRecord(notes=injected_notes(path))
        now: datetime | None = None

        try:
            now = self.settings.clock()
            reply = self._answer(record, now, method, path, query_string, headers, body)
        except ApiError as error:
            reply = Reply(error.status, error.body, error.headers)
            logger.warning("refused %s %s: %d %s", method, path, error.status, error)
        except Exception as error:
            logger.exception("failed %s %s", method, path)
            message = f"Internal error: {type(error).__name__}: {error}"
            reply = Reply(500, {"error": message})

        entry = {
            "time": now if isinstance(now, datetime) else datetime.now(UTC),
            "method": method,
            "path": path,
            "operation": record.operation,
            "key_source": record.key.source if record.key else None,
            "api_key": record.key.key if record.key else None,
            "content_type": content_type,
            "params": record.params,
            "status": reply.status,
            "reply": reply.body,
            "notes": record.notes,
        }
        try:
            call = self.journal.record(**entry)
        except Exception as error:
            logger.exception("could not journal %s %s in full", method, path)
            note = f"parameters not recorded: {type(error).__name__}: {error}"
            call = self.journal.record(**{**entry, "params": {}, "notes": [note]})
        reply.call_id = call["id"]

        logger.info("%s %s -> %d", method, path, reply.status)
        return reply

    def journal_fault(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes | None,
        status: int | None,
        reply: Mapping,
        note: str,
    ) -> dict:
        """Journal a call an injected fault answered (`status` None: the connection
        was dropped). The state and the rate-limit counts do not change."""
        content_type = find_header(headers, "Content-Type")
        try:
            params = parse_params(method, query_string, content_type, body or b"")
        except ApiError:
            params = {}

        key = find_api_key(headers, params)
        with self._saving():
            return self.journal.record(
                time=self.settings.clock(),
                method=method,
                path=path,
                operation=operation_name(path),
                key_source=key.source if key else None,
                api_key=key.key if key else None,
                content_type=content_type,
                params=params,
                status=status,
                reply=reply,
                notes=[note],
            )

    def reset(self) -> None:
        """Forget the state and the rate-limit counters."""
        with self._saving():
            self.store.reset()
        self.limiter.reset()

    def clear_calls(self) -> None:
        """Forget the journal: ids start from 1 again, nothing counts as dropped."""
        with self._saving():
            self.journal.clear()

    def load(self, document: Any) -> int:
        """Replace the state with a state document; raises `StateError`, changing
        nothing, when it is not valid. Returns the number of environments.

        The document is checked once with throwaway ids and time first, so a refused
        one draws no id and no clock reading.
        """
        check_document(document)
        environments = build_environments(
            document, self.settings.clock(), self.settings.ids
        )
        with self._saving():
            self.store.replace(environments)
        self.limiter.reset()
        logger.info("loaded %d environments", len(environments))
        return len(environments)

    def seed(self, document: Any) -> int:
        """Load a seed document, unless the state file already holds environments:
        then the file wins and the seed is not loaded, but it is checked all the
        same (a bad one raises `StateError`). Returns the number of environments
        loaded (0 when the file won)."""
        kept = len(self.store.environments())
        if self.state_file is not None and kept:
            check_document(document)
            logger.info(
                "%s holds %d environments; the seed is not loaded",
                self.state_file.path,
                kept,
            )
            return 0

        return self.load(document)

    def save(self) -> None:
        """Write what changed since the last save to the state file, if any; raises
        `StateWriteError` when the file cannot be written, after undoing the
        changes in memory (`StateFile.save`)."""
        with self.store.lock:
            if self.state_file is not None:
                self.state_file.save(self.store, self.journal)

    def close(self) -> None:
        """Close the state file, if any (everything is saved already)."""
        if self.state_file is not None:
            with self.store.lock:
                self.state_file.close()

    @contextmanager
    def _saving(self) -> Iterator[None]:
        """With a state file: hold the store's lock through a change, then save."""
        if self.state_file is None:
            yield
            return

        with self.store.lock:
            yield
            self.save()

    def _answer(
        self,
        record: CallRecord,
        now: datetime,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Reply:
        record.operation = operation_name(path)
        route = find(method, path)
        record.operation = route.name
        if body is None:
            raise ApiError.bad_request("The request body could not be read.")

        limit = self.settings.max_body_bytes
        if len(body) > limit:
            raise ApiError(
                413, {"error": f"The request body is larger than {limit} bytes."}
            )

        try:
            content_type = find_header(headers, "Content-Type")
            record.params = parse_params(method, query_string, content_type, body)
        finally:
            record.key = find_api_key(headers, record.params)

        key = check_api_key(record.key, self.settings).key
        self._check_limits(key, route.name, record.params, now)

        call = Call(self.store, self.settings, key, record.params, path, now)
        try:
            return route.function(call)
        finally:
            record.notes.extend(call.notes)

    def _check_limits(self, key: str, name: str, params: dict, now: datetime) -> None:
        if self.settings.rate_limits:
            users = [str(params[name]) for name in IDENTITY_PARAMS if params.get(name)]
            self.limiter.check(key, users, now)

        if name in TRACK_OPERATIONS and not self.settings.plan_tracks_events:
            raise ApiError(
                403, {"error": "Event tracking is not available on your plan."}
            )


def check_document(document: Any) -> None:
    """Check a state document as loading it would, with throwaway ids and time, so
    the check draws no id and no clock reading; raises `StateError`."""
    trial_ids = (f"trial-{number}" for number in itertools.count(1))
    build_environments(document, datetime.now(UTC), trial_ids.__next__)
