"""Where delivered requests go: the in-process mock through respx, or a live server.

In-process, respx routes every httpx request for ``https://api.refiner.io`` into a
fresh ``mock_refiner`` app through WSGI, so code that calls the real URL reaches the
mock unchanged and no socket is opened. With a target URL, requests go over a real
socket to a mock running elsewhere (``refiner-harness serve``).

Both kinds of connection expose the same admin calls, so the runner reads state the
same way whichever it has. :func:`check_target` tells, once and quickly, whether a
target URL is usable and answers like the mock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import respx

from mock_refiner import Settings, create_app

REFINER_URL = "https://api.refiner.io"
TARGET_SCHEMES = ("http", "https")


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


def check_target(target: str, timeout: float = 3.0) -> None:
    """Refuses a target that is not an http(s) URL or does not answer like the mock.

    Raises :class:`TransportError` with one message that says what is wrong.
    """
    try:
        parts = urlsplit(target)
        host, _ = parts.hostname, parts.port  # reading the port checks its range
    except ValueError as error:
        raise TransportError(f"target {target!r} is not a valid URL: {error}") from None
    usable = parts.scheme in TARGET_SCHEMES and bool(host)
    if not usable or parts.query or parts.fragment:
        raise TransportError(
            f"target {target!r} must be an http or https URL with a host and no "
            "query, such as http://127.0.0.1:8080"
        )

    url = f"{target.rstrip('/')}/__mock/state"
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(url)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        raise TransportError(
            f"target {target} cannot be reached: GET {url}: "
            f"{error or type(error).__name__}"
        ) from None

    try:
        state = response.json() if response.status_code == 200 else None
    except ValueError:
        state = None
    if not isinstance(state, dict) or "environments" not in state:
        content_type = response.headers.get("content-type", "")
        answer = f"{response.status_code} {content_type}".strip()
        raise TransportError(
            f"target {target} does not answer like the Refiner mock: GET {url} "
            f"gave {answer}{_excerpt(response.text)}"
        )


def _excerpt(text: str, length: int = 80) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    return f": {text[:length]}..." if len(text) > length else f": {text}"
