"""RudderStack's own SDKs, Python and Node, sending to the demo server's data plane.

Each SDK is pointed at a real loopback server running ``create_server_app`` and
sends identify, track, page, group, screen and alias, then flushes. The tests check
the Refiner state and the ingest log that result. Neither SDK may reach anything but
that server: the Python test refuses every other socket connection, the Node script
is run with ``loopback-only.js`` preloaded, proxies from the environment are off, and
both SDKs are given the data plane URL so their hosted defaults are never used.

A missing SDK (the ``rudder-sdk-python`` package, ``node``, or the Node SDK's
``node_modules``) skips its test, unless ``REFINER_REQUIRE_SDKS=1``, which makes it
fail instead.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.fixtures import LiveServer
from harness.runner import replay_settings
from harness.server import create_server_app

NODE_CLIENT = Path(__file__).resolve().parents[1] / "sdk" / "node"
NODE_SDK = NODE_CLIENT / "node_modules" / "@rudderstack" / "rudder-sdk-node"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
NOT_SUPPORTED = 'Event type "{}" is not supported'


def missing(reason: str) -> None:
    """Skips, or fails when ``REFINER_REQUIRE_SDKS=1`` asks for every SDK."""
    if os.environ.get("REFINER_REQUIRE_SDKS") == "1":
        pytest.fail(f"{reason} (REFINER_REQUIRE_SDKS=1)")
    pytest.skip(reason)


def python_sdk() -> ModuleType:
    try:
        return importlib.import_module("rudderstack.analytics")
    except ImportError as error:
        missing(
            f"RudderStack's Python SDK is not installed ({error}); install the test "
            "extra: pip install -e '.[test]'"
        )
        raise


def node_command() -> str:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed, so RudderStack's Node SDK cannot run")
    if not NODE_SDK.is_dir():
        missing(
            "RudderStack's Node SDK is not installed: npm ci --prefix tests/sdk/node"
        )
    return str(node)


def uuid_n(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012x}"


def time_n(seconds: int) -> str:
    return f"2026-01-01T00:00:{seconds:02d}.000000Z"


@pytest.fixture
def server() -> Iterator[LiveServer]:
    """The demo server's app with replay settings, on a free loopback port."""
    with LiveServer(create_server_app(replay_settings())) as live:
        yield live


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment without proxy settings, for this process and children."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return dict(os.environ)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuses every socket connection off loopback; lists the addresses tried."""
    tried: list[Any] = []
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> None:
        tried.append(address)
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if inet and address[0] not in LOOPBACK_HOSTS:
            raise ConnectionRefusedError(f"only loopback is allowed, not {address}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return tried


def ingest_outcomes(server: LiveServer) -> list[tuple[Any, ...]]:
    log = server.app.extensions["refiner_ingest"].snapshot()
    return [
        (e["write_key"], e["type"], e["outcome"], e["status"], e["reason"])
        for e in log["events"]
    ]


def refiner_sections(server: LiveServer, api_key: str) -> dict[str, Any]:
    environment = server.app.extensions["mock_refiner"].store.snapshot(api_key)
    return {name: environment[name] for name in ("contacts", "accounts", "events")}


def contact(
    number: int,
    remote_id: str | None,
    email: str | None,
    seen: tuple[int, int, int | None],
    attributes: dict[str, Any],
    account: dict[str, Any] | None = None,
) -> dict[str, Any]:
    first, last, tracked = seen
    return {
        "uuid": uuid_n(number),
        "remote_id": remote_id,
        "email": email,
        "display_name": attributes.get("name"),
        "first_seen_at": time_n(first),
        "last_seen_at": time_n(last),
        "last_tracking_event_at": None if tracked is None else time_n(tracked),
        "attributes": attributes,
        "segments": [],
        "account": account,
    }


def account(
    number: int, remote_id: str, seen: int, attributes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "uuid": uuid_n(number),
        "remote_id": remote_id,
        "display_name": attributes["name"],
        "domain": None,
        "first_seen_at": time_n(seen),
        "last_seen_at": time_n(seen),
        "attributes": attributes,
    }


def event(number: int, name: str, seen: int, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": uuid_n(number),
        "name": name,
        "received_at": time_n(seen),
        "path": "/v1/track",
        "contact": {
            "uuid": user["uuid"],
            "remote_id": user["remote_id"],
            "email": None,
        },
    }


def test_the_python_sdk_reaches_refiner_through_the_data_plane(
    server, no_proxy, loopback_only
):
    analytics = python_sdk()
    failures: list[Any] = []
    client = analytics.Client(
        "wk-python",
        host=f"{server.url}/rudderstack",
        on_error=lambda error, batch: failures.append(error),
        max_retries=0,
        timeout=10,
        upload_size=6,
        upload_interval=1.0,
    )

    client.identify(
        "user-1001",
        {
            "email": "river@example.test",
            "firstName": "River",
            "logins": 12,
            "address": {"city": "Lisbon"},
        },
    )
    client.track("user-1001", "Report Exported", {"format": "csv", "rows": 1200})
    client.page("user-1001", "Docs", "Getting Started", {"path": "/docs/start"})
    client.group("user-1001", "acct-77", {"name": "Northwind Labs", "employees": 45})
    client.screen("user-1001", "Settings", "Billing", {"tab": "invoices"})
    client.alias("anon-prev-1", "user-1001")
    client.flush()
    client.join()

    assert failures == []
    port = int(server.url.rsplit(":", 1)[1])
    assert {address[1] for address in loopback_only} == {port}
    assert ingest_outcomes(server) == [
        ("wk-python", "identify", "delivered", 200, None),
        ("wk-python", "track", "delivered", 200, None),
        ("wk-python", "page", "delivered", 200, None),
        ("wk-python", "group", "delivered", 200, None),
        ("wk-python", "screen", "refused", 400, NOT_SUPPORTED.format("screen")),
        ("wk-python", "alias", "refused", 400, NOT_SUPPORTED.format("alias")),
    ]
    river = contact(
        1,
        None,
        "river@example.test",
        (0, 0, None),
        {
            "address": "map[city:Lisbon]",
            "firstName": "River",
            "logins": 12,
            "userId": "user-1001",
        },
    )
    northwind = account(5, "acct-77", 3, {"employees": 45, "name": "Northwind Labs"})
    user = contact(2, "user-1001", None, (1, 3, 2), {}, northwind)
    assert refiner_sections(server, "wk-python") == {
        "contacts": [river, user],
        "accounts": [{**northwind, "contacts": ["user-1001"]}],
        "events": [
            event(3, "Report Exported", 1, user),
            event(4, "Viewed Docs Getting Started Page", 2, user),
        ],
    }

    log = server.app.extensions["refiner_ingest"].snapshot()["events"]
    identify = log[0]["message"]
    assert identify["context"]["library"] == {
        "name": "analytics-python",
        "version": analytics.VERSION,
    }
    assert identify["context"]["traits"]["email"] == "river@example.test"


def test_the_node_sdk_reaches_refiner_through_the_data_plane(server, no_proxy):
    node = node_command()

    finished = subprocess.run(
        [
            node,
            "--require",
            str(NODE_CLIENT / "loopback-only.js"),
            str(NODE_CLIENT / "send-events.js"),
            f"{server.url}/rudderstack",
            "wk-node",
        ],
        env=no_proxy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (finished.returncode, finished.stderr) == (0, ""), finished.stderr
    assert ingest_outcomes(server) == [
        ("wk-node", "identify", "delivered", 200, None),
        ("wk-node", "track", "delivered", 200, None),
        ("wk-node", "page", "delivered", 200, None),
        ("wk-node", "group", "delivered", 200, None),
        ("wk-node", "screen", "refused", 400, NOT_SUPPORTED.format("screen")),
        ("wk-node", "alias", "refused", 400, NOT_SUPPORTED.format("alias")),
    ]
    sky = contact(
        1,
        None,
        "sky@example.test",
        (0, 0, None),
        {"name": "Sky Doe", "seats": 3, "userId": "user-3003"},
    )
    blue_yonder = account(
        5, "acct-9", 3, {"employees": "1.2e+06", "name": "Blue Yonder"}
    )
    user = contact(2, "user-3003", None, (1, 3, 2), {}, blue_yonder)
    assert refiner_sections(server, "wk-node") == {
        "contacts": [sky, user],
        "accounts": [{**blue_yonder, "contacts": ["user-3003"]}],
        "events": [
            event(3, "Invite Sent", 1, user),
            event(4, "Viewed Settings Team Page", 2, user),
        ],
    }

    log = server.app.extensions["refiner_ingest"].snapshot()["events"]
    assert log[0]["message"]["context"]["library"] == {
        "name": "analytics-node",
        "version": "3.0.13",
    }
