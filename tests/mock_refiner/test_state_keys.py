"""State documents name only the keys the loader reads (or `GET /__mock/state`
writes), an API key the API can accept, and survey scales of a sane size."""

import pytest

from mock_refiner import create_app
from mock_refiner.auth import MAX_KEY_LENGTH, MIN_KEY_LENGTH
from mock_refiner.state import StateError
from tests.mock_refiner.conftest import KEY, deterministic_settings

BASE = {
    "api_key": KEY,
    "accounts": [{"uuid": "a1", "remote_id": "acme"}],
    "contacts": [{"uuid": "c1", "remote_id": "u1", "email": "u1@example.test"}],
    "forms": [{"uuid": "f1", "name": "NPS"}],
    "segments": [{"uuid": "s1", "name": "Beta"}],
}


def varied(**sections: object) -> dict:
    return {**BASE, **sections}


def refusal(document: object) -> str:
    with pytest.raises(StateError) as refused:
        create_app(deterministic_settings(), seed=document)
    return str(refused.value)


KEY_RULE = "api_key must be 4 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-', not "


@pytest.mark.parametrize(
    ("api_key", "shown"),
    [
        ("k1", "'k1'"),
        ("abc", "'abc'"),
        ("bad key!", "'bad key!'"),
        ("key/with/slashes", "'key/with/slashes'"),
        ("ключ-0001", "'ключ-0001'"),
        ("k" * 129, "'" + "k" * 40 + "...' (129 characters)"),
        ("k" * 200, "'" + "k" * 40 + "...' (200 characters)"),
        (12, "'12'"),
    ],
)
def test_an_api_key_the_api_never_accepts_is_refused(api_key, shown):
    assert refusal({"api_key": api_key}) == (
        f"environments[0].api_key: {KEY_RULE}{shown}"
    )


@pytest.mark.parametrize(
    "api_key",
    ["k-01", "a" * MIN_KEY_LENGTH, "A" * MAX_KEY_LENGTH, "rf.demo_key-9", 1234],
)
def test_every_key_the_api_accepts_loads(api_key):
    app = create_app(deterministic_settings(), seed={"api_key": api_key})
    client = app.test_client()

    reply = client.get("/v1", headers={"Authorization": f"Bearer {api_key}"})

    assert reply.status_code == 200


def test_a_bad_key_in_a_later_environment_is_named():
    document = {"environments": [BASE, {"api_key": "no way"}]}

    assert refusal(document) == f"environments[1].api_key: {KEY_RULE}'no way'"


UNKNOWN_KEYS = [
    ({"environments": [BASE], "api_key": KEY}, "state: unknown key 'api_key'"),
    (
        {"environments": [BASE], "enviroments": []},
        "state: unknown key 'enviroments'; did you mean 'environments'?",
    ),
    (
        varied(contact=[{"remote_id": "u2"}]),
        "environments[0]: unknown key 'contact'; did you mean 'contacts'?",
    ),
    (
        varied(segmnets=[{"name": "S"}]),
        "environments[0]: unknown key 'segmnets'; did you mean 'segments'?",
    ),
    (varied(colour="red"), "environments[0]: unknown key 'colour'"),
    (
        varied(contacts=[{"remote_id": "u1", "atributes": {"plan": "pro"}}]),
        "environments[0].contacts[0]: unknown key 'atributes'; did you mean "
        "'attributes'?",
    ),
    (
        varied(contacts=[{"remote_id": "u1", "acount": "acme"}]),
        "environments[0].contacts[0]: unknown key 'acount'; did you mean 'account'?",
    ),
    (
        varied(
            contacts=[{"remote_id": "u1", "account": {"remote_id": "acme", "x": 1}}]
        ),
        "environments[0].contacts[0].account: unknown key 'x'",
    ),
    (
        varied(accounts=[{"remote_id": "acme", "name": "Acme"}]),
        "environments[0].accounts[0]: unknown key 'name'",
    ),
    (
        varied(accounts=[{"remote_id": "acme", "contacts": [{"id": "u1"}]}]),
        "environments[0].accounts[0].contacts[0]: unknown key 'id'; did you mean "
        "'uuid'?",
    ),
    (
        varied(events=[{"name": "E", "contact": "u1", "properties": {}}]),
        "environments[0].events[0]: unknown key 'properties'",
    ),
    (
        varied(events=[{"name": "E", "contact": {"remote_id": "u1", "ip": "x"}}]),
        "environments[0].events[0].contact: unknown key 'ip'",
    ),
    (
        varied(segments=[{"name": "S", "manual": True}]),
        "environments[0].segments[0]: unknown key 'manual'; did you mean 'is_manual'?",
    ),
    (
        varied(segments=[{"name": "S", "contacts": [{"uuid": "c1", "joined": "x"}]}]),
        "environments[0].segments[0].contacts[0]: unknown key 'joined'",
    ),
    (
        varied(forms=[{"name": "F", "conifg": {}}]),
        "environments[0].forms[0]: unknown key 'conifg'; did you mean 'config'?",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": "u1", "answers": {}}]),
        "environments[0].responses[0]: unknown key 'answers'",
    ),
    (
        varied(responses=[{"form": {"uuid": "f1", "title": "x"}, "contact": "u1"}]),
        "environments[0].responses[0].form: unknown key 'title'",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": {"remote_id": "u1", "y": 1}}]),
        "environments[0].responses[0].contact: unknown key 'y'",
    ),
    (
        varied(
            responses=[
                {"form_uuid": "f1", "contact": "u1", "tags": [{"name": "a", "c": 1}]}
            ]
        ),
        "environments[0].responses[0].tags[0]: unknown key 'c'",
    ),
    (
        varied(usage={"month": "2026-01", "events": 3}),
        "environments[0].usage: unknown key 'events'",
    ),
]


@pytest.mark.parametrize(("document", "problem"), UNKNOWN_KEYS)
def test_unknown_keys_are_refused_for_every_kind_of_item(document, problem):
    assert refusal(document) == problem


def test_unknown_keys_are_refused_over_the_admin_api_and_change_nothing():
    app = create_app(deterministic_settings(), seed=BASE)
    client = app.test_client()
    before = client.get("/__mock/state").get_json()

    reply = client.put(
        "/__mock/state",
        data=f"api_key: {KEY}\ncontact:\n  - {{remote_id: u9}}\n".encode(),
    )

    assert (reply.status_code, reply.get_json()) == (
        400,
        {
            "error": "The state document is not valid: environments[0]: unknown key "
            "'contact'; did you mean 'contacts'?"
        },
    )
    assert client.get("/__mock/state").get_json() == before


def test_the_computed_keys_of_every_item_are_accepted():
    """Every key `GET /__mock/state` writes, on every kind of item."""
    app = create_app(deterministic_settings())
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {KEY}"}
    seed = {
        "api_key": KEY,
        "forms": [{"uuid": "f1", "name": "NPS"}],
        "segments": [{"uuid": "s1", "name": "Beta"}],
    }
    assert client.put("/__mock/state", json=seed).status_code == 200
    for path, body in (
        ("/v1/identify-user", {"id": "u1", "plan": "pro", "account": {"id": "acme"}}),
        ("/v1/track-event", {"id": "u1", "event": "Signed Up"}),
        ("/v1/sync-segment", {"segment_uuid": "s1", "id": "u1"}),
        ("/v1/responses", {"form_uuid": "f1", "id": "u1", "score": 9}),
    ):
        assert client.post(path, json=body, headers=bearer).status_code == 200
    saved = client.get("/__mock/state").get_json()
    [response] = saved["environments"][0]["responses"]
    client.post(
        "/v1/responses/tags",
        json={"uuid": response["uuid"], "tags": ["vip"]},
        headers=bearer,
    )
    saved = client.get("/__mock/state").get_json()

    reply = client.put("/__mock/state", json=saved)

    assert reply.status_code == 200, reply.get_json()
    assert client.get("/__mock/state").get_json() == saved
    [env] = saved["environments"]
    assert env["contacts"][0]["segments"] and env["contacts"][0]["account"]
    assert env["accounts"][0]["contacts"] == ["u1"]
    assert env["responses"][0]["tags"][0]["name"] == "vip"
    assert set(env["forms"][0]) >= {
        "responses_count",
        "views_count",
        "first_form_view_at",
        "last_form_view_at",
    }
    assert env["usage"]["mtu"] == 1


def form_with(*elements: object) -> dict:
    return varied(
        forms=[
            {"uuid": "f1", "name": "NPS", "config": {"form_elements": list(elements)}}
        ]
    )


@pytest.mark.parametrize(
    ("scale", "shown"),
    [
        (3_000_000, "3000000"),
        (0, "0"),
        (101, "101"),
        (-5, "-5"),
        (2.5, "2.5"),
        ("5", "'5'"),
        (True, "True"),
        ([5], "[5]"),
    ],
)
def test_a_scale_that_is_not_a_whole_number_from_1_to_100_is_refused(scale, shown):
    document = form_with(
        {"identifier": "score", "type": "nps"},
        {"identifier": "stars", "type": "rating", "scale": scale},
    )

    assert refusal(document) == (
        "environments[0].forms[0].config.form_elements[1]: scale must be a whole "
        f"number from 1 to 100, not {shown}"
    )


@pytest.mark.parametrize("scale", [1, 7, 100, 10.0, None])
def test_a_scale_from_1_to_100_is_kept(scale):
    element = {"identifier": "stars", "type": "rating", "scale": scale}
    app = create_app(deterministic_settings(), seed=form_with(element))

    [form] = app.extensions["mock_refiner"].store.snapshot(KEY)["forms"]
    assert form["config"] == {"form_elements": [element]}


def test_a_large_scale_cannot_slow_the_ratings_report():
    app = create_app(deterministic_settings(), seed=BASE)
    client = app.test_client()
    document = form_with({"identifier": "stars", "type": "rating", "scale": 3_000_000})

    reply = client.put("/__mock/state", json=document)

    assert reply.status_code == 400
    ratings = client.get(
        "/v1/reporting?type=ratings", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert ratings.status_code == 200


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (
            {"show_counter": 2**53},
            "show_counter must be a whole number from 0 to 9007199254740991",
        ),
        (
            {"show_counter": -1},
            "show_counter must be a whole number from 0 to 9007199254740991",
        ),
        (
            {"show_counter": 1.5},
            "show_counter must be a whole number from 0 to 9007199254740991",
        ),
    ],
)
def test_counters_stay_within_what_sums_can_carry(response, problem):
    document = varied(responses=[{"form_uuid": "f1", "contact": "u1", **response}])

    assert refusal(document) == f"environments[0].responses[0]: {problem}"


def test_usage_counters_stay_within_bounds():
    document = varied(usage={"mte": 10**4000})

    assert refusal(document) == (
        "environments[0].usage: mte must be a whole number from 0 to 9007199254740991"
    )
