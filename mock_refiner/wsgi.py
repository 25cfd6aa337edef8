"""Reading a call from a WSGI environ as werkzeug reads it for Flask: its path, query,
headers and body. `RefinerApi` (`/v1`) and the fault middleware both read calls here,
so a faulted call is journaled from the same reading as an answered one.
"""

import logging
from collections.abc import Mapping

from werkzeug._internal import _wsgi_decoding_dance
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import get_input_stream

logger = logging.getLogger(__name__)


def request_path(environ: Mapping) -> str:
    """`PATH_INFO` read as UTF-8, as werkzeug decodes it."""
    return _wsgi_decoding_dance(environ.get("PATH_INFO") or "")


def query_string(environ: Mapping) -> bytes:
    """The raw query string."""
    return str(environ.get("QUERY_STRING", "")).encode("latin-1")


def request_headers(environ: Mapping) -> dict[str, str]:
    """The headers, `Content-Type` and `Content-Length` included."""
    return dict(EnvironHeaders(environ).items())


def read_body(environ: dict, limit: int) -> bytes | None:
    """The body as Flask's `request.get_data()` reads it, but at most one byte past
    `limit`, so an over-long body costs no more memory than that and can be refused;
    None when it cannot be read (a broken chunked body, a client gone)."""
    try:
        return get_input_stream(environ).read(limit + 1)
    except (OSError, ValueError, HTTPException):
        logger.warning(
            "could not read the body of %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
        )
        return None
