"""The admin API under `/__mock`, a prefix Refiner never uses.

`GET /__mock/state` shows every environment (`?api_key=K` shows one) and
`PUT /__mock/state` replaces the state with such a document (seeding),
`GET /__mock/calls` lists the journal (`?path=` and `?status=` filter it) and
`POST /__mock/reset` clears state and journal (`?what=state` or `?what=calls` clears
one). Reading never changes anything. An empty `path` or `status` filter counts
as no filter; `?api_key=` with an empty value shows the environment of the empty key.
"""

import logging
import re

import yaml
from flask import Blueprint, Response, current_app, jsonify, request

from mock_refiner.openapi import document
from mock_refiner.service import MockRefiner
from mock_refiner.state import StateError, read_state_text

logger = logging.getLogger(__name__)

RESET_PARTS = ("state", "calls")

admin = Blueprint("mock_admin", __name__, url_prefix="/__mock")


def _mock() -> MockRefiner:
    return current_app.extensions["mock_refiner"]


@admin.get("/state")
def state() -> Response:
    """All environments, or the one of `?api_key=K`."""
    if "api_key" in request.args:
        return jsonify(_mock().store.snapshot(request.args["api_key"]))

    return jsonify(_mock().store.snapshot())


@admin.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document of the mock's `/v1` and `/__mock` endpoints."""
    return jsonify(document())


@admin.put("/state")
def load_state() -> Response | tuple[Response, int]:
    """Replace the whole state with a state document (JSON, or YAML text)."""
    text = request.get_data(as_text=False)
    try:
        document = read_state_text(text.decode("utf-8"))
        count = _mock().load(document)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        message = f"The state document is not valid JSON or YAML: {error}"
        return jsonify({"error": message}), 400
    except StateError as error:
        return jsonify({"error": f"The state document is not valid: {error}"}), 400

    logger.info("loaded state: %d environments", count)
    return jsonify({"message": "ok", "environments": count})


@admin.get("/calls")
def calls() -> Response | tuple[Response, int]:
    """The journal, oldest first, filtered by `path` and `status`."""
    path = request.args.get("path") or None
    status_text = request.args.get("status") or None
    if status_text is not None and not re.fullmatch(r"[0-9]{1,3}", status_text):
        message = f"The status filter must be an HTTP status code, not {status_text!r}."
        return jsonify({"error": message}), 400

    status = int(status_text) if status_text is not None else None
    return jsonify({"calls": _mock().journal.calls(path=path, status=status)})


@admin.post("/reset")
def reset() -> Response | tuple[Response, int]:
    """Clear the state, the journal, or both."""
    what = request.args.get("what") or None
    if what is not None and what not in RESET_PARTS:
        message = f"The what parameter must be 'state' or 'calls', not {what!r}."
        return jsonify({"error": message}), 400

    parts = RESET_PARTS if what is None else (what,)
    if "state" in parts:
        _mock().reset()

    if "calls" in parts:
        _mock().journal.clear()

    logger.info("reset %s", " and ".join(parts))
    return jsonify({"message": "ok", "reset": list(parts)})
