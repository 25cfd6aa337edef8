"""Ids and dates stay within what the state holds: no reused uuid, no 500 on a
date outside the calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mock_refiner import MockRefiner, Settings
from tests.mock_refiner.conftest import KEY, deterministic_settings, uuid_n

BEARER = {"Authorization": f"Bearer {KEY}"}
JSON = {**BEARER, "Content-Type": "application/json"}


def test_new_entities_skip_uuids_a_seed_already_uses():
    mock = MockRefiner(deterministic_settings())
    mock.load(
        {
            "api_key": KEY,
            "contacts": [{"uuid": uuid_n(1), "remote_id": "old-user"}],
            "forms": [{"uuid": uuid_n(2), "name": "Seeded"}],
        }
    )

    identified = mock.handle("POST", "/v1/identify-user", b"", JSON, b'{"id": "new"}')
    duplicated = mock.handle(
        "POST",
        "/v1/forms/duplicate",
        b"",
        JSON,
        f'{{"form_uuid": "{uuid_n(2)}", "name": "Copy"}}'.encode(),
    )

    assert identified.body == {"message": "ok", "contact_uuid": uuid_n(3)}
    assert duplicated.body == {
        "source_form_uuid": uuid_n(2),
        "new_form_uuid": uuid_n(4),
    }
    state = mock.store.snapshot(KEY)
    assert [(c["uuid"], c["remote_id"]) for c in state["contacts"]] == [
        (uuid_n(1), "old-user"),
        (uuid_n(3), "new"),
    ]
    assert [(f["uuid"], f["name"]) for f in state["forms"]] == [
        (uuid_n(2), "Seeded"),
        (uuid_n(4), "Copy"),
    ]
    deleted = mock.handle("DELETE", "/v1/contact", b"id=old-user", BEARER, b"")
    assert deleted.status == 200
    remaining = mock.store.snapshot(KEY)["contacts"]
    assert [c["remote_id"] for c in remaining] == ["new"]


def test_an_id_factory_that_only_repeats_itself_is_a_500_that_changes_nothing():
    mock = MockRefiner(Settings(ids=lambda: "same-id"))
    first = mock.handle("POST", "/v1/identify-user", b"", JSON, b'{"id": "a"}')
    second = mock.handle("POST", "/v1/identify-user", b"", JSON, b'{"id": "b"}')

    assert first.body == {"message": "ok", "contact_uuid": "same-id"}
    assert second.status == 500
    assert second.body == {
        "error": "Internal error: RuntimeError: the id factory gave 10000 ids "
        "already in use"
    }
    assert [c["remote_id"] for c in mock.store.snapshot(KEY)["contacts"]] == ["a"]


@pytest.mark.parametrize("bad", [None, "", 7])
def test_an_id_factory_giving_no_text_is_a_500(bad):
    mock = MockRefiner(Settings(ids=lambda: bad))

    reply = mock.handle("POST", "/v1/identify-user", b"", JSON, b'{"id": "a"}')

    assert reply.status == 500
    assert mock.store.snapshot() == {"environments": []}


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "error"),
    [
        (
            "GET",
            "/v1/responses",
            b"date_range_start=0001-01-01T00:00:00%2B01:00",
            b"",
            "The date_range_start parameter must be an ISO 8601 date.",
        ),
        (
            "GET",
            "/v1/responses",
            b"date_range_end=9999-12-31T23:59:59-12:00",
            b"",
            "The date_range_end parameter must be an ISO 8601 date.",
        ),
        (
            "GET",
            "/v1/reporting",
            b"type=nps&date_range_end=0001-01-03",
            b"",
            "The date range must lie between the years 1 and 9999.",
        ),
        (
            "POST",
            "/v1/responses",
            b"",
            b'{"form_uuid": "f", "id": "u2", "date": "0001-01-01T00:00:00+05:00"}',
            "The date parameter must be an ISO 8601 date.",
        ),
    ],
)
def test_dates_outside_the_calendar_are_a_400(method, path, query, body, error):
    mock = MockRefiner(deterministic_settings())

    reply = mock.handle(method, path, query, JSON, body)

    assert (reply.status, reply.body) == (400, {"error": error})


def test_a_seeded_event_uuid_is_never_given_again():
    mock = MockRefiner(deterministic_settings())
    mock.load(
        {
            "api_key": KEY,
            "contacts": [{"remote_id": "u1", "uuid": "c-1"}],
            "events": [{"uuid": uuid_n(1), "name": "Seeded", "contact": "u1"}],
        }
    )

    mock.handle("POST", "/v1/track", b"", JSON, b'{"id": "u1", "event": "New"}')

    events = mock.store.snapshot(KEY)["events"]
    assert [(e["uuid"], e["name"]) for e in events] == [
        (uuid_n(1), "Seeded"),
        (uuid_n(2), "New"),
    ]


def test_response_times_keep_four_digit_years():
    from mock_refiner.render import response_time

    assert (
        response_time(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0999-01-02 03:04:05"
    )
