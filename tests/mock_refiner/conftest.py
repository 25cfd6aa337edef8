"""Fixtures for the mock Refiner: deterministic settings, the app and a live server."""

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from mock_refiner import MockRefiner, SequentialIds, Settings, StepClock, create_app
from mock_refiner.models import ENVIRONMENT_NAMESPACE

START = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "test-key-0001"
FORM = "application/x-www-form-urlencoded"


def uuid_n(number: int) -> str:
    """The `number`-th id a fresh `SequentialIds()` gives."""
    return f"00000000-0000-4000-8000-{number:012x}"


def time_n(seconds: int) -> str:
    """The text of `START` plus `seconds`, as the mock writes times."""
    moment = START + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def environment(api_key: str, **sections: object) -> dict:
    """The admin API's ENV for `api_key`: empty sections unless given."""
    shown: dict = {
        "api_key": api_key,
        "uuid": str(uuid.uuid5(ENVIRONMENT_NAMESPACE, api_key)),
        "name": "Production",
        "contacts": [],
        "accounts": [],
        "events": [],
        "segments": [],
        "forms": [],
        "responses": [],
        "traits": {},
        "usage": {
            "month": "",
            "mtu": 0,
            "mte": 0,
            "mpv": 0,
            "msr": 0,
            "tracked_users": [],
        },
    }
    shown.update(sections)
    return shown


def deterministic_settings(**overrides: object) -> Settings:
    """Settings with a one-second step clock from `START` and sequential ids."""
    values: dict = {
        "clock": StepClock(START, timedelta(seconds=1)),
        "ids": SequentialIds(),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings() -> Settings:
    return deterministic_settings()


@pytest.fixture
def mock(settings: Settings) -> MockRefiner:
    return MockRefiner(settings)


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


class SwappableApp:
    """A WSGI app that passes every request to whichever app a test put in."""

    def __init__(self) -> None:
        self.current: Callable | None = None

    def __call__(self, environ: dict, start_response: Callable) -> object:
        assert self.current is not None, "no app mounted on the live server"
        return self.current(environ, start_response)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[str, SwappableApp]]:
    """One real HTTP server on 127.0.0.1 for the session, on a free port."""
    mount = SwappableApp()
    server = make_server("127.0.0.1", 0, mount, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()

    yield f"http://127.0.0.1:{server.server_port}", mount

    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def live_url(live_server: tuple[str, SwappableApp], app: Flask) -> Iterator[str]:
    """The base URL of the live server, serving this test's `app`."""
    base_url, mount = live_server
    mount.current = app
    yield base_url
    mount.current = None


@pytest.fixture(scope="session")
def client(
    live_server: tuple[str, SwappableApp],
) -> Iterator[httpx.Client]:
    """One httpx client for the session's live server, ignoring proxy settings."""
    with httpx.Client(base_url=live_server[0], trust_env=False, timeout=5) as client:
        yield client


@pytest.fixture
def http(client: httpx.Client, live_url: str) -> httpx.Client:
    """The session's client, talking to this test's `app`."""
    return client


@pytest.fixture
def serve(
    live_server: tuple[str, SwappableApp], client: httpx.Client
) -> Iterator[Callable[[object], httpx.Client]]:
    """Serve an app of the test's own on the live server; gives the client."""
    mount = live_server[1]

    def start(app: object) -> httpx.Client:
        mount.current = app
        return client

    yield start

    mount.current = None


def state(http: httpx.Client) -> dict:
    """Every environment, as `GET /__mock/state` shows it."""
    return http.get("/__mock/state").json()


def calls(http: httpx.Client) -> list[dict]:
    """The journal, as `GET /__mock/calls` shows it."""
    return http.get("/__mock/calls").json()["calls"]


def assert_refused(
    http: httpx.Client,
    method: str,
    path: str,
    status: int,
    body: dict,
    headers: dict | None = None,
    **request: object,
) -> None:
    """The call gets `status` and `body`, is journaled, and changes no state."""
    before = state(http)
    journaled = len(calls(http))

    bearer = {"Authorization": f"Bearer {KEY}"}
    reply = http.request(
        method, path, headers=bearer if headers is None else headers, **request
    )

    assert (reply.status_code, reply.json()) == (status, body)
    assert state(http) == before
    entries = calls(http)
    assert len(entries) == journaled + 1
    assert (entries[-1]["method"], entries[-1]["path"]) == (method, path)
    assert (entries[-1]["status"], entries[-1]["reply"]) == (status, body)
