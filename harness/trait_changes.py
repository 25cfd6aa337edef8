"""What Refiner must hold after an identify, and each kind of change on the way.

A trait of an identify message passes four documented steps before Refiner stores it:
the mapper (``docs/profiles.md``), Go's rendering of the form value
(``docs/research/delivery-encoding.md``), Refiner's reading of the form names and its
trait rules (``docs/fidelity.md``). :func:`predict_identify` follows a message
through them, independently of the mock, and gives the contact Refiner must hold, or
the refusal it must answer. Every trait whose stored value differs from the message
is labelled with the kinds of change that explain it (:data:`KINDS`); a difference
no rule explains is reported in :attr:`Prediction.unexplained`.

Limitations: only identify messages are followed (group's account traits are not);
the mapper's output is taken as the form and traced back to the message, so a
changed value is explained by one of the mapper's documented rules, but the new value
the mapper chose is not worked out again (the mapper's own tests check it against
recorded transformer output); a value's kinds are those of the steps it
passed, so an object under a date-named key is labelled ``go-map-text`` and not also
"not a date".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.delivery import render_value, well_formed
from harness.jsvalue import UNDEFINED, get_value, spread, to_string
from harness.profiles.rudderstack import attribute_map, lookup

KINDS: dict[str, str] = {
    "context-trait-wins": "a trait in both traits and context.traits: the context "
    "value is sent",
    "null-dropped": "a null trait is not sent, so Refiner keeps what it had",
    "identity-chain": "a trait named like an identifier is replaced by the "
    "identifier the mapping resolves",
    "attribute-mapping": "userAttributesMapping moves the trait to another key",
    "js-dropped-key": "__proto__, constructor and prototype are dropped by lodash",
    "spread-by-index": "traits given as text or an array are spread by index",
    "go-exponent-number": "a number of a million or more (or below 0.0001) arrives "
    "in Go exponent form and is stored as text",
    "go-map-text": "an object arrives as Go map text",
    "go-array-text": "an array arrives as Go slice text",
    "boolean-text": "a boolean arrives and is stored as text",
    "number-text": "a number that is not a whole number in Refiner's integer range is "
    "stored as text",
    "integer-text": "text holding a canonical integer in range is stored as an integer",
    "date-trait": "a value under a key ending _at or _date is stored as a UTC time",
    "reserved-name": "id, email, account and api_key are parameters and Refiner's "
    "computed names are dropped: neither is stored as an attribute",
    "bracket-key-nesting": "a key with brackets is read as a nested parameter, "
    "stored as JSON text under its base name, replacing a trait of that name",
    "empty-key-dropped": "a trait with an empty key is not read by Refiner",
    "string-cap": "text longer than 10,000 characters is cut",
}

STRING_CAP = 10_000
INTEGER_MAX = 2147483647
MILLISECONDS_ABOVE = 100_000_000_000
RESERVED_PARAMS = frozenset({"id", "email", "account", "api_key"})
COMPUTED_NAMES = frozenset(
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
JS_DROPPED_KEYS = frozenset({"__proto__", "constructor", "prototype"})
IDENTITY_KEYS = {"rudderstack": ("userId", "email"), "documented": ("id", "email")}

MISSING_IDENTITY = "The id or email parameter is required."
ACCOUNT_NOT_OBJECT = "The account parameter must be an object."
ACCOUNT_WITHOUT_ID = "The account parameter needs an id."

_INTEGER_TEXT = re.compile(r"0|-?[1-9][0-9]*")
_NESTED_NAME = re.compile(r"([^\[]+)((?:\[[^\]]*\])+)")
_SEGMENT = re.compile(r"\[([^\]]*)\]")
_INDEX_KEY = re.compile(r"0|[1-9][0-9]{0,17}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Prediction:
    """The contact Refiner must hold after one identify on a fresh environment."""

    refusal: str | None = None
    remote_id: str | None = None
    email: str | None = None
    display_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, set[str]] = field(default_factory=dict)
    unexplained: list[str] = field(default_factory=list)
    untraced: dict[str, Any] = field(default_factory=dict)
    """Form keys the mapper changed without a rule: the Go text each should have
    reached Refiner with (None: it should not have been sent)."""

    def kinds(self) -> set[str]:
        """Every kind of change seen on any trait."""
        return set().union(*self.changes.values()) if self.changes else set()


def same_value(expected: Any, actual: Any) -> bool:
    """Equal JSON values: numbers by value, never equal to text or booleans."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return set(expected) == set(actual) and all(
            same_value(expected[key], actual[key]) for key in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(same_value, expected, actual))
    return type(expected) is type(actual) and expected == actual


# Refiner's side: form names, typing --------------------------------------------


def name_path(name: str) -> list[str | None]:
    """The parameter path of a form name: ``a[b][]`` -> ``["a", "b", None]``."""
    nested = _NESTED_NAME.match(name)
    if nested is None:
        return [name]
    segments = _SEGMENT.findall(nested.group(2))
    return [nested.group(1), *(segment or None for segment in segments)]


def read_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Refiner's parameters from form pairs in wire order, brackets nested."""
    params: dict[str, Any] = {}
    for name, value in pairs:
        if not name:
            continue
        path = name_path(name)
        container = params
        for segment in path[:-1]:
            key = _appended(container) if segment is None else segment
            if not isinstance(container.get(key), dict):
                container[key] = {}
            container = container[key]
        last = path[-1]
        container[_appended(container) if last is None else last] = value
    return {name: _listed(value) for name, value in params.items()}


def _appended(container: dict[str, Any]) -> str:
    indexes = [int(key) for key in container if _INDEX_KEY.fullmatch(key)]
    return str(max(indexes) + 1) if indexes else "0"


def _listed(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listed(item) for key, item in value.items()}
    if list(items) == [str(index) for index in range(len(items))]:
        return list(items.values())
    return items


def param_text(value: Any) -> str:
    """A parameter as Refiner keeps it as text: nested ones as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def date_of(text: str) -> str | None:
    """Refiner's stored time for ISO text or Unix time text, or None."""
    try:
        if len(text) <= 20 and _INTEGER_TEXT.fullmatch(text):
            number = int(text)
            unit = "milliseconds" if abs(number) > MILLISECONDS_ABOVE else "seconds"
            moment = _EPOCH + timedelta(**{unit: number})
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%fZ}"


def stored_value(name: str, value: Any) -> int | str:
    """What Refiner stores for parameter ``name`` (text, or nested from brackets)."""
    if isinstance(value, str):
        if name.endswith(("_at", "_date")):
            moment = date_of(value)
            if moment is not None:
                return moment
        elif _is_integer_text(value):
            return int(value)
    return param_text(value)[:STRING_CAP]


def _is_integer_text(text: str) -> bool:
    return (
        len(text) <= 11
        and _INTEGER_TEXT.fullmatch(text) is not None
        and abs(int(text)) <= INTEGER_MAX
    )


def delivery_kinds(value: Any) -> set[str]:
    """The kinds Go's rendering adds to a form value, from its JSON type."""
    if isinstance(value, bool):
        return {"boolean-text"}
    if isinstance(value, Mapping):
        return {"go-map-text"}
    if isinstance(value, list):
        return {"go-array-text"}
    if isinstance(value, int | float) and "e" in render_value(value):
        return {"go-exponent-number"}
    return set()


def typing_kinds(name: str, value: Any, stored: Any) -> set[str]:
    """The kinds Refiner's typing adds between a form value and its stored value."""
    text = render_value(value)
    if isinstance(stored, int):
        return {"integer-text"} if isinstance(value, str) else set()
    if name.endswith(("_at", "_date")) and date_of(text) == stored:
        return {"date-trait"}
    if len(text) > STRING_CAP:
        return {"string-cap"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return set() if "e" in text else {"number-text"}
    return set()


# The mapper's side: where each trait of the message went -----------------------


@dataclass
class _Origin:
    label: str
    key: str
    value: Any
    spread: bool


def _origins(message: Any) -> list[_Origin]:
    traits = lookup(message, "traits")
    context = get_value(message, "context.traits")
    found = []
    sources = [("context.traits", context)]
    if traits is not context:
        sources.insert(0, ("traits", traits))
    for source, value in sources:
        spread_by_index = isinstance(value, str | list)
        for key, item in spread(value).items():
            found.append(_Origin(f"{source}.{key}", key, item, spread_by_index))
    return found


def _mapper_kinds(
    origin: _Origin,
    form: Mapping[str, Any],
    later_keys: set[str],
    profile: str,
    rows: Mapping[str, Any],
) -> set[str] | None:
    """Why a trait did not reach the form unchanged; None when nothing explains it."""
    kinds = {"spread-by-index"} if origin.spread else set()
    key, value = origin.key, origin.value
    if key in form and same_value(value, form[key]):
        return kinds
    if value is None or value is UNDEFINED:
        return kinds | {"null-dropped"}
    if key in later_keys:
        return kinds | {"context-trait-wins"}
    if key in IDENTITY_KEYS.get(profile, ()):
        return kinds | {"identity-chain"}
    if key in rows or key in {to_string(target) for target in rows.values()}:
        return kinds | {"attribute-mapping"}
    if key in JS_DROPPED_KEYS:
        return kinds | {"js-dropped-key"}
    return None


def _refusal(params: Mapping[str, Any]) -> str | None:
    """The refusal Refiner answers an identify with these parameters, if any."""
    for name in ("id", "email"):
        if isinstance(params.get(name), dict | list):
            return f"The {name} parameter must be text or a number."
    if not params.get("id") and not params.get("email"):
        return MISSING_IDENTITY
    if "account" not in params:
        return None
    account = params["account"]
    if not isinstance(account, dict):
        return ACCOUNT_NOT_OBJECT
    if isinstance(account.get("id"), dict | list):
        return "The id parameter must be text or a number."
    return None if account.get("id") else ACCOUNT_WITHOUT_ID


def predict_identify(
    message: Any, config: Mapping[str, Any], profile: str, form: Mapping[str, Any]
) -> Prediction:
    """What Refiner must hold after ``message``, mapped under ``profile`` to ``form``,
    reaches a fresh environment."""
    prediction = Prediction()
    wire = sorted(form, key=lambda key: well_formed(key).encode("utf-8"))
    pairs = [(well_formed(key), render_value(form[key])) for key in wire]
    params = read_form(pairs)

    prediction.refusal = _refusal(params)
    prediction.remote_id = params.get("id") or None
    prediction.email = params.get("email") or None
    if "name" in params:
        prediction.display_name = param_text(params["name"])[:STRING_CAP]
    for name, value in params.items():
        if name not in RESERVED_PARAMS and name not in COMPUTED_NAMES:
            prediction.attributes[name] = stored_value(name, value)

    rows = attribute_map(config.get("userAttributesMapping"))
    origins = _origins(message)
    for index, origin in enumerate(origins):
        later = {other.key for other in origins[index + 1 :]}
        kinds = _mapper_kinds(origin, form, later, profile, rows)
        if kinds is None:
            prediction.untraced[origin.key] = render_value(origin.value)
            prediction.unexplained.append(
                f"{origin.label}: {json.dumps(origin.value, ensure_ascii=False)} "
                f"reached the form as "
                f"{json.dumps(form.get(origin.key, None), ensure_ascii=False)}"
            )
            continue
        if origin.key in form and same_value(origin.value, form[origin.key]):
            refiner_kinds = _refiner_kinds(origin, params, prediction.attributes)
            if not refiner_kinds and not _kept(origin, prediction):
                prediction.unexplained.append(
                    f"{origin.label}: changed by no documented rule"
                )
            kinds |= refiner_kinds
        if kinds:
            prediction.changes[origin.label] = kinds

    known = {origin.key for origin in origins} | set(IDENTITY_KEYS[profile])
    known |= {"id", "email"} | {to_string(target) for target in rows.values()}
    for key in form:
        if key not in known:
            prediction.untraced[key] = None
            prediction.unexplained.append(f"form key {key!r} comes from no trait")
    return prediction


def _kept(origin: _Origin, prediction: Prediction) -> bool:
    """Whether the trait is stored with the value the message gave it."""
    return origin.key in prediction.attributes and same_value(
        origin.value, prediction.attributes[origin.key]
    )


def _refiner_kinds(
    origin: _Origin, params: Mapping[str, Any], attributes: Mapping[str, Any]
) -> set[str]:
    """The kinds of change between a form value and the attribute Refiner stores."""
    key, value = origin.key, origin.value
    if not key:
        return {"empty-key-dropped"}
    path = name_path(well_formed(key))
    name = path[0]
    kinds: set[str] = set()
    if len(path) > 1 or not same_value(params.get(name), render_value(value)):
        kinds.add("bracket-key-nesting")
    if name in RESERVED_PARAMS or name in COMPUTED_NAMES:
        return kinds | {"reserved-name"}
    stored = attributes.get(name)
    if same_value(value, stored):
        return kinds
    kinds |= delivery_kinds(value)
    if "bracket-key-nesting" not in kinds:
        kinds |= typing_kinds(name, value, stored)
    if not kinds and isinstance(value, str) and value != well_formed(value):
        kinds.add("spread-by-index")
    return kinds
