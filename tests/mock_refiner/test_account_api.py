"""The account's plan and usage, the plan gate on events and the rate limits."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mock_refiner import StepClock, create_app
from mock_refiner.models import ENVIRONMENT_NAMESPACE
from tests.mock_refiner.conftest import (
    KEY,
    START,
    calls,
    deterministic_settings,
    state,
    time_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
OTHER_KEY = "other-key-0002"
OTHER = {"Authorization": f"Bearer {OTHER_KEY}"}
NO_EVENTS = {"error": "Event tracking is not available on your plan."}


def project(api_key: str) -> str:
    return str(uuid.uuid5(ENVIRONMENT_NAMESPACE, api_key))


def account(http: httpx.Client, headers: dict = BEARER) -> dict:
    reply = http.get("/v1/account", headers=headers)
    assert reply.status_code == 200, reply.json()
    return reply.json()


def assert_refused(
    http: httpx.Client,
    method: str,
    path: str,
    status: int,
    body: dict,
    headers: dict | None = None,
    **request: object,
) -> httpx.Response:
    """The call gets `status` and `body`, is journaled, and changes no state."""
    before = state(http)
    journaled = len(calls(http))

    reply = http.request(method, path, headers=headers or BEARER, **request)

    assert (reply.status_code, reply.json()) == (status, body)
    assert state(http) == before
    entries = calls(http)
    assert len(entries) == journaled + 1
    assert (entries[-1]["method"], entries[-1]["path"]) == (method, path)
    assert (entries[-1]["status"], entries[-1]["reply"]) == (status, body)
    return reply


def test_a_new_account_has_no_usage(http):
    assert account(http) == {
        "subscription": {
            "plan": "Growth",
            "mtu_count": 0,
            "mtu_limit": 25_000,
            "mte_count": 0,
            "mpv_count": 0,
            "mpv_limit": 250_000,
            "msr_count": 0,
            "msr_limit": 10_000,
        },
        "environments": [
            {
                "uuid": project(KEY),
                "name": "Production",
                "mtu": 0,
                "mte": 0,
                "mpv": 0,
                "msr": 0,
            }
        ],
    }
    assert state(http) == {"environments": []}


def test_usage_moves_with_identify_track_and_responses(http):
    seed = {"api_key": KEY, "name": "Testing", "forms": [{"uuid": "f1", "name": "F"}]}
    assert http.put("/__mock/state", json=seed).status_code == 200
    sent = [
        ("/v1/identify-user", {"id": "u1"}, BEARER),
        ("/v1/identify-user", {"id": "u1", "plan": "pro"}, BEARER),
        ("/v1/identify-user", {"email": "u2@example.test"}, BEARER),
        ("/v1/track-event", {"id": "u1", "event": "Signed Up"}, BEARER),
        ("/v1/track-event", {"id": "u3", "event": "pageView"}, BEARER),
        ("/v1/track", {"id": "u1", "event": "pageView"}, BEARER),
        ("/v1/track", {"id": "u1", "event": "Viewed Home Page"}, BEARER),
        ("/v1/responses", {"form_uuid": "f1", "id": "u4", "q": 1}, BEARER),
        ("/v1/responses", {"form_uuid": "f1", "id": "u4", "q": 1}, BEARER),
        ("/v1/responses", {"form_uuid": "f1", "id": "u4", "q": 2}, BEARER),
        ("/v1/identify-user", {"id": "x"}, OTHER),
        ("/v1/track-event", {"id": "x", "event": "pageView"}, OTHER),
        ("/v1/identify-user", {"event": "no identity"}, BEARER),
        ("/v1/track-event", {"id": "u1"}, BEARER),
    ]
    statuses = [
        http.post(path, json=body, headers=headers).status_code
        for path, body, headers in sent
    ]

    assert statuses == [200] * 12 + [400, 400]
    assert account(http) == {
        "subscription": {
            "plan": "Growth",
            "mtu_count": 4,
            "mtu_limit": 25_000,
            "mte_count": 5,
            "mpv_count": 3,
            "mpv_limit": 250_000,
            "msr_count": 2,
            "msr_limit": 10_000,
        },
        "environments": [
            {
                "uuid": project(KEY),
                "name": "Testing",
                "mtu": 3,
                "mte": 4,
                "mpv": 2,
                "msr": 2,
            },
            {
                "uuid": project(OTHER_KEY),
                "name": "Production",
                "mtu": 1,
                "mte": 1,
                "mpv": 1,
                "msr": 0,
            },
        ],
    }
    assert account(http, OTHER) == account(http)


def test_an_unused_key_is_listed_after_the_used_ones(http):
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    environments = account(http, OTHER)["environments"]

    assert [(e["uuid"], e["mtu"]) for e in environments] == [
        (project(KEY), 1),
        (project(OTHER_KEY), 0),
    ]


def test_usage_starts_again_each_month(serve):
    clock = StepClock(datetime(2026, 1, 31, 23, 59, 58, tzinfo=UTC))
    http = serve(create_app(deterministic_settings(clock=clock)))

    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    january = account(http)
    february = account(http)

    assert january["environments"][0]["mtu"] == 1
    assert february["subscription"]["mtu_count"] == 0
    assert february["environments"][0]["mtu"] == 0


@pytest.mark.parametrize(
    ("plan", "shown", "limits"),
    [
        ("essentials", "Essentials", (5_000, 50_000, 1_000)),
        ("growth", "Growth", (25_000, 250_000, 10_000)),
        ("enterprise", "Enterprise", (1_000_000, 10_000_000, 100_000)),
    ],
)
def test_plan_limits(serve, plan, shown, limits):
    http = serve(create_app(deterministic_settings(plan=plan)))

    subscription = account(http)["subscription"]

    assert (subscription["plan"], subscription["mtu_limit"]) == (shown, limits[0])
    assert (subscription["mpv_limit"], subscription["msr_limit"]) == limits[1:]


@pytest.mark.parametrize("path", ["/v1/track-event", "/v1/track"])
def test_essentials_refuses_events_and_changes_nothing(serve, path):
    http = serve(create_app(deterministic_settings(plan="essentials")))
    identified = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    assert_refused(
        http, "POST", path, 403, NO_EVENTS, json={"id": "u2", "event": "pageView"}
    )
    assert_refused(
        http, "POST", path, 403, NO_EVENTS, json={"id": "u1", "event": "Signed Up"}
    )

    usage = account(http)["subscription"]
    assert identified.json()["message"] == "ok"
    assert (usage["mtu_count"], usage["mte_count"], usage["mpv_count"]) == (1, 0, 0)


def rate_limited_app(clock: object) -> object:
    settings = deterministic_settings(
        clock=clock, rate_limits=True, rate_limit_per_user=3
    )
    return create_app(settings)


def too_many(user: str) -> dict:
    return {
        "error": "Too many requests: the limit of 3 calls per minute for user "
        f"identifier {user!r} is reached."
    }


def test_the_fourth_call_for_one_user_in_a_minute_is_a_429(serve):
    http = serve(rate_limited_app(StepClock(START)))
    admitted = [
        http.post("/v1/identify-user", json={"id": "u1", "n": n}, headers=BEARER)
        for n in range(3)
    ]

    refused = assert_refused(
        http, "POST", "/v1/identify-user", 429, too_many("u1"), json={"id": "u1"}
    )

    assert [reply.status_code for reply in admitted] == [200, 200, 200]
    assert refused.headers["Retry-After"] == "57"
    assert calls(http)[-1]["time"] == time_n(3)
    other = http.post("/v1/identify-user", json={"id": "u2"}, headers=BEARER)
    assert other.status_code == 200


def test_every_call_naming_a_user_counts(serve):
    http = serve(rate_limited_app(StepClock(START)))
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    http.post("/v1/track-event", json={"id": "u1", "event": "x"}, headers=BEARER)
    http.get("/v1/contact", params={"id": "u1"}, headers=BEARER)

    reply = assert_refused(
        http,
        "DELETE",
        "/v1/contact",
        429,
        too_many("u1"),
        params={"id": "u1"},
    )

    assert reply.headers["Retry-After"] == "57"


def test_calls_without_a_user_are_not_counted_per_user(serve):
    http = serve(rate_limited_app(StepClock(START)))

    statuses = [http.get("/v1/contacts", headers=BEARER).status_code for _ in range(5)]

    assert statuses == [200] * 5


def test_a_refused_call_is_not_counted_and_the_window_moves_on(serve):
    moments = [START]
    http = serve(rate_limited_app(lambda: moments[-1]))
    for seconds in (0, 10, 20):
        moments.append(START + timedelta(seconds=seconds))
        http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    moments.append(START + timedelta(seconds=59, milliseconds=500))
    refused = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    moments.append(START + timedelta(seconds=60))
    admitted = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    moments.append(START + timedelta(seconds=61))
    refused_again = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "1")
    assert admitted.status_code == 200
    assert (refused_again.status_code, refused_again.headers["Retry-After"]) == (
        429,
        "9",
    )
