"""RudderStack's data plane on the demo server: real SDKs send here, Refiner receives.

The blueprint answers ``POST /rudderstack/v1/batch`` and ``POST
/rudderstack/v1/{identify,track,page,group,screen,alias}`` the way rudder-server's
gateway does, so an SDK whose data plane URL is ``http://HOST:PORT/rudderstack``
sends to it unchanged. A request goes through these steps, and the first refusal
ends it with the gateway's plain-text reply:

1. the write key, the user of HTTP Basic (401 when missing or malformed);
2. the body, gunzipped when ``Content-Encoding`` is exactly ``gzip``, at most
   :data:`MAX_BODY_BYTES` once unpacked (413 beyond, 500 for a broken gzip stream);
3. the events: the body is JSON whatever the ``Content-Type`` says (400
   ``invalid json``); a single-event path takes the body as one event and sets its
   ``type`` from the path; ``/batch`` takes the items of ``batch``. Every event must
   be an object with a ``userId`` or an ``anonymousId``, or the whole request is
   refused (400) and nothing is ingested;
4. each event gets the gateway's enrichment (:func:`enrich`), goes through the
   mapper of ``app.extensions["refiner_profile"]`` with the destination config
   ``{"apiKey": <write key>, **destination_config}``, then through the delivery
   step (:func:`harness.delivery.to_wire`) into the app's ``MockRefiner`` in
   process, and its outcome is kept in the ingest log (:class:`IngestLog`). A
   mapper that maps in batches (a transformer URL) gets all of a request's events
   in one :func:`harness.mapper.map_many` call (:func:`ingest_events`); when the
   transformer cannot be asked or its reply cannot be used, every event of the
   request is ``failed`` with status :data:`TRANSFORMER_FAILED` and the
   transformer's error as the reason.

The SDK is answered ``200 ok`` once its events are accepted, whatever the mapper or
Refiner then make of them, as the gateway answers before any destination sees them.
The gateway's times (``receivedAt``, the log's ``received_at``) are the time of day,
not readings of the mock's clock, so Refiner's times under a stepping clock do not
depend on how an SDK split its events into requests.
``GET /__mock/ingest`` lists the ingest log and ``DELETE /__mock/ingest`` clears it, as
does ``POST /__mock/reset`` (with the journal).

Limitations: every write key is accepted (the gateway answers 401 ``invalid write
key`` for one that no source has); the size limit is checked before the JSON is
read, where the gateway reads the JSON first; rudder-server's processor steps
between the gateway and the transformer (the filter that drops types outside
identify, track, page and group, consent and ``integrations`` filtering, the time
fields it recomputes) are not reproduced, so screen and alias reach the mapper and
are refused there. The ingest log is bounded by count, not by size.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import logging
import threading
import uuid
import zlib
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.exceptions import ClientDisconnected

from harness.delivery import WireRequest, to_wire, well_formed
from harness.ingest import JsonError, load_json
from harness.mapper import (
    MappingError,
    MappingOutcome,
    get_mapper,
    map_many,
    maps_in_batches,
)
from harness.transformer import TransformerError
from mock_refiner.admin import reset_hooks
from mock_refiner.faults import DroppedConnection, call_with_faults
from mock_refiner.persistence import StateWriteError
from mock_refiner.service import MockRefiner
from mock_refiner.settings import utc_now
from mock_refiner.traits import format_time

logger = logging.getLogger(__name__)

PREFIX = "/rudderstack"
EVENT_TYPES = ("identify", "track", "page", "group", "screen", "alias")
BATCH = "batch"

MAX_BODY_BYTES = 4000 * 1024
"""rudder-server's default ``Gateway.maxReqSizeInKB`` of 4000."""

INGEST_LIMIT = 10_000
"""How many events the ingest log keeps when the settings name no journal limit."""

TRANSFORMER_FAILED = 502
"""The status of an event the transformer could not map: it could not be reached,
answered late or with an error, or gave a reply that cannot be used."""

OK = "ok"
NO_WRITE_KEY = "failed to read writekey from header"
INVALID_WRITE_KEY = "invalid write key"
INVALID_JSON = "invalid json"
EMPTY_BATCH = "empty batch payload"
NOT_RUDDER_EVENT = "event is not a valid rudder event"
NON_IDENTIFIABLE = "request neither has anonymousId nor userId"
BODY_TOO_LARGE = "request size exceeds max limit"
BODY_READ_FAILED = "failed to read body from request"

STATUS = {
    NO_WRITE_KEY: 401,
    INVALID_WRITE_KEY: 401,
    INVALID_JSON: 400,
    EMPTY_BATCH: 400,
    NOT_RUDDER_EVENT: 400,
    NON_IDENTIFIABLE: 400,
    BODY_TOO_LARGE: 413,
    BODY_READ_FAILED: 500,
}
"""The gateway's status for each of its replies (``gateway/response/response.go``)."""

TEXT_PLAIN = "text/plain; charset=utf-8"
CORS_METHODS = ("GET", "POST", "HEAD")
CORS_MAX_AGE = "900"

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_READ_CHUNK = 64 * 1024
_INGEST_KEY = "refiner_ingest"
_CONFIG_KEY = "refiner_destination_config"


class GatewayRefusal(Exception):
    """A request the gateway refuses whole, with its reply text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.status = STATUS[message]


class IngestLog:
    """Every event the data plane ingested and its outcome, oldest first.

    Keeps the newest ``limit`` entries and counts the ones it let go. Ids count up
    from 1 and start again after :meth:`clear`. Safe to use from several threads;
    readers get deep copies.
    """

    def __init__(self, limit: int = INGEST_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"the ingest log limit must be at least 1, not {limit}")
        self.limit = limit
        self._events: deque[dict[str, Any]] = deque()
        self._ids = itertools.count(1)
        self._dropped = 0
        self._lock = threading.Lock()

    def record(
        self,
        *,
        received_at: datetime,
        write_key: str,
        message: dict[str, Any],
        outcome: str,
        status: int | None,
        reason: str | None,
        call_id: int | None,
    ) -> dict[str, Any]:
        """Adds one event; returns a copy of its entry."""
        event_type = message.get("type")
        entry = {
            "id": 0,
            "received_at": format_time(received_at),
            "write_key": write_key,
            "type": event_type if isinstance(event_type, str) else None,
            "message": copy.deepcopy(message),
            "outcome": outcome,
            "status": status,
            "reason": reason,
            "call_id": call_id,
        }

        with self._lock:
            entry["id"] = next(self._ids)
            self._events.append(entry)
            while len(self._events) > self.limit:
                self._events.popleft()
                self._dropped += 1
            return copy.deepcopy(entry)

    def snapshot(self) -> dict[str, Any]:
        """``{"events": [...], "dropped": N}``, oldest first."""
        return copy.deepcopy(self.shared())

    def shared(self) -> dict[str, Any]:
        """As :meth:`snapshot`, sharing the entries: for serialising, not changing.

        Entries are never changed once recorded, so they can be read after the lock
        is released.
        """
        with self._lock:
            return {"events": list(self._events), "dropped": self._dropped}

    def clear(self) -> int:
        """Forgets every event and the dropped count; returns how many were kept."""
        with self._lock:
            count = len(self._events)
            self._events.clear()
            self._dropped = 0
            self._ids = itertools.count(1)
            return count


data_plane = Blueprint("data_plane", __name__)


@data_plane.record_once
def _install(state: BlueprintSetupState) -> None:
    """Gives the app its ingest log and destination config on registration.

    ``app.register_blueprint(data_plane, destination_config={...})`` passes extra
    destination config keys, such as ``userAttributesMapping``.
    """
    app = state.app
    limit = getattr(app.extensions["mock_refiner"].settings, "journal_limit", None)
    app.extensions[_INGEST_KEY] = IngestLog(limit or INGEST_LIMIT)
    reset_hooks(app).setdefault("calls", []).append(app.extensions[_INGEST_KEY].clear)
    app.extensions[_CONFIG_KEY] = destination_config_from(
        state.options.get("destination_config")
    )


def destination_config_from(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of the extra destination config keys; refuses what is not JSON."""
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise TypeError(
            f"destination_config must be a mapping, not {type(extra).__name__}"
        )

    try:
        text = json.dumps(dict(extra), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"destination_config must be JSON: {error}") from None
    return json.loads(text)


def ingest_log(app: Flask) -> IngestLog:
    """The app's ingest log."""
    return app.extensions[_INGEST_KEY]


@data_plane.route(f"{PREFIX}/v1/batch", methods=["POST", "OPTIONS"])
@data_plane.route(
    f"{PREFIX}/v1/<any({', '.join(EVENT_TYPES)}):call_type>",
    methods=["POST", "OPTIONS"],
)
def ingest(call_type: str = BATCH) -> Response:
    """One SDK request: checked as the gateway checks it, then every event ingested."""
    if request.method == "OPTIONS":
        return Response(status=204)

    try:
        write_key = write_key_from(request.headers.get("Authorization"))
        body = read_body(
            request.stream,
            request.headers.get("Content-Encoding"),
            current_app.config.get("DATA_PLANE_MAX_BODY_BYTES", MAX_BODY_BYTES),
        )
        events = events_from(body, call_type)
    except GatewayRefusal as refusal:
        logger.warning(
            "data plane refused %s %s: %d %s",
            request.method,
            request.path,
            refusal.status,
            refusal.message,
        )
        return _gateway_error(refusal)

    received_at = utc_now()
    for event in events:
        enrich(event, received_at, request.remote_addr or "")
    ingest_events(events, write_key, received_at)

    return Response(OK, status=200, content_type=TEXT_PLAIN)


@data_plane.after_request
def allow_origins(response: Response) -> Response:
    """CORS for browser SDKs, as the gateway allows it: every origin, credentials,
    any request header; preflight answers are kept 15 minutes."""
    origin = request.headers.get("Origin")
    if not request.path.startswith(f"{PREFIX}/") or origin is None:
        return response

    if request.method != "OPTIONS":
        response.vary.add("Origin")
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

    for name in (
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    ):
        response.vary.add(name)
    method = request.headers.get("Access-Control-Request-Method", "").upper()
    if method not in CORS_METHODS:
        return response

    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Allow-Methods"] = method
    requested = request.headers.get("Access-Control-Request-Headers")
    if requested:
        response.headers["Access-Control-Allow-Headers"] = requested
    response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


@data_plane.get("/__mock/ingest")
def list_ingested() -> Response:
    """The ingest log, oldest first, and how many events it let go."""
    return jsonify(ingest_log(current_app).shared())


@data_plane.delete("/__mock/ingest")
def clear_ingested() -> Response:
    """Clears the ingest log."""
    count = ingest_log(current_app).clear()
    logger.info("cleared the ingest log: %d events", count)
    return jsonify({"message": "ok", "cleared": count})


def write_key_from(authorization: str | None) -> str:
    """The user of an HTTP Basic header, read as Go's ``Request.BasicAuth`` reads it.

    The password is ignored, as the gateway ignores it.
    """
    prefix = "basic "
    if authorization is None or authorization[: len(prefix)].lower() != prefix:
        raise GatewayRefusal(NO_WRITE_KEY)

    try:
        encoded = authorization[len(prefix) :].encode("latin-1")
        decoded = base64.b64decode(encoded, validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise GatewayRefusal(NO_WRITE_KEY) from None

    user, colon, _ = decoded.partition(b":")
    if not colon or not user:
        raise GatewayRefusal(NO_WRITE_KEY)

    try:
        return user.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayRefusal(INVALID_WRITE_KEY) from None


def read_body(stream: BinaryIO, content_encoding: str | None, limit: int) -> bytes:
    """The request body, gunzipped when ``content_encoding`` is exactly ``gzip``.

    Refuses a body over ``limit`` bytes, packed or unpacked (413), and one that
    cannot be read or unpacked (500).
    """
    raw = bytearray()
    try:
        while len(raw) <= limit:
            chunk = stream.read(min(_READ_CHUNK, limit + 1 - len(raw)))
            if not chunk:
                break
            raw += chunk
    except (OSError, ValueError, ClientDisconnected):
        raise GatewayRefusal(BODY_READ_FAILED) from None

    if len(raw) > limit:
        raise GatewayRefusal(BODY_TOO_LARGE)

    if content_encoding != "gzip":
        return bytes(raw)
    return gunzip(bytes(raw), limit)


def gunzip(packed: bytes, limit: int) -> bytes:
    """Unpacks gzip members one after another, as Go's ``gzip.Reader`` does.

    An empty body unpacks to nothing; a truncated or corrupt member, or bytes after
    the last member that are not another one, are a read failure.
    """
    unpacked = bytearray()
    remaining = packed
    try:
        while remaining:
            member = zlib.decompressobj(_GZIP_WBITS)
            pending = remaining
            while not member.eof:
                produced = member.decompress(pending, limit + 1 - len(unpacked))
                unpacked += produced
                if len(unpacked) > limit:
                    raise GatewayRefusal(BODY_TOO_LARGE)
                pending = member.unconsumed_tail
                if not produced and not pending:
                    break

            if not member.eof:
                raise GatewayRefusal(BODY_READ_FAILED)
            remaining = member.unused_data
    except zlib.error:
        raise GatewayRefusal(BODY_READ_FAILED) from None

    return bytes(unpacked)


def events_from(body: bytes, call_type: str) -> list[dict[str, Any]]:
    """The events of a request body, or the gateway's refusal of the whole request.

    The body is read as JSON whatever its content type. As the gateway reads
    ``batch`` with gjson, a ``batch`` that is an object counts as one event and
    any other value that is not a list as one item that is not an event.
    """
    try:
        payload = load_json(body.decode("utf-8", errors="replace"))
    except JsonError:
        raise GatewayRefusal(INVALID_JSON) from None

    if call_type != BATCH:
        if not isinstance(payload, dict):
            raise GatewayRefusal(NOT_RUDDER_EVENT)
        items: list[Any] = [{**payload, "type": call_type}]
    else:
        batch = payload.get("batch") if isinstance(payload, dict) else None
        if batch is None:
            items = []
        elif isinstance(batch, list):
            items = batch
        else:
            items = [batch]

    for item in items:
        if not isinstance(item, dict):
            raise GatewayRefusal(NOT_RUDDER_EVENT)
        if not identifiable(item):
            raise GatewayRefusal(NON_IDENTIFIABLE)

    if not items:
        raise GatewayRefusal(EMPTY_BATCH)
    return [_well_formed_value(item) for item in items]


def identifiable(event: Mapping[str, Any]) -> bool:
    """Whether the event has a ``userId`` or an ``anonymousId`` that is not blank."""
    return bool(_id_text(event.get("anonymousId")) or _id_text(event.get("userId")))


def _id_text(value: Any) -> str:
    """An identifier as the gateway turns it into text, trimmed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False).strip()


def enrich(event: dict[str, Any], received_at: datetime, request_ip: str) -> None:
    """The gateway's additions that a mapper can see, in place.

    ``messageId`` is trimmed, or a new UUID when it is missing, blank or not text;
    ``receivedAt`` (milliseconds, UTC) and ``request_ip`` are added when absent;
    ``originalTimestamp`` defaults to ``receivedAt``, as rudder-server's processor
    defaults it. ``context`` and everything else stay as sent.
    """
    message_id = event.get("messageId")
    message_id = message_id.strip() if isinstance(message_id, str) else ""
    event["messageId"] = message_id or str(uuid.uuid4())

    event.setdefault("receivedAt", rfc3339_milli(received_at))
    event.setdefault("request_ip", request_ip)
    event.setdefault("originalTimestamp", event["receivedAt"])


def rfc3339_milli(moment: datetime) -> str:
    """``2026-01-01T00:00:00.000Z``: Go's ``misc.RFC3339Milli`` in UTC."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ingest_events(
    events: list[dict[str, Any]], write_key: str, received_at: datetime
) -> list[dict[str, Any]]:
    """Maps a request's events, delivers what the mapper made of each into the mock
    and logs the outcomes; returns the ingest log entries, in order.

    A mapper that maps in batches (a transformer URL) is asked once for all the
    events; when it raises :class:`TransformerError`, every event is ``failed``
    with status :data:`TRANSFORMER_FAILED` and the error as the reason, in one
    WARNING line (any other error: status 500, logged with its traceback). Any
    other mapper maps each event on its own.
    """
    app = current_app
    mapper = get_mapper(app.extensions["refiner_profile"])
    if not maps_in_batches(mapper):
        return [ingest_event(event, write_key, received_at) for event in events]

    config = _destination_config(write_key)
    try:
        mapped = map_many(mapper, [(event, config) for event in events])
    except TransformerError as error:
        entries = _unmapped(
            events, write_key, received_at, TRANSFORMER_FAILED, str(error)
        )
        logger.warning(
            "%s from %s: not mapped: %d %s",
            _events_named(entries),
            write_key,
            TRANSFORMER_FAILED,
            error,
        )
        return entries
    except Exception as error:  # a broken mapper must not stop the request
        reason = f"Internal error: {type(error).__name__}"
        entries = _unmapped(events, write_key, received_at, 500, reason)
        logger.exception("%s from %s: not mapped", _events_named(entries), write_key)
        return entries

    return [
        ingest_event(event, write_key, received_at, outcome)
        for event, outcome in zip(events, mapped, strict=True)
    ]


def ingest_event(
    event: dict[str, Any],
    write_key: str,
    received_at: datetime,
    mapped: MappingOutcome | None = None,
) -> dict[str, Any]:
    """Delivers what the mapper made of one event into the mock and logs the
    outcome; returns the ingest log entry. ``mapped`` is the mapper's request or
    refusal when the event was mapped with others; without it the event is mapped
    here."""
    app = current_app
    mock: MockRefiner = app.extensions["mock_refiner"]
    outcome: dict[str, Any]

    try:
        if mapped is None:
            mapper = get_mapper(app.extensions["refiner_profile"])
            mapped = mapper(event, _destination_config(write_key))
        if isinstance(mapped, MappingError):
            raise mapped
        wire = to_wire(mapped.method, mapped.endpoint, mapped.headers, mapped.form)
    except MappingError as refusal:
        outcome = _outcome("refused", refusal.status, refusal.message)
    except TransformerError as error:
        outcome = _outcome("failed", TRANSFORMER_FAILED, str(error))
    except Exception as error:  # a broken event must not stop the request
        logger.exception("could not map or encode a %s event", event.get("type"))
        outcome = _outcome("failed", 500, f"Internal error: {type(error).__name__}")
    else:
        outcome = _deliver(mock, wire)

    entry = ingest_log(app).record(
        received_at=received_at, write_key=write_key, message=event, **outcome
    )
    _log_entry(entry)
    return entry


def _destination_config(write_key: str) -> dict[str, Any]:
    """The destination config of a write key's events: the key as Refiner's API key,
    unless the app's extra config names one."""
    return {"apiKey": write_key, **current_app.extensions[_CONFIG_KEY]}


def _unmapped(
    events: list[dict[str, Any]],
    write_key: str,
    received_at: datetime,
    status: int,
    reason: str,
) -> list[dict[str, Any]]:
    """Records every event of a request the mapper could not map as failed, with
    one status and reason; the caller logs them in one line."""
    log = ingest_log(current_app)
    return [
        log.record(
            received_at=received_at,
            write_key=write_key,
            message=event,
            **_outcome("failed", status, reason),
        )
        for event in events
    ]


def _deliver(mock: MockRefiner, wire: WireRequest) -> dict[str, Any]:
    """Sends a wire request to the mock, through its fault rules, as an outcome."""
    url = urlsplit(wire.url)
    try:
        reply = call_with_faults(
            mock,
            wire.method,
            url.path,
            url.query.encode("ascii"),
            wire.headers,
            wire.body,
            wait=False,
        )
    except DroppedConnection as dropped:
        reason = "connection dropped (injected fault)"
        return _outcome("failed", None, reason, dropped.call_id)
    except Exception as error:  # a failed save must not stop the request
        if isinstance(error, StateWriteError):
            logger.error("could not save a delivered event: %s", error)
        else:
            logger.exception("could not deliver a %s event", wire.method)
        reason = f"Internal error: {type(error).__name__}: {error}"
        return _outcome("failed", 500, reason)

    delivered = 200 <= reply.status < 300
    return _outcome(
        "delivered" if delivered else "failed",
        reply.status,
        None if delivered else _reply_text(reply.body),
        reply.call_id,
    )


def _outcome(
    outcome: str, status: int | None, reason: str | None, call_id: int | None = None
) -> dict[str, Any]:
    return {"outcome": outcome, "status": status, "reason": reason, "call_id": call_id}


def _reply_text(body: Any) -> str:
    """The text of a refusal from the mock: its ``error`` or ``message``, or the
    whole body as JSON (a fault rule's body can be any JSON value)."""
    if isinstance(body, Mapping):
        for key in ("error", "message"):
            if isinstance(body.get(key), str):
                return body[key]
    return json.dumps(body, ensure_ascii=False)


def _log_entry(entry: Mapping[str, Any]) -> None:
    kind = entry["type"] or "no type"
    summary = f"event {entry['id']} ({kind}) from {entry['write_key']}"
    if entry["outcome"] == "delivered":
        logger.info("%s: delivered as call %s", summary, entry["call_id"])
    elif entry["outcome"] == "refused":
        logger.warning(
            "%s: refused by the mapper: %s %s",
            summary,
            entry["status"],
            entry["reason"],
        )
    elif entry["call_id"] is None and entry["status"] is not None:
        logger.warning("%s: failed: %s %s", summary, entry["status"], entry["reason"])
    else:
        logger.warning(
            "%s: refused by Refiner: %s %s", summary, entry["status"], entry["reason"]
        )


def _events_named(entries: list[dict[str, Any]]) -> str:
    """``event 4``, ``events 4 to 6`` or ``events 4, 6``: the ids of log entries."""
    ids = [entry["id"] for entry in entries]
    if len(ids) == 1:
        return f"event {ids[0]}"
    if ids == list(range(ids[0], ids[0] + len(ids))):
        return f"events {ids[0]} to {ids[-1]}"
    return "events " + ", ".join(str(number) for number in ids)


def _gateway_error(refusal: GatewayRefusal) -> Response:
    """Go's ``http.Error``: the text and a newline, no sniffing."""
    response = Response(
        refusal.message + "\n", status=refusal.status, content_type=TEXT_PLAIN
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _well_formed_value(value: Any) -> Any:
    """A JSON value with every string made valid Unicode, as Go's encoder stores it."""
    if isinstance(value, str):
        return well_formed(value)
    if isinstance(value, dict):
        return {
            well_formed(key): _well_formed_value(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_well_formed_value(item) for item in value]
    return value
