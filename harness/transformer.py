"""A mapper that asks a running RudderStack transformer service.

The transformer (``rudder-transformer``, a Node.js service) maps events for a
destination at ``POST {URL}/v0/destinations/refiner``: the body is a JSON list of
``{message, destination, metadata}`` items and the reply a JSON list with one item per
input, in order. A reply item with ``statusCode`` 200 carries the request in
``output`` (``method``, ``endpoint``, ``headers``, ``body.FORM``); any other status is a
refusal with its ``error`` text. :class:`TransformerMapper` sends events in batches
of ``batch_size``, numbers them with a ``metadata.jobId`` that counts up, and matches
each reply back to its event by that number.

Whatever keeps a batch from being mapped (no connection, a timeout, an HTTP error
status, a reply that is not JSON, or not one item per event) raises
:class:`TransformerError`, one line naming the URL and what went wrong.

While respx routes httpx requests into an in-process mock (``harness.transport``),
calls to the transformer pass through to the network.

Limitations: only form bodies are taken; a reply with ``params`` or a JSON or XML
body is refused, since Refiner's destination never sends them. The destination's
``ID``, ``WorkspaceID`` and the like are fixed placeholder values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from itertools import count
from typing import Any
from urllib.parse import urlsplit

import httpx
from respx.mocks import Mocker
from respx.router import MockRouter

from harness.mapper import MappingError, MappingOutcome, RefinerRequest

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
"""Events per request to the transformer, unless set otherwise."""

TIMEOUT = 10.0
"""Seconds to wait for the transformer's reply to one batch."""

PATH = "/v0/destinations/refiner"

DESTINATION_ID = "refiner-harness-destination"
WORKSPACE_ID = "refiner-harness-workspace"
SOURCE_ID = "refiner-harness-source"

_EXCERPT = 80
_UNUSED_BODIES = ("JSON", "JSON_ARRAY", "XML")


class TransformerError(Exception):
    """The transformer could not be asked, or gave a reply that cannot be used."""


class TransformerMapper:
    """Maps events by asking the transformer service at ``url``, in batches."""

    def __init__(
        self, url: str, batch_size: int = BATCH_SIZE, timeout: float = TIMEOUT
    ) -> None:
        self.url = check_url(url)
        self.endpoint = f"{self.url}{PATH}"
        if batch_size < 1:
            raise ValueError(f"batch size must be 1 or more, not {batch_size}")
        self.batch_size = batch_size
        self.timeout = timeout
        self.requests = 0
        self._job_ids = count(1)

    def __repr__(self) -> str:
        return f"TransformerMapper({self.url!r}, batch_size={self.batch_size})"

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
        return httpx.Client(timeout=self.timeout, trust_env=False)

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

        self.requests += 1
        logger.info("POST %s with %d events", self.endpoint, len(items))
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
                f"answered {response.status_code}{_excerpt(response.text)}"
            )
        try:
            return json.loads(response.text)
        except ValueError:
            raise self._error(
                f"replied with text that is not JSON{_excerpt(response.text)}"
            ) from None

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
                    f"reply {index + 1} has metadata.jobId {json.dumps(job_id)}: not "
                    f"one of the jobIds sent ({job_ids[0]} to {job_ids[-1]}), or one "
                    "already answered"
                )
            by_job[job_id] = reply
        return by_job

    def _where(self, job_id: int) -> str:
        return f"transformer {self.url}: POST {PATH}: the reply for jobId {job_id}"

    def _error(self, problem: str) -> TransformerError:
        return TransformerError(f"transformer {self.url}: POST {PATH} {problem}")

    def _unreachable(self, reason: str) -> TransformerError:
        return TransformerError(
            f"transformer {self.url} cannot be reached: POST {PATH}: {reason}"
        )


def check_url(url: str) -> str:
    """The transformer's base URL without a trailing slash; raises
    :class:`TransformerError` when it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # reading the port checks its range
    except ValueError as error:
        raise TransformerError(
            f"transformer URL {url!r} is not valid: {error}"
        ) from None
    usable = parts.scheme in ("http", "https") and bool(host)
    if not usable or parts.query or parts.fragment:
        raise TransformerError(
            f"transformer URL {url!r} must be an http or https URL with a host and "
            "no query, such as http://127.0.0.1:9090"
        )
    return url.rstrip("/")


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


def outcome_of(reply: dict[str, Any], where: str) -> MappingOutcome:
    """The request or refusal one reply item holds; ``where`` names it in errors."""
    status = reply.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool):
        raise TransformerError(f"{where} has no numeric statusCode")
    if status != 200:
        error = reply.get("error")
        return MappingError(
            status, error if isinstance(error, str) else json.dumps(error)
        )

    output = reply.get("output")
    if not isinstance(output, dict):
        raise TransformerError(f"{where} has statusCode 200 but no output object")
    method, endpoint = output.get("method"), output.get("endpoint")
    headers, body = output.get("headers"), output.get("body")
    if not isinstance(method, str) or not isinstance(endpoint, str):
        raise TransformerError(
            f"{where}: output.method and output.endpoint must be text"
        )
    if not isinstance(headers, dict) or not all(
        isinstance(value, str) for value in headers.values()
    ):
        raise TransformerError(f"{where}: output.headers must map names to text")
    if not isinstance(body, dict) or not isinstance(body.get("FORM"), dict):
        raise TransformerError(f"{where}: output.body.FORM must be an object")
    unused = [name for name in _UNUSED_BODIES if body.get(name)]
    if output.get("params"):
        unused.insert(0, "params")
    if unused:
        raise TransformerError(
            f"{where} carries {', '.join(unused)}, which the harness cannot deliver "
            "(only body.FORM)"
        )

    return RefinerRequest(
        method=method, endpoint=endpoint, headers=headers, form=body["FORM"]
    )


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


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    shown = text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}..."
    return f": {shown}"
