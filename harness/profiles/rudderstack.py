"""Profile ``rudderstack``: what RudderStack's Refiner transformer sends today.

Each RudderStack message becomes one form-encoded request to Refiner:

- identify -> ``/v1/identify-user`` with every trait as a flat key, context traits
  winning over message traits, then the resolved ``userId`` and ``email``;
- track -> ``/v1/track`` with ``id``, ``email`` and ``event`` only;
- page -> ``/v1/track`` with an event named ``pageView`` or ``Viewed ... Page``;
- group -> ``/v1/identify-user`` with the user ``id`` and ``account[...]`` keys; the
  user's email is never sent.

Identifiers are resolved through RudderStack's generic lookup chains, with JavaScript
truthiness. ``userAttributesMapping`` renames identify keys and
``accountAttributesMapping`` renames account keys, in JavaScript key order. The checks
and their messages are the transformer's, in its order.

Limitations: a non-object message other than null is treated as a message without a
type, as the transformer does; the transformer's router-level pass-through of messages
that already carry a ``statusCode`` is not reproduced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.jsvalue import (
    UNDEFINED,
    get_value,
    lodash_to_string,
    ordered,
    spread,
    to_string,
    trim,
    truthy,
)
from harness.mapper import BASE_ENDPOINT, MappingError, RefinerRequest, register

IDENTIFY_ENDPOINT = f"{BASE_ENDPOINT}/identify-user"
TRACK_ENDPOINT = f"{BASE_ENDPOINT}/track"

SUPPORTED_TYPES = ("identify", "track", "page", "group")

LOOKUP_PATHS: dict[str, tuple[str, ...]] = {
    "userIdOnly": (
        "userId",
        "traits.userId",
        "traits.id",
        "context.traits.userId",
        "context.traits.id",
    ),
    "email": (
        "traits.email",
        "context.traits.email",
        "properties.email",
        "context.externalId.0.id",
    ),
    "traits": ("traits", "context.traits"),
    "groupTraits": ("traits", "context.traits"),
    "groupId": ("groupId", "traits.groupId"),
}

IDENTITY_REQUIRED = "At least one of `userId` or `email` is required"

_FUNCTION = object()
_PROTOTYPE = object()
_INHERITED = {
    name: _FUNCTION
    for name in (
        "constructor",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toLocaleString",
        "toString",
        "valueOf",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    )
}
_INHERITED["__proto__"] = _PROTOTYPE
_UNSETTABLE_KEYS = ("__proto__", "constructor", "prototype")


def prop(obj: Any, key: str) -> Any:
    """``obj[key]`` for a JSON value, ``UNDEFINED`` when absent."""
    if obj is None or obj is UNDEFINED:
        raise MappingError(
            500, f"Cannot read properties of {to_string(obj)} (reading '{key}')"
        )
    if isinstance(obj, Mapping):
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def lookup(message: Any, key: str) -> Any:
    """``getFieldValueFromMessage``: the first usable value of a lookup chain.

    A value is usable when it is truthy, exactly ``false`` or exactly ``0``. A key
    that is not a known chain gives null, as the transformer's lookup does.
    """
    for path in LOOKUP_PATHS.get(key, ()):
        value = get_value(message, path)
        if truthy(value) or value is False or _is_zero(value):
            return value
    return None


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def event_type(message: Any) -> str:
    """The lower-cased type, after the transformer's first two checks."""
    raw_type = prop(message, "type")
    if not truthy(raw_type):
        raise MappingError(400, "Event type is required")
    if not isinstance(raw_type, str):
        raise MappingError(500, "message.type.toLowerCase is not a function")

    message_type = raw_type.lower()
    if message_type not in SUPPORTED_TYPES:
        raise MappingError(400, f'Event type "{message_type}" is not supported')
    return message_type


def require_identity(message: Any) -> None:
    """Refuses a message with neither a user id nor an email in the chains."""
    if not truthy(lookup(message, "userIdOnly")) and not truthy(
        lookup(message, "email")
    ):
        raise MappingError(400, IDENTITY_REQUIRED)


def attribute_map(rows: Any) -> dict[str, Any]:
    """``getHashFromArray`` of mapping rows: ``from`` -> ``to``, in JS key order.

    Rows with a blank ``from`` are skipped; a later row with the same ``from``
    replaces the earlier one; a missing ``to`` stays undefined.
    """
    table: dict[str, Any] = {}
    if not isinstance(rows, list):
        return table

    for row in rows:
        source = prop(row, "from")
        if trim(lodash_to_string(source)) == "":
            continue
        table[to_string(source)] = prop(row, "to")

    return ordered(table)


def rename_attributes(table: Mapping[str, Any], payload: dict[str, Any]) -> None:
    """``replaceDestAttributes``: moves each truthy ``from`` value to its ``to`` key."""
    for source, target in table.items():
        if source in payload:
            value = payload[source]
        else:
            value = _INHERITED.get(source, UNDEFINED)
        if not truthy(value):
            continue

        target_key = to_string(target)
        if target_key != "__proto__" or target_key in payload:
            payload[target_key] = value
        payload.pop(source, None)


def finish_form(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``removeUndefinedAndNullValues`` and JSON serialisation of the payload."""
    form: dict[str, Any] = {}
    for key, value in ordered(payload).items():
        if value is None or value is UNDEFINED or value is _FUNCTION:
            continue
        if key in _UNSETTABLE_KEYS:
            continue
        form[key] = {} if value is _PROTOTYPE else value
    return form


def build_request(
    endpoint: str, config: Mapping[str, Any], payload: Mapping[str, Any]
) -> RefinerRequest:
    """The request envelope every successful event gets."""
    return RefinerRequest(
        method="POST",
        endpoint=endpoint,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {to_string(prop(config, 'apiKey'))}",
        },
        form=finish_form(payload),
    )


def identify_payload(message: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    payload = spread(lookup(message, "traits"))
    payload.update(spread(get_value(message, "context.traits")))
    payload["userId"] = lookup(message, "userIdOnly")
    payload["email"] = lookup(message, "email")

    rename_attributes(attribute_map(prop(config, "userAttributesMapping")), payload)
    return payload


def identity_payload(message: Any) -> dict[str, Any]:
    """``id`` and ``email`` when truthy, as track and page send them."""
    payload: dict[str, Any] = {}
    user_id = lookup(message, "userIdOnly")
    if truthy(user_id):
        payload["id"] = user_id
    email = lookup(message, "email")
    if truthy(email):
        payload["email"] = email
    return payload


def page_event_name(message: Any) -> str:
    name = prop(message, "name")
    category = prop(message, "category")
    if not truthy(name) and not truthy(category):
        return "pageView"
    if not truthy(name):
        return f"Viewed {to_string(category)} Page"
    if not truthy(category):
        return f"Viewed {to_string(name)} Page"
    return f"Viewed {to_string(category)} {to_string(name)} Page"


def account_payload(
    traits: Any, group_id: Any, config: Mapping[str, Any]
) -> dict[str, Any]:
    """``{...traits, id: groupId}``, renamed by ``accountAttributesMapping``, as
    ``account[key]`` form keys."""
    account = spread(traits)
    account["id"] = group_id
    rename_attributes(attribute_map(prop(config, "accountAttributesMapping")), account)
    return {f"account[{key}]": value for key, value in ordered(account).items()}


def group_payload(message: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    user_id = lookup(message, "userIdOnly")
    if truthy(user_id):
        payload["id"] = user_id

    traits, group_id = lookup(message, "groupTraits"), lookup(message, "groupId")
    payload.update(account_payload(traits, group_id, config))
    return payload


@register("rudderstack")
def map_rudderstack(message: Any, config: Mapping[str, Any]) -> RefinerRequest:
    """Maps one message exactly as RudderStack's transformer does."""
    message_type = event_type(message)
    require_identity(message)

    if message_type == "identify":
        return build_request(
            IDENTIFY_ENDPOINT, config, identify_payload(message, config)
        )
    if message_type == "track":
        if not truthy(prop(message, "event")):
            raise MappingError(400, "Event name is required")
        payload = identity_payload(message)
        payload["event"] = prop(message, "event")
        return build_request(TRACK_ENDPOINT, config, payload)
    if message_type == "page":
        payload = identity_payload(message)
        payload["event"] = page_event_name(message)
        return build_request(TRACK_ENDPOINT, config, payload)
    return build_request(IDENTIFY_ENDPOINT, config, group_payload(message, config))
