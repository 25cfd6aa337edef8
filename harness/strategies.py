"""Hypothesis strategies for RudderStack messages, destination configs and streams.

Messages are shaped like what RudderStack's SDKs send (the captured batches in
``tests/data/sdk-batches.jsonl``): a ``messageId``, timestamps, ``context.library``,
``integrations``, a null ``anonymousId``, ``channel``, and the fields of their type.
Their values come from ``harness.value_strategies``, ordinary and hostile mixed, and
fields go missing; identifiers are often found only in fallback places
(``traits.userId``, ``context.traits.id``, ``context.externalId.0.id``,
``properties.email``).

- :func:`messages` draws one message of any type: identify, track, page, group, screen,
  alias and odd ones (no type, an unknown type, a number as type, upper case);
- :func:`configs` draws a destination config with a valid ``apiKey``, sometimes with
  ``userAttributesMapping`` rows (``userId -> id`` among them);
- :func:`streams` draws a list of messages about a small pool of users and accounts,
  so that the messages meet the same contacts and accounts;
- :func:`linked_streams` draws streams that meet the conditions under which the
  mapping promises that a user's calls reach one contact (``docs/fuzzing.md``).

Limitations: an envelope is a function of one drawn number, so its fields vary
together; streams hold at most six messages (nine with the identifies of linked
streams), about at most three users and two accounts.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from hypothesis import strategies as st

from harness.value_strategies import (
    User,
    account_pools,
    group_ids,
    json_scalars,
    odd_traits,
    safe_traits,
    trait_keys,
    traits,
    user_pools,
    users,
)

SearchStrategy = st.SearchStrategy

MESSAGE_TYPES = ("identify", "track", "page", "group", "screen", "alias")
LIBRARIES = (
    {"name": "analytics-python", "version": "2.1.9"},
    {"name": "analytics-node", "version": "3.0.13"},
    {"name": "RudderLabs JavaScript SDK", "version": "3.11.2"},
)
EVENT_NAMES = ("Report Exported", "Invite Sent", "Signed Up", "Dataset Downloaded")
PAGE_NAMES = ("Getting Started", "Team", "Billing", "Pricing")
PAGE_CATEGORIES = ("Docs", "Settings")


# Messages ----------------------------------------------------------------------


def envelope(number: int) -> dict[str, Any]:
    """The fields every SDK message has, as analytics-python, -node or the
    JavaScript SDK writes them; ``number`` picks the library, time and ids."""
    library = LIBRARIES[number % len(LIBRARIES)]
    moment = number % 86_400
    stamp = f"2026-12-04T{moment // 3600:02d}:{moment // 60 % 60:02d}:{moment % 60:02d}"
    message_id = uuid.UUID(int=(number * _MESSAGE_ID_STEP) % 2**128, version=4)
    fields: dict[str, Any] = {
        "messageId": str(message_id),
        "context": {"library": dict(library)},
        "channel": "server",
    }
    if library["name"] == "analytics-node":
        fields["_metadata"] = {"nodeVersion": "20.20.2"}
        fields["originalTimestamp"] = f"{stamp}.141Z"
        fields["sentAt"] = f"{stamp}.159Z"
    else:
        fields["integrations"] = {"All": True}
        fields["anonymousId"] = "anon-2002" if number % 7 == 6 else None
        fields["timestamp"] = f"{stamp}.840850+00:00"
    return fields


_MESSAGE_ID_STEP = 0x9E3779B97F4A7C15F39CC0605CEDC835


@cache
def envelopes() -> SearchStrategy[dict[str, Any]]:
    """:func:`envelope` of a drawn number: one draw per message, cheap to shrink."""
    return st.builds(envelope, st.integers(0, 2**31))


def _put(message: dict[str, Any], path: str, value: Any) -> None:
    """Sets a dotted path (``context.traits.id``), making the objects on the way."""
    *parents, last = path.split(".")
    target = message
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[last] = value


USER_ID_PLACES = (
    "userId",
    "traits.userId",
    "traits.id",
    "context.traits.userId",
    "context.traits.id",
)
EMAIL_PLACES = (
    "traits.email",
    "context.traits.email",
    "properties.email",
    "context.externalId",
)


@st.composite
def place_identity(draw: st.DrawFn, message: dict[str, Any], user: User) -> None:
    """Puts the user's id and email where an SDK or a customer might: usually the
    top-level ``userId``, sometimes only a fallback place, sometimes nowhere."""
    place = draw(st.sampled_from((*USER_ID_PLACES, "userId", "userId", None)))
    if place is not None:
        _put(message, place, user.user_id)
    elif draw(st.booleans()):
        message["userId"] = None

    if user.email is None:
        return
    place = draw(st.sampled_from((*EMAIL_PLACES, "traits.email", None)))
    if place == "context.externalId":
        _put(message, place, [{"type": "hubspotId", "id": user.email}])
    elif place is not None:
        _put(message, place, user.email)


@st.composite
def identify_messages(
    draw: st.DrawFn, user: User | None = None, top_level: bool = False
) -> dict[str, Any]:
    """An identify; with ``top_level``, the user id is the top-level ``userId``,
    the email a trait, and the traits never change who the call is about."""
    user = user if user is not None else draw(users())
    message = draw(envelopes())
    message["type"] = "identify"
    if top_level:
        message["userId"] = user.user_id
        message["traits"] = draw(safe_traits())
        if user.email is not None and draw(st.booleans()):
            message["traits"]["email"] = user.email
        return message

    where = draw(st.sampled_from(("traits", "context.traits", "both", "odd")))
    if where == "odd":
        message["traits"] = draw(odd_traits())
    if where in ("traits", "both"):
        message["traits"] = draw(traits())
    if where in ("context.traits", "both"):
        message["context"]["traits"] = draw(traits())
    draw(place_identity(message, user))
    return message


@st.composite
def identify_as(
    draw: st.DrawFn, message: dict[str, Any], user: User, top_level: bool
) -> None:
    """The user as the top-level ``userId``, or placed as :func:`place_identity`
    places it."""
    if top_level:
        message["userId"] = user.user_id
    else:
        draw(place_identity(message, user))


@st.composite
def track_messages(
    draw: st.DrawFn, user: User | None = None, top_level: bool = False
) -> dict[str, Any]:
    """A track with an event name (sometimes an odd one) and properties."""
    user = user if user is not None else draw(users())
    message = draw(envelopes())
    message["type"] = "track"
    message["event"] = draw(
        st.one_of(
            st.sampled_from(EVENT_NAMES),
            st.sampled_from(EVENT_NAMES) if top_level else json_scalars(),
        )
    )
    message["properties"] = draw(traits(max_size=3))
    draw(identify_as(message, user, top_level))
    return message


@st.composite
def page_messages(
    draw: st.DrawFn, user: User | None = None, top_level: bool = False
) -> dict[str, Any]:
    """A page with a name and category, either possibly missing or odd."""
    user = user if user is not None else draw(users())
    message = draw(envelopes())
    message["type"] = "page"
    for field, known in (("name", PAGE_NAMES), ("category", PAGE_CATEGORIES)):
        value = draw(st.one_of(st.none(), st.sampled_from(known), json_scalars()))
        if value is not None:
            message[field] = value
    message["properties"] = {"path": "/docs/start"}
    draw(identify_as(message, user, top_level))
    return message


@st.composite
def group_messages(
    draw: st.DrawFn,
    user: User | None = None,
    group_id: Any = None,
    top_level: bool = False,
) -> dict[str, Any]:
    """A group; with ``top_level``, the top-level ``userId`` and ``groupId`` are set
    and the traits never change who the call is about."""
    user = user if user is not None else draw(users())
    group_id = group_id if group_id is not None else draw(group_ids())
    message = draw(envelopes())
    message["type"] = "group"
    if top_level:
        message["userId"] = user.user_id
        message["groupId"] = group_id
        message["traits"] = draw(safe_traits())
        if user.email is not None and draw(st.booleans()):
            message["context"]["traits"] = {"email": user.email}
        return message

    message["traits"] = draw(st.one_of(traits(), st.none(), odd_traits()))
    place = draw(st.sampled_from(("groupId", "groupId", "traits.groupId", None)))
    if place is not None:
        _put(message, place, group_id)
    draw(place_identity(message, user))
    return message


@st.composite
def screen_messages(draw: st.DrawFn, user: User | None = None) -> dict[str, Any]:
    """A screen, which the Refiner destination does not support."""
    message = draw(page_messages(user))
    message["type"] = "screen"
    return message


@st.composite
def alias_messages(draw: st.DrawFn, user: User | None = None) -> dict[str, Any]:
    """An alias, which the Refiner destination does not support."""
    user = user if user is not None else draw(users())
    message = draw(envelopes())
    message.update(type="alias", userId=user.user_id, previousId="anon-prev-1")
    return message


@st.composite
def odd_messages(draw: st.DrawFn) -> Any:
    """Messages RudderStack should refuse: no type, an odd type, not an object."""
    kind = draw(st.sampled_from(("no type", "type", "not an object")))
    if kind == "not an object":
        return draw(st.sampled_from((None, [], "identify", 42)))
    message = draw(identify_messages())
    if kind == "no type":
        del message["type"]
    else:
        message["type"] = draw(
            st.sampled_from(("", "IDENTIFY", "Track", "Page", "unknown", 42, None))
        )
    return message


@cache
def messages() -> SearchStrategy[Any]:
    """One message of any type, odd ones included."""
    return st.one_of(
        identify_messages(),
        track_messages(),
        page_messages(),
        group_messages(),
        screen_messages(),
        alias_messages(),
        odd_messages(),
    )


# Configs -----------------------------------------------------------------------


USER_ID_ROW = {"from": "userId", "to": "id"}


@cache
def api_keys() -> SearchStrategy[str]:
    """API keys Refiner accepts: 4 to 128 of ``A-Z a-z 0-9 . _ -``."""
    return st.from_regex(r"rf-[A-Za-z0-9._-]{1,24}", fullmatch=True)


@cache
def mapping_rows() -> SearchStrategy[dict[str, Any]]:
    """An attribute-mapping row, from one trait key to another."""
    return st.builds(
        lambda source, target: {"from": source, "to": target},
        st.one_of(st.sampled_from(("userId", "email", "plan", "7")), trait_keys()),
        st.one_of(st.sampled_from(("id", "tier", "plan", "7")), trait_keys()),
    )


@st.composite
def configs(draw: st.DrawFn, user_id_row: bool | None = None) -> dict[str, Any]:
    """A destination config with a valid ``apiKey``; ``user_id_row`` True always
    maps ``userId -> id`` (and no row touches ``id`` or ``userId``), False never,
    None sometimes."""
    config: dict[str, Any] = {"apiKey": draw(api_keys())}
    if draw(st.booleans()):
        config["webClientApiKey"] = "web-client-key"

    if user_id_row is None:
        rows = draw(
            st.lists(st.one_of(st.just(USER_ID_ROW), mapping_rows()), max_size=3)
        )
        if rows or draw(st.booleans()):
            config["userAttributesMapping"] = rows
        if draw(st.booleans()):
            config["accountAttributesMapping"] = draw(
                st.lists(mapping_rows(), max_size=2)
            )
        return config

    harmless = st.sampled_from(
        ({"from": "plan", "to": "tier"}, {"from": "role", "to": "job"})
    )
    rows = draw(st.lists(harmless, max_size=1))
    if user_id_row:
        rows.insert(draw(st.integers(0, len(rows))), dict(USER_ID_ROW))
    if rows or draw(st.booleans()):
        config["userAttributesMapping"] = rows
    return config


# Streams -----------------------------------------------------------------------


@st.composite
def streams(draw: st.DrawFn, max_size: int = 6) -> list[Any]:
    """Messages of every type about a small pool of users and accounts."""
    pool = draw(user_pools())
    accounts = draw(account_pools())
    stream = []
    for _ in range(draw(st.integers(1, max_size))):
        user = draw(st.sampled_from(pool))
        kind = draw(st.sampled_from((*MESSAGE_TYPES, "identify", "track", "group")))
        if kind == "identify":
            stream.append(draw(identify_messages(user)))
        elif kind == "track":
            stream.append(draw(track_messages(user)))
        elif kind == "page":
            stream.append(draw(page_messages(user)))
        elif kind == "group":
            group_id = draw(st.sampled_from(accounts))
            stream.append(draw(group_messages(user, group_id)))
        elif kind == "screen":
            stream.append(draw(screen_messages(user)))
        else:
            stream.append(draw(alias_messages(user)))
    return numbered(stream)


@st.composite
def linked_streams(draw: st.DrawFn, max_size: int = 6) -> list[Any]:
    """Identify, track, page and group messages that each carry a top-level
    ``userId`` (and a ``groupId`` for group), with traits that never change who a
    call is about; each user is identified before their other calls."""
    pool = draw(user_pools())
    accounts = draw(account_pools())
    stream: list[Any] = []
    identified: set[int] = set()
    for _ in range(draw(st.integers(1, max_size))):
        index = draw(st.integers(0, len(pool) - 1))
        user = pool[index]
        if index not in identified:
            identified.add(index)
            stream.append(draw(identify_messages(user, top_level=True)))
        kind = draw(st.sampled_from(("identify", "track", "page", "group")))
        if kind == "identify":
            stream.append(draw(identify_messages(user, top_level=True)))
        elif kind == "track":
            stream.append(draw(track_messages(user, top_level=True)))
        elif kind == "page":
            stream.append(draw(page_messages(user, top_level=True)))
        else:
            group_id = draw(st.sampled_from(accounts))
            stream.append(draw(group_messages(user, group_id, top_level=True)))
    return numbered(stream)


def numbered(stream: list[Any]) -> list[Any]:
    """The stream with a different ``messageId`` on each message, as SDKs send."""
    for index, message in enumerate(stream):
        if isinstance(message, dict) and "messageId" in message:
            message_id = uuid.UUID(
                int=(index + 1) * _MESSAGE_ID_STEP % 2**128, version=4
            )
            message["messageId"] = str(message_id)
    return stream
