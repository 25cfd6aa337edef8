"""Request parameters as Refiner reads them: query string, JSON body or form body.

The query string and the body are merged into one dict; on a top-level key present in
both, the body wins (like PHP's `$_REQUEST`). Form bodies and query strings use PHP
bracket nesting: `account[id]=a` gives `{"account": {"id": "a"}}`, `tags[]=x` appends
to a list, and a segment runs to the first `]`, so `a[b[c]]=1` gives
`{"a": {"b[c": "1"}}`. Form values are always text.

A nested array whose keys are exactly 0, 1, 2, ... in order becomes a list, as PHP's
`json_encode` would show it, so `a[0]=x&a[1]=y` and `a[]=x&a[]=y` both give a list.

Values are bounded before any rule sees them: JSON and form names nest at most
`MAX_DEPTH` (64) levels, PHP's default `max_input_nesting_level`; JSON numbers must be
finite; JSON text must not hold unpaired UTF-16 surrogates (PHP's `json_decode` refuses
them too). Each is a 400, so no later step has to cope with them.

Limitations: PHP turns dots and spaces in top-level names into underscores; here names
are kept as sent. Text after the last `]` of a name is ignored, as in PHP. The charset
parameter of a content type is accepted, but bodies are always read as UTF-8. PHP
drops form variables nested too deeply and allows JSON to 512 levels; the mock
refuses both past 64.
"""

import json
import logging
import re
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from mock_refiner.errors import ApiError
from mock_refiner.traits import as_text

logger = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"

MAX_DEPTH = 64

_APPEND = None
_INTEGER_KEY = re.compile(r"0|[1-9][0-9]{0,17}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Array(dict):
    """A PHP array being built from form names: knows its next appended index."""

    next_index = 0

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, value)
        if _INTEGER_KEY.fullmatch(key):
            self.next_index = max(self.next_index, int(key) + 1)


def text_param(params: Mapping, name: str) -> str:
    """A parameter read as text: text as sent, a number as JavaScript writes it,
    `""` when absent or null. An object, a list or a boolean is a 400."""
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value or ""

    if isinstance(value, int | float) and not isinstance(value, bool):
        return as_text(value)

    raise ApiError.bad_request(f"The {name} parameter must be text or a number.")


def find_header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name`, whatever the case of the stored names."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value

    return None


def media_type(content_type: str | None) -> str:
    """The lower-case media type of a Content-Type value, parameters left out."""
    if not content_type:
        return ""

    return content_type.split(";", 1)[0].strip().lower()


def parse_params(
    method: str, query_string: bytes, content_type: str | None, body: bytes
) -> dict:
    """Parse the query string and body of a request into one parameter dict.

    The body is read whatever the method, since Refiner's DELETE calls take parameters
    in a body too. Raises `ApiError` (400 or 415) for a body or query it cannot read.
    """
    query = parse_form(query_string, "Query string")

    body_params = parse_body(content_type, body)

    logger.debug(
        "%s parameters: %d from query, %d from body",
        method,
        len(query),
        len(body_params),
    )
    return {**query, **body_params}


def parse_body(content_type: str | None, body: bytes) -> dict:
    """Parse a request body by its content type; an empty body gives `{}`."""
    if not body:
        return {}

    kind = media_type(content_type)
    if kind == "application/json" or kind.endswith("+json"):
        return parse_json(body)

    if kind == FORM_TYPE:
        return parse_form(body, "Form body")

    if not kind:
        raise ApiError(
            415,
            {
                "error": "Request body has no Content-Type; send application/json "
                "or application/x-www-form-urlencoded."
            },
        )

    raise ApiError(
        415,
        {
            "error": f"Unsupported Content-Type {kind!r}; send application/json "
            "or application/x-www-form-urlencoded."
        },
    )


def parse_json(body: bytes) -> dict:
    """Parse a JSON body, which must be an object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError.bad_request(
            f"JSON body is not valid UTF-8 (byte {error.start})."
        ) from None

    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_number
        )
    except RecursionError:
        raise ApiError.bad_request(
            f"JSON body nests deeper than {MAX_DEPTH} levels."
        ) from None
    except ValueError as error:
        raise ApiError.bad_request(f"JSON body is malformed: {error}.") from None

    if not isinstance(value, dict):
        raise ApiError.bad_request(
            f"JSON body must be an object, not {_json_kind(value)}."
        )

    _check_json(value)
    return value


def _check_json(document: dict) -> None:
    """Refuse nesting past `MAX_DEPTH` and text with unpaired surrogates."""
    pending: list[tuple[object, str, int]] = [(document, "", 1)]
    while pending:
        value, where, depth = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise _surrogate_refusal(where)
            continue

        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            raise ApiError.bad_request(
                f"JSON body nests deeper than {MAX_DEPTH} levels (at {where})."
            )

        if isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    raise _surrogate_refusal("a key")
                pending.append((item, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(value, list):
            pending.extend(
                (item, f"{where}[{index}]", depth + 1)
                for index, item in enumerate(value)
            )


def _surrogate_refusal(where: str) -> ApiError:
    return ApiError.bad_request(
        f"JSON body has text with an unpaired UTF-16 surrogate (at {where})."
    )


def _finite_number(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text} is out of range")

    return number


def parse_form(encoded: bytes, source: str) -> dict:
    """Parse `a=1&b[c]=2` form encoding with PHP bracket nesting into a dict."""
    params: dict = {}
    for pair in encoded.split(b"&"):
        if not pair:
            continue

        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name = _unquote(raw_name)
            value = _unquote(raw_value)
        except UnicodeDecodeError:
            shown = pair.decode("ascii", "backslashreplace")
            raise ApiError.bad_request(
                f"{source} is not valid UTF-8 after percent-decoding: '{shown}'."
            ) from None

        if name:
            segments = split_name(name)
            if len(segments) > MAX_DEPTH:
                raise ApiError.bad_request(
                    f"{source} has a name nested deeper than {MAX_DEPTH} levels."
                )
            _assign(params, segments, value)

    return {name: _as_lists(value) for name, value in params.items()}


def split_name(name: str) -> list[str | None]:
    """Split `a[b][]` into `["a", "b", None]`; None stands for an appending `[]`."""
    opening = name.find("[")
    if opening <= 0:
        return [name]

    segments: list[str | None] = [name[:opening]]
    rest = name[opening:]
    while rest.startswith("["):
        closing = rest.find("]")
        if closing == -1:
            break

        segment = rest[1:closing]
        segments.append(segment if segment else _APPEND)
        rest = rest[closing + 1 :]

    if len(segments) == 1:
        return [name]

    return segments


def _assign(params: dict, segments: list[str | None], value: str) -> None:
    container = params
    for segment in segments[:-1]:
        key = _next_index(container) if segment is _APPEND else segment
        child = container.get(key)
        if not isinstance(child, _Array):
            child = _Array()
            container[key] = child

        container = child

    last = segments[-1]
    container[_next_index(container) if last is _APPEND else last] = value


def _next_index(container: dict) -> str:
    return str(container.next_index) if isinstance(container, _Array) else "0"


def _as_lists(value: object) -> object:
    if not isinstance(value, dict):
        return value

    items = {key: _as_lists(item) for key, item in value.items()}
    if list(items) == [str(position) for position in range(len(items))]:
        return list(items.values())

    return items


def _unquote(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"

    if isinstance(value, str):
        return "a string"

    if value is None:
        return "null"

    if isinstance(value, bool):
        return "a boolean"

    return "a number"
