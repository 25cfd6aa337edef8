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
of items of every request received, ``authorizations`` its ``Authorization`` header.

:class:`ProfileTransformer` answers every item with what the harness's own
``rudderstack`` profile makes of it, for tests about how replies are used (the data
plane's enriched events match no recorded case).

:func:`raw` and :func:`answering` make transformers that always give one reply, for
replies the fake never gives; :class:`Recorder` stands for a server that must never
be called. :func:`serving` runs any of them on a free port of 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from harness.mapper import MappingError, map_event

PATH = "/v0/destinations/refiner"
WSGIApp = Callable[[dict[str, Any], Any], Any]
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
        self.authorizations: list[str | None] = []

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
        self.authorizations.append(request.headers.get("Authorization"))
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


class ProfileTransformer(TransformerFake):
    """The transformer's processor endpoint, answering with the ``rudderstack``
    profile's request or refusal for each item, shaped as the transformer's reply."""

    def __init__(self, fault: str | None = None, delay: float = 1.0) -> None:
        super().__init__([], fault=fault, delay=delay)

    def reply_to(self, item: Any) -> dict[str, Any] | str:
        if not isinstance(item, dict) or not isinstance(item.get("destination"), dict):
            return "an item must hold message, destination and metadata"
        try:
            request = map_event(item["message"], item["destination"]["Config"])
        except MappingError as refusal:
            return {
                "metadata": item["metadata"],
                "statusCode": refusal.status,
                "error": refusal.message,
            }
        output = {
            "version": "1",
            "type": "REST",
            "method": request.method,
            "endpoint": request.endpoint,
            "headers": request.headers,
            "params": {},
            "body": {"JSON": {}, "JSON_ARRAY": {}, "XML": {}, "FORM": request.form},
            "files": {},
            "userId": "",
        }
        return {"output": output, "metadata": item["metadata"], "statusCode": 200}


def raw(body: bytes) -> WSGIApp:
    """A WSGI app that answers every request with ``body`` as JSON, status 200."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        Request(environ).get_data()
        response = Response(body, mimetype="application/json")
        return response(environ, start_response)

    return app


def answering(reply: dict[str, Any]) -> WSGIApp:
    """A WSGI app that answers each posted item with a copy of ``reply`` carrying
    the item's metadata."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        items = json.loads(Request(environ).get_data())
        replies = [{**reply, "metadata": item["metadata"]} for item in items]
        response = Response(json.dumps(replies), mimetype="application/json")
        return response(environ, start_response)

    return app


class Recorder:
    """A WSGI app that answers 200 to anything and records each request's path."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.paths.append(Request(environ).path)
        return Response("{}", mimetype="application/json")(environ, start_response)


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
