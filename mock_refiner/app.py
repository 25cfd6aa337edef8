"""`create_app`: the Flask app of a mock Refiner, with the `/v1` and `/__mock` APIs.

Every reply is JSON, error pages included: Flask's HTML error pages never appear.
"""

import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from mock_refiner.admin import admin
from mock_refiner.api import RefinerApi
from mock_refiner.faults import FaultInjector
from mock_refiner.persistence import StateWriteError
from mock_refiner.service import MockRefiner
from mock_refiner.settings import Settings
from mock_refiner.state import read_state_file

logger = logging.getLogger(__name__)

MAX_ADMIN_BODY_BYTES = 64 * 1024 * 1024
"""The largest body the Flask side takes (state documents, fault rules); more is a
413. The data plane has a smaller limit of its own."""


def create_app(
    settings: Settings | None = None,
    seed: str | Path | Mapping | None = None,
    state_file: str | Path | None = None,
) -> Flask:
    """A Flask app serving a new `MockRefiner`, kept at `extensions["mock_refiner"]`.

    Its WSGI app is wrapped in `RefinerApi`, which answers every `/v1` call with the
    mock (`mock_refiner.api`), then in `FaultInjector`, which answers calls with the
    fault rules of `mock.faults` (`mock_refiner.faults`), whatever serves them.

    `seed` is a state document, or the path of a YAML or JSON file holding one, that
    the mock starts from (`mock_refiner.state`); a bad one raises `StateError`.

    `state_file` is the path of a SQLite file keeping the state and the journal
    (`mock_refiner.persistence`), created when missing; a file that is not one raises
    `StateError`. When it already holds environments, the file wins: the seed is
    read and checked in full (a bad one raises `StateError`) but not loaded.
    """
    mock = MockRefiner(settings, state_file=state_file)
    if seed is not None:
        try:
            mock.seed(read_state_file(seed) if isinstance(seed, str | Path) else seed)
        except BaseException:
            mock.close()
            raise

    app = Flask(__name__)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_ADMIN_BODY_BYTES
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.url_map.merge_slashes = False
    app.extensions["mock_refiner"] = mock

    app.register_blueprint(admin)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, internal_error)
    app.wsgi_app = FailedSaves(  # type: ignore[method-assign]
        FaultInjector(RefinerApi(app.wsgi_app, mock), mock)
    )
    return app


class FailedSaves:
    """WSGI middleware, outermost: a fault's journal entry that the state file could
    not take (`StateWriteError`, raised outside Flask and `RefinerApi`) is answered
    with a JSON 500, as they answer a call whose save failed."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(
        self, environ: dict, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            return self.app(environ, start_response)
        except StateWriteError as error:
            logger.exception("unexpected error")
            message = f"Internal error: {type(error).__name__}: {error}"
            text = json.dumps(
                {"error": message}, ensure_ascii=False, separators=(",", ":")
            )
            encoded = (text + "\n").encode("utf-8")
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(encoded))),
            ]
            start_response("500 INTERNAL SERVER ERROR", headers, sys.exc_info())
            return [] if environ.get("REQUEST_METHOD") == "HEAD" else [encoded]


def http_error(error: HTTPException) -> Response | tuple[Response, int]:
    """A Flask or Werkzeug error (404, 405, ...) as `{"error": ...}`."""
    response = jsonify({"error": (error.name or "Error").capitalize()})
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value

    return response, error.code or 500


def internal_error(error: Exception) -> tuple[Response, int]:
    """An unexpected exception as a 500 `{"error": "Internal error: ..."}`."""
    logger.exception("unexpected error")
    message = f"Internal error: {type(error).__name__}: {error}"
    return jsonify({"error": message}), 500
