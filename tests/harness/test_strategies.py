"""The message, config and stream strategies: every type, SDK shape, hostile values."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from harness import strategies, value_strategies
from harness.delivery import render_value
from harness.jsvalue import UNDEFINED, get_value


def sample(strategy: Any, count: int = 300) -> list[Any]:
    """``count`` examples of a strategy, the same ones on every run."""
    drawn: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    collect()
    return drawn


@pytest.fixture(scope="module")
def messages() -> list[Any]:
    return sample(strategies.messages(), 250)


@pytest.fixture(scope="module")
def identifies() -> list[dict[str, Any]]:
    return sample(strategies.identify_messages(), 200)


def traits_of(message: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every trait of an identify, from traits and context traits."""
    found = []
    for place in ("traits", "context.traits"):
        value = get_value(message, place)
        if isinstance(value, dict):
            found.extend(value.items())
    return found


def any_trait(
    identifies: list[dict[str, Any]], test: Callable[[str, Any], bool]
) -> bool:
    return any(test(key, value) for m in identifies for key, value in traits_of(m))


def test_every_message_type_is_drawn(messages):
    types = {m.get("type") for m in messages if isinstance(m, dict)}

    assert {"identify", "track", "page", "group", "screen", "alias"} <= types
    assert {"", "IDENTIFY", "unknown", 42, None} & types
    assert any(isinstance(m, dict) and "type" not in m for m in messages)
    assert any(not isinstance(m, dict) for m in messages)


def test_messages_are_shaped_like_sdk_output(identifies):
    for message in identifies:
        assert re.fullmatch(r"[0-9a-f-]{36}", message["messageId"])
        assert message["channel"] == "server"
        assert message["context"]["library"]["name"] in {
            "analytics-python",
            "analytics-node",
            "RudderLabs JavaScript SDK",
        }
    python = [m for m in identifies if "integrations" in m]
    node = [m for m in identifies if "_metadata" in m]
    assert python and node
    assert all(m["integrations"] == {"All": True} for m in python)
    assert any(m["anonymousId"] is None for m in python)
    assert all(m["sentAt"].endswith(".159Z") for m in node)


def test_envelope_is_a_function_of_one_number():
    assert strategies.envelope(0) == {
        "messageId": "00000000-0000-4000-8000-000000000000",
        "context": {"library": {"name": "analytics-python", "version": "2.1.9"}},
        "channel": "server",
        "integrations": {"All": True},
        "anonymousId": None,
        "timestamp": "2026-12-04T00:00:00.840850+00:00",
    }
    assert strategies.envelope(1)["_metadata"] == {"nodeVersion": "20.20.2"}
    assert strategies.envelope(1)["originalTimestamp"] == "2026-12-04T00:00:01.141Z"


@pytest.mark.parametrize(
    "what, test",
    [
        ("a key with brackets", lambda key, value: "[" in key and "]" in key),
        ("a key with a dot", lambda key, value: "." in key),
        ("a key with a space", lambda key, value: " " in key),
        ("an empty key", lambda key, value: key == ""),
        ("a reserved name", lambda key, value: key in {"id", "email", "account"}),
        ("a computed name", lambda key, value: key in {"first_seen_at", "country"}),
        ("api_key", lambda key, value: key == "api_key"),
        ("a null value", lambda key, value: value is None),
        ("a boolean", lambda key, value: isinstance(value, bool)),
        ("a nested object", lambda key, value: isinstance(value, dict) and value),
        ("an array", lambda key, value: isinstance(value, list) and value),
        ("empty text", lambda key, value: value == ""),
        ("blank text", lambda key, value: isinstance(value, str) and value.isspace()),
        (
            "non-ASCII text",
            lambda key, value: isinstance(value, str) and not value.isascii(),
        ),
        (
            "text over 10,000 characters",
            lambda key, value: isinstance(value, str) and len(value) > 10_000,
        ),
        (
            "a fraction",
            lambda key, value: isinstance(value, float) and not value.is_integer(),
        ),
        (
            "a number in Go exponent form",
            lambda key, value: (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and "e" in render_value(value)
            ),
        ),
    ],
)
def test_hostile_traits_appear(identifies, what, test):
    assert any_trait(identifies, test), what


def test_identifiers_appear_only_in_fallback_places(identifies):
    without_user_id = [m for m in identifies if not m.get("userId")]
    places = {
        place
        for m in without_user_id
        for place in (
            "traits.userId",
            "traits.id",
            "context.traits.userId",
            "context.traits.id",
            "properties.email",
            "context.externalId.0.id",
        )
        if get_value(m, place) not in (None, UNDEFINED)
    }

    assert places == {
        "traits.userId",
        "traits.id",
        "context.traits.userId",
        "context.traits.id",
        "properties.email",
        "context.externalId.0.id",
    }


def test_traits_are_sometimes_text_or_an_array(identifies):
    odd = [m["traits"] for m in identifies if not isinstance(m.get("traits", {}), dict)]

    assert any(isinstance(traits, str) for traits in odd)
    assert any(isinstance(traits, list) for traits in odd)


def test_configs_have_a_valid_api_key_and_sometimes_a_user_id_row():
    configs = sample(strategies.configs(), 120)

    for config in configs:
        assert re.fullmatch(r"[A-Za-z0-9._-]{4,128}", config["apiKey"])
    rows = [c.get("userAttributesMapping") for c in configs]
    assert any(rows and strategies.USER_ID_ROW in rows for rows in rows)
    assert any(rows is None for rows in rows)
    assert any(rows and strategies.USER_ID_ROW not in rows for rows in rows)


@pytest.mark.parametrize("user_id_row", [True, False])
def test_linked_configs_always_or_never_map_user_id(user_id_row):
    for config in sample(strategies.configs(user_id_row=user_id_row), 60):
        rows = config.get("userAttributesMapping") or []
        assert (strategies.USER_ID_ROW in rows) is user_id_row
        assert all(row["from"] not in ("id", "email") for row in rows)


def test_streams_come_back_to_the_same_users_and_accounts():
    streams = sample(strategies.streams(), 80)

    def repeated(stream: list[Any], place: str) -> bool:
        seen = [
            render_value(get_value(m, place))
            for m in stream
            if get_value(m, place) not in (None, UNDEFINED)
        ]
        return len(seen) > len(set(seen))

    assert any(repeated(stream, "userId") for stream in streams)
    assert any(repeated(stream, "groupId") for stream in streams)
    assert all(
        len({m["messageId"] for m in stream if isinstance(m, dict)}) == len(stream)
        for stream in streams
    )


def test_linked_streams_identify_each_user_first_with_a_top_level_user_id():
    for stream in sample(strategies.linked_streams(), 60):
        identified = set()
        for message in stream:
            user = render_value(message["userId"])
            assert message["type"] in ("identify", "track", "page", "group")
            if message["type"] == "identify":
                identified.add(user)
            assert user in identified
            if message["type"] == "group":
                assert message["groupId"] is not None
            traits = message.get("traits", {})
            assert set(traits) <= {*value_strategies.SAFE_KEYS, "email"}
