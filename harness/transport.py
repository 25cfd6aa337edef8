"""Where delivered requests go: the in-process mock through respx, or a live server.

In-process, respx routes every httpx request for ``https://api.refiner.io`` into a
fresh ``mock_refiner`` app through WSGI, so code that calls the real URL reaches the
mock unchanged and no socket is opened. With a target URL, requests go over a real
socket to a mock running elsewhere (``refiner-harness serve``).

Both kinds of connection expose the same admin calls, so the runner reads state the
same way whichever it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import respx

from mock_refiner import Settings, create_app

REFINER_URL = "https://api.refiner.io"


class TransportError(Exception):
    """The mock could not be reached or gave an unusable admin reply."""


@dataclass
class Connection:
    """An httpx client that reaches a mock, and where to deliver."""

    client: httpx.Client
    base_url: str
    target: str | None = None

    def admin(self, method: str, path: str, document: Any = None, **params: Any) -> Any:
        """Calls the admin API (``/__mock/...``) and returns its JSON reply."""
        url = f"{self.base_url}/__mock/{path}"
        try:
            response = self.client.request(
                method, url, params=params or None, json=document
            )
        except httpx.HTTPError as error:
            raise TransportError(
                f"could not reach the mock: {method} {url}: {error}"
            ) from error
        if response.status_code != 200:
            raise TransportError(
                f"{method} {url} answered {response.status_code}: "
                f"{response.text.strip()}"
            )
        return response.json()

    def reset(self) -> None:
        self.admin("POST", "reset")

    def load(self, document: Any) -> None:
        """Replaces the mock's state with a state document (seeding)."""
        self.admin("PUT", "state", document)

    def environment(self, api_key: str) -> dict[str, Any]:
        return self.admin("GET", "state", api_key=api_key)

    def calls(self) -> list[dict[str, Any]]:
        return self.admin("GET", "calls")["calls"]


@contextmanager
def in_process(settings: Settings | None = None) -> Iterator[Connection]:
    """A fresh in-process mock behind ``https://api.refiner.io``, through respx."""
    app = create_app(settings)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(url__startswith=REFINER_URL).mock(
            side_effect=respx.WSGIHandler(app)
        )
        with httpx.Client() as client:
            yield Connection(client=client, base_url=REFINER_URL)


@contextmanager
def live(target: str, timeout: float = 10.0) -> Iterator[Connection]:
    """A mock already running at ``target``, such as ``http://127.0.0.1:8080``."""
    base_url = target.rstrip("/")
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        yield Connection(client=client, base_url=base_url, target=base_url)


def connect(target: str | None = None, settings: Settings | None = None) -> Any:
    """``live(target)`` when a target is given, else ``in_process(settings)``."""
    return live(target) if target else in_process(settings)
