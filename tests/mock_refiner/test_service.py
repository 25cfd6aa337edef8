import json
import logging

import pytest

from mock_refiner import MockRefiner, Reply
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    deterministic_settings,
    time_n,
    uuid_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
JSON = {"Content-Type": "application/json"}


def send(
    mock: MockRefiner,
    path: str = "/v1/identify-user",
    body: bytes = b"",
    headers: dict | None = None,
    method: str = "POST",
    query: bytes = b"",
) -> Reply:
    return mock.handle(method, path, query, headers or {}, body)


def send_json(mock: MockRefiner, path: str, params: dict) -> Reply:
    return send(mock, path, json.dumps(params).encode(), {**BEARER, **JSON})


def test_identify_answers_ok_with_the_contact_uuid(mock):
    reply = send_json(mock, "/v1/identify-user", {"id": "u1", "plan": "pro"})

    assert reply == Reply(200, {"message": "ok", "contact_uuid": uuid_n(1)}, {})


def test_a_call_is_journaled_in_full(mock):
    send(
        mock,
        body=b"id=u1&country=FR&api_key=ignored",
        headers={"Content-Type": FORM, **BEARER},
        query=b"api_key=also-ignored",
    )

    assert mock.journal.calls() == [
        {
            "id": 1,
            "time": time_n(0),
            "method": "POST",
            "path": "/v1/identify-user",
            "operation": "identify-user",
            "key_source": "bearer",
            "api_key": KEY,
            "content_type": FORM,
            "params": {"id": "u1", "country": "FR"},
            "status": 200,
            "reply": {"message": "ok", "contact_uuid": uuid_n(1)},
            "notes": ["trait 'country' is computed by Refiner; not stored"],
        }
    ]


def test_the_call_time_is_the_contacts_time(mock):
    send_json(mock, "/v1/identify-user", {"id": "u1"})
    send_json(mock, "/v1/identify-user", {"id": "u1"})

    contact = mock.store.snapshot(KEY)["contacts"][0]
    assert [call["time"] for call in mock.journal.calls()] == [time_n(0), time_n(1)]
    assert (contact["first_seen_at"], contact["last_seen_at"]) == (time_n(0), time_n(1))


@pytest.mark.parametrize(
    ("path", "operation"),
    [("/v1/track-event", "track-event"), ("/v1/track", "track")],
)
def test_both_track_paths_record_the_path_used(mock, path, operation):
    reply = send_json(mock, path, {"id": "u1", "event": "Signed Up", "plan": "pro"})

    [call] = mock.journal.calls()
    [event] = mock.store.snapshot(KEY)["events"]
    assert reply == Reply(200, {"message": "ok"}, {})
    assert (call["operation"], call["notes"]) == (
        operation,
        ["parameters not stored: plan"],
    )
    assert (event["path"], event["name"]) == (path, "Signed Up")


@pytest.mark.parametrize("path", ["/v1//", "/v1/contactz", "/v1/track/", "/v2/x"])
def test_unknown_paths_are_a_404(mock, path):
    reply = send(mock, path, headers=BEARER)

    [call] = mock.journal.calls()
    assert reply == Reply(404, {"error": "Not found"}, {})
    assert (call["operation"], call["status"], call["key_source"]) == (None, 404, None)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "HEAD"])
def test_a_known_path_with_another_method_is_a_405(mock, method):
    reply = send(mock, "/v1/track", headers=BEARER, method=method)

    [call] = mock.journal.calls()
    assert reply == Reply(405, {"error": "Method not allowed"}, {"Allow": "POST"})
    assert (call["operation"], call["method"], call["status"]) == ("track", method, 405)


def test_parameters_are_read_before_the_key_is_checked(mock):
    reply = send(mock, body=b"{", headers=JSON)

    assert reply.status == 400


def test_a_parse_refusal_still_journals_a_header_key(mock):
    send(mock, body=b"a=%ff", headers={**BEARER, "Content-Type": FORM})

    [call] = mock.journal.calls()
    assert (call["key_source"], call["api_key"], call["params"]) == ("bearer", KEY, {})


@pytest.mark.parametrize(
    ("headers", "query", "reply", "key_source", "api_key"),
    [
        ({}, b"id=u1", (401, {"error": "No API key found in headers"}), None, None),
        (
            {"Authorization": "Bearer "},
            b"id=u1",
            (401, {"error": "No API key found in headers"}),
            None,
            None,
        ),
        (
            {},
            b"id=u1&api_key=abc",
            (401, {"error": "No API key found in headers"}),
            "param",
            "abc",
        ),
        (
            {"Authorization": "Bearer bad key!"},
            b"id=u1",
            (401, {"error": "API key does not look valid"}),
            "bearer",
            "bad key!",
        ),
    ],
)
def test_key_refusals_are_journaled(mock, headers, query, reply, key_source, api_key):
    answer = send(mock, headers=headers, query=query)

    [call] = mock.journal.calls()
    assert (answer.status, answer.body) == reply
    assert (call["key_source"], call["api_key"], call["status"]) == (
        key_source,
        api_key,
        reply[0],
    )
    assert mock.store.snapshot() == {"environments": []}


def test_an_unknown_key_is_a_404_when_keys_are_listed():
    mock = MockRefiner(deterministic_settings(api_keys=frozenset({"known-key"})))

    unknown = send(mock, headers=BEARER, query=b"id=u1")
    known = send(mock, headers={"Authorization": "Bearer known-key"}, query=b"id=u1")

    assert unknown == Reply(404, {"message": "API key not valid or does not exist"}, {})
    assert known.status == 200
    assert [env["api_key"] for env in mock.store.snapshot()["environments"]] == [
        "known-key"
    ]


UTF8 = "is not valid UTF-8 after percent-decoding"


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        (
            JSON,
            b'{"id": ',
            400,
            "JSON body is malformed: Expecting value: line 1 column 8 (char 7).",
        ),
        (JSON, b"[]", 400, "JSON body must be an object, not an array."),
        ({"Content-Type": FORM}, b"id=u1&a=%ff", 400, f"Form body {UTF8}: 'a=%ff'."),
        ({"Content-Type": FORM}, b"id=\xff", 400, f"Form body {UTF8}: 'id=\\xff'."),
        (
            {"Content-Type": "text/plain"},
            b"id=u1",
            415,
            "Unsupported Content-Type 'text/plain'; send application/json "
            "or application/x-www-form-urlencoded.",
        ),
        (JSON, b'{"name": "x"}', 400, "The id or email parameter is required."),
        (
            JSON,
            b'{"id": "u9", "account": {}}',
            400,
            "The account parameter needs an id.",
        ),
    ],
)
def test_refusals_change_no_state_and_the_next_call_works(
    mock, headers, body, status, message
):
    send_json(mock, "/v1/identify-user", {"id": "u1", "plan": "free"})
    before = mock.store.snapshot()

    reply = send(mock, body=body, headers={**BEARER, **headers})

    assert (reply.status, reply.body) == (status, {"error": message})
    assert mock.store.snapshot() == before
    assert [(c["status"], c["reply"]) for c in mock.journal.calls()[1:]] == [
        (status, {"error": message})
    ]

    after = send_json(mock, "/v1/identify-user", {"id": "u2"})
    assert after == Reply(200, {"message": "ok", "contact_uuid": uuid_n(2)}, {})


def test_an_unexpected_error_is_a_500_and_the_mock_keeps_serving():
    failures = [RuntimeError("id factory broke")]

    def ids() -> str:
        if failures:
            raise failures.pop()
        return "c-ok"

    mock = MockRefiner(deterministic_settings(ids=ids))

    failed = send_json(mock, "/v1/identify-user", {"id": "u1", "plan": "pro"})
    state_after_failure = mock.store.snapshot()
    served = send_json(mock, "/v1/identify-user", {"id": "u1", "plan": "pro"})

    assert failed == Reply(
        500, {"error": "Internal error: RuntimeError: id factory broke"}, {}
    )
    assert state_after_failure == {"environments": []}
    assert mock.journal.calls(status=500)[0]["reply"] == failed.body
    assert served == Reply(200, {"message": "ok", "contact_uuid": "c-ok"}, {})


def test_a_failing_clock_is_a_500():
    def clock():
        raise OSError("no time")

    mock = MockRefiner(deterministic_settings(clock=clock))

    reply = send_json(mock, "/v1/track", {"id": "u1", "event": "x"})

    assert reply == Reply(500, {"error": "Internal error: OSError: no time"}, {})
    assert [call["status"] for call in mock.journal.calls()] == [500]
    assert mock.store.snapshot() == {"environments": []}


def test_one_info_line_per_call_and_a_warning_per_refusal(mock, caplog):
    caplog.set_level(logging.INFO, logger="mock_refiner.service")

    send_json(mock, "/v1/identify-user", {"id": "u1"})
    send_json(mock, "/v1/track", {"id": "u1"})

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "POST /v1/identify-user -> 200"),
        ("WARNING", "refused POST /v1/track: 400 The event parameter is required."),
        ("INFO", "POST /v1/track -> 400"),
    ]
