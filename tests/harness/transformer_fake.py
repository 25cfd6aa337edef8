"""A stand-in for the RudderStack transformer that answers only from recorded replies.

:class:`TransformerFake` is a WSGI app for ``POST /v0/destinations/refiner``. It holds
the recorded cases of ``rudderstack-transformer.json`` and, for each posted item,
looks up the case whose ``message`` and destination ``Config`` are the same JSON
(types, values and nesting; object key order aside) and answers that case's recorded
``reply`` with the posted item's ``metadata``. It maps nothing itself: an item that
matches no recorded case makes the whole request fail with 400 and the item named.

``fault`` makes it misbehave the ways a real service can: ``"error"`` answers 500,
``"not-json"`` answers an HTML page, ``"short"`` leaves out the last reply item,
``"slow"`` waits ``delay`` seconds before answering. ``batches`` records the number
of items of every request received.

:func:`serving` runs it (or any WSGI app) on a free port of 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

PATH = "/v0/destinations/refiner"
FAULTS = (None, "error", "not-json", "short", "slow")


def case_key(config: Any, message: Any) -> str:
    """Canonical JSON of a config and a message: equal only when both are the same
    JSON (``1``, ``1.0`` and ``true`` differ)."""
    return json.dumps([config, message], sort_keys=True, ensure_ascii=True)


class TransformerFake:
    """The transformer's processor endpoint, answering from recorded cases."""

    def __init__(
        self, cases: list[dict[str, Any]], fault: str | None = None, delay: float = 1.0
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, not {fault!r}")
        self.replies = {
            case_key(case["config"], case["message"]): case["reply"] for case in cases
        }
        self.fault = fault
        self.delay = delay
        self.batches: list[int] = []
        self.job_ids: list[int] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.answer(request)(environ, start_response)

    def answer(self, request: Request) -> Response:
        if request.path != PATH:
            return _json({"error": f"no route {request.path}"}, 404)
        if request.method != "POST":
            return _json({"error": f"{request.method} is not allowed"}, 405)
        try:
            items = json.loads(request.get_data(as_text=True))
        except ValueError as error:
            return _json({"error": f"the body is not JSON: {error}"}, 400)
        if not isinstance(items, list):
            return _json({"error": "the body must be a JSON list of items"}, 400)

        replies = []
        for number, item in enumerate(items, start=1):
            reply = self.reply_to(item)
            if isinstance(reply, str):
                return _json({"error": f"item {number}: {reply}"}, 400)
            replies.append(reply)
        self.batches.append(len(items))
        self.job_ids.extend(item["metadata"]["jobId"] for item in items)

        return self.deliver(replies)

    def reply_to(self, item: Any) -> dict[str, Any] | str:
        """The recorded reply for one posted item, or why there is none."""
        if not isinstance(item, dict) or not {
            "message",
            "destination",
            "metadata",
        } <= set(item):
            return "an item must hold message, destination and metadata"
        destination = item["destination"]
        config = destination.get("Config") if isinstance(destination, dict) else None
        recorded = self.replies.get(case_key(config, item["message"]))
        if recorded is None:
            return "no recorded case has this message and config"
        reply = copy.deepcopy(recorded)
        reply["metadata"] = item["metadata"]
        return reply

    def deliver(self, replies: list[dict[str, Any]]) -> Response:
        if self.fault == "error":
            return Response("transformer crashed", status=500, mimetype="text/plain")
        if self.fault == "not-json":
            return Response("<html>Bad Gateway</html>", mimetype="text/html")
        if self.fault == "short":
            replies = replies[:-1]
        if self.fault == "slow":
            time.sleep(self.delay)
        return _json(replies, 200)


def _json(document: Any, status: int) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """A WSGI app on a free port of 127.0.0.1 for the block; its base URL."""
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
