"""The demo server's RudderStack data plane, over a real loopback server."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from flask import Flask

from harness.data_plane import (
    INGEST_LIMIT,
    MAX_BODY_BYTES,
    IngestLog,
    ingest_log,
    rfc3339_milli,
)
from harness.fixtures import LiveServer
from harness.runner import REPLAY_START, replay_settings
from harness.server import create_server_app
from harness.transformer import TransformerMapper, configure
from mock_refiner import Settings
from mock_refiner.persistence import StateFile
from tests.conftest import SDK_BATCHES
from tests.harness.test_serve import start_serve
from tests.harness.transformer_fake import (
    ProfileTransformer,
    Recorder,
    answering,
    serving,
)

WRITE_KEY = "wk-test-0001"
TEXT = "text/plain; charset=utf-8"
EVENT_KEYS = [
    "id",
    "received_at",
    "write_key",
    "type",
    "message",
    "outcome",
    "status",
    "reason",
    "call_id",
]
NO_WRITE_KEY = (401, "failed to read writekey from header\n")
INVALID_JSON = (400, "invalid json\n")
EMPTY_BATCH = (400, "empty batch payload\n")
NOT_AN_EVENT = (400, "event is not a valid rudder event\n")
NO_IDENTITY = (400, "request neither has anonymousId nor userId\n")
TOO_LARGE = (413, "request size exceeds max limit\n")
UNREADABLE = (500, "failed to read body from request\n")
NOT_SUPPORTED = 'Event type "{}" is not supported'
IDENTITY_REQUIRED = "At least one of `userId` or `email` is required"


def uuid_n(number: int) -> str:
    """The `number`-th id of a fresh `SequentialIds()`."""
    return f"00000000-0000-4000-8000-{number:012x}"


def time_n(seconds: int) -> str:
    """The replay clock's reading number `seconds`, as the mock writes times."""
    return f"2026-01-01T00:00:{seconds:02d}.000000Z"


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Plane:
    """A test's own server app on the live server, and a client for it."""

    app: Flask
    http: httpx.Client

    def post(
        self,
        path: str = "batch",
        document: Any = None,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POSTs to the data plane, as JSON with the test write key by default."""
        if content is None:
            content = json.dumps(document).encode()
        sent = {"Authorization": basic(WRITE_KEY), "Content-Type": "application/json"}
        sent.update(headers or {})
        return self.http.post(f"/rudderstack/v1/{path}", content=content, headers=sent)

    def ingested(self) -> dict[str, Any]:
        response = self.http.get("/__mock/ingest")
        assert response.status_code == 200
        return response.json()

    def outcomes(self) -> list[tuple[Any, ...]]:
        return [
            (event["type"], event["outcome"], event["status"], event["reason"])
            for event in self.ingested()["events"]
        ]

    def environment(self, api_key: str = WRITE_KEY) -> dict[str, Any]:
        return self.http.get("/__mock/state", params={"api_key": api_key}).json()

    def everything(self) -> tuple[Any, ...]:
        """State, journal and ingest log, to show that nothing changed."""
        return (
            self.http.get("/__mock/state").json(),
            self.http.get("/__mock/calls").json(),
            self.ingested(),
        )


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    with LiveServer(create_server_app()) as server:
        yield server


@pytest.fixture
def serve(live_server: LiveServer) -> Iterator[Callable[..., Plane]]:
    """Serves a fresh `create_server_app` with replay settings; options pass on."""
    with httpx.Client(base_url=live_server.url, trust_env=False, timeout=30) as http:

        def start(settings: Settings | None = None, **options: Any) -> Plane:
            app = create_server_app(settings or replay_settings(), **options)
            live_server.serve(app)
            return Plane(app, http)

        yield start


@pytest.fixture
def plane(serve: Callable[..., Plane]) -> Plane:
    return serve()


def assert_gateway_reply(response: httpx.Response, expected: tuple[int, str]) -> None:
    assert (response.status_code, response.text) == expected
    assert response.headers["Content-Type"] == TEXT
    if expected[0] != 200:
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def assert_still_serving(plane: Plane) -> None:
    """A good request after a refused one is ingested."""
    before = len(plane.ingested()["events"])
    reply = plane.post(document={"batch": [{"type": "track", "userId": "u-after"}]})
    assert_gateway_reply(reply, (200, "ok"))
    assert len(plane.ingested()["events"]) == before + 1


IDENTIFY = {
    "userId": "user-1",
    "context": {"traits": {"email": "ada@example.test", "plan": "pro", "logins": 3}},
}
TRACK = {"userId": "user-1", "event": "Report Exported", "properties": {"rows": 12}}
PAGE = {"userId": "user-1", "category": "Docs", "name": "Start"}
GROUP = {"userId": "user-1", "groupId": "acct-1", "traits": {"name": "Acme"}}
SCREEN = {"userId": "user-1", "name": "Billing"}
ALIAS = {"userId": "user-1", "previousId": "anon-1"}

ADA = {
    "uuid": uuid_n(1),
    "remote_id": None,
    "email": "ada@example.test",
    "display_name": None,
    "first_seen_at": time_n(0),
    "last_seen_at": time_n(0),
    "last_tracking_event_at": None,
    "attributes": {"logins": 3, "plan": "pro", "userId": "user-1"},
    "segments": [],
    "account": None,
}
USER_1 = {
    "uuid": uuid_n(1),
    "remote_id": "user-1",
    "email": None,
    "display_name": None,
    "first_seen_at": time_n(0),
    "last_seen_at": time_n(0),
    "last_tracking_event_at": None,
    "attributes": {},
    "segments": [],
    "account": None,
}
ACME = {
    "uuid": uuid_n(2),
    "remote_id": "acct-1",
    "display_name": "Acme",
    "domain": None,
    "first_seen_at": time_n(0),
    "last_seen_at": time_n(0),
    "attributes": {"name": "Acme"},
}


def event_n(number: int, name: str, contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": uuid_n(number),
        "name": name,
        "received_at": time_n(0),
        "path": "/v1/track",
        "contact": {"uuid": contact["uuid"], "remote_id": "user-1", "email": None},
    }


@pytest.mark.parametrize(
    ("path", "body", "outcome", "sections"),
    [
        ("identify", IDENTIFY, ("delivered", 200, None), {"contacts": [ADA]}),
        (
            "track",
            TRACK,
            ("delivered", 200, None),
            {
                "contacts": [
                    {**USER_1, "last_tracking_event_at": time_n(0)},
                ],
                "events": [event_n(2, "Report Exported", USER_1)],
            },
        ),
        (
            "page",
            PAGE,
            ("delivered", 200, None),
            {
                "contacts": [{**USER_1, "last_tracking_event_at": time_n(0)}],
                "events": [event_n(2, "Viewed Docs Start Page", USER_1)],
            },
        ),
        (
            "group",
            GROUP,
            ("delivered", 200, None),
            {
                "contacts": [{**USER_1, "account": ACME}],
                "accounts": [{**ACME, "contacts": ["user-1"]}],
            },
        ),
        ("screen", SCREEN, ("refused", 400, NOT_SUPPORTED.format("screen")), {}),
        ("alias", ALIAS, ("refused", 400, NOT_SUPPORTED.format("alias")), {}),
    ],
)
def test_each_single_event_path_ingests_one_event_of_its_type(
    plane, path, body, outcome, sections
):
    reply = plane.post(path, {**body, "type": "something else"})

    assert_gateway_reply(reply, (200, "ok"))
    [event] = plane.ingested()["events"]
    assert event["type"] == path
    assert event["message"]["type"] == path
    assert (event["outcome"], event["status"], event["reason"]) == outcome
    assert (event["call_id"] is None) == (outcome[0] == "refused")
    environment = plane.environment()
    for name in ("contacts", "accounts", "events"):
        assert environment[name] == sections.get(name, []), name


def test_a_batch_ingests_every_event_in_order(plane):
    batch = [
        {**IDENTIFY, "type": "identify"},
        {**TRACK, "type": "track"},
        {**PAGE, "type": "page"},
        {**GROUP, "type": "group"},
        {**SCREEN, "type": "screen"},
        {**ALIAS, "type": "alias"},
        {"anonymousId": "anon-2", "type": "track", "event": "Signed Up"},
        {"userId": "user-1"},
    ]

    reply = plane.post(document={"batch": batch, "sentAt": "2026-01-01T00:00:00Z"})

    assert_gateway_reply(reply, (200, "ok"))
    assert plane.outcomes() == [
        ("identify", "delivered", 200, None),
        ("track", "delivered", 200, None),
        ("page", "delivered", 200, None),
        ("group", "delivered", 200, None),
        ("screen", "refused", 400, NOT_SUPPORTED.format("screen")),
        ("alias", "refused", 400, NOT_SUPPORTED.format("alias")),
        ("track", "refused", 400, IDENTITY_REQUIRED),
        (None, "refused", 400, "Event type is required"),
    ]
    calls = plane.http.get("/__mock/calls").json()["calls"]
    ingested = plane.ingested()["events"]
    assert [event["call_id"] for event in ingested] == [1, 2, 3, 4] + [None] * 4
    assert [(call["id"], call["path"]) for call in calls] == [
        (1, "/v1/identify-user"),
        (2, "/v1/track"),
        (3, "/v1/track"),
        (4, "/v1/identify-user"),
    ]
    environment = plane.environment()
    assert [c["remote_id"] for c in environment["contacts"]] == [None, "user-1"]
    assert [e["name"] for e in environment["events"]] == [
        "Report Exported",
        "Viewed Docs Start Page",
    ]
    assert [a["remote_id"] for a in environment["accounts"]] == ["acct-1"]


def test_the_ingest_log_shows_each_event_as_the_gateway_enriched_it(plane):
    batch = [
        {"type": "track", "userId": "u1", "event": "A", "messageId": "  m-1  "},
        {
            "type": "track",
            "userId": "u1",
            "event": "B",
            "messageId": 7,
            "receivedAt": "kept",
            "originalTimestamp": "2025-12-31T23:59:59.123Z",
            "request_ip": "10.1.2.3",
            "context": {"library": {"name": "x"}},
        },
    ]

    before = datetime.now(UTC)
    plane.post(document={"batch": batch})
    after = datetime.now(UTC)

    log = plane.ingested()
    assert list(log) == ["events", "dropped"]
    assert log["dropped"] == 0
    first, second = log["events"]
    assert list(first) == EVENT_KEYS
    assert first["id"] == 1 and second["id"] == 2
    received_at = first["received_at"]
    assert second["received_at"] == received_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", received_at)
    moment = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    assert before <= moment <= after
    assert first["write_key"] == WRITE_KEY
    assert first["message"] == {
        "type": "track",
        "userId": "u1",
        "event": "A",
        "messageId": "m-1",
        "receivedAt": rfc3339_milli(moment),
        "request_ip": "127.0.0.1",
        "originalTimestamp": rfc3339_milli(moment),
    }
    message = second["message"]
    assert len(message["messageId"]) == 36 and message["messageId"].count("-") == 4
    assert {key: message[key] for key in ("receivedAt", "request_ip", "context")} == {
        "receivedAt": "kept",
        "request_ip": "10.1.2.3",
        "context": {"library": {"name": "x"}},
    }
    assert message["originalTimestamp"] == "2025-12-31T23:59:59.123Z"
    assert (first["call_id"], second["call_id"]) == (1, 2)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer wk-test-0001",
        "Basic",
        "Basic !!!!",
        "Basic d2stdGVzdA",  # "wk-test" without padding
        "Basic " + base64.b64encode(b"wk-test-0001").decode(),  # no colon
        "Basic " + base64.b64encode(b":secret").decode(),  # empty user
        "Basicd2s6",
    ],
)
def test_a_missing_or_malformed_write_key_is_refused_with_401(plane, authorization):
    before = plane.everything()
    headers = {"Authorization": authorization} if authorization is not None else {}
    content = json.dumps({"batch": [{"type": "track", "userId": "u"}]}).encode()

    if authorization is None:
        reply = plane.http.post(
            "/rudderstack/v1/batch",
            content=content,
            headers={"Content-Type": "application/json"},
        )
    else:
        reply = plane.post(content=content, headers=headers)

    assert_gateway_reply(reply, NO_WRITE_KEY)
    assert plane.everything() == before
    assert_still_serving(plane)


def test_a_write_key_that_is_not_utf8_is_an_invalid_write_key(plane):
    authorization = "Basic " + base64.b64encode(b"\xffkey:").decode()

    reply = plane.post(document={"batch": []}, headers={"Authorization": authorization})

    assert_gateway_reply(reply, (401, "invalid write key\n"))


@pytest.mark.parametrize(
    "authorization",
    [basic(WRITE_KEY, "any password"), "basic " + basic(WRITE_KEY)[6:]],
)
def test_the_password_is_ignored_and_the_scheme_is_case_insensitive(
    plane, authorization
):
    reply = plane.post(
        document={"batch": [{"type": "track", "userId": "u", "event": "E"}]},
        headers={"Authorization": authorization},
    )

    assert_gateway_reply(reply, (200, "ok"))
    assert plane.ingested()["events"][0]["write_key"] == WRITE_KEY


def test_each_write_key_is_its_own_refiner_environment(plane):
    for key in ("wk-first", "wk-second"):
        plane.post(
            "track",
            {"userId": f"user-of-{key}", "event": "E"},
            headers={"Authorization": basic(key)},
        )

    for key in ("wk-first", "wk-second"):
        contacts = plane.environment(key)["contacts"]
        assert [c["remote_id"] for c in contacts] == [f"user-of-{key}"]


GOOD_BATCH = {"batch": [{"type": "track", "userId": "u1", "event": "Zipped"}]}


def test_a_gzip_body_is_unpacked(plane):
    reply = plane.post(
        content=gzip.compress(json.dumps(GOOD_BATCH).encode()),
        headers={"Content-Encoding": "gzip"},
    )

    assert_gateway_reply(reply, (200, "ok"))
    assert plane.outcomes() == [("track", "delivered", 200, None)]
    assert [e["name"] for e in plane.environment()["events"]] == ["Zipped"]


def test_gzip_members_one_after_another_are_one_body(plane):
    text = json.dumps(GOOD_BATCH).encode()
    content = gzip.compress(text[:10]) + gzip.compress(text[10:])

    reply = plane.post(content=content, headers={"Content-Encoding": "gzip"})

    assert_gateway_reply(reply, (200, "ok"))
    assert plane.outcomes() == [("track", "delivered", 200, None)]


ZIPPED = gzip.compress(json.dumps(GOOD_BATCH).encode(), mtime=0)
"""A fixed gzip stream: with the time of day in its header, test ids would differ
between the workers that collect them."""


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        (ZIPPED[:-6], "gzip", UNREADABLE),  # truncated
        (ZIPPED[:-8] + b"\0\0\0\0" + ZIPPED[-4:], "gzip", UNREADABLE),  # bad CRC
        (ZIPPED + b"garbage!!!", "gzip", UNREADABLE),
        (b"\x1f\x8b\x08\x00garbage", "gzip", UNREADABLE),
        (json.dumps(GOOD_BATCH).encode(), "gzip", UNREADABLE),
        (b"", "gzip", INVALID_JSON),
        (ZIPPED, None, INVALID_JSON),
        (ZIPPED, "GZIP", INVALID_JSON),
        (ZIPPED, "gzip, identity", INVALID_JSON),
    ],
    ids=[
        "truncated",
        "bad-crc",
        "trailing-garbage",
        "garbage-after-header",
        "not-gzip",
        "empty",
        "gzip-without-encoding",
        "upper-case-encoding",
        "encoding-list",
    ],
)
def test_a_broken_gzip_body_is_refused_and_changes_nothing(
    plane, content, encoding, expected
):
    before = plane.everything()
    headers = {"Content-Encoding": encoding} if encoding else {}

    reply = plane.post(content=content, headers=headers)

    assert_gateway_reply(reply, expected)
    assert plane.everything() == before
    assert_still_serving(plane)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_the_body_is_json_whatever_its_content_type(plane, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    content = json.dumps(GOOD_BATCH).encode()
    if content_type is None:
        reply = plane.http.post(
            "/rudderstack/v1/batch",
            content=content,
            headers={"Authorization": basic(WRITE_KEY)},
        )
    else:
        reply = plane.post(content=content, headers=headers)

    assert_gateway_reply(reply, (200, "ok"))
    assert plane.outcomes() == [("track", "delivered", 200, None)]


@pytest.mark.parametrize(
    ("path", "content", "expected"),
    [
        ("batch", b"", INVALID_JSON),
        ("batch", b"{", INVALID_JSON),
        ("batch", b"batch=1", INVALID_JSON),
        ("batch", b'{"batch": [{"userId": NaN}]}', INVALID_JSON),
        ("batch", b'{"batch": [{"userId": 1e400}]}', INVALID_JSON),
        ("batch", b"\xef\xbb\xbf{}", INVALID_JSON),
        ("batch", b"[" * 200 + b"]" * 200, INVALID_JSON),
        ("batch", b"{}", EMPTY_BATCH),
        ("batch", b"[]", EMPTY_BATCH),
        ("batch", b'"text"', EMPTY_BATCH),
        ("batch", b'{"batch": []}', EMPTY_BATCH),
        ("batch", b'{"batch": null}', EMPTY_BATCH),
        ("batch", b'{"batch": "not a list"}', NOT_AN_EVENT),
        ("batch", b'{"batch": 7}', NOT_AN_EVENT),
        ("batch", b'{"batch": [{"userId": "u"}, 1]}', NOT_AN_EVENT),
        ("batch", b'{"batch": [[]]}', NOT_AN_EVENT),
        ("batch", b'{"batch": {}}', NO_IDENTITY),
        ("batch", b'{"batch": [{"type": "track", "event": "E"}]}', NO_IDENTITY),
        ("batch", b'{"batch": [{"userId": "u"}, {"userId": " "}]}', NO_IDENTITY),
        ("batch", b'{"batch": [{"userId": null, "anonymousId": ""}]}', NO_IDENTITY),
        ("track", b"[]", NOT_AN_EVENT),
        ("track", b'"text"', NOT_AN_EVENT),
        ("track", b"null", NOT_AN_EVENT),
        ("track", b'{"event": "E"}', NO_IDENTITY),
        ("identify", b"", INVALID_JSON),
    ],
)
def test_a_bad_body_is_refused_whole_and_changes_nothing(
    plane, path, content, expected
):
    before = plane.everything()

    reply = plane.post(path, content=content)

    assert_gateway_reply(reply, expected)
    assert plane.everything() == before
    assert_still_serving(plane)


@pytest.mark.parametrize(
    ("batch", "user"),
    [
        ({"type": "track", "userId": "u-object", "event": "E"}, "u-object"),
        ([{"type": "track", "userId": 0, "event": "E"}], None),
        ([{"type": "track", "userId": False, "anonymousId": None, "event": "E"}], None),
    ],
)
def test_batch_items_are_read_as_the_gateway_reads_them(plane, batch, user):
    """An object as `batch` is one event; a user id of 0 or false identifies."""
    reply = plane.post(document={"batch": batch})

    assert_gateway_reply(reply, (200, "ok"))
    [event] = plane.ingested()["events"]
    if user is None:
        assert event["outcome"] == "refused"
        assert event["reason"] == IDENTITY_REQUIRED
    else:
        assert event["outcome"] == "delivered"
        assert [c["remote_id"] for c in plane.environment()["contacts"]] == [user]


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 3 * MAX_BODY_BYTES])
def test_a_body_over_the_limit_is_refused_with_413(plane, size):
    padding = " " * (size - len(json.dumps(GOOD_BATCH)))
    content = (json.dumps(GOOD_BATCH) + padding).encode()
    before = plane.everything()

    reply = plane.post(content=content)

    assert_gateway_reply(reply, TOO_LARGE)
    assert plane.everything() == before
    assert_still_serving(plane)


def test_a_body_at_the_limit_is_accepted(plane):
    padding = " " * (MAX_BODY_BYTES - len(json.dumps(GOOD_BATCH)))

    reply = plane.post(content=(json.dumps(GOOD_BATCH) + padding).encode())

    assert_gateway_reply(reply, (200, "ok"))


def test_a_gzip_body_that_unpacks_past_the_limit_is_refused_with_413(plane):
    padding = b" " * (MAX_BODY_BYTES + 1 - len(json.dumps(GOOD_BATCH)))
    content = gzip.compress(json.dumps(GOOD_BATCH).encode() + padding)
    assert len(content) < 10_000
    before = plane.everything()

    reply = plane.post(content=content, headers={"Content-Encoding": "gzip"})

    assert_gateway_reply(reply, TOO_LARGE)
    assert plane.everything() == before
    assert_still_serving(plane)


def test_the_limit_is_a_setting_of_the_app(plane):
    plane.app.config["DATA_PLANE_MAX_BODY_BYTES"] = 100
    text = json.dumps(GOOD_BATCH).encode()

    fits = plane.post(content=text + b" " * (100 - len(text)))
    over = plane.post(content=text + b" " * (101 - len(text)))

    assert_gateway_reply(fits, (200, "ok"))
    assert_gateway_reply(over, TOO_LARGE)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_not_allowed(plane, method):
    reply = plane.http.request(method, "/rudderstack/v1/batch")

    assert reply.status_code == 405
    assert reply.json() == {"error": "Method not allowed"}


def test_an_unknown_call_type_is_not_found(plane):
    reply = plane.post("merge", {"userId": "u"})

    assert reply.status_code == 404
    assert plane.ingested()["events"] == []


def test_browsers_may_send_from_any_origin(plane):
    preflight = plane.http.options(
        "/rudderstack/v1/batch",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    reply = plane.post(document=GOOD_BATCH, headers={"Origin": "http://localhost:3000"})

    assert preflight.status_code == 204
    assert {
        name: preflight.headers.get(name)
        for name in (
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Max-Age",
        )
    } == {
        "Access-Control-Allow-Origin": "http://localhost:3000",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "authorization,content-type",
        "Access-Control-Max-Age": "900",
    }
    assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert reply.headers["Vary"] == "Origin"


def test_refiner_refusing_an_event_is_a_failed_outcome_with_its_reply(serve):
    plane = serve(Settings(api_keys=frozenset({"rf-known-key"})))

    plane.post("track", {"userId": "u", "event": "E"})
    plane.post(
        "track", {"userId": "u", "event": "E"}, headers={"Authorization": basic("wk")}
    )

    events = plane.ingested()["events"]
    assert [(e["outcome"], e["status"], e["reason"], e["call_id"]) for e in events] == [
        ("failed", 404, "API key not valid or does not exist", 1),
        ("failed", 401, "No API key found in headers", 2),
    ]
    calls = plane.http.get("/__mock/calls").json()["calls"]
    assert [(c["id"], c["status"]) for c in calls] == [(1, 404), (2, 401)]


def test_deliveries_meet_the_fault_rules_of_their_refiner_path(plane):
    for rule in (
        {"path": "/v1/track", "status": 503, "times": 1},
        {"path": "/v1/track", "status": 429, "retry_after": 7, "times": 1},
        {"path": "/v1/track", "drop": True, "times": 1},
        {"path": "/v1/track", "delay_ms": 1, "times": 1},
    ):
        assert plane.http.post("/__mock/faults", json=rule).status_code == 201

    for number in range(5):
        reply = plane.post("track", {"userId": "u", "event": f"E{number}"})
        assert (reply.status_code, reply.text) == (200, "ok")

    events = plane.ingested()["events"]
    assert [(e["outcome"], e["status"], e["reason"], e["call_id"]) for e in events] == [
        ("failed", 503, "Injected fault: 503 Service Unavailable", 1),
        ("failed", 429, "Injected fault: 429 Too Many Requests", 2),
        ("failed", None, "connection dropped (injected fault)", 3),
        ("delivered", 200, None, 4),
        ("delivered", 200, None, 5),
    ]
    calls = plane.http.get("/__mock/calls").json()["calls"]
    assert [(c["id"], c["status"], c["notes"]) for c in calls] == [
        (1, 503, ["injected fault: status 503 (rule 1)"]),
        (2, 429, ["injected fault: status 429, Retry-After 7 (rule 2)"]),
        (3, None, ["injected fault: drop connection (rule 3)"]),
        (4, 200, ["injected fault: delay 1 ms (rule 4), not waited by the data plane"]),
        (5, 200, []),
    ]
    names = [event["name"] for event in plane.environment()["events"]]
    assert names == ["E3", "E4"]


def test_a_delay_on_refiner_does_not_hold_up_the_sdk(plane):
    rule = {"path": "/v1/*", "delay_ms": 60_000, "status": 503}
    assert plane.http.post("/__mock/faults", json=rule).status_code == 201

    reply = plane.post("batch", {"batch": [{**TRACK, "type": "track"}] * 3})

    assert (reply.status_code, reply.text) == (200, "ok")
    assert (
        plane.outcomes()
        == [("track", "failed", 503, "Injected fault: 503 Service Unavailable")] * 3
    )
    notes = [call["notes"] for call in plane.http.get("/__mock/calls").json()["calls"]]
    assert (
        notes
        == [
            [
                "injected fault: delay 60000 ms, then status 503 (rule 1), "
                "not waited by the data plane"
            ]
        ]
        * 3
    )


@pytest.mark.parametrize(
    ("body", "reason"), [("down", '"down"'), ([1, None], "[1, null]"), (5, "5")]
)
def test_a_fault_body_that_is_not_an_object_is_the_reason_as_json(plane, body, reason):
    rule = {"path": "/v1/track", "status": 503, "body": body}
    assert plane.http.post("/__mock/faults", json=rule).status_code == 201

    plane.post("track", TRACK)

    assert plane.outcomes() == [("track", "failed", 503, reason)]


def test_an_event_whose_save_fails_is_failed_and_the_rest_go_on(
    serve, tmp_path, monkeypatch
):
    plane = serve(state_file=tmp_path / "state.sqlite")
    write_calls = StateFile._write_calls

    def fail(state_file: StateFile, calls: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    plane.post("track", {"userId": "u", "event": "E0"})
    monkeypatch.setattr(StateFile, "_write_calls", fail)
    refused = plane.post("track", {"userId": "u", "event": "E1"})
    monkeypatch.setattr(StateFile, "_write_calls", write_calls)
    plane.post("track", {"userId": "u", "event": "E2"})

    assert (refused.status_code, refused.text) == (200, "ok")
    events = plane.ingested()["events"]
    assert [(e["outcome"], e["status"], e["call_id"]) for e in events] == [
        ("delivered", 200, 1),
        ("failed", 500, None),
        ("delivered", 200, 2),
    ]
    assert events[1]["reason"].startswith("Internal error: StateWriteError: ")
    assert [e["name"] for e in plane.environment()["events"]] == ["E0", "E2"]
    plane.app.extensions["mock_refiner"].close()


def test_the_documented_profile_maps_the_events(serve):
    plane = serve(profile="documented")

    plane.post("identify", IDENTIFY)
    plane.post("group", {**GROUP, "context": {"traits": {"email": "ada@example.test"}}})

    assert plane.app.extensions["refiner_profile"] == "documented"
    [contact] = plane.environment()["contacts"]
    assert (contact["remote_id"], contact["email"], contact["attributes"]) == (
        "user-1",
        "ada@example.test",
        {"logins": 3, "plan": "pro"},
    )
    assert contact["account"]["remote_id"] == "acct-1"


def test_destination_config_reaches_the_mapper(serve):
    plane = serve(
        destination_config={
            "userAttributesMapping": [{"from": "plan", "to": "tier"}],
        }
    )

    plane.post("identify", IDENTIFY)

    [contact] = plane.environment()["contacts"]
    assert contact["attributes"] == {"logins": 3, "tier": "pro", "userId": "user-1"}


def test_an_api_key_in_destination_config_sends_every_write_key_to_it(serve):
    plane = serve(destination_config={"apiKey": "rf-one-environment"})

    for key in ("wk-first", "wk-second"):
        plane.post("track", TRACK, headers={"Authorization": basic(key)})

    environments = plane.http.get("/__mock/state").json()["environments"]
    assert [env["api_key"] for env in environments] == ["rf-one-environment"]
    assert len(environments[0]["events"]) == 2
    assert [e["write_key"] for e in plane.ingested()["events"]] == [
        "wk-first",
        "wk-second",
    ]


@pytest.mark.parametrize(
    ("config", "error"),
    [
        (["apiKey"], TypeError),
        ({"threshold": float("nan")}, ValueError),
        ({"when": object()}, ValueError),
    ],
)
def test_destination_config_must_be_a_json_mapping(config, error):
    with pytest.raises(error, match="destination_config must be"):
        create_server_app(destination_config=config)


def test_the_ingest_log_keeps_the_newest_events_and_counts_the_rest(serve):
    settings = replay_settings()
    settings.journal_limit = 3  # the limit the journal shares, where it has one
    plane = serve(settings)

    for number in range(5):
        plane.post("track", {"userId": "u", "event": f"E{number}"})

    log = plane.ingested()
    assert [e["id"] for e in log["events"]] == [3, 4, 5]
    assert [e["message"]["event"] for e in log["events"]] == ["E2", "E3", "E4"]
    assert log["dropped"] == 2


def test_the_ingest_log_holds_ten_thousand_events_by_default(plane):
    assert INGEST_LIMIT == 10_000
    default = getattr(Settings(), "journal_limit", None) or INGEST_LIMIT
    assert ingest_log(plane.app).limit == default


def test_delete_clears_the_ingest_log_and_only_it(plane):
    plane.post("track", TRACK)
    plane.post("track", TRACK)

    cleared = plane.http.delete("/__mock/ingest")
    plane.post("screen", SCREEN)

    assert cleared.json() == {"message": "ok", "cleared": 2}
    log = plane.ingested()
    assert [(e["id"], e["type"]) for e in log["events"]] == [(1, "screen")]
    assert log["dropped"] == 0
    assert len(plane.environment()["events"]) == 2


def test_reset_clears_the_ingest_log_with_the_journal(plane):
    plane.post("track", TRACK)

    kept = plane.http.post("/__mock/reset", params={"what": "state"})
    assert kept.status_code == 200
    assert [e["id"] for e in plane.ingested()["events"]] == [1]

    cleared = plane.http.post("/__mock/reset")
    assert cleared.status_code == 200
    assert plane.ingested() == {"events": [], "dropped": 0}

    plane.post("track", TRACK)
    assert [e["id"] for e in plane.ingested()["events"]] == [1]


def test_reset_of_the_calls_alone_clears_the_ingest_log(plane):
    plane.post("track", TRACK)

    plane.http.post("/__mock/reset", params={"what": "calls"})

    assert plane.ingested() == {"events": [], "dropped": 0}
    assert len(plane.environment()["events"]) == 1


def test_the_ingest_log_refuses_a_limit_below_one():
    with pytest.raises(ValueError, match="at least 1, not 0"):
        IngestLog(0)


def test_requests_from_many_threads_are_each_ingested_once(plane):
    failures: list[Any] = []

    def send(thread: int) -> None:
        with httpx.Client(base_url=str(plane.http.base_url), trust_env=False) as http:
            for number in range(10):
                reply = http.post(
                    "/rudderstack/v1/track",
                    json={"userId": f"u{thread}", "event": f"E{number}"},
                    headers={"Authorization": basic(WRITE_KEY)},
                )
                if reply.status_code != 200:
                    failures.append(reply)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    events = plane.ingested()["events"]
    assert sorted(e["id"] for e in events) == list(range(1, 61))
    assert sorted(e["call_id"] for e in events) == list(range(1, 61))
    assert len(plane.environment()["events"]) == 60


def test_each_event_is_logged_once_refusals_as_warnings(plane, caplog):
    caplog.set_level(logging.INFO, logger="harness.data_plane")

    plane.post(document={"batch": [{**TRACK, "type": "track"}, {**SCREEN}]})
    plane.post(content=b"{")

    lines = [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "harness.data_plane"
    ]
    assert lines == [
        ("INFO", f"event 1 (track) from {WRITE_KEY}: delivered as call 1"),
        (
            "WARNING",
            f"event 2 (no type) from {WRITE_KEY}: refused by the mapper: "
            "400 Event type is required",
        ),
        ("WARNING", "data plane refused POST /rudderstack/v1/batch: 400 invalid json"),
    ]


def test_times_are_written_as_rudder_server_writes_them():
    assert rfc3339_milli(REPLAY_START) == "2026-01-01T00:00:00.000Z"
    assert rfc3339_milli(datetime(2026, 5, 6, 7, 8, 9, 999999)) == (
        "2026-05-06T07:08:09.999Z"
    )


def sdk_requests() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in SDK_BATCHES.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def replay_sdk_requests(plane: Plane) -> None:
    """Sends every captured SDK request with its own headers, gzipped again."""
    kept = ("content-type", "content-encoding", "authorization", "user-agent")
    for captured in sdk_requests():
        headers = {
            name: value
            for name, value in captured["headers"].items()
            if name.lower() in kept
        }
        content = json.dumps(captured["body"]).encode()
        if headers.get("Content-Encoding") == "gzip":
            content = gzip.compress(content)

        reply = plane.http.post(
            f"/rudderstack{captured['path']}", content=content, headers=headers
        )
        assert_gateway_reply(reply, (200, "ok"))


def test_the_captured_sdk_requests_are_what_the_fixture_says():
    captured = sdk_requests()

    assert len(captured) == 12
    assert {c["headers"]["Content-Type"] for c in captured} == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert {c["headers"]["Content-Encoding"] for c in captured} == {"gzip"}


SDK_OUTCOMES = {
    "rudderstack": [
        ("identify", "delivered", 200, None),
        ("track", "delivered", 200, None),
        ("page", "delivered", 200, None),
        ("group", "delivered", 200, None),
        ("screen", "refused", 400, NOT_SUPPORTED.format("screen")),
        ("alias", "refused", 400, NOT_SUPPORTED.format("alias")),
        ("track", "refused", 400, IDENTITY_REQUIRED),
        ("identify", "delivered", 200, None),
        ("track", "delivered", 200, None),
        ("page", "delivered", 200, None),
        ("group", "delivered", 200, None),
        ("page", "refused", 400, IDENTITY_REQUIRED),
    ],
}
SDK_OUTCOMES["documented"] = SDK_OUTCOMES["rudderstack"]

SDK_CONTACTS = {
    "rudderstack": {
        "wk-test": [
            (
                None,
                "river@example.test",
                {
                    "address": "map[city:Lisbon country:PT]",
                    "created_at": "2026-03-01T10:00:00.000000Z",
                    "firstName": "River",
                    "logins": 12,
                    "plan": "growth",
                    "userId": "user-1001",
                },
                None,
            ),
            ("user-1001", None, {}, "acct-77"),
        ],
        "wk-node": [
            (
                None,
                "sky@example.test",
                {
                    "name": "Sky Doe",
                    "seats": 3,
                    "trial_end_date": "2026-12-31T00:00:00.000000Z",
                    "userId": "user-3003",
                },
                None,
            ),
            ("user-3003", None, {}, "acct-9"),
        ],
    },
    "documented": {
        "wk-test": [
            (
                "user-1001",
                "river@example.test",
                {
                    "address": "map[city:Lisbon country:PT]",
                    "created_at": "2026-03-01T10:00:00.000000Z",
                    "firstName": "River",
                    "logins": 12,
                    "plan": "growth",
                },
                "acct-77",
            ),
        ],
        "wk-node": [
            (
                "user-3003",
                "sky@example.test",
                {
                    "name": "Sky Doe",
                    "seats": 3,
                    "trial_end_date": "2026-12-31T00:00:00.000000Z",
                },
                "acct-9",
            ),
        ],
    },
}
SDK_EVENTS = {
    "rudderstack": {
        "wk-test": ["Report Exported", "Viewed Docs Getting Started Page"],
        "wk-node": ["Invite Sent", "Viewed Settings Team Page"],
    },
    "documented": {
        "wk-test": ["Report Exported", "Getting Started"],
        "wk-node": ["Invite Sent", "Team"],
    },
}
SDK_ACCOUNTS = {
    "wk-test": [
        (
            "acct-77",
            "Northwind Labs",
            {
                "email": "billing@northwind.example.test",
                "employees": 45,
                "name": "Northwind Labs",
                "plan": "enterprise",
            },
        )
    ],
    "wk-node": [
        (
            "acct-9",
            "Blue Yonder",
            {"employees": "1.2e+06", "industry": "Logistics", "name": "Blue Yonder"},
        )
    ],
}


@pytest.mark.parametrize("profile", ["rudderstack", "documented"])
def test_the_captured_sdk_requests_reach_refiner_as_the_profile_maps_them(
    serve, profile
):
    plane = serve(profile=profile)

    replay_sdk_requests(plane)

    assert plane.outcomes() == SDK_OUTCOMES[profile]
    assert [e["write_key"] for e in plane.ingested()["events"]] == ["wk-test"] * 7 + [
        "wk-node"
    ] * 5
    for key in ("wk-test", "wk-node"):
        environment = plane.environment(key)
        contacts = [
            (
                c["remote_id"],
                c["email"],
                c["attributes"],
                c["account"] and c["account"]["remote_id"],
            )
            for c in environment["contacts"]
        ]
        assert contacts == SDK_CONTACTS[profile][key], key
        assert [e["name"] for e in environment["events"]] == SDK_EVENTS[profile][key]
        accounts = [
            (a["remote_id"], a["display_name"], a["attributes"])
            for a in environment["accounts"]
        ]
        assert accounts == SDK_ACCOUNTS[key]


# A transformer URL as the data plane's mapper -----------------------------------


def events_of(captured: dict[str, Any]) -> int:
    body = captured["body"]
    return len(body["batch"]) if "batch" in body else 1


def test_a_transformer_url_maps_each_requests_events_in_one_batch(serve):
    fake = ProfileTransformer()
    with serving(fake) as url:
        configure(url, batch_size=100, timeout=10)
        plane = serve(profile=url)
        replay_sdk_requests(plane)

    assert fake.batches == [events_of(captured) for captured in sdk_requests()]
    assert plane.outcomes() == SDK_OUTCOMES["rudderstack"]
    for key in ("wk-test", "wk-node"):
        names = [e["name"] for e in plane.environment(key)["events"]]
        assert names == SDK_EVENTS["rudderstack"][key]


def test_a_request_larger_than_the_transformer_batch_takes_several(serve):
    fake = ProfileTransformer()
    batch = [{**TRACK, "type": "track", "event": f"E{number}"} for number in range(5)]
    with serving(fake) as url:
        configure(url, batch_size=2, timeout=10)
        plane = serve(profile=url)
        reply = plane.post(document={"batch": batch})

    assert_gateway_reply(reply, (200, "ok"))
    assert fake.batches == [2, 2, 1]
    assert fake.job_ids == [1, 2, 3, 4, 5]
    assert plane.outcomes() == [("track", "delivered", 200, None)] * 5
    names = [event["name"] for event in plane.environment()["events"]]
    assert names == ["E0", "E1", "E2", "E3", "E4"]


THREE_EVENTS = {
    "batch": [
        {**IDENTIFY, "type": "identify"},
        {**TRACK, "type": "track"},
        {**PAGE, "type": "page"},
    ]
}


def unreachable(port: int) -> str:
    return (
        f"transformer http://127.0.0.1:{port} cannot be reached: "
        "POST /v0/destinations/refiner: [Errno 111] Connection refused"
    )


def assert_unmapped(plane: Plane, reason: str, caplog) -> None:
    """The three events failed with ``reason``, in one WARNING line, and nothing
    reached Refiner."""
    events = plane.ingested()["events"]
    assert [
        (e["id"], e["type"], e["outcome"], e["status"], e["reason"], e["call_id"])
        for e in events
    ] == [
        (1, "identify", "failed", 502, reason, None),
        (2, "track", "failed", 502, reason, None),
        (3, "page", "failed", 502, reason, None),
    ]
    records = [r for r in caplog.records if r.name == "harness.data_plane"]
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in records] == [
        ("WARNING", f"events 1 to 3 from {WRITE_KEY}: not mapped: 502 {reason}", None)
    ]
    assert plane.http.get("/__mock/calls").json() == {"calls": [], "dropped": 0}
    assert plane.http.get("/__mock/state").json() == {"environments": []}


def test_an_unreachable_transformer_fails_every_event_with_its_reason(serve, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plane = serve(profile=f"http://127.0.0.1:{port}")
    caplog.set_level(logging.INFO, logger="harness.data_plane")

    reply = plane.post(document=THREE_EVENTS)

    assert_gateway_reply(reply, (200, "ok"))
    assert_unmapped(plane, unreachable(port), caplog)


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("error", "answered 500: transformer crashed"),
        ("not-json", "replied with text that is not JSON: <html>Bad Gateway</html>"),
        ("short", "got 2 replies for 3 events"),
        ("slow", "gave no reply within 0.2 s"),
    ],
)
def test_a_misbehaving_transformer_fails_every_event_of_the_request(
    serve, caplog, fault, problem
):
    fake = ProfileTransformer(fault=fault, delay=1.0)
    with serving(fake) as url:
        configure(url, timeout=0.2)
        plane = serve(profile=url)
        caplog.set_level(logging.INFO, logger="harness.data_plane")
        reply = plane.post(document=THREE_EVENTS)

    assert_gateway_reply(reply, (200, "ok"))
    assert fake.batches == [3]
    reason = f"transformer {url}: POST /v0/destinations/refiner {problem}"
    assert_unmapped(plane, reason, caplog)


def test_a_reply_outside_refiner_fails_the_events_and_is_sent_nowhere(serve, caplog):
    recorder = Recorder()
    with serving(recorder) as elsewhere:
        output = {
            "method": "POST",
            "endpoint": f"{elsewhere}/evil",
            "headers": {},
            "body": {"FORM": {"id": "user-1"}},
        }
        with serving(answering({"statusCode": 200, "output": output})) as url:
            plane = serve(profile=url)
            caplog.set_level(logging.INFO, logger="harness.data_plane")
            reply = plane.post(document=THREE_EVENTS)

    assert_gateway_reply(reply, (200, "ok"))
    reason = (
        f"transformer {url}: POST /v0/destinations/refiner: the reply for jobId 1: "
        f'output.endpoint "{elsewhere}/evil" is not a path under '
        "https://api.refiner.io/v1/ (without query, fragment or dot segments)"
    )
    assert_unmapped(plane, reason, caplog)
    assert recorder.paths == []


def test_a_mapper_that_breaks_fails_the_events_and_the_sdk_still_gets_ok(
    serve, caplog, monkeypatch
):
    def broken(self, pairs):
        raise RuntimeError("broken")

    monkeypatch.setattr(TransformerMapper, "map_many", broken)
    plane = serve(profile="http://127.0.0.1:9")
    caplog.set_level(logging.INFO, logger="harness.data_plane")

    reply = plane.post(document=THREE_EVENTS)

    assert_gateway_reply(reply, (200, "ok"))
    assert plane.outcomes() == [
        ("identify", "failed", 500, "Internal error: RuntimeError"),
        ("track", "failed", 500, "Internal error: RuntimeError"),
        ("page", "failed", 500, "Internal error: RuntimeError"),
    ]
    records = [r for r in caplog.records if r.name == "harness.data_plane"]
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("ERROR", f"events 1 to 3 from {WRITE_KEY}: not mapped")
    ]
    assert records[0].exc_info[0] is RuntimeError
    assert_still_serving(plane)


def test_the_transformers_credentials_are_not_shown_in_reasons_or_logs(serve, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plane = serve(profile=f"http://harness:s3cret@127.0.0.1:{port}")
    caplog.set_level(logging.DEBUG)

    plane.post(document=THREE_EVENTS)

    reason = unreachable(port).replace("http://", "http://***@")
    assert [e["reason"] for e in plane.ingested()["events"]] == [reason] * 3
    assert "s3cret" not in caplog.text
    assert f"not mapped: 502 {reason}" in caplog.text


def test_serve_maps_with_a_transformer_url_and_logs_only_its_calls(tmp_path):
    fake = ProfileTransformer()
    with serving(fake) as url:
        served = start_serve(
            tmp_path / "serve.log", "--profile", url, "--transformer-batch", "2"
        )
        try:
            with served.client() as client:
                reply = client.post(
                    "/rudderstack/v1/batch", json=THREE_EVENTS, auth=(WRITE_KEY, "")
                )
                ingested = client.get("/__mock/ingest").json()
        finally:
            status = served.stop()

    assert (reply.status_code, reply.text) == (200, "ok")
    assert fake.batches == [2, 1]
    assert [(e["type"], e["outcome"]) for e in ingested["events"]] == [
        ("identify", "delivered"),
        ("track", "delivered"),
        ("page", "delivered"),
    ]
    assert status == 0
    assert served.calls_logged() == ["POST /rudderstack/v1/batch -> 200"]


def test_serve_passes_the_transformer_settings_to_the_data_plane(tmp_path):
    fake = ProfileTransformer(fault="slow", delay=2.0)
    with serving(fake) as url:
        served = start_serve(
            tmp_path / "serve.log",
            *("--profile", url, "--transformer-batch", "2"),
            *("--transformer-timeout", "0.3"),
        )
        try:
            with served.client() as client:
                reply = client.post(
                    "/rudderstack/v1/batch", json=THREE_EVENTS, auth=(WRITE_KEY, "")
                )
                ingested = client.get("/__mock/ingest").json()
        finally:
            status = served.stop()

    assert (reply.status_code, reply.text) == (200, "ok")
    assert fake.batches == [2]
    reason = (
        f"transformer {url}: POST /v0/destinations/refiner gave no reply within 0.3 s"
    )
    assert [(e["outcome"], e["status"], e["reason"]) for e in ingested["events"]] == [
        ("failed", 502, reason)
    ] * 3
    assert status == 0
    assert served.calls_logged() == [
        "POST /rudderstack/v1/batch -> 200",
    ]
