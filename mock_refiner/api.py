"""The Refiner API over WSGI: every call under `/v1` goes to `MockRefiner.handle`.

`RefinerApi` sits in front of the Flask app and answers `/v1` itself, so a Refiner
call costs no Flask routing, request or response objects; every other path goes on
to Flask (the admin API, and what other blueprints add). The path, the raw query
string, the headers and the raw body are read as werkzeug reads them for Flask and
passed on untouched, so requests are parsed by the same code as the in-process path,
and the reply is JSON as Flask's `jsonify` writes it (compact, key order kept,
non-ASCII as is, a closing newline).
"""

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug._internal import _wsgi_decoding_dance
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from mock_refiner.service import MockRefiner

logger = logging.getLogger(__name__)

PREFIX = "/v1"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


def is_refiner_path(path_info: str) -> bool:
    """Whether a decoded `PATH_INFO` is `/v1` or under `/v1/`."""
    return path_info.startswith(PREFIX) and (
        len(path_info) == len(PREFIX) or path_info[len(PREFIX)] == "/"
    )


class RefinerApi:
    """WSGI middleware: `/v1` calls answered by the mock, the rest passed to `app`."""

    def __init__(self, app: WsgiApp, mock: MockRefiner) -> None:
        self.app = app
        self.mock = mock

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path_info = _wsgi_decoding_dance(environ.get("PATH_INFO") or "")
        if not is_refiner_path(path_info):
            return self.app(environ, start_response)

        method = str(environ.get("REQUEST_METHOD", "GET"))
        try:
            reply = self.mock.handle(
                method,
                "/" + path_info.lstrip("/"),
                str(environ.get("QUERY_STRING", "")).encode("latin-1"),
                dict(EnvironHeaders(environ).items()),
                read_body(environ, self.mock.settings.max_body_bytes),
            )
            status, body, extra = reply.status, reply.body, reply.headers
        except Exception as error:
            logger.exception("unexpected error")
            message = f"Internal error: {type(error).__name__}: {error}"
            status, body, extra = 500, {"error": message}, {}

        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        encoded = (text + "\n").encode("utf-8")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(encoded))),
            *extra.items(),
        ]
        start_response(status_line(status), headers)
        return [] if method.upper() == "HEAD" else [encoded]


def read_body(environ: dict, limit: int) -> bytes | None:
    """The request body as Flask's `request.get_data()` reads it, but at most one
    byte past `limit`, so an over-long body costs no more memory than that and the
    mock can refuse it; None when it cannot be read (a broken chunked body, a client
    gone)."""
    try:
        return get_input_stream(environ).read(limit + 1)
    except (OSError, ValueError, HTTPException):
        logger.warning(
            "could not read the body of %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
        )
        return None


def status_line(status: int) -> str:
    """`200 OK`: the status and its reason phrase, as werkzeug writes it."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"
