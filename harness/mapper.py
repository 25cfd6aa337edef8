"""The RudderStack -> Refiner mapping: profiles, requests and refusals.

A mapper turns one RudderStack message and the destination's config into one Refiner
request, or refuses it with a :class:`MappingError` carrying the status and message
RudderStack would report. Profiles are looked up by name:

- ``rudderstack``: what RudderStack's transformer sends today;
- ``documented``: what RudderStack's destination documentation promises;
- an ``http://`` or ``https://`` URL: a running RudderStack transformer service
  (``harness.transformer``), asked in batches.

:func:`map_many` maps a list of ``(message, config)`` pairs at once: a mapper with a
``map_many`` method of its own (the transformer) gets the whole list, any other is
called once per pair. :func:`shown_profile` is a profile as reports and logs show it:
a transformer URL without the user and password it may hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BASE_ENDPOINT = "https://api.refiner.io/v1"


@dataclass(frozen=True)
class RefinerRequest:
    """A request as the transformer describes it, before delivery encoding."""

    method: str
    endpoint: str
    headers: dict[str, str]
    form: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "endpoint": self.endpoint,
            "headers": dict(self.headers),
            "form": dict(self.form),
        }


class MappingError(Exception):
    """An event the mapper refuses, with the status RudderStack reports."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message}


Mapper = Callable[[Any, Mapping[str, Any]], RefinerRequest]
MappingOutcome = RefinerRequest | MappingError
"""What a mapper makes of one event: a request, or the refusal."""

TRANSFORMER_SCHEMES = ("http://", "https://")
REFERENCE_PROFILE = "rudderstack"
"""The built-in profile a transformer URL is expected to behave like."""

_PROFILES: dict[str, Mapper] = {}


def register(name: str) -> Callable[[Mapper], Mapper]:
    """Registers a mapper function under a profile name."""

    def decorate(mapper: Mapper) -> Mapper:
        _PROFILES[name] = mapper
        return mapper

    return decorate


def profiles() -> list[str]:
    """The names of the built-in profiles."""
    _load_builtin()
    return sorted(_PROFILES)


def is_transformer_url(profile: str) -> bool:
    """Whether a profile names a transformer service rather than a built-in profile."""
    return profile.lower().startswith(TRANSFORMER_SCHEMES)


def reference_profile(profile: str) -> str:
    """The built-in profile whose scenario expectations a profile is checked against:
    ``rudderstack`` for a transformer URL, else the profile itself."""
    return REFERENCE_PROFILE if is_transformer_url(profile) else profile


def shown_profile(profile: str) -> str:
    """A profile as output shows it: a transformer URL with its user and password
    as ``***``, anything else unchanged."""
    if not is_transformer_url(profile):
        return profile

    from harness.transformer import without_credentials

    return without_credentials(profile)


def get_mapper(profile: str) -> Mapper:
    """The mapper for a profile name or transformer URL; ``KeyError`` names the
    known profiles."""
    if is_transformer_url(profile):
        from harness.transformer import transformer_mapper

        return transformer_mapper(profile)

    _load_builtin()
    try:
        return _PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(_PROFILES))
        raise KeyError(f"unknown profile {profile!r} (known: {known})") from None


def map_event(
    message: Any, config: Mapping[str, Any], profile: str = "rudderstack"
) -> RefinerRequest:
    """Maps one RudderStack message; raises :class:`MappingError` on refusal."""
    return get_mapper(profile)(message, config)


def maps_in_batches(mapper: Mapper) -> bool:
    """Whether a mapper maps a list of events at once (a transformer URL)."""
    return callable(getattr(mapper, "map_many", None))


def map_many(
    mapper: Mapper, pairs: Sequence[tuple[Any, Mapping[str, Any]]]
) -> list[MappingOutcome]:
    """Maps every ``(message, config)`` pair, in order: one request or refusal each."""
    if maps_in_batches(mapper):
        return mapper.map_many(pairs)  # type: ignore[attr-defined]
    return [_map_one(mapper, message, config) for message, config in pairs]


def _map_one(mapper: Mapper, message: Any, config: Mapping[str, Any]) -> MappingOutcome:
    try:
        return mapper(message, config)
    except MappingError as refusal:
        return refusal


def _load_builtin() -> None:
    from harness.profiles import documented, rudderstack  # noqa: F401
