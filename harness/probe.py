"""The full path in-process, one message at a time, for property checks.

A :class:`Probe` maps a message with a profile's mapper, renders the form as
rudder-server does (``harness.delivery``), sends it through respx into an in-process
mock (``harness.transport``) and keeps what became of it (:class:`Delivery`): the
request, the mapper's refusal, or the mock's status and reply. It also resets the mock
and reads its state through the admin API, as a test would.

Limitations: a probe reuses one mock for many examples, so ids and times keep
counting between resets; checks compare remote ids, emails and values, never uuids
across resets.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.delivery import send, to_wire
from harness.mapper import MappingError, RefinerRequest, get_mapper
from harness.runner import replay_settings
from harness.scenario import api_key
from harness.transport import Connection, in_process


def show_value(value: Any, length: int = 200) -> str:
    """Compact JSON text of a value for failure messages, cut at ``length``."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= length else text[:length] + "..."


@dataclass
class Delivery:
    """What became of one message on the full path."""

    index: int
    message: Any
    request: RefinerRequest | None = None
    refusal: MappingError | None = None
    status: int | None = None
    reply: Any = None

    @property
    def path(self) -> str | None:
        return None if self.request is None else urlsplit(self.request.endpoint).path

    @property
    def error(self) -> str | None:
        """The refusal text of a reply that is not 2xx."""
        if self.status is None or 200 <= self.status < 300:
            return None
        if isinstance(self.reply, dict):
            return str(self.reply.get("error", self.reply.get("message")))
        return str(self.reply)


class Probe:
    """The full path in-process: the mapper, Go rendering, respx and the mock.

    ``kinds`` counts the kinds of change the trait checks saw.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.kinds: Counter[str] = Counter()

    def reset(self) -> None:
        self.connection.reset()

    def deliver(
        self, profile: str, config: dict[str, Any], message: Any, index: int = 0
    ) -> Delivery:
        """Maps one message and, unless refused, delivers it."""
        delivery = Delivery(index=index, message=message)
        try:
            delivery.request = get_mapper(profile)(message, config)
        except MappingError as refusal:
            delivery.refusal = refusal
            return delivery

        request = delivery.request
        wire = to_wire(request.method, request.endpoint, request.headers, request.form)
        response = send(wire, self.connection.client)
        delivery.status = response.status_code
        delivery.reply = response.json()
        return delivery

    def replay(
        self, profile: str, config: dict[str, Any], events: list[Any]
    ) -> list[Delivery]:
        """Every message of a stream, in order."""
        return [
            self.deliver(profile, config, message, index)
            for index, message in enumerate(events)
        ]

    def environment(self, config: dict[str, Any]) -> dict[str, Any]:
        """The mock's state for the config's API key (``GET /__mock/state``)."""
        return self.connection.environment(api_key(config))


@contextmanager
def quiet_mock() -> Iterator[None]:
    """The mock's per-call log lines (a warning per refusal) off for a while."""
    logger = logging.getLogger("mock_refiner")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def probing() -> Iterator[Probe]:
    """A probe on a fresh in-process mock, with the mock's per-call logging off."""
    with quiet_mock(), in_process(replay_settings()) as connection:
        yield Probe(connection)
