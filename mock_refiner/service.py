"""The Refiner API as a plain function of a request: `MockRefiner.handle`.

No web framework is involved, so the Flask app, an in-process transport and property
tests all reach the same parsing, rules and state. A call goes through four steps,
and the first refusal ends it: route (404 for an unknown path under `/v1`, 405 for a
known path with another method), parameters (400 or 415), API key (401 or 404), then
the operation (400 when a required parameter is missing). Every call is journaled,
whatever its outcome.

Served: `POST /v1/identify-user`, `POST /v1/track-event` and `POST /v1/track`, the
path RudderStack uses, which does the same as `track-event`.

Limitations: Refiner's success status codes are not documented; the mock answers 200.
The read endpoints, responses, segments and forms are not served yet.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mock_refiner.auth import KeyUse, check_api_key, find_api_key
from mock_refiner.errors import ApiError
from mock_refiner.journal import Journal
from mock_refiner.params import find_header, parse_params
from mock_refiner.settings import Settings
from mock_refiner.store import Store

logger = logging.getLogger(__name__)

IDENTIFY_USER = "identify-user"
TRACK_EVENT = "track-event"
TRACK = "track"

ROUTES = {
    "/v1/identify-user": ("POST", IDENTIFY_USER),
    "/v1/track-event": ("POST", TRACK_EVENT),
    "/v1/track": ("POST", TRACK),
}


@dataclass
class Reply:
    """What the mock answers: a status, a JSON body and extra headers."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class CallRecord:
    """What is known about a call so far, for its journal entry."""

    operation: str | None = None
    params: dict = field(default_factory=dict)
    key: KeyUse | None = None
    notes: list[str] = field(default_factory=list)


class MockRefiner:
    """A Refiner API in memory: settings, state and the journal of calls."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.store = Store(self.settings)
        self.journal = Journal()

    def handle(
        self,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Answer one call to the Refiner API and journal it."""
        method = method.upper()
        content_type = find_header(headers, "Content-Type")
        record = CallRecord()
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

        self.journal.record(
            time=now if isinstance(now, datetime) else datetime.now(UTC),
            method=method,
            path=path,
            operation=record.operation,
            key_source=record.key.source if record.key else None,
            api_key=record.key.key if record.key else None,
            content_type=content_type,
            params=record.params,
            status=reply.status,
            reply=reply.body,
            notes=record.notes,
        )
        logger.info("%s %s -> %d", method, path, reply.status)
        return reply

    def _answer(
        self,
        record: CallRecord,
        now: datetime,
        method: str,
        path: str,
        query_string: bytes,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        record.operation = operation_at(path)
        check_method(method, path)

        try:
            content_type = find_header(headers, "Content-Type")
            record.params = parse_params(method, query_string, content_type, body)
        finally:
            record.key = find_api_key(headers, record.params)

        key = check_api_key(record.key, self.settings).key

        if record.operation == IDENTIFY_USER:
            identified = self.store.identify(key, record.params, now)
            record.notes.extend(identified.notes)
            return Reply(
                200, {"message": "ok", "contact_uuid": identified.contact.uuid}
            )

        tracked = self.store.track(key, record.params, path, now)
        record.notes.extend(tracked.notes)
        return Reply(200, {"message": "ok"})


def operation_at(path: str) -> str:
    """The operation served at `path`; 404 for any other path."""
    if path not in ROUTES:
        raise ApiError(404, {"error": "Not found"})

    return ROUTES[path][1]


def check_method(method: str, path: str) -> None:
    """Refuse with 405 a method the operation at `path` does not take."""
    allowed = ROUTES[path][0]
    if method != allowed:
        raise ApiError(405, {"error": "Method not allowed"}, {"Allow": allowed})
