import pytest

from mock_refiner.errors import ApiError
from mock_refiner.models import Contact, Environment
from mock_refiner.store import Store, find_contact
from tests.mock_refiner.conftest import (
    KEY,
    START,
    deterministic_settings,
    environment,
    time_n,
    uuid_n,
)


@pytest.fixture
def store() -> Store:
    return Store(deterministic_settings())


def contacts(store: Store, key: str = KEY) -> list[dict]:
    return store.snapshot(key)["contacts"]


def refusal(call) -> tuple[int, dict]:
    with pytest.raises(ApiError) as caught:
        call()

    return caught.value.status, caught.value.body


def test_identify_creates_a_contact_with_typed_traits(store):
    identified = store.identify(
        KEY,
        {
            "id": "u1",
            "email": "a@b.co",
            "name": "Ada",
            "age": "30",
            "created_at": "2026-03-01T10:00:00Z",
            "api_key": KEY,
        },
    )

    assert identified.contact.uuid == uuid_n(1)
    assert identified.notes == []
    assert store.snapshot(KEY) == environment(
        KEY,
        contacts=[
            {
                "uuid": uuid_n(1),
                "remote_id": "u1",
                "email": "a@b.co",
                "display_name": "Ada",
                "first_seen_at": time_n(0),
                "last_seen_at": time_n(0),
                "last_tracking_event_at": None,
                "attributes": {
                    "name": "Ada",
                    "age": 30,
                    "created_at": "2026-03-01T10:00:00.000000Z",
                },
                "segments": [],
                "account": None,
            }
        ],
        traits={"name": "string", "age": "integer", "created_at": "date"},
        usage={
            "month": "2026-01",
            "mtu": 1,
            "mte": 0,
            "mpv": 0,
            "msr": 0,
            "tracked_users": [uuid_n(1)],
        },
    )


def test_identify_merges_traits_and_replaces_the_email(store):
    store.identify(KEY, {"id": "u1", "email": "old@b.co", "plan": "free", "age": 3})
    store.identify(KEY, {"id": "u1", "email": "new@b.co", "plan": "pro"})

    [contact] = contacts(store)
    assert (contact["email"], contact["attributes"]) == (
        "new@b.co",
        {"plan": "pro", "age": 3},
    )
    assert (contact["first_seen_at"], contact["last_seen_at"]) == (time_n(0), time_n(1))


def test_identify_without_email_keeps_the_stored_one(store):
    store.identify(KEY, {"id": "u1", "email": "a@b.co"})
    store.identify(KEY, {"id": "u1", "email": ""})

    assert contacts(store)[0]["email"] == "a@b.co"


def test_lookup_by_id_compares_text(store):
    store.identify(KEY, {"id": 42, "email": "a@b.co"})
    identified = store.identify(KEY, {"id": "42", "plan": "pro"})

    assert identified.contact.uuid == uuid_n(1)
    assert [c["remote_id"] for c in contacts(store)] == ["42"]


def test_lookup_by_email(store):
    store.identify(KEY, {"id": "u1", "email": "a@b.co"})
    identified = store.identify(KEY, {"email": "a@b.co", "plan": "pro"})

    assert identified.contact.uuid == uuid_n(1)
    assert contacts(store)[0]["attributes"] == {"plan": "pro"}


def test_email_match_without_remote_id_takes_the_calls_id(store):
    store.identify(KEY, {"email": "a@b.co"})
    identified = store.identify(KEY, {"id": "u1", "email": "a@b.co"})

    assert identified.contact.uuid == uuid_n(1)
    assert [(c["uuid"], c["remote_id"]) for c in contacts(store)] == [(uuid_n(1), "u1")]


def test_email_match_with_another_remote_id_is_a_new_contact(store):
    store.identify(KEY, {"id": "u1", "email": "shared@b.co"})
    identified = store.identify(KEY, {"id": "u2", "email": "shared@b.co"})

    assert identified.contact.uuid == uuid_n(2)
    assert [(c["remote_id"], c["email"]) for c in contacts(store)] == [
        ("u1", "shared@b.co"),
        ("u2", "shared@b.co"),
    ]


def test_email_only_call_finds_the_first_contact_with_that_email(store):
    store.identify(KEY, {"id": "u1", "email": "shared@b.co"})
    store.identify(KEY, {"id": "u2", "email": "shared@b.co"})

    assert store.identify(KEY, {"email": "shared@b.co"}).contact.uuid == uuid_n(1)


def test_find_contact_rule():
    env = Environment(KEY)
    env.add_contact(Contact("c1", "u1", "one@b.co", START, START))
    env.add_contact(Contact("c2", "u2", "two@b.co", START, START))
    env.add_contact(Contact("c3", None, "two@b.co", START, START))

    assert find_contact(env, "u2", "one@b.co").uuid == "c2"
    assert find_contact(env, "u9", "one@b.co") is None
    assert find_contact(env, "u9", "two@b.co").uuid == "c3"
    assert find_contact(env, None, "two@b.co").uuid == "c2"
    assert find_contact(env, None, "three@b.co") is None


def test_reserved_names_are_never_attributes(store):
    identified = store.identify(
        KEY,
        {
            "id": "u1",
            "email": "a@b.co",
            "api_key": KEY,
            "country": "FR",
            "first_seen_at": "2020-01-01",
            "form_views_count": 3,
            "userId": "u1",
        },
    )

    assert contacts(store)[0]["attributes"] == {"userId": "u1"}
    assert identified.notes == [
        "trait 'country' is computed by Refiner; not stored",
        "trait 'first_seen_at' is computed by Refiner; not stored",
        "trait 'form_views_count' is computed by Refiner; not stored",
    ]


def test_name_sets_the_display_name_as_text(store):
    store.identify(KEY, {"id": "u1", "name": 30})

    [contact] = contacts(store)
    assert (contact["display_name"], contact["attributes"]) == ("30", {"name": 30})


def test_first_type_seen_wins_in_the_registry(store):
    store.identify(KEY, {"id": "u1", "age": 30})
    identified = store.identify(KEY, {"id": "u2", "age": "thirty"})

    assert store.snapshot(KEY)["traits"] == {"age": "integer"}
    assert contacts(store)[1]["attributes"] == {"age": "thirty"}
    assert identified.notes == [
        "trait 'age' is registered as integer; this string value is stored as sent"
    ]


def test_trait_limit_stops_new_names_but_updates_known_ones():
    store = Store(deterministic_settings(trait_limit=2))
    store.identify(KEY, {"id": "u1", "a": 1, "b": 2})

    identified = store.identify(KEY, {"id": "u1", "a": 10, "c": 3, "name": "Ada"})

    [contact] = contacts(store)
    assert contact["attributes"] == {"a": 10, "b": 2}
    assert contact["display_name"] == "Ada"
    assert store.snapshot(KEY)["traits"] == {"a": "integer", "b": "integer"}
    assert identified.notes == [
        "trait 'c' not created: the environment already has 2 traits",
        "trait 'name' not created: the environment already has 2 traits",
    ]


def test_string_cap_cuts_traits_and_the_display_name():
    store = Store(deterministic_settings(string_cap=255))

    identified = store.identify(KEY, {"id": "u1", "name": "n" * 300})

    [contact] = contacts(store)
    assert contact["display_name"] == "n" * 255
    assert contact["attributes"] == {"name": "n" * 255}
    assert identified.notes == ["trait 'name': text of 300 characters cut to 255"]


def test_identify_upserts_and_links_the_account(store):
    store.identify(
        KEY,
        {
            "id": "u1",
            "account": {
                "id": "acme",
                "name": "Acme",
                "domain": "acme.io",
                "seats": "12",
                "plan[tier": "cobalt",
            },
        },
    )
    store.identify(KEY, {"email": "b@acme.io", "account": {"id": "acme", "seats": 13}})

    state = store.snapshot(KEY)
    assert state["accounts"] == [
        {
            "uuid": uuid_n(2),
            "remote_id": "acme",
            "display_name": "Acme",
            "domain": "acme.io",
            "first_seen_at": time_n(0),
            "last_seen_at": time_n(1),
            "attributes": {
                "name": "Acme",
                "domain": "acme.io",
                "seats": 13,
                "plan[tier": "cobalt",
            },
            "contacts": ["u1", "b@acme.io"],
        }
    ]
    account_shown = dict(state["accounts"][0])
    del account_shown["contacts"]
    assert [c["account"] for c in state["contacts"]] == [account_shown] * 2
    assert state["traits"] == {
        "account.name": "string",
        "account.domain": "string",
        "account.seats": "integer",
        "account.plan[tier": "string",
    }


def test_computed_names_are_never_account_attributes(store):
    identified = store.identify(
        KEY,
        {
            "id": "u1",
            "account": {"id": "acme", "first_seen_at": "2020-01-01", "plan": "pro"},
        },
    )

    assert store.snapshot(KEY)["accounts"][0]["attributes"] == {"plan": "pro"}
    assert identified.notes == [
        "account trait 'first_seen_at' is computed by Refiner; not stored"
    ]


def test_a_new_account_link_replaces_the_old_one(store):
    store.identify(KEY, {"id": "u1", "account": {"id": "old"}})
    store.identify(KEY, {"id": "u1", "account": {"id": "new"}})
    store.identify(KEY, {"id": "u1", "plan": "pro"})

    state = store.snapshot(KEY)
    assert [(a["remote_id"], a["contacts"]) for a in state["accounts"]] == [
        ("old", []),
        ("new", ["u1"]),
    ]
    assert state["contacts"][0]["account"]["remote_id"] == "new"


def test_track_records_an_event_and_drops_properties(store):
    store.identify(KEY, {"id": "u1", "email": "a@b.co"})

    tracked = store.track(
        KEY,
        {"id": "u1", "event": "Signed Up", "plan": "pro", "api_key": KEY},
        "/v1/track",
    )

    state = store.snapshot(KEY)
    assert tracked.notes == ["parameters not stored: plan"]
    assert state["events"] == [
        {
            "uuid": uuid_n(2),
            "name": "Signed Up",
            "received_at": time_n(1),
            "path": "/v1/track",
            "contact": {"uuid": uuid_n(1), "remote_id": "u1", "email": "a@b.co"},
        }
    ]
    assert state["contacts"][0]["attributes"] == {}
    assert state["contacts"][0]["last_seen_at"] == time_n(1)
    assert state["contacts"][0]["last_tracking_event_at"] == time_n(1)
    assert state["traits"] == {}


def test_track_for_an_unknown_user_creates_the_contact(store):
    store.track(KEY, {"email": "new@b.co", "event": "pageView"}, "/v1/track-event")

    [contact] = contacts(store)
    assert contact == {
        "uuid": uuid_n(1),
        "remote_id": None,
        "email": "new@b.co",
        "display_name": None,
        "first_seen_at": time_n(0),
        "last_seen_at": time_n(0),
        "last_tracking_event_at": time_n(0),
        "attributes": {},
        "segments": [],
        "account": None,
    }
    assert store.snapshot(KEY)["events"][0]["uuid"] == uuid_n(2)


def test_track_fills_a_missing_id_but_keeps_a_stored_email(store):
    store.identify(KEY, {"email": "a@b.co"})
    store.track(KEY, {"id": "u1", "email": "a@b.co", "event": "x"}, "/v1/track")
    store.track(KEY, {"id": "u1", "email": "other@b.co", "event": "y"}, "/v1/track")

    assert [(c["remote_id"], c["email"]) for c in contacts(store)] == [("u1", "a@b.co")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "The id or email parameter is required."),
        (
            {"id": "", "email": None, "name": "x"},
            "The id or email parameter is required.",
        ),
        ({"id": "u1", "account": "acme"}, "The account parameter must be an object."),
        ({"id": "u1", "account": ["acme"]}, "The account parameter must be an object."),
        ({"id": "u1", "account": {"name": "A"}}, "The account parameter needs an id."),
        ({"id": "u1", "account": {"id": ""}}, "The account parameter needs an id."),
        (
            {"account": {"name": "A"}, "plan": "x"},
            "The id or email parameter is required.",
        ),
    ],
)
def test_refused_identify_changes_nothing(store, params, message):
    store.identify(KEY, {"id": "u0", "plan": "free"})
    before = store.snapshot()

    assert refusal(lambda: store.identify(KEY, params)) == (400, {"error": message})
    assert refusal(lambda: store.identify("other-key", params)) == (
        400,
        {"error": message},
    )
    assert store.snapshot() == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"event": "x"}, "The id or email parameter is required."),
        ({}, "The id or email parameter is required."),
        ({"id": "u1"}, "The event parameter is required."),
        ({"id": "u1", "event": ""}, "The event parameter is required."),
    ],
)
def test_refused_track_changes_nothing(store, params, message):
    before = store.snapshot()

    assert refusal(lambda: store.track(KEY, params, "/v1/track")) == (
        400,
        {"error": message},
    )
    assert store.snapshot() == before == {"environments": []}


def test_a_failing_id_factory_changes_nothing():
    calls = iter(["c-1"])

    def ids() -> str:
        return next(calls)

    store = Store(deterministic_settings(ids=ids))

    with pytest.raises(StopIteration):
        store.identify(KEY, {"id": "u1", "plan": "pro", "account": {"id": "acme"}})

    assert store.snapshot() == {"environments": []}


def test_environments_are_per_key_in_order_of_first_use(store):
    store.identify("key-b", {"id": "u1"})
    store.identify("key-a", {"id": "u1"})
    store.identify("key-b", {"id": "u2"})

    state = store.snapshot()
    assert [env["api_key"] for env in state["environments"]] == ["key-b", "key-a"]
    assert [len(env["contacts"]) for env in state["environments"]] == [2, 1]


def test_snapshot_of_an_unused_key_is_empty(store):
    assert store.snapshot("never") == environment("never")
    assert store.snapshot() == {"environments": []}


def test_snapshot_is_a_copy(store):
    store.identify(KEY, {"id": "u1", "address": "x"})

    state = store.snapshot(KEY)
    state["contacts"][0]["attributes"]["address"] = "changed"
    state["traits"]["new"] = "string"

    assert contacts(store)[0]["attributes"] == {"address": "x"}
    assert store.snapshot(KEY)["traits"] == {"address": "string"}


def test_identify_returns_a_copy_of_the_contact(store):
    identified = store.identify(KEY, {"id": "u1", "plan": "pro"})

    identified.contact.attributes["plan"] = "changed"

    assert contacts(store)[0]["attributes"] == {"plan": "pro"}


def test_reset_forgets_everything(store):
    store.identify(KEY, {"id": "u1"})

    store.reset()

    assert store.snapshot() == {"environments": []}
