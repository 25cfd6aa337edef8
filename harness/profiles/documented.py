"""Profile ``documented``: what RudderStack's Refiner documentation promises.

The destination's cloud-mode page maps, per call:

- identify: ``userId`` -> ``id``, ``properties.email`` -> ``email``, traits -> traits;
  either the email or the user id is required;
- track: ``userId`` -> ``id``, event name -> ``event``; nothing else is stored;
- page: as track, with ``pageView`` as the event name when the page has no name;
- group: ``userId`` (required) -> ``id``, ``context.traits.email`` -> ``email``,
  ``groupId`` -> ``account.id``, traits (``traits.email`` included) -> ``account``.

Where the page is silent this profile does what the ``rudderstack`` profile does: the
type checks and their messages, the flat spreading of traits with context traits
winning, the attribute-mapping configs, the ``account[key]`` form keys and the request
envelope. ``docs/profiles.md`` lists every place where the two profiles differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.jsvalue import get_value, spread, to_string, truthy
from harness.mapper import MappingError, RefinerRequest, register
from harness.profiles.rudderstack import (
    IDENTIFY_ENDPOINT,
    IDENTITY_REQUIRED,
    TRACK_ENDPOINT,
    account_payload,
    attribute_map,
    build_request,
    event_type,
    lookup,
    prop,
    rename_attributes,
    require_identity,
)

GROUP_USER_REQUIRED = "`userId` is required"


def identify_payload(message: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    user_id = prop(message, "userId")
    email = get_value(message, "properties.email")
    if not truthy(user_id) and not truthy(email):
        raise MappingError(400, IDENTITY_REQUIRED)

    payload = spread(lookup(message, "traits"))
    payload.update(spread(get_value(message, "context.traits")))
    if truthy(user_id):
        payload["id"] = user_id
    if truthy(email):
        payload["email"] = email

    rename_attributes(attribute_map(prop(config, "userAttributesMapping")), payload)
    return payload


def user_id_payload(message: Any) -> dict[str, Any]:
    user_id = prop(message, "userId")
    return {"id": user_id} if truthy(user_id) else {}


def page_event_name(message: Any) -> Any:
    name = prop(message, "name")
    return to_string(name) if truthy(name) else "pageView"


def group_payload(message: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    user_id = prop(message, "userId")
    if not truthy(user_id):
        raise MappingError(400, GROUP_USER_REQUIRED)

    payload: dict[str, Any] = {"id": user_id}
    email = get_value(message, "context.traits.email")
    if truthy(email):
        payload["email"] = email

    traits, group_id = prop(message, "traits"), prop(message, "groupId")
    payload.update(account_payload(traits, group_id, config))
    return payload


@register("documented")
def map_documented(message: Any, config: Mapping[str, Any]) -> RefinerRequest:
    """Maps one message the way RudderStack's documentation describes."""
    message_type = event_type(message)

    if message_type == "identify":
        payload = identify_payload(message, config)
        return build_request(IDENTIFY_ENDPOINT, config, payload)
    if message_type == "group":
        return build_request(IDENTIFY_ENDPOINT, config, group_payload(message, config))

    require_identity(message)
    if message_type == "track":
        if not truthy(prop(message, "event")):
            raise MappingError(400, "Event name is required")
        payload = user_id_payload(message)
        payload["event"] = prop(message, "event")
        return build_request(TRACK_ENDPOINT, config, payload)

    payload = user_id_payload(message)
    payload["event"] = page_event_name(message)
    return build_request(TRACK_ENDPOINT, config, payload)
