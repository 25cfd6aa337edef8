"""A stateful model of what Refiner should hold, checked against the mock step by step.

:class:`RefinerModel` keeps contacts by remote id (with email, display name,
attributes and account), accounts (with attributes and members) and events, and
applies Refiner's documented rules (``docs/fidelity.md``) to the calls RudderStack
makes. :class:`RefinerMachine`, a hypothesis ``RuleBasedStateMachine``, sends
identify, track, page and group messages for a small pool of users and accounts
through the full path and, after every step, compares the mock's
``GET /__mock/state`` with the model.

The machine runs under the ``documented`` profile, or under ``rudderstack`` with the
``userId -> id`` mapping row, and every message carries a top-level ``userId``: the
conditions under which each call reaches the contact of its user id
(``docs/fuzzing.md``). Under them no contact is ever without a remote id, so the
model finds contacts by remote id alone.

Limitations: traits use the keys of ``value_strategies.SAFE_KEYS`` only, so bracket
keys, reserved names and refusals are left to the other properties; times, uuids and
usage counters are not modelled.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from hypothesis import seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from harness import strategies
from harness.delivery import render_value
from harness.fuzz import PropertyFailure, PropertyRun, fail, fuzz_settings
from harness.jsvalue import to_string, truthy
from harness.probe import Probe, show_value
from harness.trait_changes import (
    COMPUTED_NAMES,
    RESERVED_PARAMS,
    STRING_CAP,
    stored_value,
)
from harness.value_strategies import emails

MACHINE_NAME = "stateful-model"
STEPS = 6


@dataclass
class ModelContact:
    """A contact as the model holds it."""

    remote_id: str
    email: str | None = None
    display_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    account: str | None = None


@dataclass
class ModelAccount:
    """An account as the model holds it; members by remote id, in linking order."""

    remote_id: str
    display_name: str | None = None
    domain: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)


def typed_traits(traits: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    """Traits as Refiner stores them: Go text typed, null, reserved and computed
    names left out."""
    return {
        key: stored_value(key, render_value(value))
        for key, value in traits.items()
        if value is not None and key not in reserved and key not in COMPUTED_NAMES
    }


def display_text(value: Any) -> str:
    """A display name or domain as Refiner keeps it: Go's text, cut at the cap."""
    return render_value(value)[:STRING_CAP]


@dataclass
class RefinerModel:
    """What Refiner should hold after the calls so far."""

    contacts: dict[str, ModelContact] = field(default_factory=dict)
    accounts: dict[str, ModelAccount] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)

    def identify(
        self, remote_id: str, email: str | None, traits: dict[str, Any]
    ) -> ModelContact:
        """identify-user: the call's email replaces the stored one; traits merge."""
        contact = self.contacts.setdefault(remote_id, ModelContact(remote_id))
        contact.email = email or contact.email
        contact.attributes.update(typed_traits(traits, RESERVED_PARAMS))
        if traits.get("name") is not None:
            contact.display_name = display_text(traits["name"])
        return contact

    def track(self, remote_id: str, email: str | None, name: str) -> None:
        """track: a missing email is filled in, a stored one kept; one more event."""
        contact = self.contacts.setdefault(remote_id, ModelContact(remote_id))
        contact.email = contact.email or email
        self.events.append((name, remote_id))

    def group(
        self,
        remote_id: str,
        email: str | None,
        account_id: str,
        traits: dict[str, Any],
    ) -> None:
        """identify-user with an account: upsert it, then link the contact to it."""
        contact = self.identify(remote_id, email, {})
        account = self.accounts.setdefault(account_id, ModelAccount(account_id))
        account.attributes.update(typed_traits(traits, frozenset({"id"})))
        for key in ("name", "domain"):
            if traits.get(key) is not None:
                setattr(account, _ACCOUNT_FIELDS[key], display_text(traits[key]))

        if contact.account != account_id:
            if contact.account is not None:
                self.accounts[contact.account].members.remove(remote_id)
            account.members.append(remote_id)
            contact.account = account_id

    def expect(self, actual: dict[str, Any] | None = None) -> dict[str, Any]:
        """The model as scenario expectations; attributes the mock holds and the
        model does not (in ``actual``, from :func:`observed`) are expected null."""
        seen = actual or {"contacts": {}, "accounts": {}}

        def attributes(section: str, key: str, kept: dict[str, Any]) -> dict:
            extra = seen[section].get(key, [None, None, {}])[2]
            return {**kept, **{name: None for name in extra if name not in kept}}

        return {
            "contacts": [
                {
                    "remote_id": c.remote_id,
                    "email": c.email,
                    "display_name": c.display_name,
                    "attributes": attributes("contacts", c.remote_id, c.attributes),
                    "account": c.account and {"remote_id": c.account},
                }
                for c in self.contacts.values()
            ],
            "accounts": [
                {
                    "remote_id": a.remote_id,
                    "display_name": a.display_name,
                    "domain": a.domain,
                    "attributes": attributes("accounts", a.remote_id, a.attributes),
                    "contacts": a.members,
                }
                for a in self.accounts.values()
            ],
            "events": [
                {"name": name, "contact": {"remote_id": remote_id}}
                for name, remote_id in self.events
            ],
            "counts": {
                "contacts": len(self.contacts),
                "accounts": len(self.accounts),
                "events": len(self.events),
                "rejected": 0,
            },
        }


_ACCOUNT_FIELDS = {"name": "display_name", "domain": "domain"}


def observed(environment: dict[str, Any]) -> dict[str, Any]:
    """The mock's state in the model's terms."""
    return {
        "contacts": {
            c["remote_id"]: [
                c["email"],
                c["display_name"],
                c["attributes"],
                c["account"] and c["account"]["remote_id"],
            ]
            for c in environment["contacts"]
        },
        "accounts": {
            a["remote_id"]: [a["display_name"], a["domain"], a["attributes"]]
            + [sorted(a["contacts"])]
            for a in environment["accounts"]
        },
        "events": [
            [e["name"], e["contact"]["remote_id"]] for e in environment["events"]
        ],
    }


def modelled(model: RefinerModel) -> dict[str, Any]:
    """The model in the same terms as :func:`observed`."""
    return {
        "contacts": {
            c.remote_id: [c.email, c.display_name, c.attributes, c.account]
            for c in model.contacts.values()
        },
        "accounts": {
            a.remote_id: [a.display_name, a.domain, a.attributes, sorted(a.members)]
            for a in model.accounts.values()
        },
        "events": [[name, remote_id] for name, remote_id in model.events],
    }


def machine_config(profile: str) -> dict[str, Any]:
    """The destination config the machine runs with under ``profile``."""
    config: dict[str, Any] = {"apiKey": "rf-fuzz-model"}
    if profile == "rudderstack":
        config["userAttributesMapping"] = [dict(strategies.USER_ID_ROW)]
    return config


class RefinerMachine(RuleBasedStateMachine):
    """Identify, track, page and group messages against the model and the mock."""

    def __init__(self, profile: str, probe: Probe, run: PropertyRun) -> None:
        super().__init__()
        self.profile = profile
        self.probe = probe
        self.run = run
        self.config = machine_config(profile)
        self.model = RefinerModel()
        self.sent: list[Any] = []
        self.users: list[strategies.User] = []
        self.accounts: list[Any] = []
        run.examples += 1
        probe.reset()

    @initialize(
        users=strategies.user_pools(), accounts=strategies.account_pools(max_size=3)
    )
    def pools(self, users: list[strategies.User], accounts: list[Any]) -> None:
        self.users, self.accounts = users, accounts

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        delivery = self.probe.deliver(self.profile, self.config, message)
        if delivery.refusal is not None or delivery.status != 200:
            text = delivery.refusal or delivery.error
            self.failed(
                None, "a call was refused", f"{message['type']} refused: {text}"
            )

    def email_of(self, data: st.DataObject, user: strategies.User) -> str | None:
        """The user's email, none, or now and then another one (a changed email)."""
        return data.draw(st.one_of(st.just(user.email), st.none(), emails()))

    @rule(data=st.data(), traits=strategies.safe_traits())
    def identify(self, data: st.DataObject, traits: dict) -> None:
        user = data.draw(st.sampled_from(self.users))
        email = self.email_of(data, user)
        message = data.draw(strategies.envelopes())
        message.update(type="identify", userId=user.user_id, traits=dict(traits))
        if email is not None:
            message["traits"]["email"] = email
        self.send(message)
        self.model.identify(render_value(user.user_id), email, traits)

    @rule(data=st.data())
    def track(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(self.users))
        name = data.draw(st.sampled_from(strategies.EVENT_NAMES))
        message = data.draw(strategies.envelopes())
        message.update(type="track", userId=user.user_id, event=name, properties={})
        email = self.email_of(data, user)
        if email is not None:
            message["context"]["traits"] = {"email": email}
        self.send(message)
        sent_email = email if self.profile == "rudderstack" else None
        self.model.track(render_value(user.user_id), sent_email, name)

    @rule(
        data=st.data(),
        name=st.sampled_from((None, *strategies.PAGE_NAMES)),
        category=st.sampled_from((None, *strategies.PAGE_CATEGORIES)),
    )
    def page(self, data: st.DataObject, name: str | None, category: str | None) -> None:
        user = data.draw(st.sampled_from(self.users))
        message = data.draw(strategies.envelopes())
        message.update(type="page", userId=user.user_id, properties={"path": "/"})
        if name is not None:
            message["name"] = name
        if category is not None:
            message["category"] = category
        self.send(message)
        self.model.track(
            render_value(user.user_id), None, self.page_name(name, category)
        )

    @rule(data=st.data(), traits=strategies.safe_traits())
    def group(self, data: st.DataObject, traits: dict) -> None:
        user = data.draw(st.sampled_from(self.users))
        group_id = data.draw(st.sampled_from(self.accounts))
        message = data.draw(strategies.envelopes())
        message.update(
            type="group", userId=user.user_id, groupId=group_id, traits=dict(traits)
        )
        email = self.email_of(data, user)
        if email is not None:
            message["context"]["traits"] = {"email": email}
        self.send(message)
        sent_email = email if self.profile == "documented" else None
        self.model.group(
            render_value(user.user_id), sent_email, render_value(group_id), traits
        )

    def page_name(self, name: str | None, category: str | None) -> str:
        """The event name of a page: ``docs/profiles.md`` difference 6."""
        if self.profile == "documented":
            return to_string(name) if truthy(name) else "pageView"
        if truthy(name) and truthy(category):
            return f"Viewed {category} {name} Page"
        if truthy(name) or truthy(category):
            return f"Viewed {name or category} Page"
        return "pageView"

    @invariant()
    def state_matches(self) -> None:
        actual = observed(self.probe.environment(self.config))
        expected = modelled(self.model)
        for section in ("contacts", "accounts", "events"):
            if actual[section] != expected[section]:
                self.failed(
                    actual,
                    f"{section} differ from the model",
                    f"after {len(self.sent)} messages the mock's {section} are "
                    f"{show_value(actual[section])}, the model's "
                    f"{show_value(expected[section])}",
                )

    def failed(
        self, actual: dict[str, Any] | None, signature: str, message: str
    ) -> None:
        expect = self.model.expect(actual)
        try:
            fail(signature, message, self.config, list(self.sent), expect)
        except PropertyFailure as failure:
            self.run.record(failure.failure)
            raise


def run_machine(
    profile: str,
    examples: int,
    seed_value: int,
    probe: Probe,
    progress: Any = None,
    steps: int = STEPS,
) -> PropertyRun:
    """Runs the state machine ``examples`` times; never raises for a failure."""
    run = PropertyRun(MACHINE_NAME, profile)

    def factory() -> RefinerMachine:
        if progress is not None:
            progress(run)
        return RefinerMachine(profile, probe, run)

    started = time.perf_counter()
    with suppress(Exception):  # recorded in the run; hypothesis re-raises them
        run_state_machine_as_test(
            seed(seed_value)(factory),
            settings=fuzz_settings(examples, stateful_step_count=steps),
        )
    run.seconds = time.perf_counter() - started
    return run
