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

from werkzeug.http import HTTP_STATUS_CODES

from mock_refiner.service import MockRefiner
from mock_refiner.wsgi import query_string, read_body, request_headers, request_path

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
        path_info = request_path(environ)
        if not is_refiner_path(path_info):
            return self.app(environ, start_response)

        method = str(environ.get("REQUEST_METHOD", "GET"))
        try:
            reply = self.mock.handle(
                method,
                "/" + path_info.lstrip("/"),
                query_string(environ),
                request_headers(environ),
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


def status_line(status: int) -> str:
    """`200 OK`: the status and its reason phrase, as werkzeug writes it."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"
