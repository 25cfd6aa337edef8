"""The properties the fuzzer checks, each a plain function of a probe and an example.

An example is a destination config and a stream of messages. Every check goes
through the full path (:class:`harness.probe.Probe`) and raises
:class:`harness.fuzz.PropertyFailure`, with the scenario that shows the failure,
when the example breaks the property:

- ``mapper-refusals`` and ``refusals-documented`` (``harness.refusals``): the mapper
  raises nothing but ``MappingError``, and every refusal's text is one the docs name;
- ``identify-then-track``: a user's identify reaches the contact with their user id,
  and their track and page events land on it;
- ``group-links-account``: a group links the user's contact to the account, and the
  latest group wins;
- ``replay-idempotent``: replaying a stream a second time changes no contact or
  account, apart from times, and adds the same events again;
- ``trait-fidelity``: an identify's traits reach Refiner as
  :func:`harness.trait_changes.predict_identify` says, every change labelled with a
  documented kind.

The linked properties only hold under conditions (``docs/fuzzing.md``): every message
has a top-level ``userId`` (and a ``groupId`` for group), no trait changes who a call
is about, and under ``rudderstack`` the config maps ``userId -> id``, because the
transformer sends the user id as an ordinary trait otherwise (``docs/profiles.md``,
difference 1). Their strategies only draw such streams.

Limitations: a contact is named in a saved scenario by its remote id and email, not
its uuid; an event's expected name is taken from the mapper's form.
"""

from __future__ import annotations

from typing import Any, NoReturn

from hypothesis import strategies as st

from harness import strategies
from harness.delivery import render_value
from harness.fuzz import Example, Property, fail
from harness.mapper import MappingError, get_mapper
from harness.probe import Delivery, Probe, show_value
from harness.refusals import (
    check_mapper_refusals,
    check_refusals_documented,
    type_of,
)
from harness.trait_changes import predict_identify, same_value

# identify-then-track and group-links-account -----------------------------------


def _require_accepted(
    deliveries: list[Delivery], config: dict[str, Any], events: list[Any]
) -> None:
    for delivery in deliveries:
        if delivery.refusal is not None or delivery.status != 200:
            refusal = delivery.refusal
            text = refusal.message if refusal is not None else delivery.error
            calls = [{"status": 200} for _ in deliveries[: delivery.index + 1]]
            fail(
                "a call meeting the conditions was refused",
                f"message {delivery.index} ({type_of(delivery.message)}) meets the "
                f"conditions but was refused: {text}",
                config,
                events[: delivery.index + 1],
                {"counts": {"rejected": 0}, "calls": calls},
            )


def check_identify_then_track(probe: Probe, profile: str, example: Example) -> None:
    """A user's identify reaches the contact with their user id, and their track and
    page events land on it."""
    config, events = example
    probe.reset()
    deliveries = probe.replay(profile, config, events)
    _require_accepted(deliveries, config, events)
    environment = probe.environment(config)

    users = [
        render_value(d.message["userId"]) for d in deliveries if _is(d, "identify")
    ]
    tracked = [d for d in deliveries if _is(d, "track") or _is(d, "page")]
    expected_events = [
        {
            "name": render_value(d.request.form["event"]),
            "contact": {"remote_id": render_value(d.message["userId"])},
        }
        for d in tracked
    ]
    expect = {
        "contacts": [{"remote_id": user} for user in dict.fromkeys(users)],
        "events": expected_events,
        "counts": {
            "contacts": len(set(users)),
            "events": len(tracked),
            "rejected": 0,
        },
    }

    def broken(signature: str, message: str) -> NoReturn:
        fail(signature, message, config, events, expect)

    contacts = {contact["uuid"]: contact for contact in environment["contacts"]}
    reached: dict[str, str] = {}
    for delivery in deliveries:
        if _is(delivery, "identify"):
            user = render_value(delivery.message["userId"])
            uuid = reached.setdefault(user, delivery.reply["contact_uuid"])
            if uuid != delivery.reply["contact_uuid"]:
                broken("identify reached another contact", f"user {user!r} has two")
    for user, uuid in reached.items():
        if contacts[uuid]["remote_id"] != user:
            broken(
                "identify reached a contact without the user id",
                f"the identify of {user!r} reached a contact whose remote id is "
                f"{contacts[uuid]['remote_id']!r}",
            )

    actual = environment["events"]
    if len(actual) != len(tracked):
        broken(
            "events lost or added",
            f"{len(tracked)} track and page calls gave {len(actual)} events",
        )
    for expected, event in zip(expected_events, actual, strict=True):
        user = expected["contact"]["remote_id"]
        if (
            event["name"] != expected["name"]
            or event["contact"]["uuid"] != reached[user]
        ):
            broken(
                "event on another contact",
                f"expected {expected['name']!r} on the contact of {user!r}, found "
                f"{event['name']!r} on {show_value(event['contact'])}",
            )


def check_group_links_account(probe: Probe, profile: str, example: Example) -> None:
    """A group links the user's contact to the account; the latest group wins, and
    no other account lists the user."""
    config, events = example
    probe.reset()
    deliveries = probe.replay(profile, config, events)
    _require_accepted(deliveries, config, events)
    environment = probe.environment(config)

    links: dict[str, str] = {}
    listed: dict[str, list[str]] = {}
    for delivery in deliveries:
        if _is(delivery, "group"):
            user = render_value(delivery.message["userId"])
            account = render_value(delivery.message["groupId"])
            if links.get(user) != account:
                if user in links:
                    listed[links[user]].remove(user)
                listed.setdefault(account, []).append(user)
            links[user] = account
    expect = {
        "contacts": [
            {"remote_id": user, "account": {"remote_id": account}}
            for user, account in links.items()
        ],
        "accounts": [
            {"remote_id": account, "contacts": users}
            for account, users in listed.items()
        ],
        "counts": {"rejected": 0},
    }
    contacts = {contact["remote_id"]: contact for contact in environment["contacts"]}
    members = {a["remote_id"]: a["contacts"] for a in environment["accounts"]}
    for user, account in links.items():
        contact = contacts.get(user)
        linked = None if contact is None or not contact["account"] else contact
        found = None if linked is None else linked["account"]["remote_id"]
        listing = sorted(other for other, users in members.items() if user in users)
        if found != account or listing != [account]:
            fail(
                "contact not linked to its account",
                f"user {user!r} should belong to account {account!r} only; the "
                f"contact's account is {found!r}, the accounts listing it are "
                f"{listing}",
                config,
                events,
                expect,
            )


def _is(delivery: Delivery, message_type: str) -> bool:
    return type_of(delivery.message).lower() == message_type


# replay-idempotent -------------------------------------------------------------


def state_summary(environment: dict[str, Any]) -> dict[str, Any]:
    """Contacts, accounts and events without times, for comparing two replays.

    An account's members are compared as a set: the order of the admin API's list is
    the order of linking, which Refiner does not document.
    """
    return {
        "contacts": [
            {
                **{key: contact[key] for key in ("uuid", "remote_id", "email")},
                "display_name": contact["display_name"],
                "attributes": contact["attributes"],
                "account": contact["account"] and contact["account"]["uuid"],
            }
            for contact in environment["contacts"]
        ],
        "accounts": [
            {
                **{key: account[key] for key in ("uuid", "remote_id", "display_name")},
                "domain": account["domain"],
                "attributes": account["attributes"],
                "contacts": sorted(account["contacts"]),
            }
            for account in environment["accounts"]
        ],
        "events": [[e["name"], e["contact"]["uuid"]] for e in environment["events"]],
    }


def expected_state(environment: dict[str, Any], repeats: int = 1) -> dict[str, Any]:
    """Scenario expectations of a state, its events ``repeats`` times over."""
    events = [
        {
            "name": event["name"],
            "contact": {key: event["contact"][key] for key in ("remote_id", "email")},
        }
        for event in environment["events"]
    ]
    return {
        "contacts": [
            {
                **{key: c[key] for key in ("remote_id", "email", "display_name")},
                "attributes": c["attributes"],
                "account": c["account"] and {"remote_id": c["account"]["remote_id"]},
            }
            for c in environment["contacts"]
        ],
        "accounts": [
            {
                key: a[key]
                for key in ("remote_id", "display_name", "domain", "attributes")
            }
            for a in environment["accounts"]
        ],
        "events": events * repeats,
        "counts": {
            "contacts": len(environment["contacts"]),
            "accounts": len(environment["accounts"]),
            "events": len(events) * repeats,
        },
    }


def check_replay_idempotent(probe: Probe, profile: str, example: Example) -> None:
    """A second replay changes no contact or account and repeats the events."""
    config, events = example
    probe.reset()
    probe.replay(profile, config, events)
    once = probe.environment(config)
    probe.replay(profile, config, events)
    twice = probe.environment(config)

    first, second = state_summary(once), state_summary(twice)
    first["events"] = first["events"] * 2
    for section in ("contacts", "accounts", "events"):
        if first[section] != second[section]:
            fail(
                f"second replay changes {section}",
                f"replaying the stream again changed {section}: once "
                f"{show_value(first[section])}, twice {show_value(second[section])}",
                config,
                events + events,
                expected_state(once, repeats=2),
            )


# trait-fidelity ----------------------------------------------------------------


def check_trait_fidelity(probe: Probe, profile: str, example: Example) -> None:
    """An identify's traits reach Refiner as the documented steps say."""
    config, events = example
    message = events[0]
    try:
        request = get_mapper(profile)(message, config)
    except MappingError:
        return

    prediction = predict_identify(message, config, profile, request.form)
    probe.kinds.update(prediction.kinds())
    if prediction.unexplained:
        call = {"path": "/v1/identify-user", "params": prediction.untraced}
        fail(
            "a change no documented rule explains",
            "; ".join(prediction.unexplained),
            config,
            events,
            {"calls": [call]} if prediction.untraced else {},
        )

    probe.reset()
    delivery = probe.deliver(profile, config, message)
    if prediction.refusal is not None or delivery.error is not None:
        if delivery.error != prediction.refusal:
            error = f"{delivery.status} {delivery.error}" if delivery.error else "200"
            fail(
                "refusal differs from the prediction",
                f"Refiner should answer {prediction.refusal!r}, it answered {error}",
                config,
                events,
                {
                    "calls": [
                        {"status": 400, "reply": {"error": prediction.refusal}}
                        if prediction.refusal
                        else {"status": 200}
                    ]
                },
            )
        return

    contacts = probe.environment(config)["contacts"]
    expected = {
        "remote_id": prediction.remote_id,
        "email": prediction.email,
        "display_name": prediction.display_name,
        "attributes": prediction.attributes,
    }
    stored = contacts[0]["attributes"] if len(contacts) == 1 else {}
    extra = {key: None for key in stored if key not in prediction.attributes}
    expect = {
        "contacts": [{**expected, "attributes": {**prediction.attributes, **extra}}],
        "counts": {"contacts": 1},
    }
    if len(contacts) != 1:
        fail(
            "not one contact",
            f"an accepted identify left {len(contacts)} contacts",
            config,
            events,
            expect,
        )
    for field, value in expected.items():
        if not same_value(value, contacts[0][field]):
            fail(
                f"{field} differs from the prediction",
                f"{field}: Refiner should hold {show_value(value)}, the mock holds "
                f"{show_value(contacts[0][field])} (changes: "
                f"{show_value(prediction.changes)})",
                config,
                events,
                expect,
            )


# The registry ------------------------------------------------------------------


def _single(messages: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(messages, min_size=1, max_size=1)


def _linked(profile: str) -> st.SearchStrategy[Example]:
    config = strategies.configs(user_id_row=profile == "rudderstack")
    return st.tuples(config, strategies.linked_streams())


PROPERTIES = [
    Property(
        "mapper-refusals",
        "the mapper raises nothing but MappingError, with a documented text",
        lambda profile: st.tuples(
            strategies.configs(),
            st.lists(strategies.messages(), min_size=1, max_size=3),
        ),
        check_mapper_refusals,
    ),
    Property(
        "refusals-documented",
        "every request is accepted or refused for a documented reason",
        lambda profile: st.tuples(strategies.configs(), strategies.streams()),
        check_refusals_documented,
    ),
    Property(
        "identify-then-track",
        "a user's events land on the contact their identify made",
        _linked,
        check_identify_then_track,
    ),
    Property(
        "group-links-account",
        "a group links the contact to the account",
        _linked,
        check_group_links_account,
    ),
    Property(
        "replay-idempotent",
        "a second replay changes nothing but times and repeats the events",
        lambda profile: st.tuples(strategies.configs(), strategies.streams()),
        check_replay_idempotent,
    ),
    Property(
        "trait-fidelity",
        "identify traits reach Refiner changed only in documented ways",
        lambda profile: st.tuples(
            strategies.configs(), _single(strategies.identify_messages())
        ),
        check_trait_fidelity,
    ),
]
"""Every property, in the order the fuzz command runs them."""
