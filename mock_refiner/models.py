"""Refiner's entities and the environment that holds them, with its lookups.

An environment is the state behind one API key (Refiner's Production, Testing, ...).
It keeps its indexes (remote id, email) right as contacts change; the rules that
decide what changes live with the operations.
"""

from dataclasses import dataclass, field
from datetime import datetime


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
    segments: list = field(default_factory=list)
    account_uuid: str | None = None


@dataclass
class Event:
    """A tracked event and the path it came in on."""

    uuid: str
    name: str
    received_at: datetime
    path: str
    contact_uuid: str


class Environment:
    """The state behind one API key, with lookups by remote id and email."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.contacts: dict[str, Contact] = {}
        self.accounts: dict[str, Account] = {}
        self.events: list[Event] = []
        self.traits: dict[str, str] = {}
        self._by_remote_id: dict[str, Contact] = {}
        self._by_email: dict[str, list[Contact]] = {}
        self._accounts_by_remote_id: dict[str, Account] = {}

    def contact_with_remote_id(self, remote_id: str) -> Contact | None:
        """The contact whose remote id is `remote_id`."""
        return self._by_remote_id.get(remote_id)

    def contacts_with_email(self, email: str) -> list[Contact]:
        """The contacts with this exact email, in the order they got it."""
        return list(self._by_email.get(email, []))

    def account_with_remote_id(self, remote_id: str) -> Account | None:
        """The account whose remote id is `remote_id`."""
        return self._accounts_by_remote_id.get(remote_id)

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
        previous = self.accounts.get(contact.account_uuid or "")
        if previous is account:
            return

        if previous is not None:
            previous.contact_uuids.remove(contact.uuid)

        contact.account_uuid = account.uuid
        account.contact_uuids.append(contact.uuid)
