"""The Refiner API in Flask: every call under `/v1` goes to `MockRefiner.handle`.

The raw body, raw query string and headers are passed on untouched, so the Flask app
parses requests with the same code as the in-process path.
"""

import logging

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from mock_refiner.service import MockRefiner

logger = logging.getLogger(__name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

api = Blueprint("refiner_api", __name__)


class SubPathConverter(PathConverter):
    """Nothing, or `/` followed by anything (empty segments included)."""

    regex = "(?:/.*)?"


@api.route("/v1<v1_sub_path:rest>", methods=METHODS)
def refiner_call(rest: str) -> Response:
    """Pass a `/v1` call to the mock and turn its reply into a JSON response."""
    mock: MockRefiner = current_app.extensions["mock_refiner"]

    try:
        body: bytes | None = request.get_data()
    except (OSError, ValueError, HTTPException):
        logger.warning("could not read the body of %s %s", request.method, request.path)
        body = None

    reply = mock.handle(
        request.method,
        request.path,
        request.query_string,
        dict(request.headers.items()),
        body,
    )

    response = jsonify(reply.body)
    response.status_code = reply.status
    response.headers.update(reply.headers)
    return response
