"""Fault injection over real loopback servers: the `/__mock/faults` admin API, what a
client sees (statuses, bodies, delays, dropped connections) and what the journal shows,
on Werkzeug's threaded server, waitress and granian."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mock_refiner import create_app
from mock_refiner.faults import parse_fault
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    calls,
    deterministic_settings,
    environment,
    state,
    time_n,
    uuid_n,
)

ROOT = Path(__file__).resolve().parents[2]
BEARER = {"Authorization": f"Bearer {KEY}"}
IDENTIFY = "/v1/identify-user"
UNAVAILABLE = {"error": "Injected fault: 503 Service Unavailable"}
TOO_MANY = {"error": "Injected fault: 429 Too Many Requests"}
NO_REPLY = "Server disconnected without sending a response."
GRANIAN_DROPS = (
    "peer closed connection without sending complete message body "
    "(received 1 bytes, expected 64)",
    "peer closed connection without sending complete message body "
    "(received 0 bytes, expected 64)",
    NO_REPLY,
)
"""What httpx says of a drop on granian: mostly the first, at times one of the
others, as granian's sending of the reply's head and first byte races the body's
failure."""


def add_fault(http: httpx.Client, spec: str) -> dict:
    response = http.post("/__mock/faults", json={"spec": spec})
    assert response.status_code == 201, response.text
    return response.json()["fault"]


def faults(http: httpx.Client) -> list[dict]:
    return http.get("/__mock/faults").json()["faults"]


def call_entry(
    seconds: int, status: int | None, reply: dict, notes: list[str], **fields: object
) -> dict:
    """The journal entry of an identify of `u1` with a JSON body and a Bearer key."""
    entry = {
        "id": seconds + 1,
        "time": time_n(seconds),
        "method": "POST",
        "path": IDENTIFY,
        "operation": "identify-user",
        "key_source": "bearer",
        "api_key": KEY,
        "content_type": "application/json",
        "params": {"id": "u1"},
        "status": status,
        "reply": reply,
        "notes": notes,
    }
    entry.update(fields)
    return entry


def test_a_client_sees_exactly_the_configured_faults(http):
    add_fault(http, "status=503,path=/v1/identify-user,times=2")
    add_fault(http, "429,retry-after=7,path=/v1/identify-user,times=1")

    replies = [http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER) for _ in range(4)]

    assert [(reply.status_code, reply.json()) for reply in replies] == [
        (503, UNAVAILABLE),
        (503, UNAVAILABLE),
        (429, TOO_MANY),
        (200, {"message": "ok", "contact_uuid": uuid_n(1)}),
    ]
    assert [reply.headers.get("Retry-After") for reply in replies] == [
        None,
        None,
        "7",
        None,
    ]
    assert (
        replies[0].content == b'{"error":"Injected fault: 503 Service Unavailable"}\n'
    )
    assert replies[2].headers["Content-Type"] == "application/json"
    assert calls(http) == [
        call_entry(0, 503, UNAVAILABLE, ["injected fault: status 503 (rule 1)"]),
        call_entry(1, 503, UNAVAILABLE, ["injected fault: status 503 (rule 1)"]),
        call_entry(
            2, 429, TOO_MANY, ["injected fault: status 429, Retry-After 7 (rule 2)"]
        ),
        call_entry(3, 200, {"message": "ok", "contact_uuid": uuid_n(1)}, []),
    ]
    contact = {
        "uuid": uuid_n(1),
        "remote_id": "u1",
        "email": None,
        "display_name": None,
        "first_seen_at": time_n(3),
        "last_seen_at": time_n(3),
        "last_tracking_event_at": None,
        "attributes": {},
        "segments": [],
        "account": None,
    }
    usage = {
        "month": "2026-01",
        "mtu": 1,
        "mte": 0,
        "mpv": 0,
        "msr": 0,
        "tracked_users": [uuid_n(1)],
    }
    assert state(http) == {
        "environments": [environment(KEY, contacts=[contact], usage=usage)]
    }
    assert [(rule["faulted"], rule["remaining"]) for rule in faults(http)] == [
        (2, 0),
        (1, 0),
    ]


def test_a_delayed_call_gets_the_real_reply_after_the_delay(http):
    add_fault(http, "delay=300,path=/v1/*,times=1")

    started = time.perf_counter()
    delayed = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
    elapsed = time.perf_counter() - started
    after = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)

    assert elapsed >= 0.3
    assert (delayed.status_code, delayed.json()) == (
        200,
        {"message": "ok", "contact_uuid": uuid_n(1)},
    )
    assert after.status_code == 200
    assert [call["notes"] for call in calls(http)] == [
        ["injected fault: delay 300 ms (rule 1)"],
        [],
    ]


def test_a_delay_before_a_status_waits_then_answers_the_status(http):
    add_fault(http, "delay=200,status=502,times=1")

    started = time.perf_counter()
    reply = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
    elapsed = time.perf_counter() - started

    assert elapsed >= 0.2
    assert (reply.status_code, reply.json()) == (
        502,
        {"error": "Injected fault: 502 Bad Gateway"},
    )
    assert calls(http)[0]["notes"] == [
        "injected fault: delay 200 ms, then status 502 (rule 1)"
    ]


def test_a_dropped_connection_is_a_remote_protocol_error_and_the_next_call_works(
    http,
):
    add_fault(http, "drop,path=/v1/identify-user,times=1")

    with pytest.raises(httpx.RemoteProtocolError, match=NO_REPLY):
        http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
    after = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)

    assert (after.status_code, after.json()) == (
        200,
        {"message": "ok", "contact_uuid": uuid_n(1)},
    )
    assert calls(http) == [
        call_entry(0, None, {}, ["injected fault: drop connection (rule 1)"]),
        call_entry(1, 200, {"message": "ok", "contact_uuid": uuid_n(1)}, []),
    ]


def test_a_status_fault_answers_its_own_body_and_journals_form_params(http):
    add_fault(http, 'status=500,path=/v1/track,body={"error":"down","retry":true}')

    reply = http.post(
        "/v1/track",
        content=b"id=u1&event=Signed+Up",
        headers={**BEARER, "Content-Type": FORM},
    )

    assert (reply.status_code, reply.json()) == (500, {"error": "down", "retry": True})
    entry = calls(http)[0]
    assert (entry["operation"], entry["params"], entry["content_type"]) == (
        "track",
        {"id": "u1", "event": "Signed Up"},
        FORM,
    )
    assert state(http) == {"environments": []}


@pytest.mark.parametrize(
    "body", ["down", 5, None, ["x", None], [["a", 1]], {"nested": {"list": [1.5]}}]
)
def test_a_status_fault_answers_any_json_body_and_journals_it_as_sent(http, body):
    rule = {"status": 503, "path": "/v1/track", "times": 1}
    if body is not None:
        rule["body"] = body
    added = http.post("/__mock/faults", json=rule)
    assert added.status_code == 201

    reply = http.post("/v1/track", data={"id": "u1", "event": "E"}, headers=BEARER)

    expected = UNAVAILABLE if body is None else body
    assert (reply.status_code, reply.json()) == (503, expected)
    assert [(c["status"], c["reply"]) for c in calls(http)] == [(503, expected)]
    assert faults(http)[0]["faulted"] == 1


def test_a_rule_nested_too_deeply_is_a_400(http):
    before = faults(http)

    for content in (
        b"[" * 200_000 + b"]" * 200_000,
        b'{"status": 503, "body": ' + b"[" * 200 + b"]" * 200 + b"}",
    ):
        reply = http.post(
            "/__mock/faults",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert reply.status_code == 400
        assert "nests deeper than 64 levels" in reply.json()["error"]

    assert faults(http) == before


def test_a_method_rule_faults_only_that_method(http):
    add_fault(http, "status=500,path=/v1/contacts,method=GET")

    listed = http.get("/v1/contacts", headers=BEARER)
    posted = http.post("/v1/contacts", headers=BEARER)

    assert (listed.status_code, posted.status_code) == (500, 405)


def test_paths_under_mock_are_never_faulted_every_other_path_is(http):
    add_fault(http, "503")

    admin = [
        http.get("/__mock/state"),
        http.get("/__mock/calls"),
        http.get("/__mock/faults"),
        http.get("/__mock/openapi.json"),
        http.post("/__mock/faults", json={"spec": "drop,path=/nowhere"}),
    ]
    others = [
        http.get("/v1", headers=BEARER),
        http.get("/"),
        http.post("/rudderstack/v1/batch", json={"batch": []}),
        http.get("/__mockery"),
    ]

    assert [reply.status_code for reply in admin] == [200, 200, 200, 200, 201]
    assert [(reply.status_code, reply.json()) for reply in others] == [
        (503, UNAVAILABLE)
    ] * 4
    assert [(call["path"], call["operation"]) for call in calls(http)] == [
        ("/v1", "check-key"),
        ("/", None),
        ("/rudderstack/v1/batch", None),
        ("/__mockery", None),
    ]


def test_the_admin_api_lists_adds_and_clears_rules(http):
    assert http.get("/__mock/faults").json() == {"faults": []}

    added = http.post(
        "/__mock/faults",
        json={"path": "/v1/*", "method": "post", "drop": True, "probability": 0.5},
    )
    http.post("/__mock/faults", json={"status": 429, "retry_after": 30, "times": 1})
    rule = {
        "id": 1,
        "spec": "drop,path=/v1/*,method=POST,probability=0.5,seed=0",
        "path": "/v1/*",
        "method": "POST",
        "status": None,
        "body": None,
        "retry_after": None,
        "delay_ms": None,
        "drop": True,
        "times": None,
        "probability": 0.5,
        "seed": 0,
        "faulted": 0,
        "remaining": None,
    }

    assert (added.status_code, added.json()) == (201, {"message": "ok", "fault": rule})
    assert [view["spec"] for view in faults(http)] == [
        rule["spec"],
        "status=429,retry-after=30,times=1",
    ]
    assert http.delete("/__mock/faults").json() == {"message": "ok", "cleared": 2}
    assert faults(http) == []
    assert http.get("/v1", headers=BEARER).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"",
            "The fault rule is not valid JSON: Expecting value: line 1 column 1 "
            "(char 0)",
        ),
        (
            b"{",
            "The fault rule is not valid JSON: Expecting property name enclosed in "
            "double quotes: line 1 column 2 (char 1)",
        ),
        (
            b"\xff",
            "The fault rule is not valid JSON: 'utf-8' codec can't decode byte 0xff "
            "in position 0: invalid start byte",
        ),
        (
            b'{"status": NaN}',
            "The fault rule is not valid JSON: NaN is not a JSON number",
        ),
        (
            b"[]",
            "The fault rule is not valid: a fault rule must be a JSON object, not [].",
        ),
        (b"{}", "The fault rule is not valid: a fault needs status, delay_ms or drop."),
        (
            b'{"drop": true, "times": 0}',
            "The fault rule is not valid: times must be a whole number from 1 to "
            "1000000000, not 0.",
        ),
        (
            b'{"status": 503, "every": 2}',
            'The fault rule is not valid: unknown field "every"; the fields are path, '
            "method, status, body, retry_after, delay_ms, drop, times, probability, "
            "seed.",
        ),
        (
            b'{"status": 500, "path": "/__mock/state"}',
            'The fault rule is not valid: path "/__mock/state" is under /__mock, '
            "which is never faulted.",
        ),
        (
            b'{"spec": "503,times=-1"}',
            "The fault rule is not valid: fault spec '503,times=-1': times must be a "
            "whole number from 1 to 1000000000, not -1.",
        ),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field_and_adds_nothing(http, body, message):
    add_fault(http, "drop,path=/v1/track")
    before = faults(http)

    reply = http.post(
        "/__mock/faults", content=body, headers={"Content-Type": "application/json"}
    )

    assert (reply.status_code, reply.json()) == (400, {"error": message})
    assert faults(http) == before
    assert http.get("/v1", headers=BEARER).status_code == 200


@pytest.mark.parametrize(
    ("what", "reset", "faults_left", "calls_left"),
    [
        (None, ["state", "calls", "faults"], 0, 0),
        ("faults", ["faults"], 0, 1),
        ("state", ["state"], 1, 1),
        ("calls", ["calls"], 1, 0),
    ],
)
def test_reset_clears_faults_too(http, what, reset, faults_left, calls_left):
    add_fault(http, "503,path=/v1/track")
    http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)

    params = {} if what is None else {"what": what}
    reply = http.post("/__mock/reset", params=params)

    assert reply.json() == {"message": "ok", "reset": reset}
    assert (len(faults(http)), len(calls(http))) == (faults_left, calls_left)


def test_rules_added_in_python_apply_to_the_served_app(serve):
    app = create_app(deterministic_settings())
    app.extensions["mock_refiner"].faults.add(parse_fault("503,times=1"))
    http = serve(app)

    statuses = [http.get("/v1", headers=BEARER).status_code for _ in range(2)]

    assert statuses == [503, 200]


@contextmanager
def waitress_server(app: object) -> Iterator[str]:
    """`app` on waitress (threads in this process) on a free loopback port."""
    waitress_serving = pytest.importorskip("waitress.server")
    server = waitress_serving.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def granian_server(log: Path) -> Iterator[str]:
    """A new mock (`create_app()`) on granian in WSGI mode, in a child process."""
    pytest.importorskip("granian")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        "2",
        "--log-level",
        "warning",
        "--factory",
        "mock_refiner.app:create_app",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until_serving(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"granian exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(f"{base_url}/__mock/faults", trust_env=False, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)

    pytest.fail(f"granian did not start serving in 30 s:\n{log.read_text()}")


def test_faults_on_waitress():
    app = create_app(deterministic_settings())

    with (
        waitress_server(app) as base_url,
        httpx.Client(base_url=base_url, trust_env=False, timeout=5) as http,
    ):
        add_fault(http, "drop,path=/v1/identify-user,times=1")
        add_fault(http, "503,path=/v1/identify-user,times=1")
        add_fault(http, "delay=200,path=/v1/identify-user,times=1")

        with pytest.raises(httpx.RemoteProtocolError, match=NO_REPLY):
            http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
        refused = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
        started = time.perf_counter()
        delayed = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
        elapsed = time.perf_counter() - started

        journal = calls(http)

    assert (refused.status_code, refused.json()) == (503, UNAVAILABLE)
    assert (delayed.status_code, elapsed >= 0.2) == (200, True)
    assert [(call["status"], call["notes"]) for call in journal] == [
        (None, ["injected fault: drop connection (rule 1)"]),
        (503, ["injected fault: status 503 (rule 2)"]),
        (200, ["injected fault: delay 200 ms (rule 3)"]),
    ]


def test_faults_on_granian(tmp_path):
    with (
        granian_server(tmp_path / "granian.log") as base_url,
        httpx.Client(base_url=base_url, trust_env=False, timeout=5) as http,
    ):
        add_fault(http, "drop,path=/v1/identify-user,times=1")
        add_fault(http, "503,path=/v1/identify-user,times=1")

        with pytest.raises(httpx.RemoteProtocolError) as dropped:
            http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
        refused = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)
        answered = http.post(IDENTIFY, json={"id": "u1"}, headers=BEARER)

        journal = calls(http)

    assert str(dropped.value) in GRANIAN_DROPS
    assert (refused.status_code, refused.json()) == (503, UNAVAILABLE)
    assert answered.status_code == 200
    assert [(call["status"], call["notes"]) for call in journal] == [
        (None, ["injected fault: drop connection (rule 1)"]),
        (503, ["injected fault: status 503 (rule 2)"]),
        (200, []),
    ]
