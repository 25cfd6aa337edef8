"""Refiner's list pagination: page numbers, page lengths and opaque page cursors.

`paginate` cuts one page out of a list and describes it the way Refiner's list
endpoints do: `{"items_count", "current_page", "last_page", "page_length",
"next_page_cursor"}`, where `items_count` is the total number of items. Parameters
arrive as query text or JSON values; `page` and `page_length` take a JSON integer or
canonical integer text (`"2"`; no sign, leading zeros or spaces). `page_cursor` wins
over `page`, which is then not read; `page_length` wins over the length a cursor
carries. A page past the last one is empty, not an error.

A cursor is base64url text without padding of compact JSON `{"v", "o", "n", "c"}`:
version, offset of the next page's first item, page length, and a keyed digest of the
other three. Only the exact text this module writes is accepted back, so a cursor that
was edited, padded or written by anyone else is refused.

Limitations: a cursor holds a position, not a snapshot, so items added or removed
between calls shift what the next page shows. A cursor used with another
`page_length` serves from its exact position; `current_page` is then the page that
holds the first item served and may not line up with `last_page`. The digest only
catches edits by hand: its key is in this file. Refiner's own cursor format, its
default page length (50 or 100) and its messages for bad values are not documented.
"""

import base64
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from mock_refiner.errors import ApiError

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PAGE = 2_147_483_647
MAX_PAGE_LENGTH = 1000
CURSOR_VERSION = 1
MAX_CURSOR_TEXT = 200

BAD_PAGE = f"The page parameter must be a whole number from 1 to {MAX_PAGE}."
BAD_PAGE_LENGTH = (
    f"The page_length parameter must be a whole number from 1 to {MAX_PAGE_LENGTH}."
)
BAD_CURSOR = "The page_cursor parameter is not a cursor this API gave out."

_WHOLE_TEXT = re.compile(r"[1-9][0-9]{0,9}")
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")
_DIGEST_KEY = b"mock-refiner page cursor"


def paginate(
    items: Sequence[T], params: Mapping[str, object], default_length: int = 50
) -> tuple[list[T], dict]:
    """The items of the page `params` ask for, and Refiner's `pagination` dict.

    Raises `ApiError` (400) for a bad `page`, `page_length` or `page_cursor`.
    """
    if not 1 <= default_length <= MAX_PAGE_LENGTH:
        raise ValueError(
            f"default_length {default_length} is not from 1 to {MAX_PAGE_LENGTH}"
        )

    page_length = whole_number(params, "page_length", MAX_PAGE_LENGTH, BAD_PAGE_LENGTH)

    if "page_cursor" in params:
        offset, cursor_length = decode_cursor(params["page_cursor"])
        page_length = page_length or cursor_length
        page = offset // page_length + 1
    else:
        page_length = page_length or default_length
        page = whole_number(params, "page", MAX_PAGE, BAD_PAGE) or 1
        offset = (page - 1) * page_length

    total = len(items)
    end = offset + page_length
    pagination = {
        "items_count": total,
        "current_page": page,
        "last_page": max(1, -(-total // page_length)),
        "page_length": page_length,
        "next_page_cursor": encode_cursor(end, page_length) if end < total else None,
    }
    return list(items[offset:end]), pagination


def whole_number(
    params: Mapping[str, object], name: str, highest: int, message: str
) -> int | None:
    """Parameter `name` as a whole number from 1 to `highest`, or None if absent.

    Takes a JSON integer or canonical integer text; refuses anything else with a 400
    carrying `message`.
    """
    if name not in params:
        return None

    value = params[name]
    if isinstance(value, str) and _WHOLE_TEXT.fullmatch(value):
        value = int(value)

    if type(value) is not int:
        raise ApiError.bad_request(message)

    if not 1 <= value <= highest:
        raise ApiError.bad_request(message)

    return value


def encode_cursor(offset: int, page_length: int) -> str:
    """The cursor of the page that starts at item `offset` and is `page_length` long."""
    fields: dict[str, object] = {"v": CURSOR_VERSION, "o": offset, "n": page_length}
    fields["c"] = _digest(fields)

    text = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: object) -> tuple[int, int]:
    """The offset and page length of a cursor `encode_cursor` wrote; else a 400."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_TEXT:
        raise ApiError.bad_request(BAD_CURSOR)

    if not _CURSOR_TEXT.fullmatch(cursor):
        raise ApiError.bad_request(BAD_CURSOR)

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fields = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ApiError.bad_request(BAD_CURSOR) from None

    if not isinstance(fields, dict):
        raise ApiError.bad_request(BAD_CURSOR)

    offset, page_length = fields.get("o"), fields.get("n")
    if type(offset) is not int or type(page_length) is not int:
        raise ApiError.bad_request(BAD_CURSOR)

    if offset < 0 or not 1 <= page_length <= MAX_PAGE_LENGTH:
        raise ApiError.bad_request(BAD_CURSOR)

    if encode_cursor(offset, page_length) != cursor:
        raise ApiError.bad_request(BAD_CURSOR)

    return offset, page_length


def _digest(fields: Mapping[str, object]) -> str:
    text = json.dumps(fields, separators=(",", ":"), sort_keys=True)
    digest = hashlib.blake2s(text.encode(), key=_DIGEST_KEY, digest_size=6)
    return digest.hexdigest()
