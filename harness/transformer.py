"""A mapper that asks a running RudderStack transformer service.

The transformer (``rudder-transformer``, a Node.js service) maps events for a
destination at ``POST {URL}/v0/destinations/refiner``: the body is a JSON list of
``{message, destination, metadata}`` items and the reply a JSON list with one item per
input, in order. A reply item with ``statusCode`` 200 carries the request in
``output`` (``method``, ``endpoint``, ``headers``, ``body.FORM``); any other status is a
refusal with its ``error`` text. :class:`TransformerMapper` sends events in batches
of ``batch_size``, numbers them with a ``metadata.jobId`` that counts up, and matches
each reply back to its event by that number.

Whatever keeps a batch from being mapped raises :class:`TransformerError`, one line
naming the URL and what went wrong: no connection, a timeout, an HTTP error status,
or a reply that cannot be read or used. The reply is read strictly: UTF-8 JSON, no
``NaN`` or ``Infinity``, no number beyond the range of a double, no key twice in one
object, no nesting deeper than :data:`REPLY_DEPTH`, one item per event. A success
must describe a request the harness may send to Refiner: a method of
:data:`METHODS`, an endpoint under ``https://api.refiner.io/v1/`` (no query, fragment
or dot segments), headers with valid names, no control characters and none of the
transport's own (:data:`TRANSPORT_HEADERS`), and a ``body.FORM`` object; anything
else stops the batch, so nothing is ever sent elsewhere.

A user and password in the URL are sent as HTTP Basic credentials and shown as
``***`` wherever the URL is shown (:func:`without_credentials`): errors, logs,
reports.

While respx routes httpx requests into an in-process mock (``harness.transport``),
calls to the transformer pass through to the network.

Limitations: only form bodies are taken; a reply with ``params``, ``files`` or a
JSON or XML body is refused, since Refiner's destination never sends them. The
destination's ``ID``, ``WorkspaceID`` and the like are fixed placeholder values. The
reply is read whole into memory, whatever its size.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from itertools import count
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from respx.mocks import Mocker
from respx.router import MockRouter

from harness.ingest import MAX_DEPTH, nesting_exceeds
from harness.mapper import BASE_ENDPOINT, MappingError, MappingOutcome, RefinerRequest

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
"""Events per request to the transformer, unless set otherwise."""

TIMEOUT = 10.0
"""Seconds to wait for the transformer's reply to one batch."""

PATH = "/v0/destinations/refiner"

DESTINATION_ID = "refiner-harness-destination"
WORKSPACE_ID = "refiner-harness-workspace"
SOURCE_ID = "refiner-harness-source"

REPLY_DEPTH = MAX_DEPTH + 10
"""The deepest nesting taken in a reply: events nest at most ``MAX_DEPTH`` levels,
and a reply holds their values a few levels further in (list, item, output, body,
FORM)."""

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
"""The methods of a request rudder-server delivers, and Refiner's API answers."""

TRANSPORT_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "host",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers only the transport sets: a reply that sets one is refused."""

REFINER_PREFIX = f"{BASE_ENDPOINT}/"

_EXCERPT = 80
_NUMBER_EXCERPT = 24
_UNUSED_BODIES = ("JSON", "JSON_ARRAY", "XML")
_ABSENT = object()
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_URL_TEXT = re.compile(r"[A-Za-z0-9\-._~:/@!$&'()*+,;=%]+")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\U0010ffff]|[\u2028\u2029]")


class TransformerError(Exception):
    """The transformer could not be asked, or gave a reply that cannot be used."""


class _UnreadableReply(Exception):
    """A reply body that is not strict JSON; the message says why."""


class TransformerMapper:
    """Maps events by asking the transformer service at ``url``, in batches.

    ``url`` may hold a user and password (``http://user:pw@host:9090``): they are
    sent as HTTP Basic credentials, and ``shown_url`` is the URL without them.
    """

    def __init__(
        self, url: str, batch_size: int = BATCH_SIZE, timeout: float = TIMEOUT
    ) -> None:
        self.url = check_url(url)
        self.shown_url = without_credentials(self.url)
        base, self._auth = _split_credentials(self.url)
        self.endpoint = f"{base}{PATH}"
        if batch_size < 1:
            raise ValueError(f"batch size must be 1 or more, not {batch_size}")
        self.batch_size = batch_size
        self.timeout = timeout
        self.requests = 0
        self._job_ids = count(1)

    def __repr__(self) -> str:
        return f"TransformerMapper({self.shown_url!r}, batch_size={self.batch_size})"

    def __call__(self, message: Any, config: Mapping[str, Any]) -> RefinerRequest:
        """Maps one event; raises :class:`MappingError` on refusal."""
        [outcome] = self.map_many([(message, config)])
        if isinstance(outcome, MappingError):
            raise outcome
        return outcome

    def map_many(
        self, pairs: Sequence[tuple[Any, Mapping[str, Any]]]
    ) -> list[MappingOutcome]:
        """Maps every ``(message, config)`` pair, ``batch_size`` per request."""
        outcomes: list[MappingOutcome] = []
        if not pairs:
            return outcomes

        with _past_respx(self.endpoint), self._client() as client:
            for start in range(0, len(pairs), self.batch_size):
                batch = pairs[start : start + self.batch_size]
                outcomes.extend(self._map_batch(client, batch))
        return outcomes

    def _client(self) -> httpx.Client:
        return httpx.Client(auth=self._auth, timeout=self.timeout, trust_env=False)

    def _map_batch(
        self, client: httpx.Client, batch: Sequence[tuple[Any, Mapping[str, Any]]]
    ) -> list[MappingOutcome]:
        items = [
            request_item(message, config, next(self._job_ids))
            for message, config in batch
        ]
        job_ids = [item["metadata"]["jobId"] for item in items]

        replies = self._post(client, items)

        by_job = self._replies_by_job(replies, job_ids)
        return [outcome_of(by_job[job_id], self._where(job_id)) for job_id in job_ids]

    def _post(self, client: httpx.Client, items: list[dict[str, Any]]) -> Any:
        try:
            content = json.dumps(items, ensure_ascii=True, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise self._error(
                f"cannot be sent: an event is not JSON ({error})"
            ) from None
        except RecursionError:
            raise self._error("cannot be sent: an event nests too deep") from None

        self.requests += 1
        logger.debug("POST %s with %d events", self.shown_url + PATH, len(items))
        try:
            response = client.post(
                self.endpoint,
                content=content.encode("ascii"),
                headers={"Content-Type": "application/json"},
            )
        except httpx.ConnectTimeout:
            raise self._unreachable(
                f"no connection within {self.timeout:g} s"
            ) from None
        except httpx.ConnectError as error:
            raise self._unreachable(str(error) or type(error).__name__) from None
        except httpx.TimeoutException:
            raise self._error(f"gave no reply within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise self._error(f"failed: {error or type(error).__name__}") from None

        if response.status_code != 200:
            raise self._error(
                f"answered {response.status_code}{_excerpt(_text(response.content))}"
            )
        try:
            return read_reply(response.content)
        except _UnreadableReply as problem:
            raise self._error(f"replied with {problem}") from None

    def _replies_by_job(self, replies: Any, job_ids: list[int]) -> dict[int, Any]:
        if not isinstance(replies, list):
            raise self._error(f"replied with {_kind(replies)}, not a list")
        if len(replies) != len(job_ids):
            raise self._error(f"got {len(replies)} replies for {len(job_ids)} events")

        by_job: dict[int, Any] = {}
        for index, reply in enumerate(replies):
            metadata = reply.get("metadata") if isinstance(reply, dict) else None
            job_id = metadata.get("jobId") if isinstance(metadata, dict) else None
            if isinstance(job_id, bool) or job_id not in job_ids or job_id in by_job:
                raise self._error(
                    f"reply {index + 1} has metadata.jobId {_shown(job_id)}: not "
                    f"one of the jobIds sent ({job_ids[0]} to {job_ids[-1]}), or one "
                    "already answered"
                )
            by_job[job_id] = reply
        return by_job

    def _where(self, job_id: int) -> str:
        return (
            f"transformer {self.shown_url}: POST {PATH}: the reply for jobId {job_id}"
        )

    def _error(self, problem: str) -> TransformerError:
        return TransformerError(f"transformer {self.shown_url}: POST {PATH} {problem}")

    def _unreachable(self, reason: str) -> TransformerError:
        return TransformerError(
            f"transformer {self.shown_url} cannot be reached: POST {PATH}: {reason}"
        )


def check_url(url: str) -> str:
    """The transformer's base URL without a trailing slash; raises
    :class:`TransformerError` when it is not an http(s) URL with a host."""
    shown = without_credentials(url)
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # reading the port checks its range
    except ValueError as error:
        # the reason may quote part of a password that holds a "/"
        reason = "" if "@" in url and "'" in str(error) else f": {error}"
        raise TransformerError(
            f"transformer URL {shown!r} is not valid{reason}"
        ) from None
    usable = parts.scheme in ("http", "https") and bool(host)
    if not usable or parts.query or parts.fragment:
        raise TransformerError(
            f"transformer URL {shown!r} must be an http or https URL with a host and "
            "no query, such as http://127.0.0.1:9090"
        )
    return url.rstrip("/")


def without_credentials(url: str) -> str:
    """``url`` with the user and password before its host shown as ``***``.

    Everything from ``://`` to the last ``@`` before any ``?`` or ``#`` is hidden,
    so a password that holds a ``/`` is hidden too (a transformer's base URL has
    no ``@`` in its path).
    """
    scheme, separator, rest = url.partition("://")
    end = min((rest.find(mark) for mark in "?#" if mark in rest), default=len(rest))
    at = rest.rfind("@", 0, end)
    if not separator or at < 0:
        return url
    return f"{scheme}://***@{rest[at + 1 :]}"


def _split_credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """The URL without its user and password, and those as HTTP Basic credentials."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None

    host = parts.netloc.rpartition("@")[2]
    base = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return base, httpx.BasicAuth(
        unquote(parts.username or ""), unquote(parts.password or "")
    )


def request_item(
    message: Any, config: Mapping[str, Any], job_id: int
) -> dict[str, Any]:
    """One item of the transformer's request body, shaped as rudder-server sends it."""
    return {
        "message": message,
        "destination": {
            "ID": DESTINATION_ID,
            "Name": "refiner-harness",
            "DestinationDefinition": {
                "ID": "refiner-harness-definition",
                "Name": "REFINER",
                "DisplayName": "Refiner",
                "Config": {},
            },
            "Config": dict(config),
            "Enabled": True,
            "WorkspaceID": WORKSPACE_ID,
            "Transformations": [],
        },
        "metadata": {
            "jobId": job_id,
            "attemptNum": 1,
            "userId": "",
            "sourceId": SOURCE_ID,
            "destinationId": DESTINATION_ID,
            "workspaceId": WORKSPACE_ID,
            "dontBatch": False,
        },
    }


# Reading replies ---------------------------------------------------------------


def read_reply(content: bytes) -> Any:
    """The JSON value of a reply body, read strictly: UTF-8, no ``NaN`` or
    ``Infinity``, numbers within a double's range, no key twice in an object, at
    most :data:`REPLY_DEPTH` levels deep."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _UnreadableReply(
            f"text that is not UTF-8: {error.reason} at byte {error.start}"
        ) from None

    too_deep = f"JSON nested deeper than {REPLY_DEPTH} levels"
    try:
        value = json.loads(
            text,
            parse_int=_finite_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_once,
        )
    except RecursionError:
        raise _UnreadableReply(too_deep) from None
    except ValueError:
        raise _UnreadableReply(f"text that is not JSON{_excerpt(text)}") from None

    if nesting_exceeds(value, REPLY_DEPTH):
        raise _UnreadableReply(too_deep)
    return value


def _finite_int(text: str) -> int:
    if math.isinf(float(text)):
        raise _UnreadableReply(
            f"text that is not JSON: number {_cut(text)} overflows to infinity"
        )
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _UnreadableReply(
            f"text that is not JSON: number {_cut(text)} overflows to infinity"
        )
    return number


def _refuse_constant(name: str) -> Any:
    raise _UnreadableReply(f"text that is not JSON: {name} is not a JSON number")


def _object_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _UnreadableReply(f"an object that names {_shown(key)} twice")
        found[key] = value
    return found


def outcome_of(reply: dict[str, Any], where: str) -> MappingOutcome:
    """The request or refusal one reply item holds; ``where`` names it in errors."""
    status = reply.get("statusCode", _ABSENT)
    if not _is_http_status(status):
        raise TransformerError(
            f"{where}: statusCode must be a whole number from 100 to 599, not "
            f"{_shown(status)}"
        )
    if status != 200:
        error = reply.get("error")
        return MappingError(
            status, error if isinstance(error, str) else json.dumps(error)
        )

    output = reply.get("output")
    if not isinstance(output, dict):
        raise TransformerError(f"{where} has statusCode 200 but no output object")
    return refiner_request(output, where)


def refiner_request(output: dict[str, Any], where: str) -> RefinerRequest:
    """The request a success reply's ``output`` describes; raises
    :class:`TransformerError` when it is not a request the harness may send to
    Refiner."""
    method, endpoint = output.get("method"), output.get("endpoint")
    headers, body = output.get("headers"), output.get("body")
    if not isinstance(method, str) or not isinstance(endpoint, str):
        raise TransformerError(
            f"{where}: output.method and output.endpoint must be text"
        )
    if method not in METHODS:
        raise TransformerError(
            f"{where}: output.method must be one of {', '.join(METHODS)}, not "
            f"{_shown(method)}"
        )
    if not is_refiner_endpoint(endpoint):
        raise TransformerError(
            f"{where}: output.endpoint {_shown(_without_user(endpoint))} is not a "
            f"path under {REFINER_PREFIX} (without query, fragment or dot segments)"
        )
    problem = _header_problem(headers)
    if problem is not None:
        raise TransformerError(f"{where}: {problem}")
    if not isinstance(body, dict) or not isinstance(body.get("FORM"), dict):
        raise TransformerError(f"{where}: output.body.FORM must be an object")

    unused = [name for name in _UNUSED_BODIES if body.get(name)]
    if output.get("params"):
        unused.insert(0, "params")
    if output.get("files"):
        unused.append("files")
    if unused:
        raise TransformerError(
            f"{where} carries {', '.join(unused)}, which the harness cannot deliver "
            "(only body.FORM)"
        )

    return RefinerRequest(
        method=method, endpoint=endpoint, headers=headers, form=body["FORM"]
    )


def is_refiner_endpoint(endpoint: str) -> bool:
    """Whether ``endpoint`` is a URL of Refiner's API: ``https://api.refiner.io/v1/``
    and a path of URL characters, without query, fragment or ``.``/``..``
    segments (escaped or not)."""
    if not endpoint.startswith(REFINER_PREFIX) or not _URL_TEXT.fullmatch(endpoint):
        return False
    if _BAD_ESCAPE.search(endpoint):
        return False
    segments = unquote(endpoint[len(REFINER_PREFIX) :]).split("/")
    return not any(segment in (".", "..") for segment in segments)


def _header_problem(headers: Any) -> str | None:
    """What makes ``output.headers`` unfit to send, or None."""
    if not isinstance(headers, dict) or not all(
        isinstance(value, str) for value in headers.values()
    ):
        return "output.headers must map names to text"

    seen: set[str] = set()
    for name, value in headers.items():
        folded = name.lower()
        if not _TOKEN.fullmatch(name):
            return f"output.headers name {_shown(name)} is not an HTTP header name"
        if folded in seen:
            return f"output.headers names {_shown(name)} twice"
        if folded in TRANSPORT_HEADERS:
            return f"output.headers sets {_shown(name)}, which only the transport sets"
        if _CONTROL.search(value):
            return f"output.headers {_shown(name)} holds a control character"
        seen.add(folded)
    return None


def _is_http_status(status: Any) -> bool:
    return (
        isinstance(status, int)
        and not isinstance(status, bool)
        and 100 <= status <= 599
    )


def _without_user(endpoint: str) -> str:
    """An endpoint with any user and password in its authority shown as ``***``."""
    scheme, separator, rest = endpoint.partition("://")
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    if not separator or "@" not in authority:
        return endpoint
    return f"{scheme}://***@{rest[authority.rfind('@') + 1 :]}"


_MAPPERS: dict[str, TransformerMapper] = {}


def transformer_mapper(url: str) -> TransformerMapper:
    """The mapper for a transformer URL: the one :func:`configure` set up, or one
    with the default batch size and timeout."""
    base = check_url(url)
    mapper = _MAPPERS.get(base)
    if mapper is None:
        mapper = _MAPPERS[base] = TransformerMapper(base)
    return mapper


def configure(
    url: str, batch_size: int = BATCH_SIZE, timeout: float = TIMEOUT
) -> TransformerMapper:
    """Sets the batch size and timeout used for a transformer URL from now on."""
    mapper = TransformerMapper(url, batch_size=batch_size, timeout=timeout)
    _MAPPERS[mapper.url] = mapper
    return mapper


@contextmanager
def _past_respx(endpoint: str) -> Iterator[None]:
    """Lets requests to ``endpoint`` through every respx router that is active."""
    with ExitStack() as stack:
        for name, mocker in Mocker.registry.items():
            if not mocker.routers:
                continue
            router = MockRouter(
                assert_all_called=False, assert_all_mocked=True, using=name
            )
            router.route(url__startswith=endpoint).pass_through()
            stack.enter_context(router)
        yield


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "text"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "a number"


def _shown(value: Any) -> str:
    """A value from a reply as one line of JSON, cut when long; ``absent`` for
    none."""
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}..."


def _text(content: bytes) -> str:
    return content.decode("utf-8", errors="replace")


def _cut(text: str) -> str:
    if len(text) <= _NUMBER_EXCERPT:
        return text
    return f"{text[:_NUMBER_EXCERPT]}... ({len(text)} chars)"


def _excerpt(text: str) -> str:
    """``: `` and the start of a reply's text on one line, control characters
    escaped; empty for blank text."""
    text = " ".join(text.split())
    if not text:
        return ""
    shown = text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}..."
    printable = _NOT_PRINTABLE.sub(lambda match: ascii(match.group())[1:-1], shown)
    return f": {printable}"
