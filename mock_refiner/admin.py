"""The admin API under `/__mock`, a prefix Refiner never uses.

`GET /__mock/state` shows every environment (`?api_key=K` shows one),
`PUT /__mock/state` replaces the state with such a document (seeding), and
`GET /__mock/calls` lists the journal (`?path=` and `?status=` filter it) with the
number of older calls dropped to keep it within its limit
(`{"calls": [...], "dropped": N}`; clearing the journal sets `dropped` to 0 and ids
start from 1 again).
`GET /__mock/faults` lists the fault rules, `POST /__mock/faults` adds one (a JSON
object, or `{"spec": TEXT}`; `mock_refiner.faults`) and `DELETE /__mock/faults` removes
them all. `POST /__mock/reset` clears state, journal and fault rules (`?what=state`,
`?what=calls` or `?what=faults` clears one). Reading never changes anything. An empty
`path` or `status` filter counts as no filter; `?api_key=` with an empty value shows
the environment of the empty key. With a state file, changes to the state and the
journal are saved before the reply.
"""

import json
import logging
import re
from collections.abc import Callable

import yaml
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mock_refiner.faults import FaultError, FaultRule
from mock_refiner.openapi import document
from mock_refiner.params import MAX_DEPTH
from mock_refiner.service import MockRefiner
from mock_refiner.state import StateError, read_state_text

logger = logging.getLogger(__name__)

RESET_PARTS = ("state", "calls", "faults")

admin = Blueprint("mock_admin", __name__, url_prefix="/__mock")


def reset_hooks(app: Flask) -> dict[str, list[Callable[[], object]]]:
    """What else `POST /__mock/reset` clears, by part: other blueprints of the app
    append a function to `reset_hooks(app)["calls"]` to be cleared with the journal.
    """
    return app.extensions.setdefault("mock_refiner_reset_hooks", {})


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
    """The journal, oldest first, filtered by `path` and `status`, and the number
    of calls dropped (filters do not apply to that count)."""
    path = request.args.get("path") or None
    status_text = request.args.get("status") or None
    if status_text is not None and not re.fullmatch(r"[0-9]{1,3}", status_text):
        message = f"The status filter must be an HTTP status code, not {status_text!r}."
        return jsonify({"error": message}), 400

    status = int(status_text) if status_text is not None else None
    journal = _mock().journal
    return jsonify(
        {"calls": journal.calls(path=path, status=status), "dropped": journal.dropped}
    )


@admin.post("/reset")
def reset() -> Response | tuple[Response, int]:
    """Clear the state, the journal and the fault rules, or one of them."""
    if len(request.args.getlist("what")) > 1:
        message = "Give the what parameter once; without it, everything is reset."
        return jsonify({"error": message}), 400

    what = request.args.get("what") or None
    if what is not None and what not in RESET_PARTS:
        message = (
            f"The what parameter must be 'state', 'calls' or 'faults', not {what!r}."
        )
        return jsonify({"error": message}), 400

    parts = RESET_PARTS if what is None else (what,)
    if "state" in parts:
        _mock().reset()

    if "calls" in parts:
        _mock().clear_calls()

    if "faults" in parts:
        _mock().faults.clear()

    for part in parts:
        for clear in reset_hooks(current_app).get(part, []):
            clear()

    logger.info("reset %s", " and ".join(parts))
    return jsonify({"message": "ok", "reset": list(parts)})


@admin.get("/faults")
def faults() -> Response:
    """The fault rules in the order added, with the calls each has faulted."""
    return jsonify({"faults": _mock().faults.views()})


@admin.post("/faults")
def add_fault() -> tuple[Response, int]:
    """Add a fault rule from a JSON object; a bad one is a 400 and adds nothing."""
    try:
        document = json.loads(request.get_data(), parse_constant=_refuse_constant)
    except RecursionError:
        message = f"The fault rule is not valid JSON: it nests deeper than {MAX_DEPTH} "
        return jsonify({"error": message + "levels."}), 400
    except ValueError as error:
        message = f"The fault rule is not valid JSON: {error}"
        return jsonify({"error": message}), 400

    try:
        rule = FaultRule.from_json(document)
    except FaultError as error:
        return jsonify({"error": f"The fault rule is not valid: {error}."}), 400

    return jsonify({"message": "ok", "fault": _mock().faults.add(rule)}), 201


@admin.delete("/faults")
def clear_faults() -> Response:
    """Remove every fault rule."""
    return jsonify({"message": "ok", "cleared": _mock().faults.clear()})


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")
