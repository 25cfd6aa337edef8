"""Refiner's entities and the environment that holds them, with its lookups.

An environment is the state behind one API key (Refiner's Production, Testing, ...);
its uuid is derived from the key, so it is the same in every run.
It keeps its indexes (remote id, email) right as contacts change; the rules that
decide what changes live with the operations.

While its `ChangeLog` is on (inside a store's write, when the store is saved to a file),
an environment marks each entity a write may have changed: every contact, account,
segment, form and response reached through its dicts or its lookups, and every new
event, tag and trait. Saving writes those rows and no others.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PAGE_VIEW = "pageView"
CONTACT = "contact"
ACCOUNT = "account"
EVENT = "event"
SEGMENT = "segment"
FORM = "form"
RESPONSE = "response"
TAG = "tag"
TRAIT = "trait"
MAX_ID_DRAWS = 10_000
ENVIRONMENT_NAMESPACE = uuid.UUID("5b1f0c3e-7a52-4d0e-9b8e-2f6d1c4a9e70")


@dataclass(eq=False)
class Account:
    """A Refiner account (a company), found by its remote id."""

    uuid: str
    remote_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    display_name: str | None = None
    domain: str | None = None
    attributes: dict = field(default_factory=dict)
    contact_uuids: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Contact:
    """A Refiner contact (a user), found by remote id or email."""

    uuid: str
    remote_id: str | None
    email: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    display_name: str | None = None
    last_tracking_event_at: datetime | None = None
    attributes: dict = field(default_factory=dict)
    account_uuid: str | None = None


@dataclass
class Event:
    """A tracked event and the path it came in on."""

    uuid: str
    name: str
    received_at: datetime
    path: str
    contact_uuid: str


@dataclass(eq=False)
class Segment:
    """A segment of contacts; only manual ones take members through the API."""

    uuid: str
    name: str
    is_manual: bool = True
    members: dict[str, datetime] = field(default_factory=dict)


@dataclass(eq=False)
class Form:
    """A survey. Archiving hides it from the default list; it is never deleted."""

    uuid: str
    name: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    archived_at: datetime | None = None
    channels: list[str] = field(default_factory=lambda: ["web"])
    page_url: str | None = None
    folder: str | None = None
    config: dict = field(default_factory=lambda: {"form_elements": []})


@dataclass(eq=False)
class Response:
    """A contact's view of a survey, and the answers given, if any."""

    uuid: str
    form_uuid: str
    contact_uuid: str
    first_shown_at: datetime
    last_shown_at: datetime
    show_counter: int = 1
    first_data_reception_at: datetime | None = None
    last_data_reception_at: datetime | None = None
    completed_at: datetime | None = None
    received_at: datetime | None = None
    dismissed_at: datetime | None = None
    data: dict = field(default_factory=dict)
    tag_uuids: list[str] = field(default_factory=list)


@dataclass
class Tag:
    """A response tag, made the first time its name is used."""

    uuid: str
    name: str


@dataclass
class Usage:
    """This month's usage counters of an environment; a new month starts at zero."""

    month: str = ""
    tracked_users: set[str] = field(default_factory=set)
    tracked_events: int = 0
    page_views: int = 0
    survey_responses: int = 0

    def count(
        self,
        now: datetime,
        user: str | None = None,
        event: str | None = None,
        response: bool = False,
    ) -> None:
        """Count a tracked user, a tracked event (``pageView`` is a page view) or a
        survey response in the month of ``now``."""
        month = f"{now.year:04d}-{now.month:02d}"
        if month != self.month:
            self.month = month
            self.tracked_users = set()
            self.tracked_events = self.page_views = self.survey_responses = 0

        if user is not None:
            self.tracked_users.add(user)
        if event is not None:
            self.tracked_events += 1
            self.page_views += event == PAGE_VIEW
        if response:
            self.survey_responses += 1


class ChangeLog:
    """The entities a write may have changed, as `(kind, key)`, marked while `on`."""

    __slots__ = ("on", "touched")

    def __init__(self) -> None:
        self.on = False
        self.touched: dict[tuple[str, str], object] = {}

    def mark(self, kind: str, key: str, entity: object = None) -> None:
        """Note an entity (by uuid; a tag or trait by name) when the log is on."""
        if self.on:
            self.touched[(kind, key)] = entity


class Entities(dict):
    """Entities by uuid; reading or changing one by its key marks it in a log.
    Copies (`copy`, `deepcopy`, `pickle`) are plain dicts."""

    __slots__ = ("changes", "kind")

    def __init__(self, changes: ChangeLog, kind: str) -> None:
        super().__init__()
        self.changes = changes
        self.kind = kind

    def __getitem__(self, key: str) -> Any:
        self.changes.mark(self.kind, key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.changes.mark(self.kind, key)
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.changes.mark(self.kind, key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changes.mark(self.kind, key)
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.changes.mark(self.kind, key)
        return super().pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.changes.mark(self.kind, key)
        return super().setdefault(key, default)

    def __reduce__(self) -> tuple:
        return dict, (dict(self),)


class Environment:
    """The state behind one API key, with lookups by remote id and email."""

    def __init__(self, api_key: str, name: str = "Production") -> None:
        self.api_key = api_key
        self.uuid = str(uuid.uuid5(ENVIRONMENT_NAMESPACE, api_key))
        self.name = name
        self.changes = ChangeLog()
        self.contacts: dict[str, Contact] = Entities(self.changes, CONTACT)
        self.accounts: dict[str, Account] = Entities(self.changes, ACCOUNT)
        self.events: list[Event] = []
        self.traits: dict[str, str] = {}
        self.segments: dict[str, Segment] = Entities(self.changes, SEGMENT)
        self.forms: dict[str, Form] = Entities(self.changes, FORM)
        self.responses: dict[str, Response] = Entities(self.changes, RESPONSE)
        self.tags: dict[str, Tag] = {}
        self.usage = Usage()
        self._event_uuids: set[str] = set()
        self._by_remote_id: dict[str, Contact] = {}
        self._by_email: dict[str, list[Contact]] = {}
        self._accounts_by_remote_id: dict[str, Account] = {}

    def contact_with_remote_id(self, remote_id: str) -> Contact | None:
        """The contact whose remote id is `remote_id`."""
        contact = self._by_remote_id.get(remote_id)
        if contact is not None:
            self.changes.mark(CONTACT, contact.uuid)
        return contact

    def contacts_with_email(self, email: str) -> list[Contact]:
        """The contacts with this exact email, in the order they got it."""
        contacts = list(self._by_email.get(email, []))
        for contact in contacts:
            self.changes.mark(CONTACT, contact.uuid)
        return contacts

    def account_with_remote_id(self, remote_id: str) -> Account | None:
        """The account whose remote id is `remote_id`."""
        account = self._accounts_by_remote_id.get(remote_id)
        if account is not None:
            self.changes.mark(ACCOUNT, account.uuid)
        return account

    def add_contact(self, contact: Contact) -> None:
        """Keep a new contact and index it."""
        remote_id, email = contact.remote_id, contact.email
        contact.remote_id = contact.email = None
        self.contacts[contact.uuid] = contact
        self.set_identity(contact, remote_id, email)

    def set_identity(
        self, contact: Contact, remote_id: str | None, email: str | None
    ) -> None:
        """Change a contact's remote id and email, keeping the lookups right."""
        self.changes.mark(CONTACT, contact.uuid)
        if remote_id != contact.remote_id:
            if contact.remote_id is not None:
                del self._by_remote_id[contact.remote_id]

            contact.remote_id = remote_id
            if remote_id is not None:
                self._by_remote_id[remote_id] = contact

        if email != contact.email:
            if contact.email is not None:
                self._by_email[contact.email].remove(contact)

            contact.email = email
            if email is not None:
                self._by_email.setdefault(email, []).append(contact)

    def add_account(self, account: Account) -> None:
        """Keep a new account and index it."""
        self.accounts[account.uuid] = account
        self._accounts_by_remote_id[account.remote_id] = account

    def link(self, contact: Contact, account: Account) -> None:
        """Make `account` the contact's one account."""
        self.changes.mark(CONTACT, contact.uuid)
        previous = self.accounts.get(contact.account_uuid or "")
        if previous is account:
            return

        if previous is not None:
            previous.contact_uuids.remove(contact.uuid)

        contact.account_uuid = account.uuid
        account.contact_uuids.append(contact.uuid)

    def remove_contact(self, contact: Contact) -> None:
        """Forget a contact with its responses, events, memberships and lookups."""
        self.set_identity(contact, None, None)
        account = self.accounts.get(contact.account_uuid or "")
        if account is not None:
            account.contact_uuids.remove(contact.uuid)

        for segment in self.segments.values():
            segment.members.pop(contact.uuid, None)

        for key in [
            key
            for key, response in self.responses.items()
            if response.contact_uuid == contact.uuid
        ]:
            del self.responses[key]

        self.events = [e for e in self.events if e.contact_uuid != contact.uuid]
        self._event_uuids = {event.uuid for event in self.events}
        del self.contacts[contact.uuid]

    def add_event(self, event: Event) -> None:
        """Keep a tracked event."""
        self.changes.mark(EVENT, event.uuid, event)
        self.events.append(event)
        self._event_uuids.add(event.uuid)

    def taken(self, uuid: str) -> bool:
        """Whether any entity of this environment already has this uuid."""
        return (
            uuid in self.contacts
            or uuid in self.accounts
            or uuid in self.forms
            or uuid in self.segments
            or uuid in self.responses
            or uuid in self._event_uuids
            or any(tag.uuid == uuid for tag in self.tags.values())
        )

    def new_uuid(self, ids: Callable[[], str]) -> str:
        """A new id from `ids` that no entity here has yet (seeded ones included)."""
        for _ in range(MAX_ID_DRAWS):
            new_id = ids()
            if not isinstance(new_id, str) or not new_id:
                raise TypeError(f"the id factory gave {new_id!r}, not text")
            if not self.taken(new_id):
                return new_id

        raise RuntimeError(f"the id factory gave {MAX_ID_DRAWS} ids already in use")

    def segments_of(self, contact: Contact) -> list[Segment]:
        """The segments a contact belongs to, in the environment's order."""
        return [s for s in self.segments.values() if contact.uuid in s.members]

    def tag(self, name: str, ids: Callable[[], str]) -> Tag:
        """The tag with this name, made with a new id from `ids` if it is new."""
        if name not in self.tags:
            self.tags[name] = Tag(self.new_uuid(ids), name)
            self.changes.mark(TAG, name)

        return self.tags[name]

    def register_traits(self, types: dict[str, str]) -> None:
        """Add trait names and their types to the registry."""
        for name in types:
            self.changes.mark(TRAIT, name)

        self.traits.update(types)

    def tag_names(self) -> dict[str, str]:
        """Tag names by uuid."""
        return {tag.uuid: tag.name for tag in self.tags.values()}
