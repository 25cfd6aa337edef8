"""The fixture object: reads, assertions and its messages, routing and the server."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
import requests

from harness.fixtures import AmbiguousKeyError, LiveServer, RefinerMock
from harness.runner import replay_settings
from mock_refiner import create_app

AUTH = {"Authorization": "Bearer rf-demo-key"}
TRACK = "https://api.refiner.io/v1/track"
CONFIG = {
    "apiKey": "rf-replay-key",
    "userAttributesMapping": [{"from": "userId", "to": "id"}],
}


def identify(key: str, **params: object) -> httpx.Response:
    return httpx.post(
        "https://api.refiner.io/v1/identify-user",
        data=params,
        headers={"Authorization": f"Bearer {key}"},
    )


def test_reads_are_empty_before_any_call(refiner):
    assert (refiner.contacts, refiner.accounts, refiner.events, refiner.calls) == (
        [],
        [],
        [],
        [],
    )
    assert refiner.environment()["api_key"] is None


def test_reads_use_the_only_key_then_need_a_choice(refiner_respx):
    identify("rf-one", id="u1")
    assert [contact["remote_id"] for contact in refiner_respx.contacts] == ["u1"]

    identify("rf-two", id="u2")
    with pytest.raises(AmbiguousKeyError) as raised:
        refiner_respx.contacts  # noqa: B018 - reading it raises
    assert str(raised.value) == (
        "the mock holds environments for 2 API keys ('rf-one', 'rf-two'): "
        "pass api_key= or set api_key on the fixture"
    )

    refiner_respx.assert_contact(api_key="rf-two", remote_id="u2")
    refiner_respx.api_key = "rf-two"
    assert [contact["remote_id"] for contact in refiner_respx.contacts] == ["u2"]


def test_assert_event_finds_the_contact_by_email_remote_id_or_mapping(refiner_respx):
    httpx.post(
        TRACK,
        data={"id": "u1", "email": "ada@example.test", "event": "E"},
        headers=AUTH,
    )

    uuid = refiner_respx.contacts[0]["uuid"]
    for contact in ("u1", "ada@example.test", {"uuid": uuid}):
        event = refiner_respx.assert_event("E", contact, path="/v1/track")
        assert event["contact"] == {
            "uuid": uuid,
            "remote_id": "u1",
            "email": "ada@example.test",
        }


def test_assert_event_failure_lists_the_nearest_events(refiner_respx):
    httpx.post(TRACK, data={"id": "u1", "event": "Signed Up"}, headers=AUTH)

    with pytest.raises(AssertionError) as raised:
        refiner_respx.assert_event("Signed Up", contact="u2")

    assert str(raised.value).splitlines() == [
        "no event matches for API key rf-demo-key",
        '  expected: {"name": "Signed Up", "contact": {"remote_id": "u2"}}',
        '  nearest:  {"uuid": "00000000-0000-4000-8000-000000000002", '
        '"name": "Signed Up", "received_at": "2026-01-01T00:00:00.000000Z", '
        '"path": "/v1/track", "contact": {"uuid": '
        '"00000000-0000-4000-8000-000000000001", "remote_id": "u1", "email": null}}',
        '    differs at contact.remote_id: expected "u2", found "u1"',
    ]


def test_assert_account_failure_without_any_account(refiner):
    with pytest.raises(AssertionError) as raised:
        refiner.assert_account(remote_id="acct-1")

    assert str(raised.value).splitlines() == [
        "no account matches",
        '  expected: {"remote_id": "acct-1"}',
        "  found:    no accounts at all",
        "  the mock has received no calls",
    ]


def test_assert_calls_with_too_few_shows_the_nearest_others(refiner_respx):
    httpx.post(TRACK, data={"id": "u1"}, headers=AUTH)

    with pytest.raises(AssertionError) as raised:
        refiner_respx.assert_calls(path="/v1/track", status=200, count=1)

    assert str(raised.value).splitlines() == [
        "expected 1 call matching, found 0",
        '  expected: {"path": "/v1/track", "status": 200}',
        '  nearest:  {"id": 1, "time": "2026-01-01T00:00:00.000000Z", '
        '"method": "POST", "path": "/v1/track", "operation": "track", '
        '"key_source": "bearer", "api_key": "rf-demo-key", '
        '"content_type": "application/x-www-form-urlencoded", '
        '"params": {"id": "u1"}, "status": 400, '
        '"reply": {"error": "The event parameter is required."}, "notes": []}',
        "    differs at status: expected 200, found 400",
    ]


def test_assert_calls_with_too_many_lists_them(refiner_respx):
    for _ in range(7):
        httpx.post(TRACK, data={"id": "u1"}, headers=AUTH)

    with pytest.raises(AssertionError) as raised:
        refiner_respx.assert_calls(status=400, count=2)

    lines = str(raised.value).splitlines()
    assert lines[:2] == [
        "expected 2 calls matching, found 7",
        '  expected: {"status": 400}',
    ]
    assert [line[:22] for line in lines[2:7]] == [
        '  found:    {"id": 1, ',
        '  found:    {"id": 2, ',
        '  found:    {"id": 3, ',
        '  found:    {"id": 4, ',
        '  found:    {"id": 5, ',
    ]
    assert lines[7:] == ["  ... and 2 more"]
    assert len(refiner_respx.assert_calls(status=400, count=7)) == 7


def test_assert_calls_without_count_needs_one(refiner):
    with pytest.raises(AssertionError) as raised:
        refiner.assert_calls(path="/v1/track")

    assert str(raised.value).splitlines() == [
        "no call matches",
        '  expected: {"path": "/v1/track"}',
        "  found:    no calls at all",
    ]


def test_a_failed_assertion_says_the_mock_received_no_calls(refiner):
    with pytest.raises(AssertionError) as raised:
        refiner.assert_contact(remote_id="u1")

    assert str(raised.value).splitlines() == [
        "no contact matches",
        '  expected: {"remote_id": "u1"}',
        "  found:    no contacts at all",
        "  the mock has received no calls",
    ]


def test_a_failed_assertion_lists_the_api_keys_seen(refiner_respx):
    identify("rf-demo-key", id="u1")
    identify("rf-other-key", id="u2")
    refiner_respx.api_key = "rf-demo-kye"

    with pytest.raises(AssertionError) as raised:
        refiner_respx.assert_contact(remote_id="u1")

    assert str(raised.value).splitlines() == [
        "no contact matches for API key rf-demo-kye",
        '  expected: {"remote_id": "u1"}',
        "  found:    no contacts at all",
        "  API keys seen: 'rf-demo-key', 'rf-other-key'",
    ]
    refiner_respx.assert_contact(api_key="rf-demo-key", remote_id="u1")


def test_a_failed_assertion_shows_the_first_refused_calls(refiner_respx):
    httpx.post(TRACK, data={"id": "u1", "event": "E"})
    for _ in range(3):
        httpx.post(TRACK, data={"id": "u1"}, headers=AUTH)

    with pytest.raises(AssertionError) as raised:
        refiner_respx.assert_event("E", contact="u1")

    assert str(raised.value).splitlines() == [
        "no event matches",
        '  expected: {"name": "E", "contact": {"remote_id": "u1"}}',
        "  found:    no events at all",
        "  API keys seen: 'rf-demo-key'",
        '  refused:  POST /v1/track 401 {"error": "No API key found in headers"}',
        '  refused:  POST /v1/track 400 {"error": "The event parameter is required."}',
        '  refused:  POST /v1/track 400 {"error": "The event parameter is required."}',
        "  ... and 1 more refused",
    ]


def test_reset_forgets_state_and_calls(refiner_respx):
    identify("rf-demo-key", id="u1")
    refiner_respx.reset()

    refiner_respx.assert_no_calls()
    assert refiner_respx.contacts == []


def test_other_hosts_are_refused_while_routing(refiner_respx):
    with pytest.raises(AssertionError, match="not mocked"):
        httpx.get("https://example.test/")


def test_sync_and_async_clients_reach_the_app_alike(refiner_respx):
    url = "https://api.refiner.io/v1/%C3%BCnknown?plan=caf%C3%A9"

    async def call_async() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(url, headers=AUTH)

    sync_reply = httpx.get(url, headers=AUTH)
    async_reply = asyncio.run(call_async())

    assert (sync_reply.status_code, async_reply.status_code) == (404, 404)
    assert sync_reply.json() == async_reply.json()
    assert [call["path"] for call in refiner_respx.calls] == ["/v1/ünknown"] * 2


@pytest.mark.anyio
async def test_a_sync_client_inside_an_async_test_is_answered(refiner_respx):
    reply = identify("rf-demo-key", id="u1")

    assert reply.json() == {
        "message": "ok",
        "contact_uuid": "00000000-0000-4000-8000-000000000001",
    }


def test_replay_maps_and_delivers_events(refiner):
    events = [
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
        {"type": "screen", "userId": "u1"},
    ]

    outcome = refiner.replay(events, CONFIG)

    assert outcome.rejected == [
        {
            "index": 1,
            "type": "screen",
            "status": 400,
            "message": 'Event type "screen" is not supported',
        }
    ]
    refiner.assert_contact(remote_id="u1", attributes={"plan": "pro"})


@pytest.mark.parametrize(
    ("events", "kind"),
    [({"type": "identify", "userId": "u1"}, "dict"), ("identify", "str"), (3, "int")],
)
def test_replay_refuses_anything_but_a_list_of_events(refiner, events, kind):
    with pytest.raises(TypeError) as raised:
        refiner.replay(events, CONFIG)

    assert str(raised.value) == (
        f"replay takes a list of events, not {kind}; "
        "put a single event in a list: replay([event], config)"
    )
    refiner.assert_no_calls()


def test_replay_takes_a_tuple_or_any_iterable_of_events(refiner):
    events = ({"type": "identify", "userId": user} for user in ("u1", "u2"))

    refiner.replay(events, CONFIG)
    refiner.replay(({"type": "identify", "userId": "u3"},), CONFIG)

    assert [contact["remote_id"] for contact in refiner.contacts] == ["u1", "u2", "u3"]


def test_run_scenario_failure_reads_like_the_command_line(refiner, write_scenario):
    scenario = write_scenario(
        {
            "name": "one contact",
            "config": CONFIG,
            "events": [{"type": "identify", "userId": "u1"}],
            "expect": {"counts": {"contacts": 0}},
        }
    )

    with pytest.raises(AssertionError) as raised:
        refiner.run_scenario(scenario, "documented")

    assert str(raised.value).splitlines()[:2] == [
        "scenario 'one contact' under documented failed",
        "counts.contacts: expected 0, found 1",
    ]
    result = refiner.run_scenario(scenario, check=False)
    assert (result.profile, result.passed) == ("rudderstack", False)
    refiner.assert_contact(remote_id="u1")


def test_run_scenario_against_the_live_server(refiner_server, write_scenario):
    scenario = write_scenario(
        {
            "name": "one contact",
            "config": CONFIG,
            "events": [{"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}],
            "expect": {"counts": {"contacts": 1, "calls": 1}},
        }
    )

    result = refiner_server.run_scenario(scenario)

    assert result.passed
    refiner_server.assert_calls(
        path="/v1/identify-user",
        count=1,
        content_type="application/x-www-form-urlencoded",
    )
    refiner_server.assert_contact(remote_id="u1", attributes={"plan": "pro"})


def test_live_server_serves_the_app_it_is_given():
    first, second = create_app(), create_app()

    with LiveServer(first) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with requests.Session() as session:
            session.trust_env = False
            session.post(
                f"{server.url}/v1/identify-user",
                data={"id": "u1"},
                auth=("rf-k", ""),
                timeout=5,
            )
            server.serve(second)
            session.post(
                f"{server.url}/v1/identify-user",
                data={"id": "u2"},
                auth=("rf-k", ""),
                timeout=5,
            )

    remote_ids = [
        [contact["remote_id"] for contact in RefinerMock(app).contacts]
        for app in (first, second)
    ]
    assert remote_ids == [["u1"], ["u2"]]


class TestOverriddenSettings:
    """``refiner_settings`` overridden for a group of tests changes every mock."""

    @pytest.fixture
    def refiner_settings(self):
        return replace(replay_settings(), plan="essentials")

    @pytest.mark.parametrize("mode", ["refiner_respx", "refiner_server"])
    def test_the_essentials_plan_refuses_tracking(self, request, mode):
        mock = request.getfixturevalue(mode)

        with httpx.Client(trust_env=False) as client:
            reply = client.post(
                f"{mock.url}/v1/track", data={"id": "u1", "event": "E"}, headers=AUTH
            )

        assert (reply.status_code, reply.json()) == (
            403,
            {"error": "Event tracking is not available on your plan."},
        )
        assert mock.events == []
