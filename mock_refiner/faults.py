"""Fault injection: rules that answer chosen calls with an error status, a delay or a
dropped connection, and the WSGI middleware that applies them.

A `FaultRule` matches calls by path, exact or a glob where `*` stands for any run of
characters (`/` included, so `/v1/*` covers `/v1/forms/publish`), and optionally by
method. It injects one fault:

- `status`: an error status (400 to 599) with a JSON body, `{"error": ...}` unless
  `body` is given, and a `Retry-After` header when `retry_after` (seconds) is given;
- `delay_ms`: the real reply, after that many milliseconds (alone, or before a
  status or a drop);
- `drop`: the server closes the connection without a complete HTTP response.

`times: N` makes a rule fault the next N calls it matches and then be used up;
`probability: p` faults each matching call with chance `p`, drawn from a random
generator of the rule's own, seeded with `seed` (0 unless given), so the same sequence
of calls gets the same faults. Rules are checked in the order added; the first live
rule that matches, and draws a fault when it has a probability, applies. A rule that
draws no fault passes the call on to the rules after it. Calls under `/__mock` are
never faulted, so the admin API always works. Rules and matching use no web framework;
`FaultInjector` is plain WSGI.

Journal: a call answered by a status or a drop, whatever its path, is journaled by
`MockRefiner.journal_fault` with the note `injected fault: ... (rule N)` and changes no
state (a dropped call's `status` is null, its `reply` `{}`); a delayed call is answered
and journaled by the mock as usual, with the note added (`injected_notes`).

Command line: `parse_fault(text)` reads the compact spec of `docs/faults.md`, such as
`status=503,path=/v1/identify-user,times=2` or `drop,probability=0.3,seed=7`, and
raises `FaultError` (a `ValueError`) naming the bad part. A server adds the rules to
the app before it serves; with `--fault SPEC` repeatable (`action="append"`):

    app = create_app(settings)
    for text in arguments.fault or []:
        try:
            rule = parse_fault(text)
        except ValueError as error:
            parser.error(str(error))
        app.extensions["mock_refiner"].faults.add(rule)

(`parse_fault` as an argparse `type=` would hide the message behind argparse's own
"invalid value", hence the explicit `parser.error`.)

Limitations: a drop closes the connection without a reply on Werkzeug's server (it
shuts the socket of `environ["werkzeug.socket"]`) and on waitress (it raises waitress's
`ClientDisconnected`). Elsewhere, granian included, the reply is cut: a `500` status
line and headers declaring a 64-byte body that stops after one byte (on granian, at
times nothing at all, as it sends the head while the body fails). An in-process client
(a WSGI transport, Flask's test client) gets `DroppedConnection` raised from the call.
A delay holds a server thread for its length. A delay on a path the mock does not
journal (the dashboard, the data plane) shows only in the log. The data plane's
deliveries to the mock meet the rules of their `/v1` path through `call_with_faults`,
as they would over the network. Paths are matched as the app sees them
(`PATH_INFO`), without the query.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from mock_refiner.params import MAX_DEPTH
from mock_refiner.routes import Reply
from mock_refiner.wsgi import query_string, read_body, request_headers, request_path

if TYPE_CHECKING:
    from mock_refiner.service import MockRefiner

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/__mock"
DROPPED_KEY = "mock_refiner.dropped"
DROP_MESSAGE = "injected fault: connection dropped"
MAX_DELAY_MS = 600_000
MAX_RETRY_AFTER = 31_536_000
MAX_TIMES = 1_000_000_000
MAX_SEED = 2**64 - 1
MAX_PATH_LENGTH = 2048
DROP_STATUS = "500 Internal Server Error"
DROP_DECLARED_LENGTH = 64

JSON_NAMES = {
    "path": "path",
    "method": "method",
    "status": "status",
    "body": "body",
    "retry_after": "retry_after",
    "delay_ms": "delay_ms",
    "drop": "drop",
    "times": "times",
    "probability": "probability",
    "seed": "seed",
}
SPEC_NAMES = {**JSON_NAMES, "retry_after": "retry-after", "delay_ms": "delay"}
SPEC_FIELDS = {name: field_name for field_name, name in SPEC_NAMES.items()}

_METHOD = re.compile(r"[A-Za-z]{1,20}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,3})?"
)
_PATH_REFUSED = re.compile(r"[\s,?#]")

_call_notes: ContextVar[tuple[tuple[str, str], ...]] = ContextVar(
    "mock_refiner_fault_notes", default=()
)


class FaultError(ValueError):
    """A fault rule or spec that is not valid; the message names the bad part."""


class DroppedConnection(ConnectionAbortedError):
    """Ends a call whose connection a fault drops; `call_id` is its journal entry's
    id where the caller can use it."""

    def __init__(self, message: str, call_id: int | None = None) -> None:
        super().__init__(message)
        self.call_id = call_id


def _shown(value: object) -> str:
    """A value as a message shows it: JSON where it can be."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class FaultRule:
    """Which calls to fault (`path`, `method`), the fault, and how often.

    Built from keywords (`FaultRule(status=503, times=2)`), from the admin API's JSON
    (`from_json`) or from a spec (`parse_fault`); a bad value raises `FaultError`.
    """

    path: str = "*"
    method: str | None = None
    status: int | None = None
    body: Any = None
    retry_after: int | None = None
    delay_ms: int | None = None
    drop: bool = False
    times: int | None = None
    probability: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        check_rule({item.name: getattr(self, item.name) for item in fields(self)})
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())

        if self.body is not None:
            object.__setattr__(self, "body", json.loads(json.dumps(self.body)))

        if self.probability is not None:
            object.__setattr__(self, "probability", float(self.probability))
            if self.seed is None:
                object.__setattr__(self, "seed", 0)

    @classmethod
    def from_json(cls, document: object) -> FaultRule:
        """A rule from the admin API's JSON object, or `{"spec": TEXT}`."""
        if not isinstance(document, Mapping):
            raise FaultError(
                f"a fault rule must be a JSON object, not {_shown(document)}"
            )

        if "spec" in document:
            others = sorted(key for key in document if key != "spec")
            if others:
                listed = ", ".join(others)
                raise FaultError(f"spec cannot be given with other fields: {listed}")
            if not isinstance(document["spec"], str):
                raise FaultError(f"spec must be text, not {_shown(document['spec'])}")
            return parse_fault(document["spec"])

        for key in document:
            if key not in JSON_NAMES:
                known = ", ".join(JSON_NAMES)
                raise FaultError(f"unknown field {_shown(key)}; the fields are {known}")

        return cls(**document)

    def matches(self, method: str, path: str) -> bool:
        """Whether a call with this method and path is one this rule faults."""
        if self.method is not None and method.upper() != self.method:
            return False

        return _path_pattern(self.path).fullmatch(path) is not None

    def answers(self) -> bool:
        """Whether the fault replaces the mock's reply (a status or a drop)."""
        return self.status is not None or self.drop

    def reply_body(self) -> Any:
        """The JSON body of a status fault: `body`, or `{"error": ...}`."""
        if self.body is not None:
            return self.body

        return {"error": f"Injected fault: {self.status} {_phrase(self.status)}"}

    def describe(self) -> str:
        """The fault in words, for notes and logs: `delay 1500 ms, then status 503`."""
        steps = []
        if self.delay_ms is not None:
            steps.append(f"delay {self.delay_ms} ms")

        if self.status is not None:
            retry = (
                "" if self.retry_after is None else f", Retry-After {self.retry_after}"
            )
            steps.append(f"status {self.status}{retry}")

        if self.drop:
            steps.append("drop connection")

        return ", then ".join(steps)

    def to_json(self) -> dict[str, Any]:
        """The rule's fields, as the admin API shows them."""
        return asdict(self)

    def spec(self) -> str:
        """The rule as a spec that `parse_fault` reads back to an equal rule."""
        parts = []
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.drop:
            parts.append("drop")
        if self.delay_ms is not None:
            parts.append(f"delay={self.delay_ms}")
        if self.retry_after is not None:
            parts.append(f"retry-after={self.retry_after}")
        if self.path != "*":
            parts.append(f"path={self.path}")
        if self.method is not None:
            parts.append(f"method={self.method}")
        if self.times is not None:
            parts.append(f"times={self.times}")
        if self.probability is not None:
            parts.append(f"probability={self.probability!r},seed={self.seed}")
        if self.body is not None:
            text = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
            parts.append(f"body={text}")
        return ",".join(parts)


def check_rule(rule: Mapping[str, Any], names: Mapping[str, str] = JSON_NAMES) -> None:
    """Refuse a rule's fields when one is bad, naming it as `names` spells it."""
    _check_path(rule["path"], names["path"])

    if rule["method"] is not None and not (
        isinstance(rule["method"], str) and _METHOD.fullmatch(rule["method"])
    ):
        raise FaultError(
            f"{names['method']} must be an HTTP method such as POST, "
            f"not {_shown(rule['method'])}"
        )

    _check_whole(rule["status"], names["status"], 400, 599, "an HTTP error status")
    _check_whole(
        rule["retry_after"], names["retry_after"], 0, MAX_RETRY_AFTER, "seconds"
    )
    _check_whole(rule["delay_ms"], names["delay_ms"], 0, MAX_DELAY_MS, "milliseconds")
    _check_whole(rule["times"], names["times"], 1, MAX_TIMES, "a whole number")
    _check_whole(rule["seed"], names["seed"], 0, MAX_SEED, "a whole number")

    if not isinstance(rule["drop"], bool):
        raise FaultError(
            f"{names['drop']} must be true or false, not {_shown(rule['drop'])}"
        )

    probability = rule["probability"]
    if probability is not None and not (
        isinstance(probability, int | float)
        and not isinstance(probability, bool)
        and math.isfinite(probability)
        and 0 <= probability <= 1
    ):
        raise FaultError(
            f"{names['probability']} must be a number from 0 to 1, "
            f"not {_shown(probability)}"
        )

    if rule["body"] is not None:
        if _depth(rule["body"]) > MAX_DEPTH:
            raise FaultError(f"{names['body']} nests deeper than {MAX_DEPTH} levels")
        try:
            json.dumps(rule["body"], allow_nan=False)
        except (TypeError, ValueError) as error:
            raise FaultError(f"{names['body']} must be a JSON value: {error}") from None

    _check_combination(rule, names)


def _depth(value: object) -> int:
    """How deep lists and objects nest in a value (1 for `[]`), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, Mapping):
            children = list(current.values())
        elif isinstance(current, list | tuple):
            children = list(current)
        else:
            continue

        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            pending.extend((child, depth + 1) for child in children)

    return deepest


def _check_path(path: object, name: str) -> None:
    if not isinstance(path, str) or not path.startswith(("/", "*")):
        raise FaultError(
            f"{name} must be text starting with / or *, not {_shown(path)}"
        )

    if len(path) > MAX_PATH_LENGTH:
        raise FaultError(f"{name} must be at most {MAX_PATH_LENGTH} characters long")

    if _PATH_REFUSED.search(path):
        raise FaultError(
            f"{name} must hold no query, fragment, comma or whitespace: {_shown(path)}"
        )

    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        raise FaultError(
            f"{name} {_shown(path)} is under {ADMIN_PREFIX}, which is never faulted"
        )


def _check_whole(value: object, name: str, low: int, high: int, kind: str) -> None:
    if value is None:
        return

    if not (_is_whole(value) and low <= value <= high):  # type: ignore[operator]
        raise FaultError(
            f"{name} must be {kind} from {low} to {high}, not {_shown(value)}"
        )


def _check_combination(rule: Mapping[str, Any], names: Mapping[str, str]) -> None:
    if rule["status"] is not None and rule["drop"]:
        raise FaultError(f"{names['status']} and {names['drop']} exclude each other")

    for name in ("body", "retry_after"):
        if rule[name] is not None and rule["status"] is None:
            raise FaultError(f"{names[name]} needs {names['status']}")

    if rule["seed"] is not None and rule["probability"] is None:
        raise FaultError(f"{names['seed']} needs {names['probability']}")

    if rule["status"] is None and not rule["drop"] and rule["delay_ms"] is None:
        raise FaultError(
            f"a fault needs {names['status']}, {names['delay_ms']} or {names['drop']}"
        )


@lru_cache(maxsize=256)
def _path_pattern(path: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in path.split("*")), re.S)


def _phrase(status: int | None) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def parse_fault(text: str) -> FaultRule:
    """A rule from a compact spec: comma-separated items, `key=value`, `drop`, or a
    bare status; `body=JSON` comes last and takes the rest of the text.

    `status=503,path=/v1/identify-user,times=2`, `delay=1500,path=/v1/*`,
    `drop,path=/v1/track-event,probability=0.3,seed=7`, `429,retry-after=30,times=1`.
    """
    if not isinstance(text, str):
        raise FaultError(f"a fault spec must be text, not {_shown(text)}")

    values: dict[str, Any] = {}
    for item in _spec_items(text):
        name, value = _spec_value(text, item)
        field_name = SPEC_FIELDS[name]
        if field_name in values:
            raise FaultError(f"fault spec {text!r}: {name} is given twice")
        values[field_name] = value

    defaults = {item.name: item.default for item in fields(FaultRule)}
    try:
        check_rule({**defaults, **values}, SPEC_NAMES)
    except FaultError as error:
        raise FaultError(f"fault spec {text!r}: {error}") from None

    return FaultRule(**values)


def _spec_items(text: str) -> Iterator[str]:
    if not text.strip():
        raise FaultError("a fault spec must not be empty")

    position = 0
    while True:
        comma = text.find(",", position)
        item = (text[position:] if comma == -1 else text[position:comma]).strip()
        if item.startswith("body="):
            yield text[position:].strip()
            return

        if not item:
            raise FaultError(f"fault spec {text!r}: empty item at character {position}")

        yield item
        if comma == -1:
            return
        position = comma + 1


def _spec_value(text: str, item: str) -> tuple[str, Any]:
    """The spec name and the value of one item."""
    if item == "drop":
        return "drop", True

    if _INTEGER.fullmatch(item):
        return "status", int(item)

    name, equals, raw = item.partition("=")
    name = name.strip()
    raw = raw.strip()
    if not equals or name not in SPEC_FIELDS or name == "drop":
        known = ", ".join(key for key in SPEC_FIELDS if key != "drop")
        raise FaultError(
            f"fault spec {text!r}: unknown item {item!r}; items are drop, a status, "
            f"or key=value with key one of {known}"
        )

    if name == "body":
        try:
            return name, json.loads(raw, parse_constant=_refuse_constant)
        except RecursionError:
            message = f"body nests deeper than {MAX_DEPTH} levels"
            raise FaultError(f"fault spec {_excerpt(text)}: {message}") from None
        except ValueError as error:
            raise FaultError(
                f"fault spec {text!r}: body is not valid JSON: {error}"
            ) from None

    if name == "delay" and raw.endswith("ms"):
        raw = raw[:-2].strip()

    if name in ("status", "retry-after", "delay", "times", "seed"):
        return name, int(raw) if _INTEGER.fullmatch(raw) else raw

    if name == "probability" and _INTEGER.fullmatch(raw):
        return name, int(raw)

    if name == "probability":
        return name, float(raw) if _NUMBER.fullmatch(raw) else raw

    return name, raw


def _excerpt(text: str, length: int = 60) -> str:
    """A long text as its start, quoted, for messages."""
    return repr(text if len(text) <= length else text[:length] + "...")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


@dataclass
class _Entry:
    """A rule as added, with its random generator and the calls it faulted."""

    number: int
    rule: FaultRule
    draw: random.Random | None
    faulted: int = 0

    def remaining(self) -> int | None:
        return None if self.rule.times is None else self.rule.times - self.faulted

    def live(self) -> bool:
        remaining = self.remaining()
        return remaining is None or remaining > 0


@dataclass(frozen=True)
class Fault:
    """The fault chosen for one call: the rule and its number (from 1)."""

    number: int
    rule: FaultRule

    @property
    def note(self) -> str:
        return f"injected fault: {self.rule.describe()} (rule {self.number})"


class FaultRules:
    """The fault rules of a mock, in the order added; safe to use from threads."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> dict[str, Any]:
        """Add a rule after the others; returns its view (`views`)."""
        if not isinstance(rule, FaultRule):
            raise TypeError(f"expected a FaultRule, not {type(rule).__name__}")

        with self._lock:
            draw = None if rule.probability is None else random.Random(rule.seed)
            entry = _Entry(len(self._entries) + 1, rule, draw)
            self._entries.append(entry)
            view = _view(entry)

        logger.info("added fault rule %d: %s", entry.number, rule.spec())
        return view

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for a call, counting it against its rule; None for no fault."""
        with self._lock:
            for entry in self._entries:
                if not entry.live() or not entry.rule.matches(method, path):
                    continue

                probability = entry.rule.probability
                if entry.draw is not None and not entry.draw.random() < probability:
                    continue

                entry.faulted += 1
                return Fault(entry.number, entry.rule)

        return None

    def views(self) -> list[dict[str, Any]]:
        """Every rule: `id`, `spec`, its fields, `faulted` and `remaining` (null for
        a rule without `times`)."""
        with self._lock:
            return [_view(entry) for entry in self._entries]

    def clear(self) -> int:
        """Remove every rule; numbers start from 1 again. Returns how many went."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()

        logger.info("cleared %d fault rules", count)
        return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _view(entry: _Entry) -> dict[str, Any]:
    return {
        "id": entry.number,
        "spec": entry.rule.spec(),
        **entry.rule.to_json(),
        "faulted": entry.faulted,
        "remaining": entry.remaining(),
    }


@contextmanager
def noting(path: str, note: str) -> Iterator[None]:
    """While the mock answers a delayed call with this path, its journal entry gets
    `note` (`injected_notes`)."""
    token = _call_notes.set((*_call_notes.get(), (path, note)))
    try:
        yield
    finally:
        _call_notes.reset(token)


def journal_answer(
    mock: MockRefiner,
    fault: Fault,
    note: str,
    request: tuple[str, str, bytes, Mapping[str, str], bytes | None],
) -> tuple[Any, int]:
    """Journal a call that a status or drop fault answers; its reply body (`{}` for
    a drop) and journal id."""
    rule = fault.rule
    reply = {} if rule.drop else rule.reply_body()
    call = mock.journal_fault(*request, rule.status, reply, note)
    return reply, call["id"]


def injected_notes(path: str) -> list[str]:
    """The notes of the faults injected into the call being answered (a delay) when
    it has this path, for the mock to add to its journal entry. Calls the app makes
    to the mock while answering another path get none."""
    return [note for faulted, note in _call_notes.get() if faulted == path]


def call_with_faults(
    mock: MockRefiner,
    method: str,
    path: str,
    query_string: bytes,
    headers: Mapping[str, str],
    body: bytes,
    wait: bool = True,
) -> Reply:
    """Answer a call the app makes to its own mock (the data plane delivering an
    event) as the fault rules would answer it over the network: a status fault's reply,
    the real reply after a delay, or `DroppedConnection` raised for a drop. Each fault
    is journaled as for a call from outside. With `wait` False a delay is noted but
    not waited: the caller has a client of its own waiting (an SDK whose events the
    data plane delivers before answering it), whom the delay must not hold up."""
    fault = mock.faults.pick(method.upper(), path)
    if fault is None:
        return mock.handle(method, path, query_string, headers, body)

    rule = fault.rule
    note = fault.note
    if rule.delay_ms and not wait:
        note = f"{note}, not waited by the data plane"
    logger.info("%s %s: %s", method, path, note)
    if rule.delay_ms and wait:
        time.sleep(rule.delay_ms / 1000)

    if not rule.answers():
        with noting(path, note):
            return mock.handle(method, path, query_string, headers, body)

    request = (method, path, query_string, headers, body)
    reply, call_id = journal_answer(mock, fault, note, request)
    if rule.drop:
        raise DroppedConnection(DROP_MESSAGE, call_id)

    extra = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
    return Reply(rule.status, reply, extra, call_id=call_id)


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


class FaultInjector:
    """WSGI middleware: calls a rule faults get the fault; the rest reach `app`."""

    def __init__(self, app: WsgiApp, mock: MockRefiner) -> None:
        self.app = app
        self.mock = mock

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = request_path(environ)
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self.app(environ, start_response)

        fault = self.mock.faults.pick(method, path)
        if fault is None:
            return self.app(environ, start_response)

        logger.info("%s %s: %s", method, path, fault.note)
        if fault.rule.delay_ms:
            time.sleep(fault.rule.delay_ms / 1000)

        if not fault.rule.answers():
            with noting(path, fault.note):
                return self.app(environ, start_response)

        return self._answer(fault, method, path, environ, start_response)

    def _answer(
        self,
        fault: Fault,
        method: str,
        path: str,
        environ: dict,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        rule = fault.rule
        body = read_body(environ, self.mock.settings.max_body_bytes)
        request = (method, path, query_string(environ), request_headers(environ), body)
        reply, _ = journal_answer(self.mock, fault, fault.note, request)

        if rule.drop:
            return drop_connection(environ, start_response)

        payload = json.dumps(reply, ensure_ascii=False, separators=(",", ":"))
        encoded = (payload + "\n").encode("utf-8")
        response_headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(encoded))),
        ]
        if rule.retry_after is not None:
            response_headers.append(("Retry-After", str(rule.retry_after)))

        start_response(f"{rule.status} {_phrase(rule.status)}", response_headers)
        return [b"" if method == "HEAD" else encoded]


def drop_connection(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    """Close the call's connection without a complete response (see Limitations).
    `environ[DROPPED_KEY]` tells the server's access log that the drop was meant."""
    environ[DROPPED_KEY] = True
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.warning("could not shut the socket of a dropped call")
        raise DroppedConnection(DROP_MESSAGE)

    if "waitress.client_disconnected" in environ:
        try:
            from waitress.channel import ClientDisconnected
        except ImportError:
            logger.warning("waitress has no ClientDisconnected; sending a cut reply")
        else:
            raise ClientDisconnected("injected fault: connection dropped")

    start_response(
        DROP_STATUS,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(DROP_DECLARED_LENGTH)),
        ],
    )
    return _cut_body()


def _cut_body() -> Iterator[bytes]:
    yield b"{"
    raise DroppedConnection(DROP_MESSAGE)
