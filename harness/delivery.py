"""Form values rendered and sent the way rudder-server delivers a ``FORM`` body.

The transformer hands rudder-server a flat form whose values are still JSON values.
rudder-server decodes them (every number becomes a Go ``float64``), turns each one into
text with Go's ``fmt.Sprint`` and sends ``url.Values.Encode()`` of the result. This
module reproduces those bytes:

* numbers print in Go's shortest ``%v`` form, which switches to exponent notation when
  the leading digit's decimal exponent is below -4 or at least 6: ``36.0`` -> ``36``,
  ``1000000`` -> ``1e+06`` (``1e%2B06`` on the wire), ``0.00001`` -> ``1e-05``;
* ``true``/``false`` stay as they are, ``null`` becomes ``<nil>``, strings are unquoted;
* objects and arrays become Go's own text, not JSON: ``{"b": 1, "a": [1, 2]}`` ->
  ``map[a:[1 2] b:1]``;
* pairs are sorted by key and escaped like ``url.QueryEscape``:
  ``{"zeta": "1", "b c": "x y"}`` -> ``b+c=x+y&zeta=1``.

Limitations: integers above 2**53 are rounded on purpose, because rudder-server's
decoder rounds them too (``9007199254740993`` -> ``9.007199254740992e+15``). Plain
``json.loads`` reads the JSON integer ``-0`` as ``0``, so it renders ``0`` where Go
prints ``-0``; ``decode_value`` reads numbers as floats and keeps the sign. Only what
JSON can express is rendered; Go's text for other types is out of scope, and
non-finite numbers, non-string object keys and other Python types raise an error.
Lone surrogates in strings become U+FFFD, as Go's decoder makes them. A ``User-Agent``
among the given headers is replaced rather than sent twice, and transport headers
(``Accept``, ``Accept-Encoding``, ``Connection``) are httpx's, not Go's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

import httpx

USER_AGENT = "RudderLabs"

_EXPONENT_FROM = 6
_EXPONENT_BELOW = -4


@dataclass(frozen=True)
class WireRequest:
    """One request exactly as it goes on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def decode_value(text: str) -> Any:
    """Decode JSON text the way rudder-server does: every number is a float.

    Unlike plain ``json.loads``, this keeps the sign of the integer ``-0`` and refuses
    ``NaN`` and ``Infinity``, which are not JSON.
    """
    return json.loads(text, parse_int=float, parse_constant=_refuse_constant)


def render_value(value: Any) -> str:
    """Return Go's ``fmt.Sprint`` of ``value`` after a JSON decode into ``any``."""
    if value is None:
        return "<nil>"

    if isinstance(value, bool):
        return "true" if value else "false"

    if isinstance(value, int | float):
        return _render_number(float(value))

    if isinstance(value, str):
        return well_formed(value)

    if isinstance(value, Mapping):
        pairs = (
            f"{well_formed(key)}:{render_value(value[key])}"
            for key in _sorted_keys(value)
        )
        return "map[" + " ".join(pairs) + "]"

    if isinstance(value, list):
        return "[" + " ".join(render_value(element) for element in value) + "]"

    raise TypeError(f"delivery: {type(value).__name__} is not a JSON value: {value!r}")


def encode_form(form: Mapping[str, Any]) -> str:
    """Return ``url.Values.Encode()`` of ``form`` with every value rendered."""
    return "&".join(
        f"{_query_escape(key)}={_query_escape(render_value(form[key]))}"
        for key in _sorted_keys(form)
    )


def to_wire(
    method: str,
    endpoint: str,
    headers: Mapping[str, str],
    form: Mapping[str, Any],
    target: str | None = None,
) -> WireRequest:
    """Build the request rudder-server sends, optionally aimed at ``target``.

    ``target`` is a base URL such as ``http://127.0.0.1:8080``; it replaces the
    endpoint's scheme and host, and its path, if any, is put in front of the
    endpoint's path.
    """
    url = endpoint if target is None else _retarget(endpoint, target)

    wire_headers = {**headers, "User-Agent": USER_AGENT}

    return WireRequest(
        method=method,
        url=url,
        headers=wire_headers,
        body=encode_form(form).encode("utf-8"),
    )


def send(wire: WireRequest, client: httpx.Client) -> httpx.Response:
    """Send ``wire`` once through ``client`` and return the response."""
    return client.request(
        wire.method, wire.url, content=wire.body, headers=wire.headers
    )


def well_formed(text: str) -> str:
    """``text`` with surrogate pairs joined and lone surrogates as U+FFFD.

    JavaScript strings are UTF-16 and may hold lone surrogates (spreading a string
    splits an emoji in two); Go's JSON decoder replaces each with U+FFFD.
    """
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"delivery: {name} is not JSON")


def _render_number(number: float) -> str:
    """Go's ``strconv.FormatFloat(number, 'g', -1, 64)``."""
    if not math.isfinite(number):
        raise ValueError(f"delivery: {number!r} is not a JSON number")

    sign = "-" if math.copysign(1.0, number) < 0 else ""
    if number == 0:
        return sign + "0"

    digits, exponent = _shortest_digits(abs(number))

    if exponent < _EXPONENT_BELOW or exponent >= _EXPONENT_FROM:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exponent_sign = "-" if exponent < 0 else "+"
        return f"{sign}{mantissa}e{exponent_sign}{abs(exponent):02d}"

    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"

    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    fraction = digits[exponent + 1 :]
    return sign + whole + ("." + fraction if fraction else "")


def _shortest_digits(number: float) -> tuple[str, int]:
    """Shortest round-trip digits of a positive finite number, no zeros at either
    end, and the decimal exponent of the first digit."""
    mantissa, _, power = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction

    significant = all_digits.lstrip("0")
    leading_zeros = len(all_digits) - len(significant)
    exponent = len(whole) + int(power or 0) - leading_zeros - 1

    return significant.rstrip("0"), exponent


def _sorted_keys(mapping: Mapping[Any, Any]) -> list[str]:
    """The keys of ``mapping`` in Go's byte-wise string order."""
    for key in mapping:
        if not isinstance(key, str):
            raise TypeError(f"delivery: form and object keys must be str, got {key!r}")
    return sorted(mapping, key=lambda key: well_formed(key).encode("utf-8"))


def _query_escape(text: str) -> str:
    """Go's ``url.QueryEscape``."""
    return quote_plus(well_formed(text), safe="", encoding="utf-8", errors="strict")


def _retarget(endpoint: str, target: str) -> str:
    """``endpoint`` with its scheme and host taken from ``target``."""
    base = urlsplit(target)
    if not base.scheme or not base.netloc:
        raise ValueError(f"delivery: target must be a base URL, got {target!r}")

    original = urlsplit(endpoint)
    path = base.path.rstrip("/") + original.path
    return urlunsplit(
        (base.scheme, base.netloc, path, original.query, original.fragment)
    )
