from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from mock_refiner import MockRefiner, create_app
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    deterministic_settings,
    environment,
    time_n,
    uuid_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
NO_KEY = {"error": "No API key found in headers"}
MALFORMED = {"error": "API key does not look valid"}
UNKNOWN = {"message": "API key not valid or does not exist"}


def state(http: httpx.Client) -> dict:
    return http.get("/__mock/state").json()


def calls(http: httpx.Client, **filters: str) -> list[dict]:
    return http.get("/__mock/calls", params=filters).json()["calls"]


def test_the_app_keeps_its_mock_in_extensions(app):
    assert isinstance(app.extensions["mock_refiner"], MockRefiner)


def test_identify_with_a_json_body(http):
    response = http.post(
        "/v1/identify-user",
        json={"id": "u1", "email": "a@b.co", "age": 30, "ratio": 0.5},
        headers=BEARER,
    )

    assert (response.status_code, response.json()) == (
        200,
        {"message": "ok", "contact_uuid": uuid_n(1)},
    )
    assert response.headers["content-type"] == "application/json"
    assert state(http)["environments"][0]["contacts"][0]["attributes"] == {
        "age": 30,
        "ratio": "0.5",
    }


def test_identify_with_a_bracketed_form_body(http):
    response = http.post(
        "/v1/identify-user",
        content=b"id=test%4012&account[id]=group%40123&account[name]=Acme+Inc"
        b"&account[plan[tier]]=cobalt&age=30",
        headers={**BEARER, "Content-Type": FORM},
    )

    env = http.get("/__mock/state", params={"api_key": KEY}).json()
    assert response.status_code == 200
    assert env["contacts"][0]["remote_id"] == "test@12"
    assert env["contacts"][0]["attributes"] == {"age": 30}
    assert env["accounts"] == [
        {
            "uuid": uuid_n(2),
            "remote_id": "group@123",
            "display_name": "Acme Inc",
            "domain": None,
            "first_seen_at": time_n(0),
            "last_seen_at": time_n(0),
            "attributes": {"name": "Acme Inc", "plan[tier": "cobalt"},
            "contacts": ["test@12"],
        }
    ]


def test_identify_with_query_parameters_only(http):
    response = http.post(
        "/v1/identify-user",
        params={"id": "u1", "email": "a@b.co", "api_key": KEY, "plan": "pro"},
    )

    [call] = calls(http)
    assert response.json() == {"message": "ok", "contact_uuid": uuid_n(1)}
    assert (call["key_source"], call["api_key"], call["params"]) == (
        "param",
        KEY,
        {"id": "u1", "email": "a@b.co", "plan": "pro"},
    )


@pytest.mark.parametrize("path", ["/v1/track-event", "/v1/track"])
def test_track_over_http(http, path):
    response = http.post(
        path,
        content=b"id=u1&email=a%40b.co&event=Signed+Up",
        headers={**BEARER, "Content-Type": FORM},
    )

    env = state(http)["environments"][0]
    assert (response.status_code, response.json()) == (200, {"message": "ok"})
    assert env["events"] == [
        {
            "uuid": uuid_n(2),
            "name": "Signed Up",
            "received_at": time_n(0),
            "path": path,
            "contact": {"uuid": uuid_n(1), "remote_id": "u1", "email": "a@b.co"},
        }
    ]


def test_the_three_ways_to_give_the_key(http):
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    http.post("/v1/identify-user", json={"id": "u2"}, auth=(KEY, ""))
    http.post("/v1/identify-user", data={"id": "u3", "api_key": KEY})

    assert [(c["status"], c["key_source"], c["api_key"]) for c in calls(http)] == [
        (200, "bearer", KEY),
        (200, "basic", KEY),
        (200, "param", KEY),
    ]
    assert [env["api_key"] for env in state(http)["environments"]] == [KEY]


@pytest.mark.parametrize(
    ("headers", "params", "status", "body"),
    [
        ({}, {"id": "u1"}, 401, NO_KEY),
        ({"Authorization": "Bearer"}, {"id": "u1"}, 401, NO_KEY),
        ({}, {"id": "u1", "api_key": "abc"}, 401, NO_KEY),
        ({"Authorization": "Bearer key%with%percent"}, {"id": "u1"}, 401, MALFORMED),
        ({}, {"id": "u1", "api_key": "k" * 129}, 401, MALFORMED),
    ],
)
def test_missing_and_malformed_keys(http, headers, params, status, body):
    response = http.post("/v1/identify-user", params=params, headers=headers)

    assert (response.status_code, response.json()) == (status, body)
    assert state(http) == {"environments": []}


def test_an_unknown_key_when_keys_are_listed(live_server):
    base_url, mount = live_server
    mount.current = create_app(deterministic_settings(api_keys=frozenset({"known"})))
    with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as http:
        unknown = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
        known = http.post(
            "/v1/identify-user",
            json={"id": "u1"},
            headers={"Authorization": "Bearer known"},
        )

    mount.current = None
    assert (unknown.status_code, unknown.json()) == (404, UNKNOWN)
    assert known.status_code == 200


UTF8 = "is not valid UTF-8 after percent-decoding"


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        (
            {**BEARER, "Content-Type": "application/json"},
            b'{"id": "u2",',
            400,
            "JSON body is malformed: Expecting property name enclosed in double "
            "quotes: line 1 column 13 (char 12).",
        ),
        (
            {**BEARER, "Content-Type": FORM},
            b"id=u2&a=%ff",
            400,
            f"Form body {UTF8}: 'a=%ff'.",
        ),
        (
            {**BEARER, "Content-Type": FORM},
            b"id=u2&name=\xc3\x28",
            400,
            f"Form body {UTF8}: 'name=\\xc3('.",
        ),
        (
            {**BEARER, "Content-Type": "text/plain"},
            b"id=u2",
            415,
            "Unsupported Content-Type 'text/plain'; send application/json "
            "or application/x-www-form-urlencoded.",
        ),
        (
            {"Content-Type": FORM},
            b"id=u2",
            401,
            "No API key found in headers",
        ),
        (
            {**BEARER, "Content-Type": FORM},
            b"name=Nobody&plan=pro",
            400,
            "The id or email parameter is required.",
        ),
        (
            {**BEARER, "Content-Type": FORM},
            b"id=u2&account[name]=Acme",
            400,
            "The account parameter needs an id.",
        ),
    ],
)
def test_bad_input_is_refused_journaled_and_changes_nothing(
    http, headers, body, status, error
):
    http.post("/v1/identify-user", json={"id": "u1", "plan": "free"}, headers=BEARER)
    before = state(http)

    response = http.post("/v1/identify-user", content=body, headers=headers)

    assert (response.status_code, response.json()) == (status, {"error": error})
    assert response.headers["content-type"] == "application/json"
    assert state(http) == before
    assert [(c["status"], c["reply"]) for c in calls(http, status=str(status))] == [
        (status, {"error": error})
    ]

    following = http.post("/v1/identify-user", json={"id": "u3"}, headers=BEARER)
    assert following.json() == {"message": "ok", "contact_uuid": uuid_n(2)}


@pytest.mark.parametrize("path", ["/v1//identify-user", "/v1/contactz", "/v1/track/x"])
def test_every_v1_path_reaches_the_mock(http, path):
    response = http.get(path, headers=BEARER)

    assert (response.status_code, response.json()) == (404, {"error": "Not found"})
    assert [(c["path"], c["status"]) for c in calls(http)] == [(path, 404)]


def test_a_wrong_method_on_a_refiner_path_is_a_405(http):
    response = http.delete("/v1/identify-user", headers=BEARER)

    assert (response.status_code, response.json()) == (
        405,
        {"error": "Method not allowed"},
    )
    assert response.headers["allow"] == "POST"
    assert calls(http)[0]["operation"] == "identify-user"


@pytest.mark.parametrize("path", ["/", "/v1x", "/v2/identify-user", "/__mock/other"])
def test_other_paths_are_a_json_404_outside_the_journal(http, path):
    response = http.get(path)

    assert (response.status_code, response.json()) == (404, {"error": "Not found"})
    assert response.headers["content-type"] == "application/json"
    assert calls(http) == []


def test_a_wrong_method_on_an_admin_path_is_a_json_405(http):
    response = http.delete("/__mock/state")

    assert (response.status_code, response.json()) == (
        405,
        {"error": "Method not allowed"},
    )
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD", "PUT"]


def test_state_of_one_key_and_of_an_unused_key(http):
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    one = http.get("/__mock/state", params={"api_key": KEY}).json()
    unused = http.get("/__mock/state", params={"api_key": "unused-key"}).json()

    assert [contact["remote_id"] for contact in one["contacts"]] == ["u1"]
    assert unused == environment("unused-key")


def test_calls_filters(http):
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    http.post("/v1/track", json={"id": "u1"}, headers=BEARER)
    http.post("/v1/track", json={"id": "u1", "event": "x"}, headers=BEARER)

    assert [c["id"] for c in calls(http, path="/v1/track")] == [2, 3]
    assert [c["id"] for c in calls(http, status="400")] == [2]
    assert [c["id"] for c in calls(http, path="/v1/track", status="200")] == [3]
    assert [c["id"] for c in calls(http, path="", status="")] == [1, 2, 3]


@pytest.mark.parametrize("status", ["abc", "2.0", "-1", "2000"])
def test_a_bad_status_filter_is_a_400(http, status):
    response = http.get("/__mock/calls", params={"status": status})

    assert (response.status_code, response.json()) == (
        400,
        {"error": f"The status filter must be an HTTP status code, not {status!r}."},
    )


@pytest.mark.parametrize(
    ("what", "reset", "contacts_left", "calls_left"),
    [
        (None, ["state", "calls", "faults"], 0, 0),
        ("state", ["state"], 0, 1),
        ("calls", ["calls"], 1, 0),
    ],
)
def test_reset(http, app, what, reset, contacts_left, calls_left):
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    params = {} if what is None else {"what": what}
    response = http.post("/__mock/reset", params=params)

    mock = app.extensions["mock_refiner"]
    environments = mock.store.snapshot()["environments"]
    assert response.json() == {"message": "ok", "reset": reset}
    assert sum(len(env["contacts"]) for env in environments) == contacts_left
    assert len(mock.journal.calls()) == calls_left


def test_a_bad_reset_target_is_a_400(http):
    response = http.post("/__mock/reset", params={"what": "everything"})

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "The what parameter must be 'state', 'calls' or 'faults', "
            "not 'everything'."
        },
    )


def test_replies_keep_unicode_and_key_order(http):
    http.post(
        "/v1/identify-user", json={"id": "u1", "city": "Pune \u20b9"}, headers=BEARER
    )

    response = http.get("/__mock/state", params={"api_key": KEY})

    assert "Pune \u20b9" in response.text
    assert list(response.json()) == list(environment(KEY))


def test_concurrent_calls_over_the_threaded_server(http):
    def identify(number: int) -> int:
        reply = http.post(
            "/v1/identify-user", json={"id": f"u{number}"}, headers=BEARER
        )
        return reply.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(identify, range(40)))

    contacts = state(http)["environments"][0]["contacts"]
    assert statuses == [200] * 40
    assert sorted(c["remote_id"] for c in contacts) == sorted(
        f"u{number}" for number in range(40)
    )
    assert len({c["uuid"] for c in contacts}) == 40


def test_an_error_outside_the_mock_is_a_json_500(http, app, monkeypatch):
    def broken_handle(*args: object) -> None:
        raise RuntimeError("adapter broke")

    monkeypatch.setattr(app.extensions["mock_refiner"], "handle", broken_handle)

    broken = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)
    monkeypatch.undo()
    working = http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    assert (broken.status_code, broken.json()) == (
        500,
        {"error": "Internal error: RuntimeError: adapter broke"},
    )
    assert working.status_code == 200


@pytest.mark.parametrize("size", [4 * 1024 * 1024 + 1, 20 * 1024 * 1024])
def test_a_body_over_the_limit_is_a_413_journaled_without_its_params(http, size):
    body = b"id=u1&pad=" + b"a" * (size - len(b"id=u1&pad="))

    reply = http.post(
        "/v1/identify-user", content=body, headers={**BEARER, "Content-Type": FORM}
    )

    assert (reply.status_code, reply.json()) == (
        413,
        {"error": "The request body is larger than 4194304 bytes."},
    )
    assert state(http) == {"environments": []}
    assert [(c["status"], c["params"]) for c in calls(http)] == [(413, {})]
    assert http.get("/v1", headers=BEARER).status_code == 200


def test_a_body_at_the_limit_is_read(http):
    body = b"id=u1&pad=" + b"a" * (4 * 1024 * 1024 - len(b"id=u1&pad="))

    reply = http.post(
        "/v1/identify-user", content=body, headers={**BEARER, "Content-Type": FORM}
    )

    assert reply.status_code == 200


def test_the_body_limit_is_a_setting(serve):
    settings = deterministic_settings()
    settings.max_body_bytes = 10
    http = serve(create_app(settings))

    reply = http.post("/v1/identify-user", data={"id": "u1"}, headers=BEARER)
    too_large = http.post(
        "/v1/identify-user", data={"id": "u123456789"}, headers=BEARER
    )

    assert reply.status_code == 200
    assert (too_large.status_code, too_large.json()) == (
        413,
        {"error": "The request body is larger than 10 bytes."},
    )


def test_an_admin_body_over_64_mib_is_a_413(http):
    reply = http.put("/__mock/state", content=b" " * (64 * 1024 * 1024 + 1))

    assert (reply.status_code, reply.json()) == (
        413,
        {"error": "Request entity too large"},
    )
    assert state(http) == {"environments": []}


def test_reset_takes_what_at_most_once(http):
    http.post("/v1/identify-user", data={"id": "u1"}, headers=BEARER)

    reply = http.post("/__mock/reset?what=calls&what=state")

    assert (reply.status_code, reply.json()) == (
        400,
        {"error": "Give the what parameter once; without it, everything is reset."},
    )
    assert len(calls(http)) == 1
    assert len(state(http)["environments"]) == 1
