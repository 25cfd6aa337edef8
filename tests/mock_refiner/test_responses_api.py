"""Listing, storing and tagging survey responses, and reports on them, over HTTP."""

import httpx
import pytest

from mock_refiner import create_app
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    assert_refused,
    calls,
    deterministic_settings,
    state,
    time_n,
    uuid_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
FORM_REQUIRED = {"error": "The form_uuid parameter is required."}
FORM_NOT_FOUND = {"error": "Form not found."}
CONTACT_REQUIRED = {"error": "One of the uuid, id or email parameters is required."}
RANGE = {"date_range_start": "2025-12-01", "date_range_end": "2026-01-02"}

SEED = {
    "api_key": KEY,
    "accounts": [
        {
            "uuid": "a-acme",
            "remote_id": "acme",
            "display_name": "Acme",
            "domain": "acme.test",
            "attributes": {"plan": "enterprise"},
            "contacts": ["ada"],
        }
    ],
    "contacts": [
        {
            "uuid": "c-ada",
            "remote_id": "ada",
            "email": "ada@example.test",
            "display_name": "Ada Lovelace",
            "attributes": {"country": "France", "seats": 3},
        },
        {
            "uuid": "c-bob",
            "remote_id": "bob",
            "email": "bob@example.test",
            "attributes": {"country": "Spain"},
        },
        {
            "uuid": "c-cy",
            "email": "cy@example.test",
            "attributes": {"country": "France"},
        },
    ],
    "forms": [
        {
            "uuid": "f-nps",
            "name": "NPS",
            "config": {
                "form_elements": [
                    {"identifier": "score", "type": "nps"},
                    {"identifier": "why", "type": "text"},
                ]
            },
        },
        {
            "uuid": "f-csat",
            "name": "CSAT",
            "config": {
                "form_elements": [
                    {"identifier": "happy", "type": "csat"},
                    {"identifier": "stars", "type": "rating", "scale": 5},
                    {"identifier": "plan", "type": "single_choice"},
                    {"identifier": "features", "type": "multiple_choice"},
                ]
            },
        },
    ],
    "segments": [
        {"uuid": "s-fr", "name": "France", "contacts": ["ada", "cy@example.test"]},
        {"uuid": "s-es", "name": "Spain", "contacts": ["bob"]},
    ],
    "responses": [
        {
            "uuid": "r1",
            "form_uuid": "f-nps",
            "contact": "ada",
            "completed_at": "2026-01-01T10:00:00Z",
            "data": {"score": 9, "why": "fast"},
            "tags": [{"uuid": "t-praise", "name": "praise"}],
        },
        {
            "uuid": "r2",
            "form_uuid": "f-nps",
            "contact": "bob",
            "completed_at": "2025-12-31T10:00:00Z",
            "data": {"score": 6},
            "tags": [{"uuid": "t-complaint", "name": "complaint"}],
        },
        {
            "uuid": "r3",
            "form_uuid": "f-nps",
            "contact": "cy@example.test",
            "last_shown_at": "2025-12-31T11:59:00Z",
            "last_data_reception_at": "2025-12-31T12:00:00Z",
            "data": {"score": 8},
        },
        {
            "uuid": "r4",
            "form_uuid": "f-nps",
            "contact": "ada",
            "last_shown_at": "2025-12-31T15:00:00Z",
            "dismissed_at": "2025-12-31T15:01:00Z",
        },
        {
            "uuid": "r5",
            "form_uuid": "f-csat",
            "contact": "c-cy",
            "completed_at": "2025-12-30T10:00:00Z",
            "data": {"happy": 5, "stars": 4, "plan": "Pro", "features": ["api", "sso"]},
            "tags": ["praise"],
        },
        {
            "uuid": "r6",
            "form_uuid": "f-csat",
            "contact": "bob",
            "completed_at": "2025-12-29T10:00:00Z",
            "data": {"happy": 2, "stars": 3, "plan": "Free", "features": ["api"]},
        },
        {
            "uuid": "r7",
            "form_uuid": "f-nps",
            "contact": "ada",
            "completed_at": "2025-12-20T10:00:00Z",
            "data": {"score": 10},
        },
    ],
}
ADA_CONTACT = {
    "uuid": "c-ada",
    "remote_id": "ada",
    "email": "ada@example.test",
    "display_name": "Ada Lovelace",
    "account": {
        "uuid": "a-acme",
        "remote_id": "acme",
        "display_name": "Acme",
        "domain": "acme.test",
    },
}
R1 = {
    "uuid": "r1",
    "first_shown_at": "2026-01-01 10:00:00",
    "last_shown_at": "2026-01-01 10:00:00",
    "show_counter": 1,
    "first_data_reception_at": "2026-01-01 10:00:00",
    "last_data_reception_at": "2026-01-01 10:00:00",
    "completed_at": "2026-01-01 10:00:00",
    "received_at": "2026-01-01 10:00:00",
    "dismissed_at": None,
    "form": {"uuid": "f-nps", "name": "NPS"},
    "data": {"score": 9, "why": "fast"},
    "tags": [{"uuid": "t-praise", "name": "praise"}],
    "contact": ADA_CONTACT,
}
R4 = {
    "uuid": "r4",
    "first_shown_at": "2025-12-31 15:00:00",
    "last_shown_at": "2025-12-31 15:00:00",
    "show_counter": 1,
    "first_data_reception_at": None,
    "last_data_reception_at": None,
    "completed_at": None,
    "received_at": None,
    "dismissed_at": "2025-12-31 15:01:00",
    "form": {"uuid": "f-nps", "name": "NPS"},
    "data": {},
    "tags": [],
    "contact": ADA_CONTACT,
}
EMPTY_PAGE = {
    "items_count": 0,
    "current_page": 1,
    "last_page": 1,
    "page_length": 50,
    "next_page_cursor": None,
}


def env(http: httpx.Client) -> dict:
    return http.get("/__mock/state", params={"api_key": KEY}).json()


def listed(http: httpx.Client, params: object = None) -> list[str]:
    reply = http.get("/v1/responses", params=params, headers=BEARER)
    assert reply.status_code == 200, reply.json()
    return [item["uuid"] for item in reply.json()["items"]]


def stored(http: httpx.Client, response_uuid: str) -> dict:
    return next(r for r in env(http)["responses"] if r["uuid"] == response_uuid)


def tag_names(http: httpx.Client, response_uuid: str) -> list[str]:
    return [tag["name"] for tag in stored(http, response_uuid)["tags"]]


@pytest.fixture
def app():
    return create_app(deterministic_settings(), seed=SEED)


def test_completed_responses_newest_first_in_full(http):
    reply = http.get("/v1/responses", headers=BEARER)

    body = reply.json()
    assert reply.status_code == 200
    assert [item["uuid"] for item in body["items"]] == ["r1", "r2", "r5", "r6", "r7"]
    assert body["items"][0] == R1
    assert body["pagination"] == {**EMPTY_PAGE, "items_count": 5}


def test_with_attributes_adds_the_contacts_attributes(http):
    reply = http.get(
        "/v1/responses", params={"with_attributes": 1, "page_length": 1}, headers=BEARER
    )

    assert reply.json()["items"] == [
        {
            **R1,
            "contact": {**ADA_CONTACT, "attributes": {"country": "France", "seats": 3}},
        }
    ]


def test_include_all_shows_views_ordered_by_when_they_were_shown(http):
    reply = http.get("/v1/responses", params={"include": "all"}, headers=BEARER)

    items = reply.json()["items"]
    assert [item["uuid"] for item in items] == [
        "r1",
        "r4",
        "r3",
        "r2",
        "r5",
        "r6",
        "r7",
    ]
    assert items[1] == R4


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"include": "completed"}, ["r1", "r2", "r5", "r6", "r7"]),
        ({"include": "partials"}, ["r1", "r3", "r2", "r5", "r6", "r7"]),
        ({"form_uuid": "f-csat"}, ["r5", "r6"]),
        ({"form_uuids[]": ["f-csat", "f-nps"]}, ["r1", "r2", "r5", "r6", "r7"]),
        ({"form_uuids[]": "f-csat", "include": "all"}, ["r5", "r6"]),
        ({"form_uuid": "f-none"}, []),
        ({"segment_uuid": "s-fr"}, ["r1", "r5", "r7"]),
        ({"segment_uuids[]": ["s-es"]}, ["r2", "r6"]),
        ({"segment_uuids[]": ["s-es", "s-fr"]}, ["r1", "r2", "r5", "r6", "r7"]),
        ({"tag_uuid": "t-praise"}, ["r1", "r5"]),
        ({"tag_uuid": "t-complaint"}, ["r2"]),
        ({"date_range_start": "2025-12-31T10:00:00Z"}, ["r1", "r2"]),
        ({"date_range_end": "2025-12-31T10:00:00Z"}, ["r5", "r6", "r7"]),
        (
            {
                "date_range_start": "2025-12-29T10:00:00Z",
                "date_range_end": "2025-12-31T10:00:00Z",
            },
            ["r5", "r6"],
        ),
        (
            {"date_range_start": "2025-12-31T11:00:00+01:00", "include": "partials"},
            ["r1", "r3", "r2"],
        ),
        (
            {"date_range_start": "2025-12-31T15:00:00Z", "include": "all"},
            ["r1", "r4"],
        ),
        ({"search": "LOVELACE"}, ["r1", "r7"]),
        ({"search": "cy@"}, ["r5"]),
        ({"search": "c-bob"}, ["r2", "r6"]),
        ({"search": "nobody"}, []),
        ({"response_data[score]": "9"}, ["r1"]),
        ({"response_data[plan]": "Pro"}, ["r5"]),
        ({"response_data[score]": "9", "response_data[why]": "slow"}, []),
        ({"contact_data[country]": "France"}, ["r1", "r5", "r7"]),
        ({"account_data[plan]": "enterprise"}, ["r1", "r7"]),
        (
            {"contact_data[country]": "France", "response_data[score]": "10"},
            ["r7"],
        ),
    ],
)
def test_filters(http, params, expected):
    assert listed(http, params) == expected


def test_responses_come_one_page_at_a_time(http):
    first = http.get("/v1/responses", params={"page_length": 2}, headers=BEARER)
    cursor = first.json()["pagination"]["next_page_cursor"]
    second = http.get(
        "/v1/responses", params={"page_cursor": cursor}, headers=BEARER
    ).json()

    assert [item["uuid"] for item in second["items"]] == ["r5", "r6"]
    assert second["pagination"]["current_page"] == 2
    assert second["pagination"]["last_page"] == 3


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"include": "everything"},
            "The include parameter must be one of completed, partials, all.",
        ),
        (
            {"date_range_start": "yesterday"},
            "The date_range_start parameter must be an ISO 8601 date.",
        ),
        (
            {"date_range_end": "2026-13-01"},
            "The date_range_end parameter must be an ISO 8601 date.",
        ),
        (
            {"with_attributes": "sometimes"},
            "The with_attributes parameter must be 1 or 0.",
        ),
        (
            {"response_data": "score"},
            "Data filters must be written as name[key]=value.",
        ),
        ({"contact_data[]": "x"}, "Data filters must be written as name[key]=value."),
    ],
)
def test_list_refusals(http, params, error):
    assert_refused(http, "GET", "/v1/responses", 400, {"error": error}, params=params)


def test_a_bad_data_filter_is_refused_when_there_are_no_responses(serve):
    http = serve(create_app(deterministic_settings()))

    for path in ("/v1/responses", "/v1/reporting"):
        assert_refused(
            http,
            "GET",
            path,
            400,
            {"error": "Data filters must be written as name[key]=value."},
            params={"type": "count", "account_data": "x"},
        )


def test_store_a_response_for_a_known_contact(http):
    reply = http.post(
        "/v1/responses",
        json={"form_uuid": "f-csat", "id": "ada", "happy": 4, "plan": "Pro"},
        headers=BEARER,
    )

    assert (reply.status_code, reply.json()) == (
        200,
        {"message": "ok", "uuid": uuid_n(1)},
    )
    assert stored(http, uuid_n(1)) == {
        "uuid": uuid_n(1),
        "first_shown_at": "2026-01-01 00:00:01",
        "last_shown_at": "2026-01-01 00:00:01",
        "show_counter": 1,
        "first_data_reception_at": "2026-01-01 00:00:01",
        "last_data_reception_at": "2026-01-01 00:00:01",
        "completed_at": "2026-01-01 00:00:01",
        "received_at": "2026-01-01 00:00:01",
        "dismissed_at": None,
        "form": {"uuid": "f-csat", "name": "CSAT"},
        "data": {"happy": 4, "plan": "Pro"},
        "tags": [],
        "contact": ADA_CONTACT,
        "form_uuid": "f-csat",
        "contact_uuid": "c-ada",
    }
    after = env(http)
    assert after["contacts"][0]["last_seen_at"] == time_n(1)
    assert after["usage"]["msr"] == 1
    assert listed(http, {"form_uuid": "f-csat"}) == [uuid_n(1), "r5", "r6"]


def test_store_a_response_with_a_date_and_form_fields(http):
    reply = http.post(
        "/v1/responses",
        content=b"form_uuid=f-nps&email=cy%40example.test&score=7"
        b"&date=2025-12-25T10%3A30%3A00%2B02%3A00",
        headers={**BEARER, "Content-Type": FORM},
    )

    response = stored(http, uuid_n(1))
    assert reply.json() == {"message": "ok", "uuid": uuid_n(1)}
    assert (
        response["first_shown_at"],
        response["completed_at"],
        response["received_at"],
        response["data"],
        response["contact_uuid"],
    ) == (
        "2025-12-25 08:30:00",
        "2025-12-25 08:30:00",
        "2026-01-01 00:00:01",
        {"score": "7"},
        "c-cy",
    )


def test_store_a_response_by_contact_uuid(http):
    reply = http.post(
        "/v1/responses",
        json={"form_uuid": "f-nps", "uuid": "c-bob", "score": 10},
        headers=BEARER,
    )

    assert reply.json() == {"message": "ok", "uuid": uuid_n(1)}
    assert stored(http, uuid_n(1))["contact_uuid"] == "c-bob"


def test_a_contact_named_by_uuid_keeps_its_identity(http):
    """The contact of `uuid` is the one answering; an `id` or `email` sent with
    it never moves another contact's identity onto it."""
    reply = http.post(
        "/v1/responses",
        json={
            "form_uuid": "f-nps",
            "uuid": "c-cy",
            "id": "bob",
            "email": "other@example.test",
            "score": 5,
        },
        headers=BEARER,
    )

    contacts = {c["uuid"]: c for c in env(http)["contacts"]}
    assert reply.json() == {"message": "ok", "uuid": uuid_n(1)}
    assert stored(http, uuid_n(1))["contact_uuid"] == "c-cy"
    assert (contacts["c-cy"]["remote_id"], contacts["c-cy"]["email"]) == (
        None,
        "cy@example.test",
    )
    assert (
        http.get("/v1/contact", params={"id": "bob"}, headers=BEARER).json()["uuid"]
        == "c-bob"
    )
    document = http.get("/__mock/state").json()
    assert http.put("/__mock/state", json=document).status_code == 200


@pytest.mark.parametrize(
    ("identity", "remote_id", "email"),
    [
        ({"id": "newbie"}, "newbie", None),
        ({"email": "new@example.test"}, None, "new@example.test"),
        ({"id": "newbie", "email": "new@example.test"}, "newbie", "new@example.test"),
    ],
)
def test_storing_creates_a_missing_contact(http, identity, remote_id, email):
    reply = http.post(
        "/v1/responses",
        json={"form_uuid": "f-nps", **identity, "score": 3},
        headers=BEARER,
    )

    created = env(http)["contacts"][-1]
    assert reply.json() == {"message": "ok", "uuid": uuid_n(2)}
    assert (created["uuid"], created["remote_id"], created["email"]) == (
        uuid_n(1),
        remote_id,
        email,
    )
    assert (created["first_seen_at"], created["last_seen_at"]) == (time_n(1), time_n(1))
    assert stored(http, uuid_n(2))["contact_uuid"] == uuid_n(1)


def test_an_identical_response_is_stored_once_by_default(http):
    body = {"form_uuid": "f-nps", "id": "bob", "score": 7}
    first = http.post("/v1/responses", json=body, headers=BEARER)
    before = state(http)

    second = http.post("/v1/responses", json=body, headers=BEARER)

    assert first.json() == second.json() == {"message": "ok", "uuid": uuid_n(1)}
    assert state(http) == before
    assert calls(http)[-1]["notes"] == [
        f"duplicate of response {uuid_n(1)}; not stored"
    ]


def test_a_seeded_response_counts_as_a_duplicate(http):
    reply = http.post(
        "/v1/responses",
        json={"form_uuid": "f-nps", "id": "ada", "score": 10},
        headers=BEARER,
    )

    assert reply.json() == {"message": "ok", "uuid": "r7"}


@pytest.mark.parametrize("prevent", [False, "false", "0"])
def test_duplicates_are_stored_when_asked(http, prevent):
    body = {"form_uuid": "f-nps", "id": "bob", "score": 7}
    http.post("/v1/responses", json=body, headers=BEARER)

    second = http.post(
        "/v1/responses", json={**body, "prevent_duplicates": prevent}, headers=BEARER
    )

    assert second.json() == {"message": "ok", "uuid": uuid_n(2)}
    assert stored(http, uuid_n(2))["data"] == {"score": 7}
    assert env(http)["usage"]["msr"] == 2


def test_tags_sent_with_a_response_are_stored_and_its_account_is_not(http):
    reply = http.post(
        "/v1/responses",
        json={
            "form_uuid": "f-nps",
            "id": "bob",
            "score": 8,
            "account": {"id": "globex"},
            "tags": ["x", "y", "x"],
        },
        headers=BEARER,
    )

    response = stored(http, uuid_n(1))
    assert reply.json() == {"message": "ok", "uuid": uuid_n(1)}
    assert response["data"] == {"score": 8}
    assert [tag["name"] for tag in response["tags"]] == ["x", "y"]
    assert [a["remote_id"] for a in env(http)["accounts"]] == ["acme"]
    assert calls(http)[-1]["notes"] == ["parameters not stored: account"]


def test_the_literal_json_key_tags_brackets_is_tags_not_an_answer(http):
    http.post(
        "/v1/responses",
        json={"form_uuid": "f-nps", "id": "bob", "score": 1, "tags[]": ["lit"]},
        headers=BEARER,
    )

    response = stored(http, uuid_n(1))
    assert response["data"] == {"score": 1}
    assert [tag["name"] for tag in response["tags"]] == ["lit"]


@pytest.mark.parametrize(
    ("tags", "error"),
    [
        ([{"name": "obj"}], "Each tag must be text."),
        ([True], "Each tag must be text."),
        (["x" * 256], "A tag is at most 255 characters long."),
        ([f"t{n}" for n in range(21)], "A response can have at most 20 tags."),
    ],
)
def test_bad_tags_are_refused_on_both_paths(http, tags, error):
    before = env(http)

    stored_reply = http.post(
        "/v1/responses",
        json={"form_uuid": "f-nps", "id": "bob", "score": 2, "tags": tags},
        headers=BEARER,
    )
    tagged_reply = http.post(
        "/v1/responses/tags", json={"uuid": "r-1", "tags": tags}, headers=BEARER
    )

    assert (stored_reply.status_code, stored_reply.json()) == (400, {"error": error})
    assert (tagged_reply.status_code, tagged_reply.json()) == (400, {"error": error})
    assert env(http) == before


@pytest.mark.parametrize(
    ("body", "status", "reply"),
    [
        ({"id": "ada", "score": 1}, 400, FORM_REQUIRED),
        ({"form_uuid": "", "id": "ada"}, 400, FORM_REQUIRED),
        ({"form_uuid": "f-none", "id": "ada"}, 404, FORM_NOT_FOUND),
        ({"form_uuid": "f-none", "id": "newbie"}, 404, FORM_NOT_FOUND),
        ({"form_uuid": "f-nps", "score": 1}, 400, CONTACT_REQUIRED),
        (
            {"form_uuid": "f-nps", "uuid": "c-none", "id": "ada"},
            404,
            {"error": "Contact not found."},
        ),
        (
            {"form_uuid": "f-nps", "id": "ada", "date": "last week"},
            400,
            {"error": "The date parameter must be an ISO 8601 date."},
        ),
        (
            {"form_uuid": "f-nps", "id": "ada", "prevent_duplicates": "no"},
            400,
            {"error": "The prevent_duplicates parameter must be 1 or 0."},
        ),
    ],
)
def test_store_refusals(http, body, status, reply):
    assert_refused(http, "POST", "/v1/responses", status, reply, json=body)


def test_tags_as_form_fields(http):
    reply = http.post(
        "/v1/responses/tags",
        content=b"uuid=r2&tags[]=urgent&tags[]=praise&tags[]=urgent",
        headers={**BEARER, "Content-Type": FORM},
    )

    assert (reply.status_code, reply.json()) == (200, {"message": "Tags added."})
    assert stored(http, "r2")["tags"] == [
        {"uuid": "t-complaint", "name": "complaint"},
        {"uuid": uuid_n(1), "name": "urgent"},
        {"uuid": "t-praise", "name": "praise"},
    ]
    assert listed(http, {"tag_uuid": uuid_n(1)}) == ["r2"]
    assert listed(http, {"tag_uuid": "t-praise"}) == ["r1", "r2", "r5"]


@pytest.mark.parametrize(
    "body",
    [
        {"uuid": "r6", "tags": ["a", "b"]},
        {"uuid": "r6", "tags[]": ["a", "b"]},
        {"uuid": "r6", "tags": ["a", "b", "a"]},
    ],
)
def test_tags_as_json(http, body):
    reply = http.post("/v1/responses/tags", json=body, headers=BEARER)

    assert reply.json() == {"message": "Tags added."}
    assert stored(http, "r6")["tags"] == [
        {"uuid": uuid_n(1), "name": "a"},
        {"uuid": uuid_n(2), "name": "b"},
    ]


def test_one_tag_as_text(http):
    http.post("/v1/responses/tags", json={"uuid": "r1", "tags": "vip"}, headers=BEARER)

    assert tag_names(http, "r1") == ["praise", "vip"]


def test_a_tag_already_on_the_response_is_not_added_twice(http):
    before = state(http)

    reply = http.post(
        "/v1/responses/tags", json={"uuid": "r1", "tags": ["praise"]}, headers=BEARER
    )

    assert reply.json() == {"message": "Tags added."}
    assert state(http) == before


def test_twenty_tags_is_the_most(http):
    names = [f"t{n:02d}" for n in range(19)]
    reply = http.post(
        "/v1/responses/tags", json={"uuid": "r1", "tags": names}, headers=BEARER
    )

    assert reply.json() == {"message": "Tags added."}
    assert tag_names(http, "r1") == ["praise", *names]
    assert_refused(
        http,
        "POST",
        "/v1/responses/tags",
        400,
        {"error": "A response can have at most 20 tags."},
        json={"uuid": "r1", "tags": ["one-more"]},
    )


@pytest.mark.parametrize(
    ("body", "status", "reply"),
    [
        (
            {"uuid": "r6", "tags": [f"t{n}" for n in range(21)]},
            400,
            {"error": "A response can have at most 20 tags."},
        ),
        ({"uuid": "r-none", "tags": ["a"]}, 404, {"error": "Response not found."}),
        ({"tags": ["a"]}, 400, {"error": "The uuid parameter is required."}),
        (
            {"uuid": "r6"},
            400,
            {"error": "The tags parameter needs at least one tag."},
        ),
        (
            {"uuid": "r6", "tags": []},
            400,
            {"error": "The tags parameter needs at least one tag."},
        ),
        (
            {"uuid": "r6", "tags": ["", ""]},
            400,
            {"error": "The tags parameter needs at least one tag."},
        ),
    ],
)
def test_tag_refusals(http, body, status, reply):
    assert_refused(http, "POST", "/v1/responses/tags", status, reply, json=body)


def reporting(http: httpx.Client, params: dict) -> dict:
    reply = http.get("/v1/reporting", params=params, headers=BEARER)
    assert reply.status_code == 200, reply.json()
    return reply.json()


DATES = {
    "date_range_start": "2025-12-01 00:00:00",
    "date_range_end": "2026-01-02 00:00:00",
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"type": "nps"},
            {
                "data": {"detractors": 1, "passives": 0, "promoters": 2},
                "count": 3,
                "nps": 33,
            },
        ),
        (
            {"type": "csat"},
            {
                "csat": 50.0,
                "count": 2,
                "data": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
            },
        ),
        (
            {"type": "ratings"},
            {
                "average": 3.5,
                "count": 2,
                "sum": 7,
                "data": {"1": 0, "2": 0, "3": 1, "4": 1, "5": 0},
            },
        ),
        (
            {"type": "distribution"},
            {
                "data": {
                    "score": {"6": 1, "9": 1, "10": 1},
                    "happy": {"2": 1, "5": 1},
                    "stars": {"3": 1, "4": 1},
                    "plan": {"Pro": 1, "Free": 1},
                    "features": {"api": 2, "sso": 1},
                },
                "datapoints": 12,
                "responses": 5,
            },
        ),
        ({"type": "count"}, {"views": 7, "responses": 5}),
        (
            {"type": "nps", "segment_uuids[]": "s-fr"},
            {
                "data": {"detractors": 0, "passives": 0, "promoters": 2},
                "count": 2,
                "nps": 100,
            },
        ),
        (
            {"type": "nps", "form_uuids[]": "f-csat"},
            {
                "data": {"detractors": 0, "passives": 0, "promoters": 0},
                "count": 0,
                "nps": 0,
            },
        ),
        (
            {"type": "distribution", "question_identifiers[]": ["stars", "plan"]},
            {
                "data": {"stars": {"3": 1, "4": 1}, "plan": {"Pro": 1, "Free": 1}},
                "datapoints": 4,
                "responses": 2,
            },
        ),
        (
            {"type": "count", "tag_uuids[]": "t-praise"},
            {"views": 2, "responses": 2},
        ),
        (
            {"type": "csat", "contact_data[country]": "Spain"},
            {
                "csat": 0.0,
                "count": 1,
                "data": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
            },
        ),
    ],
)
def test_reports_over_a_month(http, params, expected):
    assert reporting(http, {**params, **RANGE}) == {**expected, **DATES}


def test_the_default_range_is_the_last_seven_days_through_today(http):
    assert reporting(http, {"type": "nps"}) == {
        "data": {"detractors": 1, "passives": 0, "promoters": 1},
        "count": 2,
        "nps": 0,
        "date_range_start": "2025-12-26 00:00:00",
        "date_range_end": "2026-01-02 00:00:00",
    }


def test_a_range_ends_before_its_end(http):
    body = reporting(
        http,
        {
            "type": "count",
            "date_range_start": "2025-12-31T10:00:00Z",
            "date_range_end": "2026-01-01T10:00:00Z",
        },
    )

    assert body == {
        "views": 3,
        "responses": 1,
        "date_range_start": "2025-12-31 10:00:00",
        "date_range_end": "2026-01-01 10:00:00",
    }


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "The type parameter is required."),
        ({"type": ""}, "The type parameter is required."),
        (
            {"type": "median"},
            "The type parameter must be one of nps, csat, ratings, distribution, "
            "count.",
        ),
        (
            {"type": "nps", "date_range_start": "2025-12-32"},
            "The date_range_start parameter must be an ISO 8601 date.",
        ),
        (
            {"type": "nps", "date_range_end": "soon"},
            "The date_range_end parameter must be an ISO 8601 date.",
        ),
        (
            {
                "type": "nps",
                "date_range_start": "2026-01-02",
                "date_range_end": "2026-01-01",
            },
            "The date range must start before it ends.",
        ),
        (
            {"type": "nps", "response_data": "x"},
            "Data filters must be written as name[key]=value.",
        ),
    ],
)
def test_reporting_refusals(http, params, error):
    assert_refused(http, "GET", "/v1/reporting", 400, {"error": error}, params=params)


def test_reports_skip_survey_elements_that_are_not_questions(serve):
    seed = {
        "api_key": KEY,
        "contacts": [{"uuid": "c1", "remote_id": "u1"}],
        "forms": [
            {
                "uuid": "f1",
                "name": "Odd",
                "config": {
                    "form_elements": [
                        "intro text",
                        7,
                        {"identifier": ["score"], "type": "nps"},
                        {"identifier": "score", "type": "nps"},
                    ]
                },
            },
            {"uuid": "f2", "name": "Odder", "config": {"form_elements": "none"}},
        ],
        "responses": [
            {
                "form_uuid": "f1",
                "contact": "u1",
                "completed_at": "2025-12-30",
                "data": {"score": 10},
            },
            {
                "form_uuid": "f2",
                "contact": "u1",
                "completed_at": "2025-12-30",
                "data": {"score": 0},
            },
        ],
    }
    http = serve(create_app(deterministic_settings(), seed=seed))

    reply = http.get(
        "/v1/reporting",
        params={"type": "nps", "question_identifiers[]": "score"},
        headers=BEARER,
    )

    assert (reply.status_code, reply.json()) == (
        200,
        {
            "data": {"detractors": 0, "passives": 0, "promoters": 1},
            "count": 1,
            "nps": 100,
            "date_range_start": "2025-12-26 00:00:00",
            "date_range_end": "2026-01-02 00:00:00",
        },
    )
