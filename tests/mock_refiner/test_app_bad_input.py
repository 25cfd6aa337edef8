"""Bad input over real HTTP: a JSON reply with the right status, a journal entry, no
change of state, and a server that goes on serving."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from mock_refiner.params import MAX_DEPTH
from tests.mock_refiner.conftest import KEY

BEARER = {"Authorization": f"Bearer {KEY}"}
JSON = {**BEARER, "Content-Type": "application/json"}


def state(http):
    return http.get("/__mock/state").json()


def calls(http):
    return http.get("/__mock/calls").json()["calls"]


TOO_DEEP = f"JSON body nests deeper than {MAX_DEPTH} levels"
BELOW = "[0]" * (MAX_DEPTH - 1)


def nested(depth: int) -> bytes:
    return b'{"id":"deep","t":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        (
            "/v1/identify-user",
            b'{"id":"u","x":"\\ud800"}',
            "JSON body has text with an unpaired UTF-16 surrogate (at x).",
        ),
        (
            "/v1/identify-user",
            nested(600),
            f"{TOO_DEEP} (at t{BELOW}).",
        ),
        (
            "/v1/track",
            b'{"id":"trk","event":"E","p":' + b"[" * 600 + b"]" * 600 + b"}",
            f"{TOO_DEEP} (at p{BELOW}).",
        ),
        (
            "/v1/identify-user",
            b'{"id":"u","x":1e400}',
            "JSON body is malformed: the number 1e400 is out of range.",
        ),
        (
            "/v1/identify-user",
            b"[" * 100_000,
            f"JSON body nests deeper than {MAX_DEPTH} levels.",
        ),
    ],
)
def test_refused_bodies_are_journaled_and_change_nothing(http, path, body, error):
    http.post("/v1/identify-user", json={"id": "u0"}, headers=BEARER)
    before = state(http)

    response = http.post(path, content=body, headers=JSON)

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert state(http) == before
    assert [(c["path"], c["status"]) for c in calls(http)][-1] == (path, 400)
    assert http.get("/__mock/calls").status_code == 200
    following = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    assert following.status_code == 200


@pytest.mark.parametrize("method", ["TRACE", "FOO"])
def test_methods_flask_does_not_route_reach_the_mock(http, method):
    response = http.request(method, "/v1/identify-user", headers=BEARER)

    assert (response.status_code, response.json()) == (
        405,
        {"error": "Method not allowed"},
    )
    assert response.headers["allow"] == "POST"
    assert [(c["method"], c["status"]) for c in calls(http)] == [(method, 405)]


def test_options_on_an_admin_path_is_a_json_405(http):
    response = http.options("/__mock/state")

    assert (response.status_code, response.json()) == (
        405,
        {"error": "Method not allowed"},
    )


def test_a_body_that_cannot_be_read_is_a_journaled_400(http, live_url):
    address = urlsplit(live_url)
    request = (
        b"POST /v1/identify-user HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n"
        b"Authorization: Bearer " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        b"ZZ\r\nnot a chunk\r\n0\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=5) as raw:
        raw.sendall(request)
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk

    assert reply.startswith(b"HTTP/1.1 400 ")
    assert reply.endswith(b'{"error":"The request body could not be read."}\n')
    assert [(c["path"], c["status"]) for c in calls(http)] == [
        ("/v1/identify-user", 400)
    ]
    assert state(http) == {"environments": []}
