"""The key check and the contact read and delete endpoints, over real HTTP."""

import uuid

import httpx
import pytest

from mock_refiner import create_app
from mock_refiner.models import ENVIRONMENT_NAMESPACE
from tests.mock_refiner.conftest import (
    KEY,
    assert_refused,
    calls,
    deterministic_settings,
    state,
    time_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
PROJECT_UUID = str(uuid.uuid5(ENVIRONMENT_NAMESPACE, KEY))
CONTACT_REQUIRED = {"error": "One of the uuid, id or email parameters is required."}
CONTACT_NOT_FOUND = {"error": "Contact not found."}
ORDER_REFUSED = {
    "error": "The order_by parameter must be one of first_seen_at, last_seen_at, "
    "last_form_submission_at, display_name, email."
}

SEED = {
    "api_key": KEY,
    "name": "Testing",
    "accounts": [
        {
            "uuid": "a-acme",
            "remote_id": "acme",
            "display_name": "Acme",
            "domain": "acme.test",
            "first_seen_at": "2025-11-01T00:00:00Z",
            "last_seen_at": "2025-11-02T00:00:00Z",
            "attributes": {"tier": "gold"},
            "contacts": ["ada", "cy@example.test"],
        }
    ],
    "contacts": [
        {
            "uuid": "c-ada",
            "remote_id": "ada",
            "email": "ada@example.test",
            "display_name": "Ada Lovelace",
            "first_seen_at": "2025-12-03T00:00:00Z",
            "last_seen_at": "2025-12-20T00:00:00Z",
            "attributes": {"plan": "pro", "seats": 3},
        },
        {
            "uuid": "c-bob",
            "remote_id": "bob",
            "email": "bob@example.test",
            "display_name": "bob",
            "first_seen_at": "2025-12-01T00:00:00Z",
            "last_seen_at": "2025-12-25T00:00:00Z",
            "last_tracking_event_at": "2025-12-24T00:00:00Z",
        },
        {
            "uuid": "c-cy",
            "email": "cy@example.test",
            "display_name": "Cy Young",
            "first_seen_at": "2025-12-02T00:00:00Z",
            "last_seen_at": "2025-12-10T00:00:00Z",
        },
        {
            "uuid": "c-dee",
            "remote_id": "dee",
            "first_seen_at": "2025-12-04T00:00:00Z",
            "last_seen_at": "2025-12-05T00:00:00Z",
        },
    ],
    "forms": [
        {"uuid": "f-nps", "name": "NPS"},
        {"uuid": "f-exit", "name": "Exit survey"},
    ],
    "segments": [
        {
            "uuid": "s-beta",
            "name": "Beta",
            "contacts": [{"uuid": "c-ada", "created_at": "2025-12-15T00:00:00Z"}],
        },
        {"uuid": "s-power", "name": "Power", "contacts": ["cy@example.test", "bob"]},
    ],
    "responses": [
        {
            "uuid": "r-ada",
            "form_uuid": "f-nps",
            "contact": "ada",
            "completed_at": "2025-12-20T10:00:00Z",
            "data": {"score": 9},
        },
        {
            "uuid": "r-cy",
            "form_uuid": "f-nps",
            "contact": "c-cy",
            "completed_at": "2025-12-22T10:00:00Z",
            "data": {"score": 3},
        },
        {
            "uuid": "r-bob",
            "form_uuid": "f-exit",
            "contact": "bob",
            "last_shown_at": "2025-12-23T10:00:00Z",
        },
    ],
    "events": [
        {
            "uuid": "e-ada",
            "name": "Signed Up",
            "contact": "ada",
            "received_at": "2025-12-03T00:00:00Z",
        },
        {
            "uuid": "e-bob",
            "name": "Signed Up",
            "contact": "bob",
            "received_at": "2025-12-01T00:00:00Z",
        },
    ],
}

ACME = {
    "uuid": "a-acme",
    "remote_id": "acme",
    "display_name": "Acme",
    "domain": "acme.test",
    "first_seen_at": "2025-11-01T00:00:00.000000Z",
    "last_seen_at": "2025-11-02T00:00:00.000000Z",
    "attributes": {"tier": "gold"},
}
ADA = {
    "uuid": "c-ada",
    "remote_id": "ada",
    "email": "ada@example.test",
    "display_name": "Ada Lovelace",
    "first_seen_at": "2025-12-03T00:00:00.000000Z",
    "last_seen_at": "2025-12-20T00:00:00.000000Z",
    "last_tracking_event_at": None,
    "attributes": {"plan": "pro", "seats": 3},
    "segments": [
        {"uuid": "s-beta", "name": "Beta", "created_at": "2025-12-15T00:00:00.000000Z"}
    ],
    "account": ACME,
}
BOB = {
    "uuid": "c-bob",
    "remote_id": "bob",
    "email": "bob@example.test",
    "display_name": "bob",
    "first_seen_at": "2025-12-01T00:00:00.000000Z",
    "last_seen_at": "2025-12-25T00:00:00.000000Z",
    "last_tracking_event_at": "2025-12-24T00:00:00.000000Z",
    "attributes": {},
    "segments": [{"uuid": "s-power", "name": "Power", "created_at": time_n(0)}],
    "account": None,
}
CY = {
    "uuid": "c-cy",
    "remote_id": None,
    "email": "cy@example.test",
    "display_name": "Cy Young",
    "first_seen_at": "2025-12-02T00:00:00.000000Z",
    "last_seen_at": "2025-12-10T00:00:00.000000Z",
    "last_tracking_event_at": None,
    "attributes": {},
    "segments": [{"uuid": "s-power", "name": "Power", "created_at": time_n(0)}],
    "account": ACME,
}
DEE = {
    "uuid": "c-dee",
    "remote_id": "dee",
    "email": None,
    "display_name": None,
    "first_seen_at": "2025-12-04T00:00:00.000000Z",
    "last_seen_at": "2025-12-05T00:00:00.000000Z",
    "last_tracking_event_at": None,
    "attributes": {},
    "segments": [],
    "account": None,
}


def uuids(reply: httpx.Response) -> list[str]:
    return [item["uuid"] for item in reply.json()["items"]]


@pytest.fixture
def app():
    return create_app(deterministic_settings(), seed=SEED)


@pytest.mark.parametrize("path", ["/v1/", "/v1"])
def test_the_key_check_names_the_environment(http, path):
    reply = http.get(path, headers=BEARER)

    assert (reply.status_code, reply.json()) == (
        200,
        {
            "project_uuid": PROJECT_UUID,
            "project_name": "Testing",
            "message": "Authentication successful",
        },
    )
    assert calls(http)[-1]["operation"] == "check-key"


def test_the_key_check_of_a_new_key_creates_nothing(http):
    other = "another-key-0002"

    reply = http.get("/v1/", headers={"Authorization": f"Bearer {other}"})

    assert reply.json() == {
        "project_uuid": str(uuid.uuid5(ENVIRONMENT_NAMESPACE, other)),
        "project_name": "Production",
        "message": "Authentication successful",
    }
    assert [env["api_key"] for env in state(http)["environments"]] == [KEY]


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({}, 401, {"error": "No API key found in headers"}),
        (
            {"Authorization": "Bearer k!y?"},
            401,
            {"error": "API key does not look valid"},
        ),
        (
            {"Authorization": "Bearer abc"},
            401,
            {"error": "No API key found in headers"},
        ),
    ],
)
def test_a_missing_or_malformed_key_is_refused(http, headers, status, body):
    assert_refused(http, "GET", "/v1/contacts", status, body, headers=headers)


def test_an_unknown_key_is_a_404_with_a_message(serve):
    settings = deterministic_settings(api_keys=frozenset({KEY}))
    http = serve(create_app(settings, seed=SEED))

    assert_refused(
        http,
        "GET",
        "/v1/contacts",
        404,
        {"message": "API key not valid or does not exist"},
        headers={"Authorization": "Bearer stranger-key-0003"},
    )
    assert http.get("/v1/contacts", headers=BEARER).status_code == 200


def test_contacts_are_listed_oldest_first_in_full(http):
    reply = http.get("/v1/contacts", headers=BEARER)

    assert reply.status_code == 200
    assert reply.json() == {
        "items": [BOB, CY, ADA, DEE],
        "pagination": {
            "items_count": 4,
            "current_page": 1,
            "last_page": 1,
            "page_length": 50,
            "next_page_cursor": None,
        },
    }


def test_pages_by_number(http):
    second = http.get(
        "/v1/contacts", params={"page_length": 3, "page": 2}, headers=BEARER
    )
    beyond = http.get(
        "/v1/contacts", params={"page_length": 3, "page": 3}, headers=BEARER
    )

    assert second.json() == {
        "items": [DEE],
        "pagination": {
            "items_count": 4,
            "current_page": 2,
            "last_page": 2,
            "page_length": 3,
            "next_page_cursor": None,
        },
    }
    assert beyond.json()["items"] == []
    assert beyond.json()["pagination"]["current_page"] == 3


def many_contacts(count: int) -> dict:
    return {
        "api_key": KEY,
        "contacts": [{"uuid": f"c{n:04d}", "remote_id": f"u{n}"} for n in range(count)],
    }


def test_the_default_page_is_50_and_cursors_visit_every_contact(serve):
    http = serve(create_app(deterministic_settings(), seed=many_contacts(120)))

    first = http.get("/v1/contacts", headers=BEARER).json()
    seen = [item["uuid"] for item in first["items"]]
    pages = [first["pagination"]]
    while pages[-1]["next_page_cursor"] is not None:
        cursor = pages[-1]["next_page_cursor"]
        page = http.get(
            "/v1/contacts", params={"page_cursor": cursor}, headers=BEARER
        ).json()
        seen += [item["uuid"] for item in page["items"]]
        pages.append(page["pagination"])

    assert seen == [f"c{n:04d}" for n in range(120)]
    assert [(p["current_page"], p["last_page"], p["page_length"]) for p in pages] == [
        (1, 3, 50),
        (2, 3, 50),
        (3, 3, 50),
    ]
    assert {p["items_count"] for p in pages} == {120}
    assert [p["next_page_cursor"] is None for p in pages] == [False, False, True]


def test_a_page_length_of_1000_is_the_most(serve):
    http = serve(create_app(deterministic_settings(), seed=many_contacts(3)))

    longest = http.get("/v1/contacts", params={"page_length": 1000}, headers=BEARER)

    assert longest.json()["pagination"] == {
        "items_count": 3,
        "current_page": 1,
        "last_page": 1,
        "page_length": 1000,
        "next_page_cursor": None,
    }
    assert_refused(
        http,
        "GET",
        "/v1/contacts",
        400,
        {"error": "The page_length parameter must be a whole number from 1 to 1000."},
        params={"page_length": 1001},
    )


def test_a_bad_cursor_is_refused(http):
    assert_refused(
        http,
        "GET",
        "/v1/contacts",
        400,
        {"error": "The page_cursor parameter is not a cursor this API gave out."},
        params={"page_cursor": "not-a-cursor"},
    )


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("first_seen_at", ["c-dee", "c-ada", "c-cy", "c-bob"]),
        ("last_seen_at", ["c-bob", "c-ada", "c-cy", "c-dee"]),
        ("last_form_submission_at", ["c-cy", "c-ada", "c-bob", "c-dee"]),
        ("display_name", ["c-dee", "c-ada", "c-bob", "c-cy"]),
        ("email", ["c-dee", "c-ada", "c-bob", "c-cy"]),
    ],
)
def test_order_by(http, order_by, expected):
    reply = http.get("/v1/contacts", params={"order_by": order_by}, headers=BEARER)

    assert uuids(reply) == expected


def test_a_bad_order_by_is_refused(http):
    assert_refused(
        http, "GET", "/v1/contacts", 400, ORDER_REFUSED, params={"order_by": "name"}
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"form_uuid": "f-nps"}, ["c-cy", "c-ada"]),
        ({"form_uuid": "f-exit"}, ["c-bob"]),
        ({"segment_uuid": "s-power"}, ["c-bob", "c-cy"]),
        ({"segment_uuid": "s-beta", "form_uuid": "f-nps"}, ["c-ada"]),
        ({"search": "LOVE"}, ["c-ada"]),
        ({"search": "example.test"}, ["c-bob", "c-cy", "c-ada"]),
        ({"search": "dee"}, ["c-dee"]),
        ({"search": "nobody"}, []),
        ({"search": "o", "order_by": "email"}, ["c-ada", "c-bob", "c-cy"]),
    ],
)
def test_filters(http, params, expected):
    reply = http.get("/v1/contacts", params=params, headers=BEARER)

    assert uuids(reply) == expected
    assert reply.json()["pagination"]["items_count"] == len(expected)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"form_uuid": "f-none"}, "Form not found."),
        ({"segment_uuid": "s-none"}, "Segment not found."),
    ],
)
def test_an_unknown_form_or_segment_filter_is_a_404(http, params, error):
    assert_refused(http, "GET", "/v1/contacts", 404, {"error": error}, params=params)


def test_submission_times_seeded_with_an_offset_sort_by_their_instant(http):
    """YAML reads unquoted times as datetimes: 10:00+02:00 is 08:00 UTC."""
    seed = (
        f"api_key: {KEY}\n"
        "contacts: [{uuid: early, remote_id: e}, {uuid: late, remote_id: l}]\n"
        "forms: [{uuid: f, name: F}]\n"
        "responses:\n"
        "  - {form_uuid: f, contact: e, completed_at: 2026-01-01 10:00:00+02:00}\n"
        "  - {form_uuid: f, contact: l, completed_at: 2026-01-01 09:00:00+00:00}\n"
    )
    assert http.put("/__mock/state", content=seed).status_code == 200

    reply = http.get(
        "/v1/contacts", params={"order_by": "last_form_submission_at"}, headers=BEARER
    )

    assert uuids(reply) == ["late", "early"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"uuid": "c-cy"}, CY),
        ({"id": "bob"}, BOB),
        ({"email": "ada@example.test"}, ADA),
        ({"uuid": "c-dee", "id": "bob", "email": "ada@example.test"}, DEE),
        ({"id": "ada", "email": "bob@example.test"}, ADA),
    ],
)
def test_get_one_contact_by_uuid_else_id_else_email(http, params, expected):
    reply = http.get("/v1/contact", params=params, headers=BEARER)

    assert (reply.status_code, reply.json()) == (200, expected)


def test_get_a_contact_by_an_email_two_contacts_share(serve):
    seed = {
        "api_key": KEY,
        "contacts": [
            {"uuid": "first", "remote_id": "u1", "email": "shared@example.test"},
            {"uuid": "second", "remote_id": "u2", "email": "shared@example.test"},
        ],
    }
    http = serve(create_app(deterministic_settings(), seed=seed))

    reply = http.get(
        "/v1/contact", params={"email": "shared@example.test"}, headers=BEARER
    )

    assert reply.json()["uuid"] == "first"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({}, 400, CONTACT_REQUIRED),
        ({"id": "", "email": ""}, 400, CONTACT_REQUIRED),
        ({"uuid": "c-none"}, 404, CONTACT_NOT_FOUND),
        ({"id": "nobody"}, 404, CONTACT_NOT_FOUND),
        ({"email": "nobody@example.test"}, 404, CONTACT_NOT_FOUND),
        ({"uuid": "c-none", "id": "ada"}, 404, CONTACT_NOT_FOUND),
    ],
)
def test_finding_one_contact_is_refused(http, method, params, status, body):
    assert_refused(http, method, "/v1/contact", status, body, params=params)


def test_delete_a_contact_with_everything_that_is_theirs(http):
    before = state(http)["environments"][0]

    reply = http.delete("/v1/contact", params={"id": "ada"}, headers=BEARER)

    after = state(http)["environments"][0]
    assert (reply.status_code, reply.json()) == (200, {"message": "Contact deleted."})
    assert [c["uuid"] for c in after["contacts"]] == ["c-bob", "c-cy", "c-dee"]
    assert after["accounts"][0]["contacts"] == ["cy@example.test"]
    assert [r["uuid"] for r in after["responses"]] == ["r-cy", "r-bob"]
    assert [e["uuid"] for e in after["events"]] == ["e-bob"]
    assert [s["contacts"] for s in after["segments"]] == [
        [],
        [
            {"uuid": "c-cy", "created_at": time_n(0)},
            {"uuid": "c-bob", "created_at": time_n(0)},
        ],
    ]
    unchanged = ("api_key", "uuid", "name", "traits", "usage")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert http.get(
        "/v1/contact", params={"id": "ada"}, headers=BEARER
    ).status_code == (404)


@pytest.mark.parametrize(
    "params", [{"uuid": "c-cy"}, {"email": "cy@example.test"}, {"id": "dee"}]
)
def test_delete_by_each_identifier(http, params):
    reply = http.request("DELETE", "/v1/contact", json=params, headers=BEARER)

    remaining = [c["uuid"] for c in state(http)["environments"][0]["contacts"]]
    deleted = {"uuid": "c-cy", "email": "c-cy", "id": "c-dee"}[next(iter(params))]
    assert reply.json() == {"message": "Contact deleted."}
    assert deleted not in remaining
    assert len(remaining) == 3


def test_deleting_a_contact_empties_the_form_counters(http):
    http.delete("/v1/contact", params={"uuid": "c-bob"}, headers=BEARER)

    forms = http.get("/v1/forms", params={"include_info": 1}, headers=BEARER).json()[
        "items"
    ]
    exit_survey = next(form for form in forms if form["uuid"] == "f-exit")
    assert (
        exit_survey["responses_count"],
        exit_survey["views_count"],
        exit_survey["first_form_view_at"],
    ) == (0, 0, None)
