"""Saving and loading the mock's state, and seeding it from a YAML or JSON file.

The document is what `GET /__mock/state` returns: `{"environments": [ENV, ...]}`, or
one ENV on its own. `load_state` accepts the same shapes written by hand with most
fields left out: a contact needs only a `remote_id` or an `email`, a form a `name`, a
segment a `name`, a response its form and contact; uuids come from the id factory and
missing times are the time of loading. Times are ISO 8601 text, or the dates and times
YAML reads from bare values (a date alone is midnight UTC). References between items
use uuids, or for contacts also a remote id or an email, and for accounts a remote id.

```yaml
api_key: rf-demo-key
contacts:
  - {remote_id: u1, email: ada@example.test, attributes: {plan: pro}}
forms:
  - {uuid: f-nps, name: NPS survey, published_at: 2026-01-01T00:00:00Z,
     config: {form_elements: [{identifier: score, type: nps}]}}
segments:
  - {uuid: s-beta, name: Beta testers, is_manual: true, contacts: [u1]}
responses:
  - {form_uuid: f-nps, contact: u1, data: {score: 9}, completed_at: 2026-01-02}
```

Loading builds every environment first and replaces the state only when all of it
is valid, so a bad document changes nothing. Saving then loading gives the same state.

Limitations: computed read fields (`responses_count`, a contact's `segments`) are
ignored on load and computed again; response times keep whole seconds, as Refiner
shows them; attribute values are kept as written, not typed again.
"""

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from mock_refiner.models import (
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
from mock_refiner.render import render_environment
from mock_refiner.traits import (
    DATE,
    INTEGER,
    STRING,
    as_utc,
    is_date_name,
    parse_date,
)

logger = logging.getLogger(__name__)


class StateError(ValueError):
    """A state document that cannot be loaded; the message says where and why."""


def read_state_file(path: str | Path) -> Any:
    """The document in a YAML or JSON file (JSON is read as YAML's subset)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StateError(f"{path}: cannot be read: {error}") from None
    try:
        return json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise StateError(f"{path}: {error}") from None


def dump_state(environments: list[Environment]) -> dict:
    """The document of every environment, as `GET /__mock/state` shows it."""
    return {"environments": [render_environment(env) for env in environments]}


def build_environments(
    document: Any, now: datetime, ids: Callable[[], str]
) -> list[Environment]:
    """The environments a state document describes; raises :class:`StateError`."""
    if isinstance(document, Mapping) and "environments" in document:
        items = _list(document, "environments", "state")
    elif isinstance(document, Mapping):
        items = [document]
    else:
        raise StateError(
            "state: must be a mapping with 'environments', or one environment"
        )

    environments: dict[str, Environment] = {}
    for index, item in enumerate(items):
        env = _Loader(f"environments[{index}]", now, ids).environment(item)
        if env.api_key in environments:
            raise StateError(f"environments[{index}]: api_key {env.api_key!r} twice")
        environments[env.api_key] = env
    return list(environments.values())


def _list(mapping: Mapping, key: str, where: str) -> list:
    value = mapping.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise StateError(f"{where}.{key}: must be a list")
    return value


class _Loader:
    """Builds one environment, naming the place of each problem it finds."""

    def __init__(self, where: str, now: datetime, ids: Callable[[], str]) -> None:
        self.where = where
        self.now = now
        self.ids = ids

    def fail(self, place: str, problem: str) -> StateError:
        return StateError(f"{self.where}.{place}: {problem}")

    def text(self, item: Mapping, key: str, place: str, required: bool = False) -> Any:
        value = item.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(place, f"{key} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(place, f"{key} must be text")
        return str(value)

    def time(self, item: Mapping, key: str, place: str, default: Any = ...) -> Any:
        value = item.get(key)
        if value is None or value == "":
            return self.now if default is ... else default
        if isinstance(value, datetime):
            return as_utc(value)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        moment = parse_date(value) if isinstance(value, str) else None
        if moment is None:
            raise self.fail(place, f"{key} must be an ISO 8601 time, not {value!r}")
        return moment

    def whole_number(self, item: Mapping, key: str, place: str, default: int) -> int:
        value = item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(place, f"{key} must be a whole number")
        return value

    def list_of(self, item: Mapping, key: str, place: str) -> list:
        return _list(item, key, f"{self.where}.{place}")

    def mapping(self, item: Mapping, key: str, place: str) -> dict:
        value = item.get(key) or {}
        if not isinstance(value, Mapping):
            raise self.fail(place, f"{key} must be a mapping")
        return dict(value)

    def environment(self, item: Any) -> Environment:
        if not isinstance(item, Mapping):
            raise StateError(f"{self.where}: must be a mapping")
        api_key = self.text(item, "api_key", "api_key", required=True)
        env = Environment(api_key, self.text(item, "name", "name") or "Production")

        for index, account in enumerate(_list(item, "accounts", self.where)):
            self.account(env, account, f"accounts[{index}]")
        contacts = _list(item, "contacts", self.where)
        for index, contact in enumerate(contacts):
            self.contact(env, contact, f"contacts[{index}]")
        for index, account in enumerate(_list(item, "accounts", self.where)):
            self.members(env, account, f"accounts[{index}]")
        for index, contact in enumerate(contacts):
            self.contact_account(env, contact, f"contacts[{index}]")
        for index, form in enumerate(_list(item, "forms", self.where)):
            self.form(env, form, f"forms[{index}]")
        for index, segment in enumerate(_list(item, "segments", self.where)):
            self.segment(env, segment, f"segments[{index}]")
        for index, response in enumerate(_list(item, "responses", self.where)):
            self.response(env, response, f"responses[{index}]")
        for index, event in enumerate(_list(item, "events", self.where)):
            self.event(env, event, f"events[{index}]")

        env.traits = self.traits(env, item)
        env.usage = self.usage(item)
        return env

    def account(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        remote_id = self.text(item, "remote_id", place, required=True)
        if env.account_with_remote_id(remote_id) is not None:
            raise self.fail(place, f"remote_id {remote_id!r} twice")
        uuid = self.text(item, "uuid", place) or self.ids()
        if uuid in env.accounts:
            raise self.fail(place, f"uuid {uuid!r} twice")
        first_seen = self.time(item, "first_seen_at", place)
        account = Account(
            uuid=uuid,
            remote_id=remote_id,
            first_seen_at=first_seen,
            last_seen_at=self.time(item, "last_seen_at", place, first_seen),
            display_name=self.text(item, "display_name", place),
            domain=self.text(item, "domain", place),
            attributes=self.mapping(item, "attributes", place),
        )
        env.add_account(account)

    def contact(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        remote_id = self.text(item, "remote_id", place)
        email = self.text(item, "email", place)
        if remote_id is None and email is None:
            raise self.fail(place, "needs a remote_id or an email")
        if remote_id is not None and env.contact_with_remote_id(remote_id):
            raise self.fail(place, f"remote_id {remote_id!r} twice")
        uuid = self.text(item, "uuid", place) or self.ids()
        if uuid in env.contacts:
            raise self.fail(place, f"uuid {uuid!r} twice")
        first_seen = self.time(item, "first_seen_at", place)
        contact = Contact(
            uuid=uuid,
            remote_id=remote_id,
            email=email,
            first_seen_at=first_seen,
            last_seen_at=self.time(item, "last_seen_at", place, first_seen),
            display_name=self.text(item, "display_name", place),
            last_tracking_event_at=self.time(
                item, "last_tracking_event_at", place, None
            ),
            attributes=self.mapping(item, "attributes", place),
        )
        env.add_contact(contact)

    def contact_account(self, env: Environment, item: Mapping, place: str) -> None:
        """Links a contact to the account it names, unless an account listed it."""
        account = item.get("account")
        contact = self.find_contact(env, item.get("uuid") or item, place)
        if account and contact.account_uuid is None:
            reference = account.get("uuid") if isinstance(account, Mapping) else account
            env.link(contact, self.find_account(env, account, reference, place))

    def find_account(
        self, env: Environment, item: Any, reference: Any, place: str
    ) -> Account:
        found = env.accounts.get(str(reference)) or env.account_with_remote_id(
            str(reference)
        )
        if found is None and isinstance(item, Mapping) and item.get("remote_id"):
            found = env.account_with_remote_id(str(item["remote_id"]))
        if found is None:
            raise self.fail(place, f"account {reference!r} is not among the accounts")
        return found

    def members(self, env: Environment, item: Mapping, place: str) -> None:
        account = env.account_with_remote_id(str(item["remote_id"]))
        for index, reference in enumerate(self.list_of(item, "contacts", place)):
            env.link(
                self.find_member(env, reference, f"{place}.contacts[{index}]"), account
            )

    def find_member(self, env: Environment, reference: Any, place: str) -> Contact:
        """An account's contact, listed as the admin API lists one: by remote id,
        else by email (a contact with no remote id), else by uuid."""
        if isinstance(reference, str):
            by_email = (
                contact
                for contact in env.contacts_with_email(reference)
                if contact.remote_id is None
            )
            found = env.contact_with_remote_id(reference) or next(by_email, None)
            if found is not None:
                return found
        return self.find_contact(env, reference, place)

    def find_contact(self, env: Environment, reference: Any, place: str) -> Contact:
        if isinstance(reference, Mapping):
            for key in ("uuid", "remote_id", "email"):
                if reference.get(key):
                    return self.find_contact(env, reference[key], place)
            raise self.fail(
                place, "a contact reference needs a uuid, remote_id or email"
            )
        text = str(reference)
        found = (
            env.contacts.get(text)
            or env.contact_with_remote_id(text)
            or next(iter(env.contacts_with_email(text)), None)
        )
        if found is None:
            raise self.fail(place, f"contact {text!r} is not among the contacts")
        return found

    def form(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        created = self.time(item, "created_at", place)
        config = self.mapping(item, "config", place) or {"form_elements": []}
        channels = item.get("channels", ["web"])
        if not isinstance(channels, list) or not all(
            isinstance(c, str) for c in channels
        ):
            raise self.fail(place, "channels must be a list of text")
        form = Form(
            uuid=self.text(item, "uuid", place) or self.ids(),
            name=self.text(item, "name", place, required=True),
            created_at=created,
            updated_at=self.time(item, "updated_at", place, created),
            published_at=self.time(item, "published_at", place, None),
            archived_at=self.time(item, "archived_at", place, None),
            channels=list(channels),
            page_url=self.text(item, "page_url", place),
            folder=self.text(item, "folder", place),
            config=config,
        )
        if form.uuid in env.forms:
            raise self.fail(place, f"uuid {form.uuid!r} twice")
        env.forms[form.uuid] = form

    def segment(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        is_manual = item.get("is_manual", True)
        if not isinstance(is_manual, bool):
            raise self.fail(place, "is_manual must be true or false")
        segment = Segment(
            uuid=self.text(item, "uuid", place) or self.ids(),
            name=self.text(item, "name", place, required=True),
            is_manual=is_manual,
        )
        for index, member in enumerate(self.list_of(item, "contacts", place)):
            member_place = f"{place}.contacts[{index}]"
            joined = self.now
            if isinstance(member, Mapping):
                joined = self.time(member, "created_at", member_place)
            contact = self.find_contact(env, member, member_place)
            segment.members[contact.uuid] = joined
        if segment.uuid in env.segments:
            raise self.fail(place, f"uuid {segment.uuid!r} twice")
        env.segments[segment.uuid] = segment

    def response(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        form = item.get("form") or {}
        if not isinstance(form, Mapping):
            raise self.fail(place, "form must be a mapping")
        form_ref = item.get("form_uuid") or form.get("uuid")
        if str(form_ref) not in env.forms:
            raise self.fail(place, f"form {form_ref!r} is not among the forms")
        contact_ref = item.get("contact_uuid") or item.get("contact")
        if contact_ref is None:
            raise self.fail(place, "needs a contact (a uuid, remote_id or email)")
        contact = self.find_contact(env, contact_ref, place)

        completed = self.time(item, "completed_at", place, None)
        shown = self.time(item, "last_shown_at", place, completed or self.now)
        received = self.time(item, "last_data_reception_at", place, completed)
        response = Response(
            uuid=self.text(item, "uuid", place) or self.ids(),
            form_uuid=str(form_ref),
            contact_uuid=contact.uuid,
            first_shown_at=self.time(item, "first_shown_at", place, shown),
            last_shown_at=shown,
            show_counter=self.whole_number(item, "show_counter", place, 1),
            first_data_reception_at=self.time(
                item, "first_data_reception_at", place, received
            ),
            last_data_reception_at=received,
            completed_at=completed,
            received_at=self.time(item, "received_at", place, received),
            dismissed_at=self.time(item, "dismissed_at", place, None),
            data=self.mapping(item, "data", place),
        )
        for index, tag in enumerate(self.list_of(item, "tags", place)):
            tag_place = f"{place}.tags[{index}]"
            name = tag.get("name") if isinstance(tag, Mapping) else tag
            if not isinstance(name, str) or not name:
                raise self.fail(tag_place, "a tag is a name")
            given_uuid = tag.get("uuid") if isinstance(tag, Mapping) else None
            response.tag_uuids.append(self.tag(env, name, given_uuid, tag_place).uuid)
        if response.uuid in env.responses:
            raise self.fail(place, f"uuid {response.uuid!r} twice")
        env.responses[response.uuid] = response

    def tag(self, env: Environment, name: str, given_uuid: Any, place: str) -> Tag:
        """The tag with this name, made the first time it is named; a tag keeps one
        uuid, and a uuid belongs to one tag."""
        given = None if given_uuid is None or given_uuid == "" else str(given_uuid)
        known = env.tags.get(name)
        if known is not None:
            if given is not None and given != known.uuid:
                raise self.fail(
                    place, f"tag {name!r} has the uuid {known.uuid!r}, not {given!r}"
                )
            return known

        owner = next((tag for tag in env.tags.values() if tag.uuid == given), None)
        if owner is not None:
            raise self.fail(place, f"uuid {given!r} is the uuid of tag {owner.name!r}")

        env.tags[name] = Tag(given or self.ids(), name)
        return env.tags[name]

    def event(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        contact_ref = item.get("contact")
        if contact_ref is None:
            raise self.fail(place, "needs a contact")
        contact = self.find_contact(env, contact_ref, place)
        env.events.append(
            Event(
                uuid=self.text(item, "uuid", place) or self.ids(),
                name=self.text(item, "name", place, required=True),
                received_at=self.time(item, "received_at", place),
                path=self.text(item, "path", place) or "/v1/track-event",
                contact_uuid=contact.uuid,
            )
        )

    def traits(self, env: Environment, item: Mapping) -> dict[str, str]:
        given = self.mapping(item, "traits", "traits")
        if given:
            return {str(name): str(kind) for name, kind in given.items()}
        found: dict[str, str] = {}
        for prefix, owners in (("", env.contacts), ("account.", env.accounts)):
            for owner in owners.values():
                for name, value in owner.attributes.items():
                    found.setdefault(prefix + name, _trait_type(name, value))
        return found

    def usage(self, item: Mapping) -> Usage:
        given = self.mapping(item, "usage", "usage")
        users = given.get("tracked_users", [])
        if not isinstance(users, list):
            raise self.fail("usage.tracked_users", "must be a list of contact uuids")
        return Usage(
            month=str(given.get("month", "")),
            tracked_users={str(user) for user in users},
            tracked_events=self.whole_number(given, "mte", "usage", 0),
            page_views=self.whole_number(given, "mpv", "usage", 0),
            survey_responses=self.whole_number(given, "msr", "usage", 0),
        )


def _trait_type(name: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return INTEGER
    if is_date_name(name) and isinstance(value, str) and parse_date(value):
        return DATE
    return STRING
