"""The RudderStack -> Refiner mapping: profiles, requests and refusals.

A mapper turns one RudderStack message and the destination's config into one Refiner
request, or refuses it with a :class:`MappingError` carrying the status and message
RudderStack would report. Profiles are looked up by name:

- ``rudderstack``: what RudderStack's transformer sends today;
- ``documented``: what RudderStack's destination documentation promises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def get_mapper(profile: str) -> Mapper:
    """The mapper for a profile name; ``KeyError`` names the known ones."""
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


def _load_builtin() -> None:
    from harness.profiles import documented, rudderstack  # noqa: F401
