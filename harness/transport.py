"""Where delivered requests go: the in-process mock through respx, or a live server.

In-process, respx routes every httpx request for ``https://api.refiner.io`` into a
fresh ``mock_refiner`` app, so code that calls the real URL reaches the mock unchanged
and no socket is opened. Sync clients call the app directly (:func:`wsgi_response`),
async clients through a small ASGI adapter (:func:`asgi_app`); both build the WSGI
environ a real server would, non-ASCII paths included. With a target URL, requests
go over a real socket to a mock running elsewhere (``refiner-harness serve``).

Both kinds of connection expose the same admin calls, so the runner reads state the
same way whichever it has. :func:`check_target` tells, once and quickly, whether a
target URL is usable and answers like the mock.

Limitations: the ASGI adapter runs the Flask app on the event loop's thread, one
request at a time, and reads the whole request body before calling the app.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import httpx
import respx

from mock_refiner import Settings, create_app

REFINER_HOST = "api.refiner.io"
REFINER_URL = f"https://{REFINER_HOST}"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[..., Any]], Awaitable[None]
]
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
def route_app(app: WSGIApp) -> Iterator[respx.MockRouter]:
    """Sends every httpx request for ``https://api.refiner.io`` into ``app``.

    Sync clients reach it through :func:`wsgi_response`, async clients through
    :func:`asgi_app`; both build the same WSGI environ. Other hosts are refused.
    """
    router = _RefinerRouter(assert_all_called=False, assert_all_mocked=True)
    router.route(scheme="https", host=REFINER_HOST).mock(side_effect=_AppHandler(app))
    with router:
        yield router


@contextmanager
def in_process(settings: Settings | None = None) -> Iterator[Connection]:
    """A fresh in-process mock behind ``https://api.refiner.io``, through respx."""
    with route_app(create_app(settings)), httpx.Client() as client:
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


_ASYNC_REQUEST: ContextVar[bool] = ContextVar("refiner_async_request", default=False)


class _RefinerRouter(respx.MockRouter):
    """A respx router that lets its side effects know an async client is asking."""

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _ASYNC_REQUEST.set(True)
        try:
            return await super().async_handler(request)
        finally:
            _ASYNC_REQUEST.reset(token)


class _AppHandler:
    """A respx side effect: the app called directly for sync clients, through
    :func:`asgi_app` for async ones."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.asgi = respx.ASGIHandler(asgi_app(app))

    def __call__(self, request: httpx.Request) -> Any:
        if _ASYNC_REQUEST.get():
            return self.asgi(request)
        return wsgi_response(self.app, request)


def wsgi_response(app: WSGIApp, request: httpx.Request) -> httpx.Response:
    """Answers an httpx request by calling the WSGI ``app`` in this thread.

    The environ is the one :func:`asgi_app` builds, so sync and async clients reach
    the app alike; unlike httpx's own WSGI transport, a path with non-ASCII
    characters reaches the app as a real server passes it.
    """
    status, headers, content = _call_wsgi(
        app, _environ(_scope(request), request.read())
    )
    return httpx.Response(status, headers=headers, content=content, request=request)


def _scope(request: httpx.Request) -> dict[str, Any]:
    url = request.url
    default_port = 443 if url.scheme == "https" else 80
    return {
        "type": "http",
        "method": request.method,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path,
        "query_string": url.query,
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "server": (url.host, url.port or default_port),
        "client": ("127.0.0.1", 0),
        "root_path": "",
        "http_version": "1.1",
    }


def asgi_app(app: WSGIApp) -> ASGIApp:
    """An ASGI app that answers HTTP requests by calling the WSGI ``app``."""

    async def serve(
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[..., Any],
    ) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"only HTTP is served, not {scope['type']!r}")

        body = await _request_body(receive)
        status, headers, content = _call_wsgi(app, _environ(scope, body))
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})

    return serve


async def _request_body(receive: Callable[[], Awaitable[Any]]) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    raw_path = scope.get("raw_path")
    if raw_path:
        path = unquote_to_bytes(raw_path.split(b"?", 1)[0])
    else:
        path = scope["path"].encode("utf-8")
    host, port = scope.get("server") or (REFINER_HOST, 443)
    client = scope.get("client") or ("127.0.0.1", 0)

    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "https"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[name] = value
            continue
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _call_wsgi(
    app: WSGIApp, environ: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    started: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers
        ]
        return written.append

    chunks = app(environ, start_response)
    try:
        written.extend(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return started["status"], started["headers"], b"".join(written)
