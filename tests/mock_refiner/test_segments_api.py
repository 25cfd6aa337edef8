"""Listing segments and syncing contacts into manual ones, over real HTTP."""

import httpx
import pytest

from mock_refiner import create_app
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    assert_refused,
    deterministic_settings,
    state,
    time_n,
    uuid_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
SEGMENT_REQUIRED = {"error": "The segment_uuid parameter is required."}
SEGMENT_NOT_FOUND = {"error": "Segment not found."}
NOT_MANUAL = {"error": "Only manual segments can be synced through the API."}
IDENTITY_REQUIRED = {"error": "The id or email parameter is required."}
CONTACT_NOT_FOUND = {"error": "Contact not found."}

SEED = {
    "api_key": KEY,
    "contacts": [
        {
            "uuid": "c-ada",
            "remote_id": "ada",
            "email": "ada@example.test",
            "first_seen_at": "2025-12-01T00:00:00Z",
        },
        {
            "uuid": "c-cy",
            "email": "cy@example.test",
            "first_seen_at": "2025-12-02T00:00:00Z",
        },
    ],
    "segments": [
        {
            "uuid": "s-beta",
            "name": "beta",
            "contacts": [{"uuid": "c-ada", "created_at": "2025-12-15T00:00:00Z"}],
        },
        {"uuid": "s-auto", "name": "Zeta auto", "is_manual": False},
        {"uuid": "s-alpha", "name": "Alpha"},
        {"uuid": "s-gamma", "name": "gamma"},
    ],
}
ALPHA = {"uuid": "s-alpha", "name": "Alpha", "is_manual": True}
BETA = {"uuid": "s-beta", "name": "beta", "is_manual": True}
GAMMA = {"uuid": "s-gamma", "name": "gamma", "is_manual": True}
AUTO = {"uuid": "s-auto", "name": "Zeta auto", "is_manual": False}
BETA_ADA = {"uuid": "c-ada", "created_at": "2025-12-15T00:00:00.000000Z"}


def env(http: httpx.Client) -> dict:
    return http.get("/__mock/state", params={"api_key": KEY}).json()


def members(http: httpx.Client, segment_uuid: str) -> list[dict]:
    segments = env(http)["segments"]
    return next(s["contacts"] for s in segments if s["uuid"] == segment_uuid)


@pytest.fixture
def app():
    return create_app(deterministic_settings(), seed=SEED)


def test_segments_are_listed_by_name(http):
    reply = http.get("/v1/segments", headers=BEARER)

    assert (reply.status_code, reply.json()) == (
        200,
        {
            "items": [ALPHA, BETA, GAMMA, AUTO],
            "pagination": {
                "items_count": 4,
                "current_page": 1,
                "last_page": 1,
                "page_length": 50,
                "next_page_cursor": None,
            },
        },
    )


def test_segments_come_one_page_at_a_time(http):
    first = http.get("/v1/segments", params={"page_length": 3}, headers=BEARER).json()
    cursor = first["pagination"]["next_page_cursor"]
    second = http.get("/v1/segments", params={"page_cursor": cursor}, headers=BEARER)

    assert first["items"] == [ALPHA, BETA, GAMMA]
    assert (first["pagination"]["current_page"], first["pagination"]["last_page"]) == (
        1,
        2,
    )
    assert second.json() == {
        "items": [AUTO],
        "pagination": {
            "items_count": 4,
            "current_page": 2,
            "last_page": 2,
            "page_length": 3,
            "next_page_cursor": None,
        },
    }


def test_a_bad_page_is_refused(http):
    assert_refused(
        http,
        "GET",
        "/v1/segments",
        400,
        {"error": "The page parameter must be a whole number from 1 to 2147483647."},
        params={"page": "0"},
    )


def test_an_unused_key_has_no_segments(http):
    reply = http.get("/v1/segments", headers={"Authorization": "Bearer other-key"})

    assert reply.json()["items"] == []
    assert [e["api_key"] for e in state(http)["environments"]] == [KEY]


def test_sync_adds_a_known_contact_by_id(http):
    reply = http.post(
        "/v1/sync-segment",
        json={"segment_uuid": "s-alpha", "id": "ada"},
        headers=BEARER,
    )

    contacts = env(http)["contacts"]
    assert (reply.status_code, reply.json()) == (
        200,
        {"message": "ok", "contact_uuid": "c-ada", "segment_uuid": "s-alpha"},
    )
    assert members(http, "s-alpha") == [{"uuid": "c-ada", "created_at": time_n(1)}]
    assert [(c["uuid"], c["last_seen_at"]) for c in contacts] == [
        ("c-ada", time_n(1)),
        ("c-cy", "2025-12-02T00:00:00.000000Z"),
    ]
    assert [s["uuid"] for s in contacts[0]["segments"]] == ["s-beta", "s-alpha"]


def test_sync_as_a_form_body_by_email(http):
    reply = http.post(
        "/v1/sync-segment",
        content=b"segment_uuid=s-alpha&email=cy%40example.test",
        headers={**BEARER, "Content-Type": FORM},
    )

    assert reply.json() == {
        "message": "ok",
        "contact_uuid": "c-cy",
        "segment_uuid": "s-alpha",
    }
    assert members(http, "s-alpha") == [{"uuid": "c-cy", "created_at": time_n(1)}]


def test_sync_creates_a_contact_nobody_matches(http):
    reply = http.post(
        "/v1/sync-segment",
        params={"segment_uuid": "s-gamma", "id": "new", "email": "new@example.test"},
        headers=BEARER,
    )

    created = env(http)["contacts"][-1]
    assert reply.json() == {
        "message": "ok",
        "contact_uuid": uuid_n(1),
        "segment_uuid": "s-gamma",
    }
    assert created == {
        "uuid": uuid_n(1),
        "remote_id": "new",
        "email": "new@example.test",
        "display_name": None,
        "first_seen_at": time_n(1),
        "last_seen_at": time_n(1),
        "last_tracking_event_at": None,
        "attributes": {},
        "segments": [{"uuid": "s-gamma", "name": "gamma", "created_at": time_n(1)}],
        "account": None,
    }


def test_sync_gives_an_email_only_contact_its_id(http):
    reply = http.post(
        "/v1/sync-segment",
        json={"segment_uuid": "s-alpha", "id": "cy", "email": "cy@example.test"},
        headers=BEARER,
    )

    cy = env(http)["contacts"][1]
    assert reply.json()["contact_uuid"] == "c-cy"
    assert (cy["uuid"], cy["remote_id"], cy["email"]) == (
        "c-cy",
        "cy",
        "cy@example.test",
    )


def test_syncing_a_member_again_keeps_when_it_joined(http):
    reply = http.post(
        "/v1/sync-segment", json={"segment_uuid": "s-beta", "id": "ada"}, headers=BEARER
    )

    assert reply.json()["contact_uuid"] == "c-ada"
    assert members(http, "s-beta") == [BETA_ADA]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({"segment_uuid": "s-auto", "id": "ada"}, 400, NOT_MANUAL),
        ({"segment_uuid": "s-none", "id": "ada"}, 404, SEGMENT_NOT_FOUND),
        ({"segment_uuid": "s-none", "id": "brand-new"}, 404, SEGMENT_NOT_FOUND),
        ({"segment_uuid": "s-auto", "email": "x@example.test"}, 400, NOT_MANUAL),
        ({"id": "ada"}, 400, SEGMENT_REQUIRED),
        ({"segment_uuid": "", "id": "ada"}, 400, SEGMENT_REQUIRED),
        ({"segment_uuid": "s-beta"}, 400, IDENTITY_REQUIRED),
        ({"segment_uuid": "s-beta", "id": "", "email": ""}, 400, IDENTITY_REQUIRED),
        ({}, 400, IDENTITY_REQUIRED),
    ],
)
def test_sync_refusals(http, method, params, status, body):
    assert_refused(http, method, "/v1/sync-segment", status, body, json=params)


def test_remove_with_parameters_in_the_query(http):
    reply = http.delete(
        "/v1/sync-segment",
        params={"segment_uuid": "s-beta", "email": "ada@example.test"},
        headers=BEARER,
    )

    assert (reply.status_code, reply.json()) == (
        200,
        {"message": "ok", "contact_uuid": "c-ada", "segment_uuid": "s-beta"},
    )
    assert members(http, "s-beta") == []
    assert [c["uuid"] for c in env(http)["contacts"]] == ["c-ada", "c-cy"]


def test_remove_with_parameters_in_a_json_body(http):
    reply = http.request(
        "DELETE",
        "/v1/sync-segment",
        json={"segment_uuid": "s-beta", "id": "ada"},
        headers=BEARER,
    )

    assert reply.json() == {
        "message": "ok",
        "contact_uuid": "c-ada",
        "segment_uuid": "s-beta",
    }
    assert members(http, "s-beta") == []


def test_removing_a_contact_that_is_not_a_member_is_ok(http):
    before = state(http)

    reply = http.delete(
        "/v1/sync-segment",
        params={"segment_uuid": "s-alpha", "id": "ada"},
        headers=BEARER,
    )

    assert reply.json() == {
        "message": "ok",
        "contact_uuid": "c-ada",
        "segment_uuid": "s-alpha",
    }
    assert state(http) == before


def test_removing_an_unknown_contact_is_a_404(http):
    assert_refused(
        http,
        "DELETE",
        "/v1/sync-segment",
        404,
        CONTACT_NOT_FOUND,
        params={"segment_uuid": "s-beta", "id": "nobody"},
    )


def test_add_then_remove_leaves_the_members_as_they_were(http):
    http.post(
        "/v1/sync-segment",
        json={"segment_uuid": "s-beta", "email": "cy@example.test"},
        headers=BEARER,
    )
    added = members(http, "s-beta")
    http.delete(
        "/v1/sync-segment",
        params={"segment_uuid": "s-beta", "email": "cy@example.test"},
        headers=BEARER,
    )

    assert added == [BETA_ADA, {"uuid": "c-cy", "created_at": time_n(1)}]
    assert members(http, "s-beta") == [BETA_ADA]
