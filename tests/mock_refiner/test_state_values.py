"""State documents hold JSON values only, within bounds of size, depth and time.

A value the loader accepts must never make an endpoint fail or answer anything but
strict JSON later, so anything else is refused whole, with its place, and changes
nothing.
"""

import json
import math
from datetime import UTC, datetime

import pytest

from mock_refiner import MockRefiner, create_app
from mock_refiner.state import (
    MAX_COUNT,
    MAX_DEPTH,
    MAX_TEXT,
    MAX_VALUES,
    StateError,
    json_values,
)
from tests.mock_refiner.conftest import KEY, deterministic_settings

BEARER = {"Authorization": f"Bearer {KEY}"}
SEEDED = {
    "api_key": KEY,
    "contacts": [{"remote_id": "u0", "attributes": {"plan": "pro"}}],
    "forms": [{"uuid": "f1", "name": "NPS"}],
}
READS = [
    "/v1/contact?id=u1",
    "/v1/contacts",
    "/v1/responses?include=all&with_attributes=1",
    "/v1/responses?contact_data[born]=x",
    "/v1/reporting?type=distribution&date_range_start=2000-01-01",
    "/v1/forms?list=all_with_archived&include_info=1&include_config=1",
    "/__mock/state",
    "/__mock/calls",
]


def strict_json(body: bytes) -> object:
    """The JSON of a reply, refusing what `json.loads` alone lets through."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(body.decode("utf-8"), parse_constant=refuse)


@pytest.fixture
def client():
    app = create_app(deterministic_settings())
    client = app.test_client()
    assert client.put("/__mock/state", json=SEEDED).status_code == 200
    client.get("/v1/contact?id=u0", headers=BEARER)
    return client


def put_text(client, text: str):
    return client.put("/__mock/state", data=text.encode("utf-8"))


def assert_refused(client, reply, problem: str) -> None:
    """A 400 naming the problem, and every read still the same strict JSON."""
    assert (reply.status_code, reply.get_json()) == (
        400,
        {"error": f"The state document is not valid: {problem}"},
    )
    state = client.get("/__mock/state")
    assert state.status_code == 200
    [env] = strict_json(state.data)["environments"]
    assert [contact["remote_id"] for contact in env["contacts"]] == ["u0"]
    assert client.get("/__mock/calls").status_code == 200


def assert_every_read_is_json(client) -> None:
    for path in READS:
        reply = client.get(path, headers=BEARER)
        assert reply.status_code in (200, 404), (path, reply.data[:200])
        strict_json(reply.data)


ENV = f"api_key: {KEY}\nforms: [{{uuid: f1, name: NPS}}]\n"


def contact_yaml(attributes: str) -> str:
    return (
        ENV
        + f"contacts: [{{remote_id: u1, attributes: {attributes}}}]\n"
        + "responses: [{form_uuid: f1, contact: u1, completed_at: 2026-01-01}]\n"
    )


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        (
            "{b: !!binary aGVsbG8=}",
            "environments[0].contacts[0].attributes.b: a value of type bytes is "
            "not JSON",
        ),
        (
            "{s: !!set {a, b}}",
            "environments[0].contacts[0].attributes.s: a value of type set is not JSON",
        ),
        (
            "{o: !!omap [a: 1]}",
            "environments[0].contacts[0].attributes.o[0]: a value of type tuple is "
            "not JSON",
        ),
        ("{1: one}", "environments[0].contacts[0].attributes: the key 1 is not text"),
        (
            "{nested: [{true: yes}]}",
            "environments[0].contacts[0].attributes.nested[0]: the key True is not "
            "text",
        ),
        (
            "{n: .nan}",
            "environments[0].contacts[0].attributes.n: nan is not a number JSON can "
            "carry",
        ),
        (
            "{i: [-.inf]}",
            "environments[0].contacts[0].attributes.i[0]: -inf is not a number JSON "
            "can carry",
        ),
        (
            '{"a b": "\\ud800"}',
            "environments[0].contacts[0].attributes['a b']: text holds an unpaired "
            "UTF-16 surrogate \\ud800",
        ),
        (
            '{"\\udfff": 1}',
            "environments[0].contacts[0].attributes: the key '\\udfff' holds an "
            "unpaired UTF-16 surrogate \\udfff",
        ),
    ],
)
def test_values_that_are_not_json_are_refused_with_their_place(
    client, attributes, problem
):
    reply = put_text(client, contact_yaml(attributes))

    assert_refused(client, reply, problem)
    assert_every_read_is_json(client)


def test_a_number_too_long_to_read_is_refused_as_bad_yaml(client):
    reply = put_text(client, contact_yaml("{n: " + "9" * 5000 + "}"))

    assert reply.status_code == 400
    assert reply.get_json()["error"].startswith(
        "The state document is not valid JSON or YAML: "
    )
    error = reply.get_json()["error"]
    assert "a whole number of more than 4300 digits" in error
    assert 'in "<unicode string>", line 3, column 44' in error
    assert_every_read_is_json(client)


def test_yaml_dates_and_times_stay_the_text_they_were_written_as(client):
    reply = put_text(
        client,
        contact_yaml(
            "{born: 2000-01-01, met: 2001-12-14 21:59:43.10 -5, "
            "signup_at: 2025-01-01, at: !!timestamp 2002-02-02}"
        ),
    )

    assert reply.status_code == 200
    contact = client.get("/v1/contact?id=u1", headers=BEARER).get_json()
    assert contact["attributes"] == {
        "born": "2000-01-01",
        "met": "2001-12-14 21:59:43.10 -5",
        "signup_at": "2025-01-01",
        "at": "2002-02-02",
    }
    env = client.get("/__mock/state").get_json()["environments"][0]
    assert env["traits"] == {
        "born": "string",
        "met": "string",
        "signup_at": "date",
        "at": "string",
    }
    matched = client.get(
        "/v1/responses?contact_data[born]=2000-01-01", headers=BEARER
    ).get_json()
    assert len(matched["items"]) == 1
    assert_every_read_is_json(client)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2026-01-02", "2026-01-02T00:00:00.000000Z"),
        ("2026-01-03 10:00:00+02:00", "2026-01-03T08:00:00.000000Z"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-15T02:59:43.100000Z"),
        ("2001-12-14 21:59:43.10 -5", "2001-12-15T02:59:43.100000Z"),
        ("2001-12-14 21:59:43.10 -05:00", "2001-12-15T02:59:43.100000Z"),
        ("2001-12-15 2:59:43.10", "2001-12-15T02:59:43.100000Z"),
        ("2001-12-14 21:59:43.10 Z", "2001-12-14T21:59:43.100000Z"),
        ('"2026-01-01T00:00:00Z"', "2026-01-01T00:00:00.000000Z"),
        ("!!timestamp 2026-01-01", "2026-01-01T00:00:00.000000Z"),
        ("1000-01-01T00:00:00Z", "1000-01-01T00:00:00.000000Z"),
        ("9999-12-31 23:59:59.999999", "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_time_fields_read_the_times_yaml_writes(client, written, stored):
    reply = put_text(
        client,
        f"api_key: {KEY}\ncontacts: [{{remote_id: u1, first_seen_at: {written}}}]\n",
    )

    assert reply.status_code == 200, reply.get_json()
    [contact] = client.get("/__mock/state").get_json()["environments"][0]["contacts"]
    assert contact["first_seen_at"] == stored


@pytest.mark.parametrize(
    "written",
    [
        "0001-01-01 00:00:00 +05:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-05:00",
        "9999-12-31 23:00:00 -5",
        "0999-12-31T23:59:59Z",
        "0001-01-01",
    ],
)
def test_times_out_of_range_are_refused_naming_the_field(client, written):
    reply = put_text(
        client,
        f"api_key: {KEY}\ncontacts: [{{remote_id: u1, first_seen_at: {written}}}]\n",
    )

    assert_refused(
        client,
        reply,
        "environments[0].contacts[0]: first_seen_at must be a time from the year "
        f"1000 to 9999 in UTC, not {written!r}",
    )
    assert_every_read_is_json(client)


def test_response_times_out_of_range_are_refused_too(client):
    reply = put_text(
        client,
        contact_yaml("{}").replace(
            "completed_at: 2026-01-01", "completed_at: 0500-06-01"
        ),
    )

    assert_refused(
        client,
        reply,
        "environments[0].responses[0]: completed_at must be a time from the year "
        "1000 to 9999 in UTC, not '0500-06-01'",
    )


def nested(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = [value]
    return value


# The document, environments, the environment, contacts, a contact and its
# attributes are six levels; the rest is the attribute's own nesting.
ABOVE_ATTRIBUTES = 6


def with_attribute(value: object) -> dict:
    return {
        "environments": [
            {
                "api_key": KEY,
                "contacts": [{"remote_id": "u1", "attributes": {"x": value}}],
            }
        ]
    }


def test_nesting_up_to_the_limit_is_accepted(client):
    document = with_attribute(nested(MAX_DEPTH - ABOVE_ATTRIBUTES))

    reply = client.put("/__mock/state", json=document)

    assert reply.status_code == 200, reply.get_json()
    assert_every_read_is_json(client)


def test_nesting_past_the_limit_is_refused_with_its_path(client):
    document = with_attribute(nested(MAX_DEPTH - ABOVE_ATTRIBUTES + 1))

    reply = client.put("/__mock/state", json=document)

    assert_refused(
        client,
        reply,
        "environments[0].contacts[0].attributes.x[0][0] ... [0][0][0]: nested deeper "
        "than 64 levels",
    )


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "{a: " * 50_000,
        f"api_key: {KEY}\ncontacts: [{{remote_id: u1, attributes: {{x: "
        + "[" * 5000
        + "]" * 5000
        + "}}]\n",
    ],
)
def test_very_deep_text_is_refused_without_a_recursion_error(client, text):
    reply = put_text(client, text)

    assert_refused(client, reply, "state: nested deeper than 64 levels")


def test_very_deep_json_text_is_refused_as_well(client):
    reply = client.put(
        "/__mock/state",
        data=("[" * 100_000 + "]" * 100_000).encode(),
        content_type="application/json",
    )

    assert_refused(client, reply, "state: nested deeper than 64 levels")


def alias_chain(levels: int, width: int = 10) -> str:
    """A short YAML text whose values, aliases expanded, number width ** levels."""
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines)


def test_an_alias_chain_is_refused_before_it_grows(client):
    text = f"api_key: {KEY}\ncontacts:\n  - remote_id: u1\n    attributes:\n" + "".join(
        f"      {line}\n" for line in alias_chain(7).splitlines()
    )
    assert len(text) < 600

    reply = put_text(client, text)

    assert reply.status_code == 400
    error = reply.get_json()["error"]
    assert error.startswith(
        "The state document is not valid: state: more than 1000000 values once "
        "aliases are expanded (at environments[0].contacts[0].attributes.a5["
    )
    assert_every_read_is_json(client)


def test_shared_long_text_is_counted_each_time_it_is_used(client):
    long_text = "x" * 1_000_000
    uses = MAX_TEXT // len(long_text) + 1
    text = (
        f"api_key: {KEY}\ncontacts:\n  - remote_id: u1\n    attributes:\n"
        f"      long: &long {long_text}\n"
        f"      again: [{', '.join(['*long'] * uses)}]\n"
    )

    reply = put_text(client, text)

    assert reply.status_code == 400
    assert reply.get_json()["error"].startswith(
        "The state document is not valid: state: more than 50000000 characters of "
        "text once aliases are expanded (at environments[0].contacts[0].attributes"
        ".again["
    )


def test_shared_long_keys_are_counted_too():
    long_key = "k" * 1_000_000
    shared = {long_key: 1}
    document = with_attribute([shared] * (MAX_TEXT // len(long_key) + 1))

    with pytest.raises(StateError) as refused:
        mock().load(document)

    assert str(refused.value).startswith(
        f"state: more than {MAX_TEXT} characters of text once aliases are expanded "
        "(at environments[0].contacts[0].attributes.x["
    )


def test_shared_values_within_the_bounds_are_loaded_as_separate_copies(client):
    text = (
        f"api_key: {KEY}\ncontacts:\n"
        "  - {remote_id: u1, attributes: &shared {plan: pro, tags: [a, b]}}\n"
        "  - {remote_id: u2, attributes: *shared}\n"
    )

    assert put_text(client, text).status_code == 200
    client.post("/v1/identify-user", json={"id": "u1", "plan": "free"}, headers=BEARER)

    contacts = client.get("/__mock/state").get_json()["environments"][0]["contacts"]
    assert [c["attributes"]["plan"] for c in contacts] == ["free", "pro"]


def many_values(count: int) -> dict:
    """A document of exactly `count` values: seven, and a list of zeros."""
    zeros = [0] * (count - 7)
    return {
        "api_key": KEY,
        "contacts": [{"remote_id": "u1", "attributes": {"many": zeros}}],
    }


def test_the_bound_on_values_is_exact():
    json_values(many_values(MAX_VALUES))

    with pytest.raises(StateError) as refused:
        json_values(many_values(MAX_VALUES + 1), "environments[0]")

    assert str(refused.value) == (
        "state: more than 1000000 values once aliases are expanded (at "
        "environments[0].contacts[0].attributes.many[999993])"
    )


def test_a_large_json_body_is_read_as_json(client):
    """JSON is read as JSON, which is quick, and as JSON means it (`1e5` is a
    number, where YAML 1.1 reads text)."""
    document = many_values(MAX_VALUES // 2)
    document["contacts"][0]["attributes"]["power"] = 1e5

    reply = client.put("/__mock/state", data=json.dumps(document).encode())

    assert reply.status_code == 200
    env = client.get("/__mock/state").get_json()["environments"][0]
    assert env["contacts"][0]["attributes"]["power"] == 100000.0


def mock() -> MockRefiner:
    return MockRefiner(deterministic_settings())


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        (
            {"when": datetime(2026, 1, 1, tzinfo=UTC)},
            "environments[0].contacts[0].attributes.when: a value of type datetime "
            "is not JSON",
        ),
        (
            {"pair": (1, 2)},
            "environments[0].contacts[0].attributes.pair: a value of type tuple is "
            "not JSON",
        ),
        (
            {"n": math.inf},
            "environments[0].contacts[0].attributes.n: inf is not a number JSON can "
            "carry",
        ),
        (
            {"big": 10**5000},
            "environments[0].contacts[0].attributes.big: a number too long to write "
            "as JSON",
        ),
        (
            {("a",): 1},
            "environments[0].contacts[0].attributes: the key ('a',) is not text",
        ),
    ],
)
def test_python_values_that_are_not_json_are_refused(attributes, problem):
    document = {
        "api_key": KEY,
        "contacts": [{"remote_id": "u1", "attributes": attributes}],
    }

    with pytest.raises(StateError) as refused:
        create_app(deterministic_settings(), seed=document)

    assert str(refused.value) == problem


def test_a_cycle_is_refused():
    attributes: dict = {}
    attributes["self"] = attributes
    document = {
        "api_key": KEY,
        "contacts": [{"remote_id": "u1", "attributes": attributes}],
    }

    with pytest.raises(StateError) as refused:
        mock().load(document)

    assert str(refused.value) == (
        "environments[0].contacts[0].attributes.self: an alias of a value that "
        "contains it (a cycle)"
    )


def test_a_yaml_cycle_is_refused(client):
    text = f"api_key: {KEY}\ncontacts: [{{remote_id: u1, attributes: &a {{x: *a}}}}]\n"

    assert_refused(
        client,
        put_text(client, text),
        "environments[0].contacts[0].attributes.x: an alias of a value that "
        "contains it (a cycle)",
    )


def test_the_document_is_not_changed_by_loading(client):
    document = {
        "api_key": KEY,
        "contacts": [{"remote_id": "u1", "attributes": {"plan": "pro"}}],
    }
    before = json.dumps(document)

    MockRefiner(deterministic_settings()).load(document)

    assert json.dumps(document) == before


def test_a_recursion_error_anywhere_in_loading_is_a_state_error(monkeypatch):
    def too_deep(*arguments: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("mock_refiner.state._Loader.contact", too_deep)

    with pytest.raises(StateError) as refused:
        mock().load({"api_key": KEY, "contacts": [{"remote_id": "u1"}]})

    assert str(refused.value) == "state: nested too deeply to load"


def test_deep_files_are_refused_by_create_app(tmp_path):
    as_json = tmp_path / "deep.json"
    as_json.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    as_yaml = tmp_path / "deep.yaml"
    as_yaml.write_text("[" * 100_000, encoding="utf-8")
    dates = tmp_path / "dates.yaml"
    dates.write_text(
        f"api_key: {KEY}\ncontacts:\n"
        "  - {remote_id: u1, attributes: {born: 2000-01-01}}\n",
        encoding="utf-8",
    )

    for path in (as_json, as_yaml):
        with pytest.raises(StateError) as refused:
            create_app(deterministic_settings(), seed=path)
        assert str(refused.value) == f"{path}: nested deeper than 64 levels"

    app = create_app(deterministic_settings(), seed=dates)
    [contact] = app.extensions["mock_refiner"].store.snapshot(KEY)["contacts"]
    assert contact["attributes"] == {"born": "2000-01-01"}


EDGES = {
    "api_key": KEY,
    "name": "Edges",
    "accounts": [
        {
            "remote_id": "acme",
            "first_seen_at": "1000-01-01T00:00:00Z",
            "attributes": {"size": 10**300, "deep": nested(40), "when_at": "x"},
        }
    ],
    "contacts": [
        {
            "remote_id": "u1",
            "email": "ada@example.test",
            "first_seen_at": "9999-12-31T23:59:59.999999Z",
            "last_tracking_event_at": "1000-01-01 00:00:00",
            "account": "acme",
            "attributes": {
                "born": "2000-01-01",
                "signup_at": "0001-01-01T00:00:00+05:00",
                "ratio": 1e308,
                "tiny": -5e-324,
                "nested": {"list": [None, True, 1.5, "é", "😀"]},
                "": "empty name",
                "a.b c": "odd name",
            },
        },
        {"email": "b@example.test", "last_seen_at": "1000-01-01"},
        {"remote_id": "12345"},
    ],
    "forms": [
        {
            "uuid": "f1",
            "name": "Survey",
            "published_at": "9999-12-31T23:59:59Z",
            "config": {
                "form_elements": [
                    {"identifier": "score", "type": "nps"},
                    {"identifier": "stars", "type": "rating", "scale": 100},
                    {"identifier": "pick", "type": "multiple_choice"},
                    {"type": "rating", "scale": 1},
                    "not an element",
                ]
            },
        },
        {"uuid": "f2", "name": "Odd config", "config": {"form_elements": "none"}},
    ],
    "segments": [
        {"uuid": "s1", "name": "All", "contacts": ["u1", "b@example.test", "12345"]},
        {"uuid": "s2", "name": "Auto", "is_manual": False},
    ],
    "responses": [
        {
            "form_uuid": "f1",
            "contact": "u1",
            "completed_at": "9999-12-31 23:59:59",
            "show_counter": MAX_COUNT,
            "data": {"score": 10, "stars": 100, "pick": ["a", "b", 3]},
            "tags": ["vip", {"name": "😀"}],
        },
        {
            "form_uuid": "f1",
            "contact": "b@example.test",
            "completed_at": "1000-01-01",
            "show_counter": MAX_COUNT,
            "data": {"score": "10", "stars": 1e300},
        },
        {"form_uuid": "f2", "contact": "12345", "first_shown_at": "2026-01-01"},
    ],
    "events": [{"name": "E", "contact": "u1", "received_at": "9999-12-31"}],
    "traits": {"born": "string", "odd": "kind"},
    "usage": {"month": "2026-01", "tracked_users": ["x"], "mte": MAX_COUNT - 1000},
}
CALLS = [
    *(("GET", path, None) for path in READS),
    *(
        ("GET", f"/v1/contacts?order_by={order}", None)
        for order in (
            "first_seen_at",
            "last_seen_at",
            "last_form_submission_at",
            "display_name",
            "email",
        )
    ),
    ("GET", "/v1/contact?email=b@example.test", None),
    ("GET", "/v1/contacts?search=ada&segment_uuid=s1&form_uuid=f1", None),
    ("GET", "/v1/responses?include=partials&search=1", None),
    ("GET", "/v1/responses?contact_data[born]=2000-01-01", None),
    ("GET", "/v1/responses?account_data[size]=1", None),
    ("GET", "/v1/responses?response_data[pick]=a", None),
    *(
        ("GET", f"/v1/reporting?type={kind}&date_range_start=1000-01-01", None)
        for kind in ("nps", "csat", "ratings", "distribution", "count")
    ),
    ("GET", "/v1/segments", None),
    ("GET", "/v1/account", None),
    ("GET", "/v1", None),
    ("POST", "/v1/identify-user", {"id": "u1", "signup_at": "2026", "ratio": 2}),
    ("POST", "/v1/identify-user", {"id": "12345", "account": {"id": "acme"}}),
    ("POST", "/v1/track-event", {"id": "u1", "event": "E"}),
    ("POST", "/v1/sync-segment", {"segment_uuid": "s1", "id": "u9"}),
    ("POST", "/v1/responses", {"form_uuid": "f1", "id": "u1", "score": 3}),
    ("POST", "/v1/forms/publish", {"form_uuid": "f2"}),
    ("POST", "/v1/forms/duplicate", {"form_uuid": "f1", "name": "Copy"}),
    ("DELETE", "/v1/forms", {"form_uuid": "f1"}),
    ("DELETE", "/v1/contact", {"email": "b@example.test"}),
    *(("GET", path, None) for path in READS),
]


def test_what_the_loader_accepts_never_breaks_a_reply():
    """Edge values the loader accepts: every call answers strict JSON, not 500,
    and the state saved afterwards loads back unchanged."""
    app = create_app(deterministic_settings(), seed=EDGES)
    client = app.test_client()

    for method, path, body in CALLS:
        reply = client.open(path, method=method, json=body, headers=BEARER)
        assert reply.status_code < 500, (method, path, reply.data[:300])
        strict_json(reply.data)

    saved = client.get("/__mock/state").get_json()
    assert client.put("/__mock/state", json=saved).status_code == 200
    assert client.get("/__mock/state").get_json() == saved
