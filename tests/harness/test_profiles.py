"""The ``documented`` profile, and ``rudderstack`` edges the vectors leave out."""

from __future__ import annotations

import pytest

from harness.mapper import MappingError, map_event, profiles

CONFIG = {"apiKey": "rf-docs-key"}
FORM_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "Bearer rf-docs-key",
}


def form(message, profile, config=CONFIG):
    return map_event(message, config, profile).form


def refusal(message, profile, config=CONFIG):
    with pytest.raises(MappingError) as raised:
        map_event(message, config, profile)
    return raised.value.status, raised.value.message


def test_profiles_are_listed():
    assert profiles() == ["documented", "rudderstack"]


def test_documented_identify_sends_user_id_as_id():
    message = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}

    request = map_event(message, CONFIG, "documented")

    assert request.endpoint == "https://api.refiner.io/v1/identify-user"
    assert request.headers == FORM_HEADERS
    assert request.form == {"plan": "pro", "id": "u1"}
    assert form(message, "rudderstack") == {"plan": "pro", "userId": "u1"}


def test_documented_identify_reads_only_the_top_level_user_id_and_props_email():
    message = {"type": "identify", "traits": {"userId": "t1", "email": "t@x.test"}}

    assert refusal(message, "documented") == (
        400,
        "At least one of `userId` or `email` is required",
    )
    assert form(message, "rudderstack") == {"userId": "t1", "email": "t@x.test"}


def test_documented_identify_takes_email_from_properties():
    message = {
        "type": "identify",
        "userId": "u2",
        "traits": {"email": "trait@x.test"},
        "properties": {"email": "props@x.test"},
    }

    assert form(message, "documented") == {"email": "props@x.test", "id": "u2"}
    assert form(message, "rudderstack") == {"email": "trait@x.test", "userId": "u2"}


def test_documented_identify_accepts_email_alone_and_ignores_external_ids():
    message = {"type": "identify", "properties": {"email": "only@x.test"}}
    assert form(message, "documented") == {"email": "only@x.test"}

    external = {
        "type": "identify",
        "userId": "u3",
        "context": {"externalId": [{"type": "crm", "id": "CRM-1"}]},
    }
    assert form(external, "documented") == {"id": "u3"}
    assert form(external, "rudderstack") == {"userId": "u3", "email": "CRM-1"}


def test_documented_identify_applies_user_attribute_mapping():
    config = {**CONFIG, "userAttributesMapping": [{"from": "plan", "to": "tier"}]}
    message = {"type": "identify", "userId": "u4", "traits": {"plan": "pro"}}

    assert form(message, "documented", config) == {"id": "u4", "tier": "pro"}


def test_documented_track_sends_only_user_id_and_event():
    message = {
        "type": "track",
        "userId": "u5",
        "event": "Report Shared",
        "context": {"traits": {"email": "u5@x.test", "userId": "ctx"}},
    }

    request = map_event(message, CONFIG, "documented")

    assert request.endpoint == "https://api.refiner.io/v1/track"
    assert request.form == {"id": "u5", "event": "Report Shared"}
    assert form(message, "rudderstack") == {
        "id": "u5",
        "email": "u5@x.test",
        "event": "Report Shared",
    }


def test_documented_track_with_only_an_email_sends_no_identifier():
    message = {"type": "track", "event": "Joined", "traits": {"email": "e@x.test"}}

    assert form(message, "documented") == {"event": "Joined"}
    assert form(message, "rudderstack") == {"email": "e@x.test", "event": "Joined"}


def test_documented_track_keeps_the_transformer_checks():
    assert refusal({"type": "track", "userId": "u6"}, "documented") == (
        400,
        "Event name is required",
    )
    assert refusal({"type": "track", "event": "E"}, "documented") == (
        400,
        "At least one of `userId` or `email` is required",
    )


@pytest.mark.parametrize(
    ("name", "category", "documented", "rudderstack"),
    [
        (None, None, "pageView", "pageView"),
        ("Pricing", None, "Pricing", "Viewed Pricing Page"),
        (None, "Docs", "pageView", "Viewed Docs Page"),
        ("Start", "Docs", "Start", "Viewed Docs Start Page"),
        (404, None, "404", "Viewed 404 Page"),
    ],
)
def test_page_event_names(name, category, documented, rudderstack):
    message = {"type": "page", "userId": "u7", "name": name, "category": category}

    assert form(message, "documented") == {"id": "u7", "event": documented}
    assert form(message, "rudderstack") == {"id": "u7", "event": rudderstack}


def test_documented_group_sends_context_email_as_the_user_email():
    message = {
        "type": "group",
        "userId": "u8",
        "groupId": "org-8",
        "traits": {"name": "Acme", "email": "billing@acme.test"},
        "context": {"traits": {"email": "member@acme.test"}},
    }

    assert form(message, "documented") == {
        "id": "u8",
        "email": "member@acme.test",
        "account[name]": "Acme",
        "account[email]": "billing@acme.test",
        "account[id]": "org-8",
    }
    assert form(message, "rudderstack") == {
        "id": "u8",
        "account[name]": "Acme",
        "account[email]": "billing@acme.test",
        "account[id]": "org-8",
    }


def test_documented_group_requires_the_user_id():
    message = {"type": "group", "groupId": "org-9", "traits": {"id": "t9"}}

    assert refusal(message, "documented") == (400, "`userId` is required")
    assert form(message, "rudderstack") == {"id": "t9", "account[id]": "org-9"}


def test_documented_group_takes_account_traits_and_id_from_the_group_only():
    message = {
        "type": "group",
        "userId": "u10",
        "context": {"traits": {"name": "User Name", "groupId": "ctx-org"}},
    }

    assert form(message, "documented") == {"id": "u10"}
    assert form(message, "rudderstack") == {
        "id": "u10",
        "account[name]": "User Name",
        "account[groupId]": "ctx-org",
    }

    from_traits = {"type": "group", "userId": "u10", "traits": {"groupId": "t-org"}}
    assert form(from_traits, "documented") == {"id": "u10", "account[groupId]": "t-org"}
    assert form(from_traits, "rudderstack") == {
        "id": "u10",
        "account[groupId]": "t-org",
        "account[id]": "t-org",
    }


@pytest.mark.parametrize("profile", ["documented", "rudderstack"])
def test_both_profiles_refuse_screen_and_alias(profile):
    assert refusal({"type": "screen", "userId": "u"}, profile) == (
        400,
        'Event type "screen" is not supported',
    )
    assert refusal({"type": "alias"}, profile) == (
        400,
        'Event type "alias" is not supported',
    )


@pytest.mark.parametrize(
    ("message", "status", "text"),
    [
        (None, 500, "Cannot read properties of null (reading 'type')"),
        ([], 400, "Event type is required"),
        ("identify", 400, "Event type is required"),
        ({"type": 5}, 500, "message.type.toLowerCase is not a function"),
        ({"type": ["identify"]}, 500, "message.type.toLowerCase is not a function"),
        ({"type": False}, 400, "Event type is required"),
    ],
)
def test_rudderstack_refuses_malformed_messages_as_the_transformer_does(
    message, status, text
):
    assert refusal(message, "rudderstack") == (status, text)


def test_rudderstack_mapping_rows_with_odd_shapes():
    config = {
        **CONFIG,
        "userAttributesMapping": [
            "not-a-row",
            {"from": 7, "to": "seven"},
            {"from": "plan", "to": None},
            {"from": "constructor", "to": "ctor"},
            {"from": "__proto__", "to": "proto"},
            {"from": "tier", "to": "__proto__"},
        ],
    }
    message = {
        "type": "identify",
        "userId": "u11",
        "traits": {"7": "x", "plan": "pro", "tier": "gold"},
    }

    assert form(message, "rudderstack", config) == {
        "userId": "u11",
        "seven": "x",
        "null": "pro",
        "proto": {},
    }


def test_rudderstack_null_mapping_row_fails_like_javascript():
    config = {**CONFIG, "userAttributesMapping": [None]}

    assert refusal({"type": "identify", "userId": "u"}, "rudderstack", config) == (
        500,
        "Cannot read properties of null (reading 'from')",
    )


def test_rudderstack_drops_keys_lodash_will_not_set():
    message = {
        "type": "identify",
        "userId": "u12",
        "traits": {"constructor": "c", "prototype": "p", "__proto__": "q", "ok": 1},
    }

    assert form(message, "rudderstack") == {"ok": 1, "userId": "u12"}


def test_rudderstack_spreads_string_traits_by_index():
    message = {"type": "identify", "userId": "u13", "traits": "ab"}

    assert form(message, "rudderstack") == {"0": "a", "1": "b", "userId": "u13"}


def test_rudderstack_missing_api_key_gives_bearer_undefined():
    request = map_event(
        {"type": "track", "userId": "u", "event": "E"}, {}, "rudderstack"
    )

    assert request.headers["Authorization"] == "Bearer undefined"
