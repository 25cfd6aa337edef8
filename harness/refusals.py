"""The refusals the docs name, and the two properties about refusals.

- ``mapper-refusals``: the mapper raises nothing but ``MappingError``, and every
  refusal's text is one the docs name (:data:`MAPPER_REFUSALS`);
- ``refusals-documented``: every request the mapper produces is accepted by the mock
  (2xx) or refused with a text the docs name (:data:`DOCUMENTED_REFUSALS`); a 5xx or
  any other refusal is a failure.

Each table maps a refusal text to the place in ``docs/profiles.md``,
``docs/fidelity.md`` or ``docs/research/`` that names it; a refusal newly documented
belongs in the table too.

Limitations: a refusal is matched by its text only, not by the situation the document
describes; a mapper refusal's text is matched by a pattern.
"""

from __future__ import annotations

import re
from typing import Any

from harness.fuzz import Example, fail
from harness.mapper import MappingError, get_mapper
from harness.probe import Probe, show_value

DOCUMENTED_REFUSALS = {
    "The id or email parameter is required.": "docs/profiles.md rows 1, 5 and 8; "
    "docs/fidelity.md, Contacts and identify-user",
    "The account parameter needs an id.": "docs/profiles.md row 12; "
    "docs/fidelity.md, Accounts",
    "The account parameter must be an object.": "docs/fidelity.md, Accounts (a "
    "trait named account whose value is not an object)",
    "The event parameter is required.": "docs/fidelity.md, Events and track-event",
    "The id parameter must be text or a number.": "docs/fidelity.md, Parameters (a "
    "trait key such as id[] that bracket nesting reads as the identifier)",
    "The email parameter must be text or a number.": "docs/fidelity.md, Parameters "
    "(a trait key such as email[] that bracket nesting reads as the identifier)",
}
"""Each refusal text of the mock that the docs name, and where."""

MAPPER_REFUSALS = {
    r"Event type is required": "docs/profiles.md (the type checks); "
    "docs/research/rudderstack-mapping.md section 7",
    r'Event type ".*" is not supported': "docs/profiles.md (the type checks); "
    "docs/research/rudderstack-mapping.md section 7",
    r"At least one of `userId` or `email` is required": "docs/profiles.md row 4; "
    "docs/research/rudderstack-mapping.md section 7",
    r"Event name is required": "docs/research/rudderstack-mapping.md section 7",
    r"`userId` is required": "docs/profiles.md row 8",
    r"message\.type\.toLowerCase is not a function": "docs/profiles.md, edge "
    "behaviour (a non-string type)",
    r"Cannot read properties of (null|undefined) \(reading '.*'\)": "docs/profiles.md"
    ", edge behaviour (a null message or mapping row)",
}
"""Each refusal text of the mapper (a pattern) that the docs name, and where."""


def mapper_refusal_source(message: str) -> str | None:
    """Where the docs name a mapper refusal text, or None."""
    for pattern, source in MAPPER_REFUSALS.items():
        if re.fullmatch(pattern, message, re.DOTALL):
            return source
    return None


def type_of(message: Any) -> str:
    """A message's type as text, for failure messages."""
    return str(message.get("type")) if isinstance(message, dict) else "not an object"


# mapper-refusals ---------------------------------------------------------------


def check_mapper_refusals(probe: Probe, profile: str, example: Example) -> None:
    """The mapper raises nothing but ``MappingError``, with a documented text."""
    config, events = example
    mapper = get_mapper(profile)
    refused = 0
    for index, message in enumerate(events):
        expect = {"counts": {"rejected": refused}}
        try:
            mapper(message, config)
        except MappingError as refusal:
            if mapper_refusal_source(refusal.message) is None:
                fail(
                    f"mapper refusal {refusal.status} {refusal.message[:60]}",
                    f"message {index} was refused with {refusal.status} "
                    f"{refusal.message!r}, which no document names",
                    config,
                    events[: index + 1],
                    expect,
                )
            refused += 1
        except Exception as error:
            fail(
                f"mapper raised {type(error).__name__}",
                f"the mapper raised {type(error).__name__}: {error} for message "
                f"{index} instead of a MappingError",
                config,
                events[: index + 1],
                expect,
            )


# refusals-documented -----------------------------------------------------------


def check_refusals_documented(probe: Probe, profile: str, example: Example) -> None:
    """Every request is accepted or refused with a text the docs name."""
    config, events = example
    probe.reset()
    deliveries = probe.replay(profile, config, events)
    for delivery in deliveries:
        error = delivery.error
        if error is None or (
            delivery.status is not None
            and delivery.status < 500
            and error in DOCUMENTED_REFUSALS
        ):
            continue
        calls = [
            {"path": earlier.path, "status": earlier.status}
            for earlier in deliveries[: delivery.index]
            if earlier.status is not None
        ]
        calls.append({"path": delivery.path, "status": 200})
        fail(
            f"{delivery.status} {error}",
            f"message {delivery.index} ({type_of(delivery.message)}) was refused "
            f"by Refiner with {delivery.status} {error!r}, a refusal no document "
            f"names; the request's form was {show_value(delivery.request.form)}",
            config,
            events[: delivery.index + 1],
            {"calls": calls},
        )
