"""State documents: seeding `create_app`, `PUT /__mock/state`, and save-load round
trips that give back the same state."""

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from mock_refiner import MockRefiner, StepClock, create_app
from mock_refiner.state import StateError
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    START,
    deterministic_settings,
    environment,
    state,
    time_n,
    uuid_n,
)

BEARER = {"Authorization": f"Bearer {KEY}"}
OTHER = {"Authorization": "Bearer other-key-0002"}

DOCUMENT = {
    "api_key": KEY,
    "accounts": [
        {"remote_id": "acme", "display_name": "Acme", "attributes": {"tier": "gold"}}
    ],
    "contacts": [
        {
            "remote_id": "u1",
            "attributes": {
                "plan": "pro",
                "seats": 3,
                "signup_at": "2025-01-01T00:00:00.000000Z",
            },
        },
        {"email": "b@example.test", "account": "acme"},
    ],
    "forms": [{"uuid": "f1", "name": "NPS"}],
    "segments": [{"name": "Beta", "contacts": ["u1"]}],
    "responses": [
        {
            "form_uuid": "f1",
            "contact": "u1",
            "completed_at": "2025-12-30T10:00:00Z",
            "data": {"score": 9},
            "tags": ["vip"],
        }
    ],
    "events": [{"name": "Signed Up", "contact": "u1"}],
}
U1_REFERENCE = {"uuid": uuid_n(2), "remote_id": "u1", "email": None}
ACME = {
    "uuid": uuid_n(1),
    "remote_id": "acme",
    "display_name": "Acme",
    "domain": None,
    "first_seen_at": time_n(0),
    "last_seen_at": time_n(0),
    "attributes": {"tier": "gold"},
}
AT_1000 = "2025-12-30 10:00:00"
LOADED = environment(
    KEY,
    contacts=[
        {
            **U1_REFERENCE,
            "display_name": None,
            "first_seen_at": time_n(0),
            "last_seen_at": time_n(0),
            "last_tracking_event_at": None,
            "attributes": {
                "plan": "pro",
                "seats": 3,
                "signup_at": "2025-01-01T00:00:00.000000Z",
            },
            "segments": [{"uuid": uuid_n(4), "name": "Beta", "created_at": time_n(0)}],
            "account": None,
        },
        {
            "uuid": uuid_n(3),
            "remote_id": None,
            "email": "b@example.test",
            "display_name": None,
            "first_seen_at": time_n(0),
            "last_seen_at": time_n(0),
            "last_tracking_event_at": None,
            "attributes": {},
            "segments": [],
            "account": ACME,
        },
    ],
    accounts=[{**ACME, "contacts": ["b@example.test"]}],
    events=[
        {
            "uuid": uuid_n(7),
            "name": "Signed Up",
            "received_at": time_n(0),
            "path": "/v1/track-event",
            "contact": U1_REFERENCE,
        }
    ],
    segments=[
        {
            "uuid": uuid_n(4),
            "name": "Beta",
            "is_manual": True,
            "contacts": [{"uuid": uuid_n(2), "created_at": time_n(0)}],
        }
    ],
    forms=[
        {
            "uuid": "f1",
            "name": "NPS",
            "channels": ["web"],
            "published_at": None,
            "archived_at": None,
            "created_at": time_n(0),
            "updated_at": time_n(0),
            "responses_count": 1,
            "views_count": 1,
            "page_url": None,
            "folder": None,
            "first_form_view_at": "2025-12-30T10:00:00.000000Z",
            "last_form_view_at": "2025-12-30T10:00:00.000000Z",
            "config": {"form_elements": []},
        }
    ],
    responses=[
        {
            "uuid": uuid_n(5),
            "first_shown_at": AT_1000,
            "last_shown_at": AT_1000,
            "show_counter": 1,
            "first_data_reception_at": AT_1000,
            "last_data_reception_at": AT_1000,
            "completed_at": AT_1000,
            "received_at": AT_1000,
            "dismissed_at": None,
            "form": {"uuid": "f1", "name": "NPS"},
            "data": {"score": 9},
            "tags": [{"uuid": uuid_n(6), "name": "vip"}],
            "contact": {**U1_REFERENCE, "display_name": None, "account": None},
            "form_uuid": "f1",
            "contact_uuid": uuid_n(2),
        }
    ],
    traits={
        "plan": "string",
        "seats": "integer",
        "signup_at": "date",
        "account.tier": "string",
    },
)


def seeded_state(seed: object) -> dict:
    app = create_app(deterministic_settings(), seed=seed)
    return app.extensions["mock_refiner"].store.snapshot()


def test_seed_from_a_dict():
    assert seeded_state(DOCUMENT) == {"environments": [LOADED]}


def test_seed_from_a_document_with_environments():
    second = {"api_key": "other-key-0002", "name": "Testing"}

    loaded = seeded_state({"environments": [DOCUMENT, second]})

    assert loaded == {
        "environments": [LOADED, environment("other-key-0002", name="Testing")]
    }


@pytest.mark.parametrize("as_path", [str, Path])
def test_seed_from_a_yaml_file(tmp_path, as_path):
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(DOCUMENT), encoding="utf-8")

    assert seeded_state(as_path(path)) == {"environments": [LOADED]}


def test_seed_from_a_json_file(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"environments": [DOCUMENT]}), encoding="utf-8")

    assert seeded_state(str(path)) == {"environments": [LOADED]}


def test_seed_from_hand_written_yaml_with_bare_dates(tmp_path):
    path = tmp_path / "seed.yml"
    path.write_text(
        f"api_key: {KEY}\n"
        "contacts:\n"
        "  - {remote_id: u1, email: ada@example.test, attributes: {plan: pro}}\n"
        "forms:\n"
        "  - {uuid: f-nps, name: NPS survey, published_at: 2026-01-01T00:00:00Z,\n"
        "     config: {form_elements: [{identifier: score, type: nps}]}}\n"
        "segments:\n"
        "  - {uuid: s-beta, name: Beta testers, is_manual: true, contacts: [u1]}\n"
        "responses:\n"
        "  - {form_uuid: f-nps, contact: u1, data: {score: 9},\n"
        "     completed_at: 2026-01-02}\n"
        "  - {form_uuid: f-nps, contact: u1, data: {score: 7},\n"
        "     completed_at: 2026-01-03 10:00:00+02:00}\n",
        encoding="utf-8",
    )

    env = seeded_state(path)["environments"][0]

    assert env["forms"][0]["published_at"] == "2026-01-01T00:00:00.000000Z"
    assert [r["completed_at"] for r in env["responses"]] == [
        "2026-01-02 00:00:00",
        "2026-01-03 08:00:00",
    ]


def test_a_bad_seed_is_refused_by_create_app(tmp_path):
    missing = tmp_path / "missing.yaml"
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")

    with pytest.raises(StateError) as bad_document:
        create_app(deterministic_settings(), seed={"contacts": []})
    with pytest.raises(StateError) as unreadable:
        create_app(deterministic_settings(), seed=missing)
    with pytest.raises(StateError) as malformed:
        create_app(deterministic_settings(), seed=str(broken))

    assert str(bad_document.value) == "environments[0].api_key: api_key is required"
    assert str(unreadable.value).startswith(f"{missing}: cannot be read: ")
    assert str(malformed.value) == (
        f"{broken}: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )


def test_put_a_json_document(http):
    reply = http.put("/__mock/state", json={"environments": [DOCUMENT]})

    assert (reply.status_code, reply.json()) == (
        200,
        {"message": "ok", "environments": 1},
    )
    assert state(http) == {"environments": [LOADED]}


def test_put_yaml_text(http):
    reply = http.put(
        "/__mock/state",
        content=yaml.safe_dump(DOCUMENT).encode(),
        headers={"Content-Type": "application/yaml"},
    )

    assert reply.json() == {"message": "ok", "environments": 1}
    assert state(http) == {"environments": [LOADED]}


def test_put_replaces_the_whole_state_and_forgets_rate_limits(serve):
    settings = deterministic_settings(rate_limits=True, rate_limit_per_user=1)
    http = serve(create_app(settings))
    http.post("/v1/identify-user", json={"id": "u1"}, headers=OTHER)
    limited = http.post("/v1/identify-user", json={"id": "u1"}, headers=OTHER)

    http.put("/__mock/state", json=DOCUMENT)
    after = http.post("/v1/identify-user", json={"id": "u1"}, headers=OTHER)

    assert (limited.status_code, after.status_code) == (429, 200)
    assert [env["api_key"] for env in state(http)["environments"]] == [
        KEY,
        "other-key-0002",
    ]


def test_an_empty_document_empties_the_state(http):
    http.post("/v1/identify-user", json={"id": "u1"}, headers=BEARER)

    reply = http.put("/__mock/state", json={"environments": []})

    assert reply.json() == {"message": "ok", "environments": 0}
    assert state(http) == {"environments": []}


def mixed_workload(http: httpx.Client) -> None:
    """Identify with accounts, track, sync segments, store and tag responses,
    and change forms: every part of the state moves."""
    seed = {
        "environments": [
            {
                "api_key": KEY,
                "name": "Testing",
                "forms": [
                    {
                        "uuid": "f-nps",
                        "name": "NPS",
                        "published_at": "2025-12-01T00:00:00Z",
                        "channels": ["web", "link"],
                        "config": {
                            "form_elements": [{"identifier": "score", "type": "nps"}]
                        },
                    },
                    {"uuid": "f-draft", "name": "Draft"},
                ],
                "segments": [
                    {"uuid": "s-manual", "name": "Manual"},
                    {"uuid": "s-auto", "name": "Auto", "is_manual": False},
                ],
            }
        ]
    }
    assert http.put("/__mock/state", json=seed).status_code == 200

    sent = [
        (
            "POST",
            "/v1/identify-user",
            BEARER,
            {
                "id": "u1",
                "email": "ada@example.test",
                "name": "Ada",
                "plan": "pro",
                "seats": "3",
                "signup_at": "2025-06-01T12:00:00Z",
                "account": {"id": "acme", "name": "Acme", "domain": "acme.test"},
            },
        ),
        ("POST", "/v1/identify-user", BEARER, {"id": "u2", "account": {"id": "acme"}}),
        (
            "POST",
            "/v1/identify-user",
            BEARER,
            {"email": "cy@example.test", "account": {"id": "globex", "size": 40}},
        ),
        ("POST", "/v1/track-event", BEARER, {"id": "u1", "event": "Signed Up"}),
        ("POST", "/v1/track", BEARER, {"id": "u3", "event": "pageView"}),
        ("POST", "/v1/sync-segment", BEARER, {"segment_uuid": "s-manual", "id": "u1"}),
        ("POST", "/v1/sync-segment", BEARER, {"segment_uuid": "s-manual", "id": "u4"}),
        (
            "DELETE",
            "/v1/sync-segment",
            BEARER,
            {"segment_uuid": "s-manual", "id": "u4"},
        ),
        (
            "POST",
            "/v1/responses",
            BEARER,
            {"form_uuid": "f-nps", "id": "u1", "score": 9},
        ),
        (
            "POST",
            "/v1/responses",
            BEARER,
            {
                "form_uuid": "f-nps",
                "email": "new@example.test",
                "score": 4,
                "date": "2025-12-30T08:15:30.123456Z",
            },
        ),
        ("POST", "/v1/forms/publish", BEARER, {"form_uuid": "f-draft"}),
        ("POST", "/v1/forms/duplicate", BEARER, {"form_uuid": "f-nps", "name": "Copy"}),
        ("DELETE", "/v1/forms", BEARER, {"form_uuid": "f-nps"}),
        ("POST", "/v1/identify-user", OTHER, {"id": "x", "plan": "free"}),
        ("DELETE", "/v1/contact", BEARER, {"id": "u2"}),
    ]
    for method, path, headers, body in sent:
        reply = http.request(method, path, json=body, headers=headers)
        assert reply.status_code == 200, (path, reply.json())

    responses = [r["uuid"] for r in state(http)["environments"][0]["responses"]]
    for response_uuid, tags in zip(responses, (["vip", "nps"], ["nps"]), strict=True):
        reply = http.post(
            "/v1/responses/tags",
            content="&".join(f"tags[]={tag}" for tag in tags).encode()
            + f"&uuid={response_uuid}".encode(),
            headers={**BEARER, "Content-Type": FORM},
        )
        assert reply.status_code == 200


READS = [
    ("/v1/contacts", {"order_by": "last_seen_at"}),
    ("/v1/responses", {"include": "all", "with_attributes": 1}),
    (
        "/v1/forms",
        {"list": "all_with_archived", "include_info": 1, "include_config": 1},
    ),
    ("/v1/segments", {}),
    ("/v1/account", {}),
    ("/v1/reporting", {"type": "distribution", "date_range_start": "2025-12-01"}),
]


@pytest.mark.parametrize(
    "step", [timedelta(seconds=1), timedelta(seconds=1, microseconds=250_000)]
)
def test_get_put_get_gives_the_same_state_and_the_same_reads(serve, step):
    clock = StepClock(START, step)
    http = serve(create_app(deterministic_settings(clock=clock)))
    mixed_workload(http)
    saved = state(http)
    reads = [
        http.get(path, params=params, headers=BEARER).json() for path, params in READS
    ]

    reply = http.put("/__mock/state", json=saved)

    assert reply.json() == {"message": "ok", "environments": 2}
    assert state(http) == saved
    assert [
        http.get(path, params=params, headers=BEARER).json() for path, params in READS
    ] == reads


def test_the_saved_state_loads_as_yaml_too(serve):
    http = serve(create_app(deterministic_settings()))
    mixed_workload(http)
    saved = state(http)

    reply = http.put("/__mock/state", content=yaml.safe_dump(saved).encode())

    assert reply.status_code == 200
    assert state(http) == saved


def test_one_saved_environment_loads_on_its_own(serve):
    http = serve(create_app(deterministic_settings()))
    mixed_workload(http)
    saved = http.get("/__mock/state", params={"api_key": KEY}).json()

    http.put("/__mock/state", json=saved)

    assert state(http) == {"environments": [saved]}


def test_an_account_member_known_by_an_email_another_contact_shares(serve):
    """The account lists a contact without remote id by its email; a contact
    made earlier took the same email later."""
    http = serve(create_app(deterministic_settings()))
    for body in (
        {"id": "u1", "email": "first@example.test"},
        {"email": "shared@example.test", "account": {"id": "acme"}},
        {"id": "u1", "email": "shared@example.test"},
    ):
        http.post("/v1/identify-user", json=body, headers=BEARER)
    saved = state(http)

    http.put("/__mock/state", json=saved)

    assert saved["environments"][0]["accounts"][0]["contacts"] == [
        "shared@example.test"
    ]
    assert state(http) == saved


BASE = {
    "api_key": KEY,
    "accounts": [{"uuid": "a1", "remote_id": "acme"}],
    "contacts": [{"uuid": "c1", "remote_id": "u1", "email": "u1@example.test"}],
    "forms": [{"uuid": "f1", "name": "NPS"}],
    "segments": [{"uuid": "s1", "name": "Beta"}],
}


def varied(**sections: object) -> dict:
    return {**BASE, **sections}


BAD_DOCUMENTS = [
    ([BASE], "state: must be a mapping with 'environments', or one environment"),
    ("just text", "state: must be a mapping with 'environments', or one environment"),
    ({"environments": {"api_key": KEY}}, "state.environments: must be a list"),
    ({"environments": [BASE, "x"]}, "environments[1]: must be a mapping"),
    ({"environments": [BASE, BASE]}, f"environments[1]: api_key {KEY!r} twice"),
    ({"name": "Testing"}, "environments[0].api_key: api_key is required"),
    (varied(api_key=["k"]), "environments[0].api_key: api_key must be text"),
    (varied(name={"x": 1}), "environments[0].name: name must be text"),
    (varied(contacts={"remote_id": "u1"}), "environments[0].contacts: must be a list"),
    (varied(contacts=["u1"]), "environments[0].contacts[0]: must be a mapping"),
    (
        varied(contacts=[{"remote_id": "u1"}, {"display_name": "Nobody"}]),
        "environments[0].contacts[1]: needs a remote_id or an email",
    ),
    (
        varied(contacts=[{"remote_id": "u1"}, {"remote_id": "u1"}]),
        "environments[0].contacts[1]: remote_id 'u1' twice",
    ),
    (
        varied(
            contacts=[{"uuid": "c1", "remote_id": "u1"}, {"uuid": "c1", "email": "b@x"}]
        ),
        "environments[0].contacts[1]: uuid 'c1' twice",
    ),
    (
        varied(contacts=[{"remote_id": "u1", "first_seen_at": "yesterday"}]),
        "environments[0].contacts[0]: first_seen_at must be an ISO 8601 time, "
        "not 'yesterday'",
    ),
    (
        varied(contacts=[{"remote_id": "u1", "last_seen_at": 1767225600}]),
        "environments[0].contacts[0]: last_seen_at must be an ISO 8601 time, "
        "not 1767225600",
    ),
    (
        varied(contacts=[{"remote_id": "u1", "attributes": ["plan"]}]),
        "environments[0].contacts[0]: attributes must be a mapping",
    ),
    (
        varied(contacts=[{"remote_id": "u1", "email": {"a": 1}}]),
        "environments[0].contacts[0]: email must be text",
    ),
    (
        varied(contacts=[{"remote_id": "u1", "account": "ghost"}]),
        "environments[0].contacts[0]: account 'ghost' is not among the accounts",
    ),
    (varied(accounts=[["acme"]]), "environments[0].accounts[0]: must be a mapping"),
    (
        varied(accounts=[{"display_name": "Acme"}]),
        "environments[0].accounts[0]: remote_id is required",
    ),
    (
        varied(accounts=[{"remote_id": "acme"}, {"remote_id": "acme"}]),
        "environments[0].accounts[1]: remote_id 'acme' twice",
    ),
    (
        varied(
            accounts=[
                {"uuid": "a1", "remote_id": "acme"},
                {"uuid": "a1", "remote_id": "globex"},
            ]
        ),
        "environments[0].accounts[1]: uuid 'a1' twice",
    ),
    (
        varied(accounts=[{"remote_id": "acme", "contacts": ["u1", "ghost"]}]),
        "environments[0].accounts[0].contacts[1]: contact 'ghost' is not among the "
        "contacts",
    ),
    (
        varied(accounts=[{"remote_id": "acme", "contacts": "u1"}]),
        "environments[0].accounts[0].contacts: must be a list",
    ),
    (
        varied(accounts=[{"remote_id": "acme", "contacts": [{"display_name": "Ada"}]}]),
        "environments[0].accounts[0].contacts[0]: a contact reference needs a uuid, "
        "remote_id or email",
    ),
    (varied(forms=[{"uuid": "f1"}]), "environments[0].forms[0]: name is required"),
    (
        varied(forms=[{"name": "F", "channels": "web"}]),
        "environments[0].forms[0]: channels must be a list of text",
    ),
    (
        varied(forms=[{"name": "F", "config": "survey"}]),
        "environments[0].forms[0]: config must be a mapping",
    ),
    (
        varied(forms=[{"uuid": "f1", "name": "F"}, {"uuid": "f1", "name": "G"}]),
        "environments[0].forms[1]: uuid 'f1' twice",
    ),
    (
        varied(forms=[{"name": "F", "archived_at": "someday"}]),
        "environments[0].forms[0]: archived_at must be an ISO 8601 time, not 'someday'",
    ),
    (
        varied(segments=[{"uuid": "s1"}]),
        "environments[0].segments[0]: name is required",
    ),
    (
        varied(segments=[{"name": "S", "is_manual": "yes"}]),
        "environments[0].segments[0]: is_manual must be true or false",
    ),
    (
        varied(segments=[{"uuid": "s1", "name": "S"}, {"uuid": "s1", "name": "T"}]),
        "environments[0].segments[1]: uuid 's1' twice",
    ),
    (
        varied(segments=[{"name": "S", "contacts": ["ghost"]}]),
        "environments[0].segments[0].contacts[0]: contact 'ghost' is not among the "
        "contacts",
    ),
    (
        varied(segments=[{"name": "S", "contacts": "u1"}]),
        "environments[0].segments[0].contacts: must be a list",
    ),
    (
        varied(
            segments=[{"name": "S", "contacts": [{"uuid": "c1", "created_at": "x"}]}]
        ),
        "environments[0].segments[0].contacts[0]: created_at must be an ISO 8601 "
        "time, not 'x'",
    ),
    (
        varied(responses=[{"form_uuid": "f-none", "contact": "u1"}]),
        "environments[0].responses[0]: form 'f-none' is not among the forms",
    ),
    (
        varied(responses=[{"form": "f1", "contact": "u1"}]),
        "environments[0].responses[0]: form must be a mapping",
    ),
    (
        varied(responses=[{"form_uuid": "f1"}]),
        "environments[0].responses[0]: needs a contact (a uuid, remote_id or email)",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": "ghost"}]),
        "environments[0].responses[0]: contact 'ghost' is not among the contacts",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": "u1", "show_counter": "two"}]),
        "environments[0].responses[0]: show_counter must be a whole number from 0 "
        "to 9007199254740991",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": "u1", "data": [9]}]),
        "environments[0].responses[0]: data must be a mapping",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": "u1", "tags": "vip"}]),
        "environments[0].responses[0].tags: must be a list",
    ),
    (
        varied(responses=[{"form_uuid": "f1", "contact": "u1", "tags": ["vip", 7]}]),
        "environments[0].responses[0].tags[1]: a tag is a name",
    ),
    (
        varied(
            responses=[
                {"uuid": "r1", "form_uuid": "f1", "contact": "u1"},
                {"uuid": "r1", "form_uuid": "f1", "contact": "c1"},
            ]
        ),
        "environments[0].responses[1]: uuid 'r1' twice",
    ),
    (
        varied(
            responses=[
                {
                    "form_uuid": "f1",
                    "contact": "u1",
                    "tags": [{"uuid": "t1", "name": "a"}],
                },
                {
                    "form_uuid": "f1",
                    "contact": "u1",
                    "tags": [{"uuid": "t1", "name": "b"}],
                },
            ]
        ),
        "environments[0].responses[1].tags[0]: uuid 't1' is the uuid of tag 'a'",
    ),
    (
        varied(
            responses=[
                {
                    "form_uuid": "f1",
                    "contact": "u1",
                    "tags": [{"uuid": "t1", "name": "a"}],
                },
                {
                    "form_uuid": "f1",
                    "contact": "u1",
                    "tags": [{"uuid": "t2", "name": "a"}],
                },
            ]
        ),
        "environments[0].responses[1].tags[0]: tag 'a' has the uuid 't1', not 't2'",
    ),
    (
        varied(events=[{"name": "Signed Up"}]),
        "environments[0].events[0]: needs a contact",
    ),
    (
        varied(events=[{"contact": "u1"}]),
        "environments[0].events[0]: name is required",
    ),
    (varied(traits=["plan"]), "environments[0].traits: traits must be a mapping"),
    (varied(usage=[1]), "environments[0].usage: usage must be a mapping"),
    (
        varied(usage={"tracked_users": "c1"}),
        "environments[0].usage.tracked_users: must be a list of contact uuids",
    ),
    (
        varied(usage={"mte": "many"}),
        "environments[0].usage: mte must be a whole number from 0 to 9007199254740991",
    ),
]


@pytest.mark.parametrize(("document", "problem"), BAD_DOCUMENTS)
def test_a_bad_document_is_refused_and_changes_nothing(http, document, problem):
    http.put("/__mock/state", json=DOCUMENT)
    http.post("/v1/identify-user", json={"id": "u9"}, headers=BEARER)
    before = state(http)

    reply = http.put("/__mock/state", json=document)

    assert (reply.status_code, reply.json()) == (
        400,
        {"error": f"The state document is not valid: {problem}"},
    )
    assert state(http) == before


@pytest.mark.parametrize(
    "text", [b"api_key: [unclosed", b'{"api_key": ', b"a: b: c", b"\xff\xfe"]
)
def test_text_that_is_not_json_or_yaml_is_refused(http, text):
    http.put("/__mock/state", json=DOCUMENT)
    before = state(http)
    with pytest.raises((UnicodeDecodeError, yaml.YAMLError)) as caught:
        yaml.safe_load(text.decode("utf-8"))
    expected = f"The state document is not valid JSON or YAML: {caught.value}"

    reply = http.put("/__mock/state", content=text)

    assert (reply.status_code, reply.json()) == (400, {"error": expected})
    assert state(http) == before


def test_an_empty_body_is_refused(http):
    reply = http.put("/__mock/state", content=b"")

    assert (reply.status_code, reply.json()) == (
        400,
        {
            "error": "The state document is not valid: state: must be a mapping "
            "with 'environments', or one environment"
        },
    )


def test_a_refused_document_draws_no_id_and_no_clock_reading():
    mock = MockRefiner(deterministic_settings())

    with pytest.raises(StateError):
        mock.load({"api_key": "k-0001", "contacts": [{"remote_id": "u1"}, {}]})
    mock.load({"api_key": "k-0001", "contacts": [{"remote_id": "u1"}]})

    [contact] = mock.store.snapshot("k-0001")["contacts"]
    assert (contact["uuid"], contact["first_seen_at"]) == (uuid_n(1), time_n(0))
