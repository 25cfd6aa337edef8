"""Keeping the mock's state and journal in a SQLite file, so they outlive the process.

`StateFile(path)` opens the file, creating it when it does not exist; `restore` puts
what it holds into a store and a journal, and `save` writes what changed since the
last save in one transaction: the rows of the entities each write marked (see
`mock_refiner.models.ChangeLog`), the calls journaled and those dropped. A save costs
what the calls changed, not the size of the state; replacing or resetting the state
rewrites it all. The caller holds the store's lock around the change and its save.

A save that fails (a full disk) is rolled back, and the store and the journal are
read back from the file: memory is then exactly what the file holds, the change
undone, and `StateWriteError` is raised. Reading back costs as much as a restart,
but only on a failure, and it is the same reading every restart is tested with; an
undo log would have to mirror every change each store operation makes.

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

A path that is empty or not a regular file, a file that is not a SQLite database, a
SQLite database of another application, a state file of a newer schema, one missing
tables, with a damaged page (`PRAGMA quick_check`) or a damaged row (JSON that is not
an object, a field of the wrong type, a reference to nothing, a call that does not
match its row), or one this process may not write, is refused with a `StateError`
naming the file, and the table and row where it can. It is inspected read-only before
it is opened for writing, and left as it is, with no file made beside it.

Limitations: one process may use a file at a time; two would each keep their own
state in memory and overwrite each other's rows. The file does not shrink when calls
are dropped or the state is reset (run `VACUUM` on a stopped mock's file for that).
"""

import json
import logging
import os
import reprlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

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
from mock_refiner.traits import DATE, INTEGER, STRING, format_time

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
TRAIT_TYPES = (STRING, INTEGER, DATE)
TEXT = "text"
OPTIONAL_TEXT = "text or null"
WHOLE = "a whole number"
FLAG = "true or false"
OBJECT = "an object"
LIST = "a list"
LIST_OF_TEXT = "a list of text"
KINDS: dict[str, tuple[type, ...]] = {
    TEXT: (str,),
    OPTIONAL_TEXT: (str, type(None)),
    WHOLE: (int,),
    FLAG: (bool,),
    OBJECT: (dict,),
    LIST: (list,),
    LIST_OF_TEXT: (str,),
}
"""The JSON types of a row's fields, by the name its error message uses."""

_encode = json.JSONEncoder(separators=(",", ":")).encode

READ_ERRORS = (
    sqlite3.Error,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    RecursionError,
)
"""What reading a damaged file may raise; each becomes a `StateError`."""


class StateWriteError(OSError):
    """The state file could not be written; the state and the journal in memory
    are as the file has them, without the change that could not be saved."""


@dataclass
class Place:
    """The table and the row a restore is reading, for its error message."""

    table: str = "environments"
    row: object = None

    def describe(self, error: BaseException) -> str:
        """The place, named as precisely as `error` allows: a SQLite error is about
        the table's pages, any other error about the row just read."""
        if self.row is None or isinstance(error, sqlite3.Error):
            return f"the {self.table} table"

        return f"row {self.row} of {self.table}"


class StateFile:
    """A SQLite file holding the state and the journal of one mock."""

    def __init__(self, path: str | Path) -> None:
        if not os.fspath(path):
            raise StateError("the state file has no name: the path is empty")

        self.path = Path(path)
        existing = self._check()
        self._connection = self._connect(existing)
        self._months: dict[str, str] = {}
        self._first_kept: int | None = None
        self._place = Place()
        try:
            row = self._connection.execute(
                "SELECT max(coalesce(max(email_order), 0), "
                "coalesce(max(link_order), 0)) FROM contacts"
            ).fetchone()
        except sqlite3.Error as error:
            self._connection.close()
            raise self._damaged("the contacts table cannot be read", error) from None
        self._order = row[0]

    @property
    def rows_written(self) -> int:
        """How many rows this mock has inserted, changed or deleted in the file."""
        return self._connection.total_changes

    def close(self) -> None:
        """Close the file; everything saved stays in it."""
        self._connection.close()

    def restore(self, store: Store, journal: Journal) -> None:
        """Put the saved state into `store` and the saved calls into `journal`;
        raises `StateError` naming the table and row of a damaged file, changing
        neither."""
        self._place = Place()
        try:
            months, environments = self._read_environments()
            entries, next_id, dropped = self._read_journal()
        except READ_ERRORS as error:
            raise self._damaged(
                f"{self._place.describe(error)} cannot be read", error
            ) from None

        self._months = months
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
        transaction.

        When the file cannot be written, the transaction is rolled back and the
        state and journal in memory are read back from the file, so they are as
        the file has them again: the changes are undone, not kept for later. Raises
        `StateWriteError` then (or what else the writing raised)."""
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
            self._undo(store, journal, calls)
            if isinstance(error, sqlite3.Error):
                raise StateWriteError(
                    f"{self.path}: cannot be written: {error}"
                ) from error
            raise

        self._months = months
        self._first_kept = calls.first_kept
        store.saved()

    def _undo(self, store: Store, journal: Journal, calls: JournalState) -> None:
        """After a failed save: roll back, and read the state and the journal back
        from the file. Should that fail too, memory keeps the changes and the next
        save writes them."""
        try:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            self.restore(store, journal)
        except (sqlite3.Error, StateError):
            logger.exception(
                "%s: could not read back what the file holds; the changes are kept "
                "in memory for the next save",
                self.path,
            )
            journal.give_back(calls.changes)
            return

        store.saved()
        logger.error("%s: the change could not be saved and was undone", self.path)

    def _damaged(self, problem: str, error: BaseException) -> StateError:
        return StateError(
            f"{self.path}: a damaged state file: {problem} "
            f"({type(error).__name__}: {error})"
        )

    def _check(self) -> bool:
        """Whether the file holds a state file of this schema (False when it is new
        or an empty database); refuses anything else without changing it or
        leaving a file beside it: something that is not a regular file, a file
        that is not a state file or is damaged, one this process may not write.

        A file without a WAL beside it is read as immutable, so no `-shm` or `-wal`
        file appears; one with a WAL (a mock that was killed) is read read-only.
        Every page is read (`PRAGMA quick_check`), so damage anywhere is found
        before the file is opened for writing."""
        if not self.path.exists():
            return False

        if not self.path.is_file():
            raise StateError(f"{self.path}: not a regular file")

        wal = self.path.with_name(f"{self.path.name}-wal")
        how = "mode=ro" if wal.exists() else "immutable=1"
        try:
            uri = f"{self.path.resolve().as_uri()}?{how}"
            connection = sqlite3.connect(uri, uri=True)
        except (OSError, sqlite3.Error) as error:
            raise StateError(f"{self.path}: cannot be opened: {error}") from None

        try:
            existing = self._inspect(connection)
        finally:
            connection.close()

        self._check_writable()
        return existing

    def _inspect(self, connection: sqlite3.Connection) -> bool:
        """`_check` on an open read-only connection."""
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
        except sqlite3.Error as error:
            raise self._unreadable(error) from None

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

        try:
            [problem] = connection.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.Error as error:
            raise self._unreadable(error) from None
        if problem != "ok":
            problem = " ".join(problem.replace("*** in database main ***", "").split())
            raise StateError(f"{self.path}: a damaged state file: {problem}")
        return True

    def _unreadable(self, error: sqlite3.Error) -> StateError:
        name = getattr(error, "sqlite_errorname", "")
        if name == "SQLITE_NOTADB":
            return StateError(
                f"{self.path}: not a state file of the mock: not a SQLite database"
            )
        if name == "SQLITE_CORRUPT":
            return StateError(f"{self.path}: a damaged state file: {error}")
        return StateError(f"{self.path}: cannot be read: {error}")

    def _check_writable(self) -> None:
        """Refuse a file, or a folder for its `-wal` and `-shm` files, that this
        process may not write: SQLite would open it read-only and leave those
        files behind when the first write fails."""
        try:
            descriptor = os.open(self.path, os.O_RDWR)
        except OSError as error:
            raise StateError(
                f"{self.path}: cannot be written: {error.strerror}"
            ) from None
        os.close(descriptor)

        folder = self.path.parent
        if not os.access(folder, os.W_OK | os.X_OK, effective_ids=True):
            raise StateError(
                f"{self.path}: cannot be written: no permission to add files to "
                f"{folder}"
            )

    def _connect(self, existing: bool) -> sqlite3.Connection:
        """The one connection, shared by the server's threads under the store's
        lock; the schema is created in a new file."""
        connection: sqlite3.Connection | None = None
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
            if connection is not None:
                connection.close()
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

    def _rows(self, table: str, columns: str, key: str = "position") -> Iterator[tuple]:
        """The rows of a table in `key` order, `key` first; each is noted as the
        place being read."""
        self._place = Place(table)
        for row in self._connection.execute(
            f"SELECT {key}, {columns} FROM {table} ORDER BY {key}"
        ):
            self._place.row = row[0]
            yield row

    def _read_environments(self) -> tuple[dict[str, str], dict[str, Environment]]:
        """The month of each environment's tracked users, and the environments.

        Every row is read in full and every reference checked, so a damaged row is
        refused here rather than found by a later call."""
        months: dict[str, str] = {}
        environments: dict[str, Environment] = {}
        for _, api_key, body in self._rows("environments", "api_key, body"):
            fields = read_object(body)
            env = Environment(
                typed(api_key, "api_key", TEXT), typed_field(fields, "name", TEXT)
            )
            env.usage = read_usage(typed_field(fields, "usage", OBJECT))
            environments[api_key] = env
            months[api_key] = env.usage.month

        for _, api_key, uuid in self._rows("tracked_users", "api_key, uuid", "uuid"):
            environments[api_key].usage.tracked_users.add(typed(uuid, "uuid", TEXT))

        for _, api_key, body in self._rows("accounts", "api_key, body"):
            environments[api_key].add_account(read_account(read_object(body)))

        self._read_contacts(environments)

        for _, api_key, body in self._rows("events", "api_key, body"):
            env = environments[api_key]
            event = read_event(read_object(body))
            known(env.contacts, event.contact_uuid, "contact")
            env.add_event(event)

        for _, api_key, body in self._rows("segments", "api_key, body"):
            segment = read_segment(read_object(body))
            environments[api_key].segments[segment.uuid] = segment
        for _, api_key, segment_uuid, contact_uuid, joined in self._rows(
            "segment_members", "api_key, segment_uuid, contact_uuid, created_at"
        ):
            env = environments[api_key]
            known(env.contacts, contact_uuid, "contact")
            members = known(env.segments, segment_uuid, "segment").members
            members[contact_uuid] = read_time(joined)

        for _, api_key, body in self._rows("forms", "api_key, body"):
            form = read_form(read_object(body))
            environments[api_key].forms[form.uuid] = form

        for _, api_key, name, uuid in self._rows("tags", "api_key, name, uuid"):
            tag = Tag(typed(uuid, "uuid", TEXT), typed(name, "name", TEXT))
            environments[api_key].tags[name] = tag

        tags = {key: env.tag_names() for key, env in environments.items()}
        for _, api_key, body in self._rows("responses", "api_key, body"):
            env = environments[api_key]
            response = read_response(read_object(body))
            known(env.contacts, response.contact_uuid, "contact")
            for tag_uuid in response.tag_uuids:
                known(tags[api_key], tag_uuid, "tag")
            env.responses[response.uuid] = response

        for _, api_key, name, kind in self._rows("traits", "api_key, name, type"):
            if kind not in TRAIT_TYPES:
                raise ValueError(f"type must be one of {TRAIT_TYPES}, not {kind!r}")
            environments[api_key].traits[typed(name, "name", TEXT)] = kind

        return months, environments

    def _read_contacts(self, environments: dict[str, Environment]) -> None:
        """Contacts in their order, then their emails and accounts in the orders
        they got them."""
        identities = []
        for (
            position,
            api_key,
            body,
            email_order,
            account_uuid,
            link_order,
        ) in self._rows(
            "contacts", "api_key, body, email_order, account_uuid, link_order"
        ):
            env = environments[api_key]
            fields = read_object(body)
            contact = read_contact(fields)
            env.add_contact(contact)
            identities.append(
                (position, env, contact, fields, email_order, account_uuid, link_order)
            )

        identities.sort(key=lambda item: item[4] or 0)
        for position, env, contact, fields, _, _, _ in identities:
            self._place.row = position
            remote_id = typed_field(fields, "remote_id", OPTIONAL_TEXT)
            email = typed_field(fields, "email", OPTIONAL_TEXT)
            env.set_identity(contact, remote_id, email)

        identities.sort(key=lambda item: item[6] or 0)
        for position, env, contact, _, _, account_uuid, _ in identities:
            self._place.row = position
            if account_uuid is not None:
                env.link(contact, known(env.accounts, account_uuid, "account"))

    def _read_journal(self) -> tuple[list[Entry], int, int]:
        """The calls kept, oldest first, and the journal's next id and dropped
        count; each call's JSON is read, as `GET /__mock/calls` will read it."""
        entries = []
        for number, path, status, body in self._rows(
            "calls", "path, status, body", "id"
        ):
            call = read_object(body)
            for name, value in (("id", number), ("path", path), ("status", status)):
                if call.get(name) != value:
                    raise ValueError(
                        f"the call's {name} is {call.get(name)!r}, the row's {value!r}"
                    )
            entries.append(Entry(number, path, status, body))

        self._place = Place("journal")
        counters = self._connection.execute(
            "SELECT next_id, dropped FROM journal"
        ).fetchone()
        if counters is None:
            raise ValueError("its one row is missing")
        next_id = typed(counters[0], "next_id", WHOLE)
        dropped = typed(counters[1], "dropped", WHOLE)
        last_id = entries[-1].id if entries else 0
        if next_id <= last_id or dropped < 0:
            raise ValueError(
                f"next_id {next_id} and dropped {dropped} do not fit the calls "
                f"(last id {last_id})"
            )
        return entries, next_id, dropped


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
        month=typed_field(fields, "month", TEXT),
        tracked_events=typed_field(fields, "mte", WHOLE),
        page_views=typed_field(fields, "mpv", WHOLE),
        survey_responses=typed_field(fields, "msr", WHOLE),
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
        uuid=typed_field(fields, "uuid", TEXT),
        remote_id=None,
        email=None,
        first_seen_at=read_time(fields["first_seen_at"]),
        last_seen_at=read_time(fields["last_seen_at"]),
        display_name=typed_field(fields, "display_name", OPTIONAL_TEXT),
        last_tracking_event_at=read_optional_time(fields["last_tracking_event_at"]),
        attributes=dict(typed_field(fields, "attributes", OBJECT)),
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
        uuid=typed_field(fields, "uuid", TEXT),
        remote_id=typed_field(fields, "remote_id", TEXT),
        first_seen_at=read_time(fields["first_seen_at"]),
        last_seen_at=read_time(fields["last_seen_at"]),
        display_name=typed_field(fields, "display_name", OPTIONAL_TEXT),
        domain=typed_field(fields, "domain", OPTIONAL_TEXT),
        attributes=dict(typed_field(fields, "attributes", OBJECT)),
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
        uuid=typed_field(fields, "uuid", TEXT),
        name=typed_field(fields, "name", TEXT),
        received_at=read_time(fields["received_at"]),
        path=typed_field(fields, "path", TEXT),
        contact_uuid=typed_field(typed_field(fields, "contact", OBJECT), "uuid", TEXT),
    )


def segment_body(segment: Segment) -> str:
    return _encode(
        {"uuid": segment.uuid, "name": segment.name, "is_manual": segment.is_manual}
    )


def read_segment(fields: dict) -> Segment:
    return Segment(
        uuid=typed_field(fields, "uuid", TEXT),
        name=typed_field(fields, "name", TEXT),
        is_manual=typed_field(fields, "is_manual", FLAG),
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
        uuid=typed_field(fields, "uuid", TEXT),
        name=typed_field(fields, "name", TEXT),
        created_at=read_time(fields["created_at"]),
        updated_at=read_time(fields["updated_at"]),
        published_at=read_optional_time(fields["published_at"]),
        archived_at=read_optional_time(fields["archived_at"]),
        channels=text_list(fields, "channels"),
        page_url=typed_field(fields, "page_url", OPTIONAL_TEXT),
        folder=typed_field(fields, "folder", OPTIONAL_TEXT),
        config=dict(typed_field(fields, "config", OBJECT)),
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
        uuid=typed_field(fields, "uuid", TEXT),
        form_uuid=typed_field(fields, "form_uuid", TEXT),
        contact_uuid=typed_field(fields, "contact_uuid", TEXT),
        show_counter=typed_field(fields, "show_counter", WHOLE),
        data=dict(typed_field(fields, "data", OBJECT)),
        tag_uuids=text_list(fields, "tag_uuids"),
        **times,
    )


def optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def read_time(text: str) -> datetime:
    """A time as `format_time` writes it."""
    moment = datetime.fromisoformat(typed(text, "a time", TEXT))
    if moment.tzinfo is None:
        raise ValueError(f"a time without its zone: {text!r}")
    return moment


def read_optional_time(text: str | None) -> datetime | None:
    return None if text is None else read_time(text)


def read_object(text: str) -> dict:
    """A row's JSON, which must be an object."""
    fields = json.loads(typed(text, "the body", TEXT))
    return typed(fields, "the body", OBJECT)


def typed(value: Any, name: str, kind: str) -> Any:
    """`value`, if it is of the `kind` named (`TEXT`, `WHOLE`, ...)."""
    types = KINDS[kind]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise TypeError(f"{name} must be {kind}, not {reprlib.repr(value)}")
    return value


def typed_field(fields: dict, name: str, kind: str) -> Any:
    return typed(fields[name], name, kind)


def text_list(fields: dict, name: str) -> list[str]:
    return [typed(item, name, LIST_OF_TEXT) for item in typed_field(fields, name, LIST)]


def known(entities: Mapping[str, Any], key: str, kind: str) -> Any:
    """The entity a row refers to, which must exist."""
    if key not in entities:
        raise LookupError(f"no {kind} {reprlib.repr(key)}")
    return entities[key]
