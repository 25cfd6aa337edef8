"""Keeping the mock's state and journal in a SQLite file, so they outlive the process.

`StateFile(path)` opens the file, creating it when it does not exist; `restore` puts
what it holds into a store and a journal, and `save` writes what changed since the
last save in one transaction: the rows of the entities each write marked (see
`mock_refiner.models.ChangeLog`), the calls journaled and those dropped. A save costs
what the calls changed, not the size of the state; replacing or resetting the state
rewrites it all. The caller holds the store's lock around the change and its save.

Durability: the file is in WAL mode with `synchronous=NORMAL`. A committed
transaction survives the process being killed at any moment (the WAL is in the
operating system's hands once written); a power cut or an operating system crash may
lose the last transactions, which a test bed can afford. Where WAL is not available,
`synchronous=FULL` is used instead.

Layout, schema version 1 (`PRAGMA user_version`; `PRAGMA application_id` marks the
file as the mock's): one row per environment, contact, account, event, segment, form,
response, tag and trait, holding the entity's JSON with the field names of a state
document (`docs/architecture.md`) and times as the admin API writes them; one row per
segment member and per tracked user of the month; one row per journaled call, holding
its CALL JSON, and the journal's next id and dropped count. Rows are read back in
`position` order, the order they were first written, which is the environment's own
order; a contact's `email_order` and `link_order` say when it got its email and joined
its account, the orders the environment's lookups keep.

A file that is not a SQLite database, a SQLite database of another application, a
state file of a newer schema or one missing tables is refused with a `StateError`
naming the file; it is inspected read-only and left as it is.

Limitations: one process may use a file at a time; two would each keep their own
state in memory and overwrite each other's rows. The file does not shrink when calls
are dropped or the state is reset (run `VACUUM` on a stopped mock's file for that).
"""

import json
import logging
import sqlite3
from datetime import datetime
from pathlib import Path

from mock_refiner.journal import Entry, Journal, JournalState
from mock_refiner.models import (
    ACCOUNT,
    CONTACT,
    EVENT,
    FORM,
    RESPONSE,
    SEGMENT,
    TAG,
    TRAIT,
    Account,
    Contact,
    Environment,
    Event,
    Form,
    Response,
    Segment,
    Tag,
    Usage,
)
from mock_refiner.state import StateError
from mock_refiner.store import Store
from mock_refiner.traits import format_time

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x52464D4B
"""`RFMK` in the file header: a state file of the mock Refiner."""

SCHEMA = (
    """CREATE TABLE environments (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL)""",
    """CREATE TABLE contacts (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        email TEXT,
        email_order INTEGER,
        account_uuid TEXT,
        link_order INTEGER,
        body TEXT NOT NULL,
        UNIQUE (api_key, uuid))""",
    """CREATE TABLE accounts (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (api_key, uuid))""",
    """CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        contact_uuid TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (api_key, uuid))""",
    "CREATE INDEX events_by_contact ON events (api_key, contact_uuid)",
    """CREATE TABLE segments (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (api_key, uuid))""",
    """CREATE TABLE segment_members (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        segment_uuid TEXT NOT NULL,
        contact_uuid TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (api_key, segment_uuid, contact_uuid))""",
    "CREATE INDEX members_by_contact ON segment_members (api_key, contact_uuid)",
    """CREATE TABLE forms (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (api_key, uuid))""",
    """CREATE TABLE responses (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        contact_uuid TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (api_key, uuid))""",
    "CREATE INDEX responses_by_contact ON responses (api_key, contact_uuid)",
    """CREATE TABLE tags (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        name TEXT NOT NULL,
        uuid TEXT NOT NULL,
        UNIQUE (api_key, name))""",
    """CREATE TABLE traits (
        position INTEGER PRIMARY KEY,
        api_key TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        UNIQUE (api_key, name))""",
    """CREATE TABLE tracked_users (
        api_key TEXT NOT NULL,
        uuid TEXT NOT NULL,
        PRIMARY KEY (api_key, uuid)) WITHOUT ROWID""",
    """CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        status INTEGER,
        body TEXT NOT NULL)""",
    """CREATE TABLE journal (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        next_id INTEGER NOT NULL,
        dropped INTEGER NOT NULL)""",
    "INSERT INTO journal VALUES (1, 1, 0)",
)
TABLES = (
    "environments",
    "contacts",
    "accounts",
    "events",
    "segments",
    "segment_members",
    "forms",
    "responses",
    "tags",
    "traits",
    "tracked_users",
    "calls",
    "journal",
)
STATE_TABLES = TABLES[:-2]

UPSERT_ENVIRONMENT = """INSERT INTO environments (api_key, body) VALUES (?, ?)
    ON CONFLICT (api_key) DO UPDATE SET body = excluded.body"""
UPSERT_CONTACT = """INSERT INTO contacts
    (api_key, uuid, email, email_order, account_uuid, link_order, body)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (api_key, uuid) DO UPDATE SET
        body = excluded.body,
        email_order = CASE WHEN email IS excluded.email THEN email_order
            ELSE excluded.email_order END,
        email = excluded.email,
        link_order = CASE WHEN account_uuid IS excluded.account_uuid THEN link_order
            ELSE excluded.link_order END,
        account_uuid = excluded.account_uuid"""
UPSERT_ACCOUNT = """INSERT INTO accounts (api_key, uuid, body) VALUES (?, ?, ?)
    ON CONFLICT (api_key, uuid) DO UPDATE SET body = excluded.body"""
INSERT_EVENT = """INSERT INTO events (api_key, uuid, contact_uuid, body)
    VALUES (?, ?, ?, ?)
    ON CONFLICT (api_key, uuid) DO UPDATE SET body = excluded.body"""
UPSERT_SEGMENT = """INSERT INTO segments (api_key, uuid, body) VALUES (?, ?, ?)
    ON CONFLICT (api_key, uuid) DO UPDATE SET body = excluded.body"""
INSERT_MEMBER = """INSERT OR IGNORE INTO segment_members
    (api_key, segment_uuid, contact_uuid, created_at) VALUES (?, ?, ?, ?)"""
DELETE_MEMBER = """DELETE FROM segment_members
    WHERE api_key = ? AND segment_uuid = ? AND contact_uuid = ?"""
UPSERT_FORM = """INSERT INTO forms (api_key, uuid, body) VALUES (?, ?, ?)
    ON CONFLICT (api_key, uuid) DO UPDATE SET body = excluded.body"""
UPSERT_RESPONSE = """INSERT INTO responses (api_key, uuid, contact_uuid, body)
    VALUES (?, ?, ?, ?)
    ON CONFLICT (api_key, uuid) DO UPDATE SET body = excluded.body"""
UPSERT_TAG = """INSERT INTO tags (api_key, name, uuid) VALUES (?, ?, ?)
    ON CONFLICT (api_key, name) DO UPDATE SET uuid = excluded.uuid"""
UPSERT_TRAIT = """INSERT INTO traits (api_key, name, type) VALUES (?, ?, ?)
    ON CONFLICT (api_key, name) DO UPDATE SET type = excluded.type"""
INSERT_TRACKED_USER = (
    "INSERT OR IGNORE INTO tracked_users (api_key, uuid) VALUES (?, ?)"
)
ORDERED = "ORDER BY position"

_encode = json.JSONEncoder(separators=(",", ":")).encode


class StateFile:
    """A SQLite file holding the state and the journal of one mock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        existing = self._check()
        self._connection = self._connect(existing)
        self._months: dict[str, str] = {}
        self._first_kept: int | None = None
        row = self._connection.execute(
            "SELECT max(coalesce(max(email_order), 0), coalesce(max(link_order), 0)) "
            "FROM contacts"
        ).fetchone()
        self._order = row[0]

    @property
    def rows_written(self) -> int:
        """How many rows this mock has inserted, changed or deleted in the file."""
        return self._connection.total_changes

    def close(self) -> None:
        """Close the file; everything saved stays in it."""
        self._connection.close()

    def restore(self, store: Store, journal: Journal) -> None:
        """Put the saved state into `store` and the saved calls into `journal`."""
        part = "state"
        try:
            environments = self._read_environments()
            part = "journal"
            entries = [
                Entry(number, path, status, body)
                for number, path, status, body in self._connection.execute(
                    "SELECT id, path, status, body FROM calls ORDER BY id"
                )
            ]
            next_id, dropped = self._connection.execute(
                "SELECT next_id, dropped FROM journal"
            ).fetchone()
        except (
            sqlite3.Error,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as error:
            raise StateError(
                f"{self.path}: a damaged state file: the {part} cannot be read "
                f"({type(error).__name__}: {error})"
            ) from None

        store.replace(list(environments.values()))
        journal.restore(entries, next_id, dropped)
        logger.info(
            "restored %d environments and %d calls from %s",
            len(environments),
            len(entries),
            self.path,
        )

    def save(self, store: Store, journal: Journal) -> None:
        """Write what changed in `store` and `journal` since the last save, in one
        transaction; raises `StateError` (saving nothing) when the file cannot be
        written, and the changes wait for the next save."""
        replaced, written = store.changes()
        calls = journal.take_changes()
        months = dict(self._months)
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            if replaced:
                months = {}
                for table in STATE_TABLES:
                    connection.execute(f"DELETE FROM {table}")
                for env in store.environments():
                    self._write_environment(env, months)
            for env in written:
                self._write_changes(env, months)
            self._write_calls(calls)
            connection.execute("COMMIT")
        except BaseException as error:
            self._roll_back()
            journal.give_back(calls.changes)
            if isinstance(error, sqlite3.Error):
                raise StateError(f"{self.path}: cannot be written: {error}") from error
            raise

        self._months = months
        self._first_kept = calls.first_kept
        store.saved()

    def _roll_back(self) -> None:
        try:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
        except sqlite3.Error:
            logger.exception("%s: could not roll back", self.path)

    def _check(self) -> bool:
        """Whether the file holds a state file of this schema (False when it is new
        or an empty database); refuses anything else without changing it.

        A file without a WAL beside it is read as immutable, so no `-shm` or `-wal`
        file appears; one with a WAL (a mock that was killed) is read read-only."""
        if not self.path.exists():
            return False

        wal = self.path.with_name(f"{self.path.name}-wal")
        how = "mode=ro" if wal.exists() else "immutable=1"
        try:
            uri = f"{self.path.resolve().as_uri()}?{how}"
            connection = sqlite3.connect(uri, uri=True)
        except (OSError, sqlite3.Error) as error:
            raise StateError(f"{self.path}: cannot be opened: {error}") from None

        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
        except sqlite3.OperationalError as error:
            raise StateError(f"{self.path}: cannot be read: {error}") from None
        except sqlite3.DatabaseError:
            raise StateError(
                f"{self.path}: not a state file of the mock: not a SQLite database"
            ) from None
        finally:
            connection.close()

        if application_id == 0 and not tables:
            return False
        if application_id != APPLICATION_ID:
            raise StateError(
                f"{self.path}: not a state file of the mock: a SQLite database of "
                "another application"
            )
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: a state file of schema version {version}, newer than "
                f"this mock reads ({SCHEMA_VERSION})"
            )
        missing = [table for table in TABLES if table not in tables]
        if version < SCHEMA_VERSION or missing:
            raise StateError(
                f"{self.path}: a damaged state file (schema version {version}, "
                f"missing tables: {', '.join(missing) or 'none'})"
            )
        return True

    def _connect(self, existing: bool) -> sqlite3.Connection:
        """The one connection, shared by the server's threads under the store's
        lock; the schema is created in a new file."""
        try:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode == "wal":
                connection.execute("PRAGMA synchronous = NORMAL")
            else:
                logger.warning("%s: WAL mode not available (%s)", self.path, mode)
                connection.execute("PRAGMA synchronous = FULL")

            if not existing:
                connection.execute("BEGIN IMMEDIATE")
                for statement in SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                connection.execute("COMMIT")
                logger.info("created the state file %s", self.path)
        except sqlite3.Error as error:
            raise StateError(f"{self.path}: cannot be opened: {error}") from None

        return connection

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _write_environment(self, env: Environment, months: dict[str, str]) -> None:
        """Every row of one environment (after the state was replaced)."""
        api_key = env.api_key
        execute_many = self._connection.executemany
        self._connection.execute(UPSERT_ENVIRONMENT, (api_key, environment_body(env)))

        execute_many(
            UPSERT_ACCOUNT,
            ((api_key, a.uuid, account_body(a)) for a in env.accounts.values()),
        )

        email_orders: dict[str, int] = {}
        for contact in env.contacts.values():
            if contact.email is not None and contact.uuid not in email_orders:
                for holder in env.contacts_with_email(contact.email):
                    email_orders[holder.uuid] = self._next_order()
        link_orders = {
            contact_uuid: self._next_order()
            for account in env.accounts.values()
            for contact_uuid in account.contact_uuids
        }
        execute_many(
            UPSERT_CONTACT,
            (
                contact_row(
                    api_key,
                    contact,
                    email_orders.get(contact.uuid),
                    link_orders.get(contact.uuid),
                )
                for contact in env.contacts.values()
            ),
        )

        execute_many(INSERT_EVENT, (event_row(api_key, e) for e in env.events))
        for segment in env.segments.values():
            self._write_segment(api_key, segment)
        execute_many(
            UPSERT_FORM, ((api_key, f.uuid, form_body(f)) for f in env.forms.values())
        )
        execute_many(
            UPSERT_RESPONSE,
            (response_row(api_key, r) for r in env.responses.values()),
        )
        execute_many(UPSERT_TAG, ((api_key, t.name, t.uuid) for t in env.tags.values()))
        execute_many(
            UPSERT_TRAIT, ((api_key, name, kind) for name, kind in env.traits.items())
        )
        self._write_usage(env, [], months)

    def _write_changes(self, env: Environment, months: dict[str, str]) -> None:
        """The rows of the entities a write marked in one environment."""
        api_key = env.api_key
        execute = self._connection.execute
        execute(UPSERT_ENVIRONMENT, (api_key, environment_body(env)))

        contacts: list[Contact] = []
        segments: list[Segment] = []
        for (kind, key), entity in list(env.changes.touched.items()):
            if kind == CONTACT:
                contact = dict.get(env.contacts, key)
                if contact is None:
                    self._delete_contact(api_key, key)
                else:
                    execute(UPSERT_CONTACT, self._contact_row(api_key, contact))
                    contacts.append(contact)
            elif kind == ACCOUNT:
                account = dict.get(env.accounts, key)
                if account is not None:
                    execute(UPSERT_ACCOUNT, (api_key, key, account_body(account)))
            elif kind == EVENT:
                if isinstance(entity, Event) and entity.contact_uuid in env.contacts:
                    execute(INSERT_EVENT, event_row(api_key, entity))
            elif kind == SEGMENT:
                segment = dict.get(env.segments, key)
                if segment is not None:
                    execute(UPSERT_SEGMENT, (api_key, key, segment_body(segment)))
                    segments.append(segment)
            elif kind == FORM:
                form = dict.get(env.forms, key)
                if form is not None:
                    execute(UPSERT_FORM, (api_key, key, form_body(form)))
            elif kind == RESPONSE:
                response = dict.get(env.responses, key)
                if response is None:
                    execute(
                        "DELETE FROM responses WHERE api_key = ? AND uuid = ?",
                        (api_key, key),
                    )
                else:
                    execute(UPSERT_RESPONSE, response_row(api_key, response))
            elif kind == TAG:
                tag = env.tags.get(key)
                if tag is not None:
                    execute(UPSERT_TAG, (api_key, tag.name, tag.uuid))
            elif kind == TRAIT and key in env.traits:
                execute(UPSERT_TRAIT, (api_key, key, env.traits[key]))

        for segment in segments:
            for contact in contacts:
                self._write_membership(api_key, segment, contact)

        self._write_usage(env, contacts, months)

    def _contact_row(self, api_key: str, contact: Contact) -> tuple:
        return contact_row(api_key, contact, self._next_order(), self._next_order())

    def _delete_contact(self, api_key: str, contact_uuid: str) -> None:
        """A deleted contact goes with its events, responses and memberships."""
        for table, column in (
            ("contacts", "uuid"),
            ("events", "contact_uuid"),
            ("responses", "contact_uuid"),
            ("segment_members", "contact_uuid"),
        ):
            self._connection.execute(
                f"DELETE FROM {table} WHERE api_key = ? AND {column} = ?",
                (api_key, contact_uuid),
            )

    def _write_segment(self, api_key: str, segment: Segment) -> None:
        self._connection.execute(
            UPSERT_SEGMENT, (api_key, segment.uuid, segment_body(segment))
        )
        self._connection.executemany(
            INSERT_MEMBER,
            (
                (api_key, segment.uuid, contact_uuid, format_time(joined))
                for contact_uuid, joined in segment.members.items()
            ),
        )

    def _write_membership(
        self, api_key: str, segment: Segment, contact: Contact
    ) -> None:
        joined = segment.members.get(contact.uuid)
        if joined is None:
            self._connection.execute(
                DELETE_MEMBER, (api_key, segment.uuid, contact.uuid)
            )
        else:
            self._connection.execute(
                INSERT_MEMBER,
                (api_key, segment.uuid, contact.uuid, format_time(joined)),
            )

    def _write_usage(
        self, env: Environment, contacts: list[Contact], months: dict[str, str]
    ) -> None:
        """This month's tracked users: all of them in a new month, else those of
        the contacts written."""
        api_key, usage = env.api_key, env.usage
        if months.get(api_key) != usage.month:
            self._connection.execute(
                "DELETE FROM tracked_users WHERE api_key = ?", (api_key,)
            )
            users = list(usage.tracked_users)
            months[api_key] = usage.month
        else:
            users = [c.uuid for c in contacts if c.uuid in usage.tracked_users]

        self._connection.executemany(
            INSERT_TRACKED_USER, ((api_key, user) for user in users)
        )

    def _write_calls(self, calls: JournalState) -> None:
        execute = self._connection.execute
        if calls.changes.cleared:
            execute("DELETE FROM calls")

        self._connection.executemany(
            "INSERT OR REPLACE INTO calls (id, path, status, body) VALUES (?, ?, ?, ?)",
            (
                (entry.id, entry.path, entry.status, entry.text)
                for entry in calls.changes.added
                if entry.id >= calls.first_kept
            ),
        )
        if calls.first_kept != self._first_kept:
            execute("DELETE FROM calls WHERE id < ?", (calls.first_kept,))
        execute(
            "UPDATE journal SET next_id = ?, dropped = ?",
            (calls.next_id, calls.dropped),
        )

    def _read_environments(self) -> dict[str, Environment]:
        rows = self._connection.execute
        environments: dict[str, Environment] = {}
        for api_key, body in rows(f"SELECT api_key, body FROM environments {ORDERED}"):
            fields = json.loads(body)
            env = Environment(api_key, fields["name"])
            env.usage = read_usage(fields["usage"])
            environments[api_key] = env
            self._months[api_key] = env.usage.month

        for api_key, uuid in rows("SELECT api_key, uuid FROM tracked_users"):
            environments[api_key].usage.tracked_users.add(uuid)

        for api_key, body in rows(f"SELECT api_key, body FROM accounts {ORDERED}"):
            environments[api_key].add_account(read_account(json.loads(body)))

        self._read_contacts(environments)

        for api_key, body in rows(f"SELECT api_key, body FROM events {ORDERED}"):
            environments[api_key].add_event(read_event(json.loads(body)))

        for api_key, body in rows(f"SELECT api_key, body FROM segments {ORDERED}"):
            segment = read_segment(json.loads(body))
            environments[api_key].segments[segment.uuid] = segment
        for api_key, segment_uuid, contact_uuid, joined in rows(
            "SELECT api_key, segment_uuid, contact_uuid, created_at "
            f"FROM segment_members {ORDERED}"
        ):
            members = environments[api_key].segments[segment_uuid].members
            members[contact_uuid] = read_time(joined)

        for api_key, body in rows(f"SELECT api_key, body FROM forms {ORDERED}"):
            form = read_form(json.loads(body))
            environments[api_key].forms[form.uuid] = form

        for api_key, body in rows(f"SELECT api_key, body FROM responses {ORDERED}"):
            response = read_response(json.loads(body))
            environments[api_key].responses[response.uuid] = response

        for api_key, name, uuid in rows(
            f"SELECT api_key, name, uuid FROM tags {ORDERED}"
        ):
            environments[api_key].tags[name] = Tag(uuid, name)

        for api_key, name, kind in rows(
            f"SELECT api_key, name, type FROM traits {ORDERED}"
        ):
            environments[api_key].traits[name] = kind

        return environments

    def _read_contacts(self, environments: dict[str, Environment]) -> None:
        """Contacts in their order, then their emails and accounts in the orders
        they got them."""
        rows = self._connection.execute(
            "SELECT api_key, body, email_order, account_uuid, link_order "
            f"FROM contacts {ORDERED}"
        )
        identities = []
        for api_key, body, email_order, account_uuid, link_order in rows:
            env = environments[api_key]
            fields = json.loads(body)
            contact = read_contact(fields)
            env.add_contact(contact)
            identities.append(
                (env, contact, fields, email_order, account_uuid, link_order)
            )

        identities.sort(key=lambda item: item[3] or 0)
        for env, contact, fields, _, _, _ in identities:
            env.set_identity(contact, fields["remote_id"], fields["email"])

        identities.sort(key=lambda item: item[5] or 0)
        for env, contact, _, _, account_uuid, _ in identities:
            if account_uuid is not None:
                env.link(contact, env.accounts[account_uuid])


def environment_body(env: Environment) -> str:
    usage = env.usage
    return _encode(
        {
            "name": env.name,
            "usage": {
                "month": usage.month,
                "mte": usage.tracked_events,
                "mpv": usage.page_views,
                "msr": usage.survey_responses,
            },
        }
    )


def read_usage(fields: dict) -> Usage:
    return Usage(
        month=fields["month"],
        tracked_events=fields["mte"],
        page_views=fields["mpv"],
        survey_responses=fields["msr"],
    )


def contact_row(
    api_key: str, contact: Contact, email_order: int | None, link_order: int | None
) -> tuple:
    body = {
        "uuid": contact.uuid,
        "remote_id": contact.remote_id,
        "email": contact.email,
        "display_name": contact.display_name,
        "first_seen_at": format_time(contact.first_seen_at),
        "last_seen_at": format_time(contact.last_seen_at),
        "last_tracking_event_at": optional_time(contact.last_tracking_event_at),
        "attributes": contact.attributes,
    }
    return (
        api_key,
        contact.uuid,
        contact.email,
        email_order,
        contact.account_uuid,
        link_order,
        _encode(body),
    )


def read_contact(fields: dict) -> Contact:
    """A contact without its remote id and email, which are set in their order."""
    return Contact(
        uuid=fields["uuid"],
        remote_id=None,
        email=None,
        first_seen_at=read_time(fields["first_seen_at"]),
        last_seen_at=read_time(fields["last_seen_at"]),
        display_name=fields["display_name"],
        last_tracking_event_at=read_optional_time(fields["last_tracking_event_at"]),
        attributes=dict(fields["attributes"]),
    )


def account_body(account: Account) -> str:
    return _encode(
        {
            "uuid": account.uuid,
            "remote_id": account.remote_id,
            "display_name": account.display_name,
            "domain": account.domain,
            "first_seen_at": format_time(account.first_seen_at),
            "last_seen_at": format_time(account.last_seen_at),
            "attributes": account.attributes,
        }
    )


def read_account(fields: dict) -> Account:
    return Account(
        uuid=fields["uuid"],
        remote_id=fields["remote_id"],
        first_seen_at=read_time(fields["first_seen_at"]),
        last_seen_at=read_time(fields["last_seen_at"]),
        display_name=fields["display_name"],
        domain=fields["domain"],
        attributes=dict(fields["attributes"]),
    )


def event_row(api_key: str, event: Event) -> tuple:
    body = {
        "uuid": event.uuid,
        "name": event.name,
        "received_at": format_time(event.received_at),
        "path": event.path,
        "contact": {"uuid": event.contact_uuid},
    }
    return (api_key, event.uuid, event.contact_uuid, _encode(body))


def read_event(fields: dict) -> Event:
    return Event(
        uuid=fields["uuid"],
        name=fields["name"],
        received_at=read_time(fields["received_at"]),
        path=fields["path"],
        contact_uuid=fields["contact"]["uuid"],
    )


def segment_body(segment: Segment) -> str:
    return _encode(
        {"uuid": segment.uuid, "name": segment.name, "is_manual": segment.is_manual}
    )


def read_segment(fields: dict) -> Segment:
    return Segment(
        uuid=fields["uuid"], name=fields["name"], is_manual=fields["is_manual"]
    )


def form_body(form: Form) -> str:
    return _encode(
        {
            "uuid": form.uuid,
            "name": form.name,
            "channels": form.channels,
            "published_at": optional_time(form.published_at),
            "archived_at": optional_time(form.archived_at),
            "created_at": format_time(form.created_at),
            "updated_at": format_time(form.updated_at),
            "page_url": form.page_url,
            "folder": form.folder,
            "config": form.config,
        }
    )


def read_form(fields: dict) -> Form:
    return Form(
        uuid=fields["uuid"],
        name=fields["name"],
        created_at=read_time(fields["created_at"]),
        updated_at=read_time(fields["updated_at"]),
        published_at=read_optional_time(fields["published_at"]),
        archived_at=read_optional_time(fields["archived_at"]),
        channels=list(fields["channels"]),
        page_url=fields["page_url"],
        folder=fields["folder"],
        config=dict(fields["config"]),
    )


RESPONSE_TIMES = (
    "first_shown_at",
    "last_shown_at",
    "first_data_reception_at",
    "last_data_reception_at",
    "completed_at",
    "received_at",
    "dismissed_at",
)


def response_row(api_key: str, response: Response) -> tuple:
    body: dict = {
        "uuid": response.uuid,
        "form_uuid": response.form_uuid,
        "contact_uuid": response.contact_uuid,
        "show_counter": response.show_counter,
        "data": response.data,
        "tag_uuids": response.tag_uuids,
    }
    for name in RESPONSE_TIMES:
        body[name] = optional_time(getattr(response, name))
    return (api_key, response.uuid, response.contact_uuid, _encode(body))


def read_response(fields: dict) -> Response:
    times = {name: read_optional_time(fields[name]) for name in RESPONSE_TIMES}
    return Response(
        uuid=fields["uuid"],
        form_uuid=fields["form_uuid"],
        contact_uuid=fields["contact_uuid"],
        show_counter=fields["show_counter"],
        data=dict(fields["data"]),
        tag_uuids=list(fields["tag_uuids"]),
        **times,
    )


def optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def read_time(text: str) -> datetime:
    """A time as `format_time` writes it."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"a time without its zone: {text!r}")
    return moment


def read_optional_time(text: str | None) -> datetime | None:
    return None if text is None else read_time(text)
