"""Listing, publishing, duplicating and archiving surveys, over real HTTP."""

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
FORM_REQUIRED = {"error": "The form_uuid parameter is required."}
FORM_NOT_FOUND = {"error": "Form not found."}
ARCHIVED = {"error": "An archived form cannot be published."}
NPS_CONFIG = {
    "form_elements": [{"identifier": "score", "type": "nps"}],
    "appearance": {"theme": "dark"},
}

SEED = {
    "api_key": KEY,
    "contacts": [{"uuid": "c-ada", "remote_id": "ada"}],
    "forms": [
        {
            "uuid": "f-nps",
            "name": "NPS",
            "created_at": "2025-10-01T00:00:00Z",
            "updated_at": "2025-10-02T00:00:00Z",
            "published_at": "2025-10-03T00:00:00Z",
            "channels": ["web", "link"],
            "page_url": "https://example.test/nps",
            "folder": "Product",
            "config": NPS_CONFIG,
        },
        {"uuid": "f-draft", "name": "draft one", "created_at": "2025-10-05T00:00:00Z"},
        {
            "uuid": "f-old",
            "name": "Archived survey",
            "created_at": "2025-09-01T00:00:00Z",
            "published_at": "2025-09-02T00:00:00Z",
            "archived_at": "2025-09-03T00:00:00Z",
        },
        {
            "uuid": "f-beta",
            "name": "beta",
            "created_at": "2025-10-04T00:00:00Z",
            "published_at": "2025-10-04T12:00:00Z",
        },
    ],
    "responses": [
        {
            "uuid": "r1",
            "form_uuid": "f-nps",
            "contact": "ada",
            "first_shown_at": "2025-11-01T08:00:00Z",
            "last_shown_at": "2025-11-02T08:00:00Z",
            "show_counter": 2,
            "completed_at": "2025-11-02T08:01:00Z",
            "data": {"score": 10},
        },
        {
            "uuid": "r2",
            "form_uuid": "f-nps",
            "contact": "ada",
            "last_shown_at": "2025-11-05T08:00:00Z",
        },
    ],
}
NPS_INFO = {
    "uuid": "f-nps",
    "name": "NPS",
    "channels": ["web", "link"],
    "published_at": "2025-10-03T00:00:00.000000Z",
    "archived_at": None,
    "created_at": "2025-10-01T00:00:00.000000Z",
    "updated_at": "2025-10-02T00:00:00.000000Z",
    "responses_count": 1,
    "views_count": 3,
    "page_url": "https://example.test/nps",
    "folder": "Product",
    "first_form_view_at": "2025-11-01T08:00:00.000000Z",
    "last_form_view_at": "2025-11-05T08:00:00.000000Z",
}
DRAFT_INFO = {
    "uuid": "f-draft",
    "name": "draft one",
    "channels": ["web"],
    "published_at": None,
    "archived_at": None,
    "created_at": "2025-10-05T00:00:00.000000Z",
    "updated_at": "2025-10-05T00:00:00.000000Z",
    "responses_count": 0,
    "views_count": 0,
    "page_url": None,
    "folder": None,
    "first_form_view_at": None,
    "last_form_view_at": None,
}


def stored_form(http: httpx.Client, form_uuid: str) -> dict:
    forms = http.get("/__mock/state", params={"api_key": KEY}).json()["forms"]
    return next(form for form in forms if form["uuid"] == form_uuid)


def listed(http: httpx.Client, **params: object) -> list[str]:
    reply = http.get("/v1/forms", params=params, headers=BEARER)
    return [item["uuid"] for item in reply.json()["items"]]


@pytest.fixture
def app():
    return create_app(deterministic_settings(), seed=SEED)


def test_forms_are_listed_by_name_without_archived_ones(http):
    reply = http.get("/v1/forms", headers=BEARER)

    assert (reply.status_code, reply.json()) == (
        200,
        {
            "items": [
                {"uuid": "f-beta", "name": "beta"},
                {"uuid": "f-draft", "name": "draft one"},
                {"uuid": "f-nps", "name": "NPS"},
            ],
            "pagination": {
                "items_count": 3,
                "current_page": 1,
                "last_page": 1,
                "page_length": 50,
                "next_page_cursor": None,
            },
        },
    )


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ("all", ["f-beta", "f-draft", "f-nps"]),
        ("published", ["f-beta", "f-nps"]),
        ("drafts", ["f-draft"]),
        ("archived", ["f-old"]),
        ("all_with_archived", ["f-old", "f-beta", "f-draft", "f-nps"]),
        ("", ["f-beta", "f-draft", "f-nps"]),
    ],
)
def test_lists(http, chosen, expected):
    assert listed(http, list=chosen) == expected


def test_forms_come_one_page_at_a_time(http):
    reply = http.get(
        "/v1/forms",
        params={"list": "all_with_archived", "page_length": 3, "page": 2},
        headers=BEARER,
    )

    assert reply.json() == {
        "items": [{"uuid": "f-nps", "name": "NPS"}],
        "pagination": {
            "items_count": 4,
            "current_page": 2,
            "last_page": 2,
            "page_length": 3,
            "next_page_cursor": None,
        },
    }


def test_include_info_adds_details_and_counters(http):
    reply = http.get(
        "/v1/forms", params={"include_info": "1", "list": "all"}, headers=BEARER
    )

    items = reply.json()["items"]
    assert [item["uuid"] for item in items] == ["f-beta", "f-draft", "f-nps"]
    assert items[1:] == [DRAFT_INFO, NPS_INFO]


def test_include_config_adds_the_survey(http):
    reply = http.get(
        "/v1/forms",
        params={"include_config": "true", "list": "published"},
        headers=BEARER,
    )

    assert reply.json()["items"] == [
        {"uuid": "f-beta", "name": "beta", "config": {"form_elements": []}},
        {"uuid": "f-nps", "name": "NPS", "config": NPS_CONFIG},
    ]


def test_include_both(http):
    reply = http.get(
        "/v1/forms",
        params={"include_info": 1, "include_config": 1, "list": "drafts"},
        headers=BEARER,
    )

    assert reply.json()["items"] == [{**DRAFT_INFO, "config": {"form_elements": []}}]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"list": "everything"},
            "The list parameter must be one of all, published, drafts, archived, "
            "all_with_archived.",
        ),
        ({"include_info": "yes"}, "The include_info parameter must be 1 or 0."),
        ({"include_config": "2"}, "The include_config parameter must be 1 or 0."),
        (
            {"page_length": "0"},
            "The page_length parameter must be a whole number from 1 to 1000.",
        ),
    ],
)
def test_list_refusals(http, params, error):
    assert_refused(http, "GET", "/v1/forms", 400, {"error": error}, params=params)


def test_publish_a_draft(http):
    reply = http.post(
        "/v1/forms/publish", json={"form_uuid": "f-draft"}, headers=BEARER
    )

    form = stored_form(http, "f-draft")
    assert (reply.status_code, reply.json()) == (200, {"message": "Form published."})
    assert (form["published_at"], form["updated_at"]) == (time_n(1), time_n(1))
    assert listed(http, list="drafts") == []
    assert listed(http, list="published") == ["f-beta", "f-draft", "f-nps"]


def test_publishing_a_published_form_keeps_its_publication_time(http):
    reply = http.post(
        "/v1/forms/publish",
        content=b"form_uuid=f-nps&published=1",
        headers={**BEARER, "Content-Type": FORM},
    )

    form = stored_form(http, "f-nps")
    assert reply.json() == {"message": "Form published."}
    assert (form["published_at"], form["updated_at"]) == (
        "2025-10-03T00:00:00.000000Z",
        time_n(1),
    )


@pytest.mark.parametrize("published", ["0", "false", False, 0])
def test_unpublish(http, published):
    reply = http.post(
        "/v1/forms/publish",
        json={"form_uuid": "f-nps", "published": published},
        headers=BEARER,
    )

    form = stored_form(http, "f-nps")
    assert reply.json() == {"message": "Form unpublished."}
    assert (form["published_at"], form["updated_at"]) == (None, time_n(1))
    assert listed(http, list="drafts") == ["f-draft", "f-nps"]


def test_an_archived_form_may_be_unpublished(http):
    reply = http.post(
        "/v1/forms/publish", json={"form_uuid": "f-old", "published": 0}, headers=BEARER
    )

    form = stored_form(http, "f-old")
    assert reply.json() == {"message": "Form unpublished."}
    assert (form["published_at"], form["archived_at"]) == (
        None,
        "2025-09-03T00:00:00.000000Z",
    )


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({"form_uuid": "f-old"}, 400, ARCHIVED),
        ({"form_uuid": "f-old", "published": "1"}, 400, ARCHIVED),
        ({}, 400, FORM_REQUIRED),
        ({"published": 0}, 400, FORM_REQUIRED),
        ({"form_uuid": "f-none"}, 404, FORM_NOT_FOUND),
        (
            {"form_uuid": "f-draft", "published": "maybe"},
            400,
            {"error": "The published parameter must be 1 or 0."},
        ),
    ],
)
def test_publish_refusals(http, params, status, body):
    assert_refused(http, "POST", "/v1/forms/publish", status, body, json=params)


def test_duplicate_copies_a_form_into_a_new_draft(http):
    reply = http.post(
        "/v1/forms/duplicate",
        json={"form_uuid": "f-nps", "name": " NPS copy "},
        headers=BEARER,
    )

    assert (reply.status_code, reply.json()) == (
        200,
        {"source_form_uuid": "f-nps", "new_form_uuid": uuid_n(1)},
    )
    assert stored_form(http, uuid_n(1)) == {
        "uuid": uuid_n(1),
        "name": "NPS copy",
        "channels": ["web", "link"],
        "published_at": None,
        "archived_at": None,
        "created_at": time_n(1),
        "updated_at": time_n(1),
        "responses_count": 0,
        "views_count": 0,
        "page_url": "https://example.test/nps",
        "folder": "Product",
        "first_form_view_at": None,
        "last_form_view_at": None,
        "config": NPS_CONFIG,
    }
    assert stored_form(http, "f-nps") == {
        **NPS_INFO,
        "config": NPS_CONFIG,
    }
    assert listed(http, list="drafts") == ["f-draft", uuid_n(1)]


def test_duplicating_an_archived_form_gives_a_draft(http):
    reply = http.post(
        "/v1/forms/duplicate",
        content=b"form_uuid=f-old&name=Revived",
        headers={**BEARER, "Content-Type": FORM},
    )

    assert reply.json() == {"source_form_uuid": "f-old", "new_form_uuid": uuid_n(1)}
    assert listed(http, list="drafts") == ["f-draft", uuid_n(1)]


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({"form_uuid": "f-nps"}, 400, {"error": "The name parameter is required."}),
        (
            {"form_uuid": "f-nps", "name": "  "},
            400,
            {"error": "The name parameter is required."},
        ),
        ({"name": "Copy"}, 400, FORM_REQUIRED),
        ({"form_uuid": "f-none", "name": "Copy"}, 404, FORM_NOT_FOUND),
    ],
)
def test_duplicate_refusals(http, params, status, body):
    assert_refused(http, "POST", "/v1/forms/duplicate", status, body, json=params)


def test_delete_archives_a_form_and_keeps_it(http):
    reply = http.delete("/v1/forms", params={"form_uuid": "f-beta"}, headers=BEARER)

    form = stored_form(http, "f-beta")
    assert (reply.status_code, reply.json()) == (200, {"message": "Form archived."})
    assert (form["archived_at"], form["updated_at"], form["published_at"]) == (
        time_n(1),
        time_n(1),
        "2025-10-04T12:00:00.000000Z",
    )
    assert listed(http) == ["f-draft", "f-nps"]
    assert listed(http, list="archived") == ["f-old", "f-beta"]


def test_delete_with_a_json_body(http):
    reply = http.request(
        "DELETE", "/v1/forms", json={"form_uuid": "f-draft"}, headers=BEARER
    )

    assert reply.json() == {"message": "Form archived."}
    assert stored_form(http, "f-draft")["archived_at"] == time_n(1)


def test_deleting_an_archived_form_keeps_its_archive_time(http):
    before = state(http)

    reply = http.delete("/v1/forms", params={"form_uuid": "f-old"}, headers=BEARER)

    assert reply.json() == {"message": "Form archived."}
    assert state(http) == before


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [({}, 400, FORM_REQUIRED), ({"form_uuid": "f-none"}, 404, FORM_NOT_FOUND)],
)
def test_delete_refusals(http, params, status, body):
    assert_refused(http, "DELETE", "/v1/forms", status, body, params=params)
