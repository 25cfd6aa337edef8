"""Refiner's state: one environment per API key, holding contacts, accounts, events.

`Store.identify` and `Store.track` apply Refiner's rules; `Store.snapshot` shows the
state as plain dicts in the shapes of `docs/architecture.md`. Every call is checked in
full, and draws its ids and time, before anything changes, so a refused or failing
call leaves the state as it was. All access goes through one lock.

Finding the contact of a call is `find_contact`, kept in one place because the rule is
an assumption: by remote id first, then by email; a contact found by email that has a
different remote id is someone else.

Account traits share the environment's trait registry and limit, under the name
`account.<trait>`. The first type seen for a trait name is the one registered; a later
value of another type is still stored, with a note.

Segments, forms and responses are changed by their own operation modules through
`Store.writing`, which holds the same lock.

With `keep_changes`, the store remembers what each write may have changed (the
environments written, each with its `ChangeLog`, or that the whole state was
replaced) until `saved` is called, so `mock_refiner.persistence` writes only those
rows.

Limitations: Refiner's computed traits (form views, country) are not computed. An
event shows its contact's current remote id and email. The state lives in memory;
`mock_refiner.state` saves and loads it as a document, and `mock_refiner.persistence`
keeps it in a SQLite file.
"""

import copy
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from mock_refiner.errors import ApiError
from mock_refiner.models import Account, Contact, Environment, Event
from mock_refiner.params import text_param
from mock_refiner.render import render_environment
from mock_refiner.settings import Settings
from mock_refiner.traits import as_text, cap_text, type_trait

logger = logging.getLogger(__name__)

MISSING_IDENTITY = "The id or email parameter is required."
MISSING_EVENT = "The event parameter is required."
ACCOUNT_NOT_OBJECT = "The account parameter must be an object."
ACCOUNT_WITHOUT_ID = "The account parameter needs an id."

IDENTITY_PARAMS = frozenset({"id", "email", "account", "api_key"})
COMPUTED_TRAITS = frozenset(
    {
        "first_seen_at",
        "last_seen_at",
        "form_views_count",
        "form_submissions_count",
        "last_form_submission_at",
        "last_form_view_at",
        "country",
    }
)
ACCOUNT_IDENTITY = frozenset({"id"})
TRACK_PARAMS = frozenset({"id", "email", "event", "api_key"})
ACCOUNT_TRAIT_PREFIX = "account."


@dataclass
class AccountChange:
    """What an identify call will do to an account, worked out before any change."""

    account: Account | None
    uuid: str
    remote_id: str
    attributes: dict
    fields: dict[str, str]


@dataclass
class Identified:
    """The outcome of an identify call: a copy of the contact, and notes."""

    contact: Contact
    notes: list[str]


@dataclass
class Tracked:
    """The outcome of a track call: a copy of the event, and notes."""

    event: Event
    notes: list[str]


def copy_contact(contact: Contact) -> Contact:
    """A copy of a contact: its attributes are the only part that is not immutable."""
    return replace(contact, attributes=copy.deepcopy(contact.attributes))


def find_contact(
    env: Environment, remote_id: str | None, email: str | None
) -> Contact | None:
    """The contact a call with this id and email is about, or None for a new one.

    By remote id first. Otherwise by email: without an id in the call, the first
    contact that got that email; with an id, the first one that has no remote id yet
    (it will take the id). A contact with another remote id is someone else.
    """
    if remote_id is not None:
        contact = env.contact_with_remote_id(remote_id)
        if contact is not None:
            return contact

    if email is not None:
        for contact in env.contacts_with_email(email):
            if remote_id is None or contact.remote_id is None:
                return contact

    return None


def keep_contact(
    env: Environment,
    found: Contact | None,
    new_uuid: str,
    remote_id: str | None,
    email: str | None,
    now: datetime,
) -> Contact:
    """The found contact, given a missing remote id or email, or a new one; seen now.

    Used where a call may create a contact (track, sync-segment, store a response)
    but never replaces a stored email, as identify does.
    """
    if found is None:
        found = Contact(new_uuid, remote_id, email, now, now)
        env.add_contact(found)
    else:
        env.set_identity(found, found.remote_id or remote_id, found.email or email)

    found.last_seen_at = now
    return found


def identity_of(params: Mapping) -> tuple[str | None, str | None]:
    """The call's remote id and email as text; refuse a call that has neither."""
    remote_id = text_param(params, "id") or None
    email = text_param(params, "email") or None
    if remote_id is None and email is None:
        raise ApiError.bad_request(MISSING_IDENTITY)

    return remote_id, email


def account_of(params: Mapping) -> dict | None:
    """The call's `account` object, if any; refuse a non-object or one without id."""
    if "account" not in params:
        return None

    account = params["account"]
    if not isinstance(account, dict):
        raise ApiError.bad_request(ACCOUNT_NOT_OBJECT)

    if not text_param(account, "id"):
        raise ApiError.bad_request(ACCOUNT_WITHOUT_ID)

    return account


def event_name_of(params: Mapping) -> str:
    """The call's event name; refuse a call without one."""
    name = text_param(params, "event")
    if not name:
        raise ApiError.bad_request(MISSING_EVENT)

    return name


class Store:
    """Every environment the mock knows, in order of first use."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._environments: dict[str, Environment] = {}
        self._lock = threading.RLock()
        self._keeping_changes = False
        self._written: dict[str, Environment] = {}
        self._replaced = False

    @property
    def lock(self) -> threading.RLock:
        """The lock every read and write of the state holds (reentrant)."""
        return self._lock

    def keep_changes(self) -> None:
        """From now on, remember what each write changes until `saved`."""
        with self._lock:
            self._keeping_changes = True

    def changes(self) -> tuple[bool, list[Environment]]:
        """Whether the whole state was replaced since the last `saved`, and the
        environments written since then (each with the entities it marked)."""
        with self._lock:
            return self._replaced, list(self._written.values())

    def saved(self) -> None:
        """Forget the changes `changes` gave: they are written."""
        with self._lock:
            for env in self._written.values():
                env.changes.touched.clear()

            self._written.clear()
            self._replaced = False

    def identify(
        self, api_key: str, params: Mapping, now: datetime | None = None
    ) -> Identified:
        """Create or update a contact, its traits and its account (identify-user)."""
        remote_id, email = identity_of(params)
        account_params = account_of(params)

        with self._lock:
            now = self._now(now)
            env = self._environments.get(api_key) or Environment(api_key)
            with self._changing(env):
                return self._identify(
                    env, params, remote_id, email, account_params, now
                )

    def _identify(
        self,
        env: Environment,
        params: Mapping,
        remote_id: str | None,
        email: str | None,
        account_params: Mapping | None,
        now: datetime,
    ) -> Identified:
        notes: list[str] = []
        new_traits: dict[str, str] = {}

        contact = find_contact(env, remote_id, email)
        contact_uuid = self._new_id(env) if contact is None else contact.uuid
        trait_values = self._trait_values(params, IDENTITY_PARAMS, "trait", notes)
        attributes = self._typed_traits(env, trait_values, "", new_traits, notes)
        account_change: AccountChange | None = None
        if account_params is not None:
            account_change = self._account_change(
                env, account_params, new_traits, notes
            )

        self._environments.setdefault(env.api_key, env)
        env.register_traits(new_traits)

        if contact is None:
            contact = Contact(contact_uuid, remote_id, email, now, now)
            env.add_contact(contact)
        else:
            new_remote_id = contact.remote_id or remote_id
            env.set_identity(contact, new_remote_id, email or contact.email)

        contact.last_seen_at = now
        contact.attributes.update(attributes)
        if "name" in params:
            contact.display_name = self._display_text(params["name"])

        if account_change is not None:
            self._apply_account_change(env, contact, account_change, now)

        env.usage.count(now, user=contact.uuid)
        return Identified(copy_contact(contact), notes)

    def track(
        self, api_key: str, params: Mapping, path: str, now: datetime | None = None
    ) -> Tracked:
        """Record an event for a contact, creating the contact if nobody matches."""
        remote_id, email = identity_of(params)
        name = event_name_of(params)
        dropped = [key for key in params if key not in TRACK_PARAMS]
        notes = [f"parameters not stored: {', '.join(dropped)}"] if dropped else []

        with self._lock:
            now = self._now(now)
            env = self._environments.get(api_key) or Environment(api_key)
            with self._changing(env):
                contact = find_contact(env, remote_id, email)
                contact_uuid = self._new_id(env) if contact is None else contact.uuid
                event = Event(self._new_id(env), name, now, path, contact_uuid)

                self._environments.setdefault(api_key, env)

                contact = keep_contact(
                    env, contact, contact_uuid, remote_id, email, now
                )
                contact.last_tracking_event_at = now
                env.add_event(event)
                env.usage.count(now, user=contact.uuid, event=name)

                return Tracked(copy.copy(event), notes)

    @contextmanager
    def reading(self, api_key: str) -> Iterator[Environment]:
        """The environment of a key under the lock; an unknown key reads as empty."""
        with self._lock:
            yield self._environments.get(api_key) or Environment(api_key)

    @contextmanager
    def writing(self, api_key: str) -> Iterator[Environment]:
        """The environment of a key under the lock, kept if the block succeeds.

        Operations check everything before they change anything, so a refusal
        raised inside the block leaves the state as it was.
        """
        with self._lock:
            env = self._environments.get(api_key) or Environment(api_key)
            with self._changing(env):
                yield env
                self._environments.setdefault(api_key, env)

    def environments(self) -> list[Environment]:
        """Every environment, in order of first use (a copy of the list)."""
        with self._lock:
            return list(self._environments.values())

    def replace(self, environments: list[Environment]) -> None:
        """Put these environments in place of all the state (seeding, loading)."""
        with self._lock:
            self._environments = {env.api_key: env for env in environments}
            self._replaced_all()

    def snapshot(self, api_key: str | None = None) -> dict:
        """The state as plain dicts: one environment, or all of them."""
        with self._lock:
            if api_key is not None:
                env = self._environments.get(api_key) or Environment(api_key)
                return render_environment(env)

            return {
                "environments": [
                    render_environment(env) for env in self._environments.values()
                ]
            }

    def reset(self) -> None:
        """Forget every environment."""
        with self._lock:
            self._environments.clear()
            self._replaced_all()

    @contextmanager
    def _changing(self, env: Environment) -> Iterator[None]:
        """Mark what a write reaches in `env`, when changes are kept; an
        environment that is kept afterwards is one to save."""
        env.changes.on = self._keeping_changes
        try:
            yield
        finally:
            env.changes.on = False
            if self._environments.get(env.api_key) is env:
                if self._keeping_changes:
                    self._written[env.api_key] = env
            else:
                env.changes.touched.clear()

    def _replaced_all(self) -> None:
        for env in self._written.values():
            env.changes.touched.clear()

        self._written.clear()
        self._replaced = self._keeping_changes

    def _account_change(
        self,
        env: Environment,
        account_params: Mapping,
        new_traits: dict[str, str],
        notes: list[str],
    ) -> AccountChange:
        remote_id = text_param(account_params, "id")
        account = env.account_with_remote_id(remote_id)
        trait_values = self._trait_values(
            account_params, ACCOUNT_IDENTITY, "account trait", notes
        )
        fields = {
            field_name: self._display_text(account_params[key])
            for key, field_name in (("name", "display_name"), ("domain", "domain"))
            if key in account_params
        }
        return AccountChange(
            account=account,
            uuid=self._new_id(env) if account is None else account.uuid,
            remote_id=remote_id,
            attributes=self._typed_traits(
                env, trait_values, ACCOUNT_TRAIT_PREFIX, new_traits, notes
            ),
            fields=fields,
        )

    def _apply_account_change(
        self, env: Environment, contact: Contact, change: AccountChange, now: datetime
    ) -> None:
        account = change.account
        if account is None:
            account = Account(change.uuid, change.remote_id, now, now)
            env.add_account(account)

        account.last_seen_at = now
        account.attributes.update(change.attributes)
        for field_name, text in change.fields.items():
            setattr(account, field_name, text)

        env.link(contact, account)

    def _trait_values(
        self, params: Mapping, reserved: frozenset, label: str, notes: list[str]
    ) -> dict:
        values = {}
        for key, value in params.items():
            if key in reserved:
                continue

            if key in COMPUTED_TRAITS:
                notes.append(f"{label} {key!r} is computed by Refiner; not stored")
                continue

            values[key] = value

        return values

    def _typed_traits(
        self,
        env: Environment,
        values: Mapping,
        prefix: str,
        new_traits: dict[str, str],
        notes: list[str],
    ) -> dict:
        accepted = {}
        for name, value in values.items():
            typed = type_trait(name, value, self.settings.string_cap)
            notes.extend(typed.notes)

            registered_name = prefix + name
            known = env.traits.get(registered_name) or new_traits.get(registered_name)
            if known is None:
                if len(env.traits) + len(new_traits) >= self.settings.trait_limit:
                    notes.append(
                        f"trait {registered_name!r} not created: the environment "
                        f"already has {self.settings.trait_limit} traits"
                    )
                    continue

                new_traits[registered_name] = typed.type
            elif known != typed.type:
                notes.append(
                    f"trait {registered_name!r} is registered as {known}; "
                    f"this {typed.type} value is stored as sent"
                )

            accepted[name] = typed.value

        return accepted

    def _display_text(self, value: object) -> str:
        text, _ = cap_text("name", as_text(value), self.settings.string_cap)
        return text

    def _now(self, now: datetime | None) -> datetime:
        moment = self.settings.clock() if now is None else now
        if not isinstance(moment, datetime):
            raise TypeError(f"the clock gave {moment!r}, not a datetime")

        return moment

    def _new_id(self, env: Environment) -> str:
        return env.new_uuid(self.settings.ids)
