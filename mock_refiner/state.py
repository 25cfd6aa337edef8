"""Saving and loading the mock's state, and seeding it from a YAML or JSON file.

The document is what `GET /__mock/state` returns: `{"environments": [ENV, ...]}`, or
one ENV on its own. `load_state` accepts the same shapes written by hand with most
fields left out: a contact needs only a `remote_id` or an `email`, a form a `name`, a
segment a `name`, a response its form and contact; uuids come from the id factory and
missing times are the time of loading. Times are ISO 8601 text, or the dates and times
YAML writes as bare values (`2026-01-02`, `2026-01-03 10:00:00 +02:00`; a date alone
is midnight UTC), from the year 1000 to 9999 in UTC. References between items use
uuids, or for contacts also a remote id or an email, and for accounts a remote id.

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

YAML is read with the safe loader, except that dates and times stay the text they are
written as: `born: 2000-01-01` in `attributes` is the text `"2000-01-01"`, and the time
fields read such text themselves. The document is then walked once and may hold only
JSON values (text, finite numbers, true, false, null, lists, and mappings with text
keys), nested at most `MAX_DEPTH` levels, with at most `MAX_VALUES` values and
`MAX_TEXT` characters of text once YAML aliases are expanded; each item may hold only
the keys the loader reads and the computed keys `GET /__mock/state` writes. The API
key must be one the API accepts (`mock_refiner.auth`), a survey element's `scale` a
whole number from 1 to `MAX_SCALE`, and a counter at most `MAX_COUNT`.

Loading builds every environment first and replaces the state only when all of it
is valid, so a bad document changes nothing; each refusal is a `StateError` naming
the place. Saving then loading gives the same state.

Limitations: computed read fields (`responses_count`, a contact's `segments`, an
environment's `uuid`) are accepted and ignored on load, then computed again; response
times keep whole seconds, as Refiner shows them; attribute values are kept as
written, not typed again.
"""

import difflib
import json
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from mock_refiner.auth import (
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
    KeyUse,
    check_api_key,
)
from mock_refiner.errors import ApiError
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
from mock_refiner.settings import Settings
from mock_refiner.traits import (
    DATE,
    INTEGER,
    STRING,
    as_utc,
    is_date_name,
    parse_date,
)

logger = logging.getLogger(__name__)

MAX_DEPTH = 64
"""The most levels of lists and mappings a document may nest, itself included."""
MAX_VALUES = 1_000_000
"""The most values a document may hold once YAML aliases are expanded."""
MAX_TEXT = 50_000_000
"""The most characters of text (keys included) once YAML aliases are expanded."""
MAX_SCALE = 100
"""The largest `scale` of a survey element (a rating from 1 to `scale`)."""
MAX_COUNT = 2**53 - 1
"""The largest counter (`show_counter`, the usage counts): the largest whole number
JavaScript holds exactly."""
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)

TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"

ROOT_KEYS = frozenset({"environments"})
ENVIRONMENT_KEYS = frozenset(
    {
        "api_key",
        "name",
        "accounts",
        "contacts",
        "forms",
        "segments",
        "responses",
        "events",
        "traits",
        "usage",
        "uuid",  # computed from the key
    }
)
CONTACT_KEYS = frozenset(
    {
        "uuid",
        "remote_id",
        "email",
        "display_name",
        "first_seen_at",
        "last_seen_at",
        "last_tracking_event_at",
        "attributes",
        "account",
        "segments",  # computed from the segments
    }
)
ACCOUNT_KEYS = frozenset(
    {
        "uuid",
        "remote_id",
        "display_name",
        "domain",
        "first_seen_at",
        "last_seen_at",
        "attributes",
        "contacts",
    }
)
EVENT_KEYS = frozenset({"uuid", "name", "received_at", "path", "contact"})
SEGMENT_KEYS = frozenset({"uuid", "name", "is_manual", "contacts"})
SEGMENT_MEMBER_KEYS = CONTACT_KEYS | {"created_at"}
FORM_KEYS = frozenset(
    {
        "uuid",
        "name",
        "created_at",
        "updated_at",
        "published_at",
        "archived_at",
        "channels",
        "page_url",
        "folder",
        "config",
        # computed from the responses
        "responses_count",
        "views_count",
        "first_form_view_at",
        "last_form_view_at",
    }
)
RESPONSE_KEYS = frozenset(
    {
        "uuid",
        "form_uuid",
        "form",
        "contact_uuid",
        "contact",
        "first_shown_at",
        "last_shown_at",
        "show_counter",
        "first_data_reception_at",
        "last_data_reception_at",
        "completed_at",
        "received_at",
        "dismissed_at",
        "data",
        "tags",
    }
)
TAG_KEYS = frozenset({"uuid", "name"})
USAGE_KEYS = frozenset({"month", "tracked_users", "mte", "mpv", "msr", "mtu"})

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_INT_TAG = "tag:yaml.org,2002:int"
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH_SHOWN = (8, 3)
_SHOWN_CHARACTERS = 40
_EVERY_WELL_FORMED_KEY = Settings()


class StateError(ValueError):
    """A state document that cannot be loaded; the message says where and why."""


class _StateYamlLoader(yaml.SafeLoader):
    """YAML's safe loader, keeping dates and times as the text they are written as."""

    def construct_whole_number(self, node: yaml.ScalarNode) -> int:
        try:
            return self.construct_yaml_int(node)
        except ValueError as error:
            digits = sys.get_int_max_str_digits()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a whole number of more than {digits} digits ({error})",
                node.start_mark,
            ) from None


_StateYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StateYamlLoader.add_constructor(_TIMESTAMP_TAG, yaml.SafeLoader.construct_yaml_str)
_StateYamlLoader.add_constructor(_INT_TAG, _StateYamlLoader.construct_whole_number)

_YAML_TIMESTAMP = next(
    regexp
    for tag, regexp in yaml.SafeLoader.yaml_implicit_resolvers["0"]
    if tag == _TIMESTAMP_TAG
)
_YAML_TIMES = yaml.constructor.SafeConstructor()


def load_yaml(text: str) -> Any:
    """YAML as the state documents read it: dates and times stay text."""
    return yaml.load(text, Loader=_StateYamlLoader)


def load_yaml_all(text: str) -> list[Any]:
    """Every document of a YAML stream, read as :func:`load_yaml` reads one."""
    return list(yaml.load_all(text, Loader=_StateYamlLoader))


def read_state_text(text: str) -> Any:
    """The document in JSON or YAML text: JSON when the text is JSON (read much
    faster, and the way JSON means it), else YAML.

    Raises `yaml.YAMLError` for text that is neither, and `StateError` for text
    nested too deeply to read.
    """
    try:
        try:
            return json.loads(text)
        except ValueError:
            return yaml.load(text, Loader=_StateYamlLoader)
    except RecursionError:
        raise StateError(f"state: {TOO_DEEP}") from None


def read_state_file(path: str | Path) -> Any:
    """The document in a YAML file, or a JSON one (named `.json`); raises
    `StateError` naming the file, with the problem on one line."""
    if not os.fspath(path):
        raise StateError("the path of the state document is empty")

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StateError(f"{path}: cannot be read: {error}") from None
    try:
        if str(path).endswith(".json"):
            return json.loads(text)
        return yaml.load(text, Loader=_StateYamlLoader)
    except ValueError as error:
        raise StateError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise StateError(f"{path}: {yaml_problem(error)}") from None
    except RecursionError:
        raise StateError(f"{path}: {TOO_DEEP}") from None


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line: the problem and where, then what was being read
    and from where."""
    if not isinstance(error, yaml.MarkedYAMLError) or not error.problem:
        return " ".join(str(error).split())

    text = error.problem + _yaml_place(" at", error.problem_mark)
    if error.context:
        text += f" ({error.context}{_yaml_place(' from', error.context_mark)})"
    return " ".join(text.split())


def _yaml_place(word: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    return f"{word} line {mark.line + 1}, column {mark.column + 1}"


def dump_state(environments: list[Environment]) -> dict:
    """The document of every environment, as `GET /__mock/state` shows it."""
    return {"environments": [render_environment(env) for env in environments]}


def build_environments(
    document: Any, now: datetime, ids: Callable[[], str]
) -> list[Environment]:
    """The environments a state document describes; raises :class:`StateError`.

    The document itself is not changed; the environments hold copies of its values.
    """
    try:
        return _build_environments(document, now, ids)
    except RecursionError:
        raise StateError("state: nested too deeply to load") from None


def _build_environments(
    document: Any, now: datetime, ids: Callable[[], str]
) -> list[Environment]:
    listed = isinstance(document, Mapping) and "environments" in document
    if listed:
        root = ""
    elif isinstance(document, Mapping):
        root = "environments[0]"
    else:
        root = "state"
    document = json_values(document, root)

    if listed:
        _check_keys(document, "state", ROOT_KEYS)
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


def json_values(document: Any, root: str = "state") -> Any:
    """A copy of `document` made of JSON values only; raises :class:`StateError`
    naming the path of the first value that is not one, or that breaks a bound.

    `root` names the document itself in paths. The walk is iterative, so any
    nesting is refused without recursion; a value YAML shares through an alias is
    checked, counted and copied at each place it is used.
    """
    holder: list[Any] = [None]
    # (value, the copy of its container, its key there, its container's trail,
    # the levels above it); a trail is (container's trail, key, container).
    stack: list[tuple] = [(document, holder, 0, None, 0)]
    values = characters = 0
    while stack:
        value, target, key, trail, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            place = _path(root, trail, key)
            raise StateError(
                f"state: more than {MAX_VALUES} values once aliases are expanded "
                f"(at {place})"
            )

        if isinstance(value, str):
            characters += len(value)
            if characters > MAX_TEXT:
                raise _too_much_text(root, trail, key)
            _check_text(value, "text holds", root, trail, key)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _refusal(
                    root, trail, key, f"{value!r} is not a number JSON can carry"
                )
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > 64 and not _writable(value):
                raise _refusal(root, trail, key, "a number too long to write as JSON")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise _too_deep(root, trail, key, value)
            here = (trail, key, value)
            copy: Any
            if isinstance(value, list):
                copy = [None] * len(value)
                for index in range(len(value) - 1, -1, -1):
                    stack.append((value[index], copy, index, here, depth + 1))
            else:
                copy = {}
                for name in value:
                    if not isinstance(name, str):
                        raise _refusal(
                            root, trail, key, f"the key {name!r} is not text"
                        )
                    characters += len(name)
                    _check_text(name, f"the key {name!r} holds", root, trail, key)
                    copy[name] = None
                if characters > MAX_TEXT:
                    raise _too_much_text(root, trail, key)
                for name in reversed(value):
                    stack.append((value[name], copy, name, here, depth + 1))
            value = copy
        elif value is not None and not isinstance(value, bool):
            kind = type(value).__name__
            raise _refusal(root, trail, key, f"a value of type {kind} is not JSON")

        target[key] = value
    return holder[0]


def _too_much_text(root: str, trail: Any, key: Any) -> StateError:
    return StateError(
        f"state: more than {MAX_TEXT} characters of text once aliases are expanded "
        f"(at {_path(root, trail, key)})"
    )


def _writable(number: int) -> bool:
    """Whether a whole number can be written as decimal text (and so as JSON)."""
    try:
        str(number)
    except ValueError:
        return False
    return True


def _check_text(text: str, what: str, root: str, trail: Any, key: Any) -> None:
    if text.isascii():
        return
    unpaired = _SURROGATE.search(text)
    if unpaired is not None:
        code = ord(unpaired.group())
        raise _refusal(
            root, trail, key, f"{what} an unpaired UTF-16 surrogate \\u{code:04x}"
        )


def _too_deep(root: str, trail: Any, key: Any, value: Any) -> StateError:
    """Nesting past `MAX_DEPTH`: a cycle through an alias, named where it first
    repeats, or a value nested that deep."""
    chain = [(key, value)]
    while trail is not None:
        parent_trail, parent_key, container = trail
        chain.append((parent_key, container))
        trail = parent_trail
    chain.reverse()

    seen: set[int] = set()
    for index, (_, container) in enumerate(chain):
        if id(container) in seen:
            steps = [step for step, _ in chain[1 : index + 1]]
            return StateError(
                f"{_show_path(root, steps)}: an alias of a value that contains it "
                "(a cycle)"
            )
        seen.add(id(container))

    steps = [step for step, _ in chain[1:]]
    return StateError(f"{_show_path(root, steps)}: {TOO_DEEP}")


def _refusal(root: str, trail: Any, key: Any, problem: str) -> StateError:
    return StateError(f"{_path(root, trail, key)}: {problem}")


def _path(root: str, trail: Any, key: Any) -> str:
    """The path of the value at `key` in the container of `trail`."""
    if trail is None:
        return _show_path(root, [])
    steps = [key]
    while trail[0] is not None:
        steps.append(trail[1])
        trail = trail[0]
    steps.reverse()
    return _show_path(root, steps)


def _show_path(root: str, steps: list) -> str:
    """`environments[0].contacts[0].attributes['a b']`; long paths keep their first
    and last steps."""
    head, tail = _PATH_SHOWN
    if len(steps) > head + tail + 1:
        return f"{_join(root, steps[:head])} ... {_join('', steps[-tail:])}"
    return _join(root, steps) or "state"


def _join(start: str, steps: list) -> str:
    text = start
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _SIMPLE_KEY.fullmatch(step):
            text += f".{step}" if text else step
        else:
            text += f"[{step!r}]"
    return text


def _shown(text: str) -> str:
    """`text` quoted, cut short when it is long."""
    if len(text) <= _SHOWN_CHARACTERS:
        return repr(text)
    quoted = repr(text[:_SHOWN_CHARACTERS])
    return f"{quoted[:-1]}...{quoted[-1]} ({len(text)} characters)"


def _check_keys(item: Mapping, where: str, known: Collection[str]) -> None:
    for key in item:
        if key not in known:
            problem = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, sorted(known), n=1)
            if close:
                problem += f"; did you mean {close[0]!r}?"
            raise StateError(f"{where}: {problem}")


def _list(mapping: Mapping, key: str, where: str) -> list:
    value = mapping.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise StateError(f"{where}.{key}: must be a list")
    return value


def _read_time(text: str) -> datetime | None:
    """The UTC instant of ISO 8601 text, of a time as YAML writes one
    (`2001-12-14 21:59:43.10 -5`) or of a Unix time as text; None when it is none
    of them. Raises `OverflowError` for one that is out of a datetime's range."""
    moment: date | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _yaml_time(text)
    if moment is None:
        return parse_date(text)
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return as_utc(moment)


def _yaml_time(text: str) -> date | None:
    """The date or time YAML's safe loader would read from `text` as a bare value."""
    if not _YAML_TIMESTAMP.match(text):
        return None
    try:
        return _YAML_TIMES.construct_yaml_timestamp(
            yaml.ScalarNode(_TIMESTAMP_TAG, text)
        )
    except (ValueError, AttributeError):
        return None


def _well_formed_key(key: str) -> bool:
    """Whether the API would accept `key` as an API key."""
    try:
        check_api_key(KeyUse(key, "state"), _EVERY_WELL_FORMED_KEY)
    except ApiError:
        return False
    return True


def _whole_scale(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer() and 1 <= value <= MAX_SCALE


class _Loader:
    """Builds one environment, naming the place of each problem it finds."""

    def __init__(self, where: str, now: datetime, ids: Callable[[], str]) -> None:
        self.where = where
        self.now = now
        self.ids = ids

    def fail(self, place: str, problem: str) -> StateError:
        return StateError(f"{self.where}.{place}: {problem}")

    def keys(self, item: Mapping, place: str, known: Collection[str]) -> None:
        """Refuses a key the loader neither reads nor knows as a computed one."""
        _check_keys(item, f"{self.where}.{place}" if place else self.where, known)

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
        out_of_range = self.fail(
            place,
            f"{key} must be a time from the year {EARLIEST.year} to {LATEST.year} "
            f"in UTC, not {value!r}",
        )
        try:
            moment = _read_time(value) if isinstance(value, str) else None
        except OverflowError:
            raise out_of_range from None
        if moment is None:
            raise self.fail(place, f"{key} must be an ISO 8601 time, not {value!r}")
        if not EARLIEST <= moment <= LATEST:
            raise out_of_range
        return moment

    def whole_number(self, item: Mapping, key: str, place: str, default: int) -> int:
        value = item.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_COUNT
        ):
            raise self.fail(
                place, f"{key} must be a whole number from 0 to {MAX_COUNT}"
            )
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
        self.keys(item, "", ENVIRONMENT_KEYS)
        api_key = self.text(item, "api_key", "api_key", required=True)
        if not _well_formed_key(api_key):
            raise self.fail(
                "api_key",
                f"api_key must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters of "
                f"A-Z, a-z, 0-9, '.', '_' or '-', not {_shown(api_key)}",
            )
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
        self.keys(item, place, ACCOUNT_KEYS)
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
        self.keys(item, place, CONTACT_KEYS)
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
        if isinstance(account, Mapping):
            self.keys(account, f"{place}.account", ACCOUNT_KEYS)
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
            member_place = f"{place}.contacts[{index}]"
            if isinstance(reference, Mapping):
                self.keys(reference, member_place, CONTACT_KEYS)
            env.link(self.find_member(env, reference, member_place), account)

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
        self.keys(item, place, FORM_KEYS)
        created = self.time(item, "created_at", place)
        config = self.mapping(item, "config", place) or {"form_elements": []}
        self.scales(config, f"{place}.config")
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

    def scales(self, config: Mapping, place: str) -> None:
        """Refuses a survey element whose `scale` (a rating's top answer, which
        reports count up to) is not a whole number from 1 to `MAX_SCALE`."""
        elements = config.get("form_elements")
        if not isinstance(elements, list):
            return
        for index, element in enumerate(elements):
            if not isinstance(element, Mapping):
                continue
            scale = element.get("scale")
            if scale is not None and not _whole_scale(scale):
                raise self.fail(
                    f"{place}.form_elements[{index}]",
                    f"scale must be a whole number from 1 to {MAX_SCALE}, "
                    f"not {scale!r}",
                )

    def segment(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        self.keys(item, place, SEGMENT_KEYS)
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
                self.keys(member, member_place, SEGMENT_MEMBER_KEYS)
                joined = self.time(member, "created_at", member_place)
            contact = self.find_contact(env, member, member_place)
            segment.members[contact.uuid] = joined
        if segment.uuid in env.segments:
            raise self.fail(place, f"uuid {segment.uuid!r} twice")
        env.segments[segment.uuid] = segment

    def response(self, env: Environment, item: Any, place: str) -> None:
        if not isinstance(item, Mapping):
            raise self.fail(place, "must be a mapping")
        self.keys(item, place, RESPONSE_KEYS)
        form = item.get("form") or {}
        if not isinstance(form, Mapping):
            raise self.fail(place, "form must be a mapping")
        self.keys(form, f"{place}.form", FORM_KEYS)
        form_ref = item.get("form_uuid") or form.get("uuid")
        if str(form_ref) not in env.forms:
            raise self.fail(place, f"form {form_ref!r} is not among the forms")
        contact_key = "contact_uuid" if item.get("contact_uuid") else "contact"
        contact_ref = item.get(contact_key)
        if contact_ref is None:
            raise self.fail(place, "needs a contact (a uuid, remote_id or email)")
        if isinstance(contact_ref, Mapping):
            self.keys(contact_ref, f"{place}.{contact_key}", CONTACT_KEYS)
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
            if isinstance(tag, Mapping):
                self.keys(tag, tag_place, TAG_KEYS)
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
        self.keys(item, place, EVENT_KEYS)
        contact_ref = item.get("contact")
        if contact_ref is None:
            raise self.fail(place, "needs a contact")
        if isinstance(contact_ref, Mapping):
            self.keys(contact_ref, f"{place}.contact", CONTACT_KEYS)
        contact = self.find_contact(env, contact_ref, place)
        env.add_event(
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
        self.keys(given, "usage", USAGE_KEYS)
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
