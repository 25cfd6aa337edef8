"""The API key of a call: where it was given and whether the mock accepts it.

Refiner takes the key three ways; they are looked at in this order:
`Authorization: Bearer <key>`, HTTP Basic with the key as user name and an empty
password, then an `api_key` parameter from the query or the body. A blank key counts
as no key, so the search goes on to the next way.

The replies follow what Refiner answers: 401 `No API key found in headers` when there
is no key or it is shorter than 4 characters, 401 `API key does not look valid` when it
has characters outside `[A-Za-z0-9._-]` or is longer than 128, and 404 with a `message`
(not `error`) for a well-formed key the mock does not know.

Limitations: what Refiner counts as a well-formed key is not documented; the rule above
is an assumption. An `api_key` parameter given as a whole JSON number is read as its
digits; any other value that is not text (a boolean, an object, a list) never looks
valid, and is journaled as its compact JSON text.
"""

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mock_refiner.errors import ApiError
from mock_refiner.params import find_header
from mock_refiner.settings import Settings

logger = logging.getLogger(__name__)

MIN_KEY_LENGTH = 4
MAX_KEY_LENGTH = 128

NO_KEY = {"error": "No API key found in headers"}
MALFORMED_KEY = {"error": "API key does not look valid"}
UNKNOWN_KEY = {"message": "API key not valid or does not exist"}

_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class KeyUse:
    """An API key as found on a call: the key and how it was given."""

    key: str
    source: str
    is_text: bool = True


def find_api_key(headers: Mapping[str, str], params: Mapping) -> KeyUse | None:
    """The first non-blank key in the Bearer header, Basic header or `api_key`."""
    authorization = (find_header(headers, "Authorization") or "").strip()
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()

    if scheme.lower() == "bearer" and credentials:
        return KeyUse(credentials, "bearer")

    if scheme.lower() == "basic":
        user = basic_user(credentials)
        if user:
            return KeyUse(user, "basic")

    key = params.get("api_key")
    if isinstance(key, int) and not isinstance(key, bool):
        return KeyUse(str(key), "param")

    if key is not None and not isinstance(key, str):
        text = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
        return KeyUse(text, "param", is_text=False)

    if key:
        return KeyUse(key, "param")

    return None


def basic_user(credentials: str) -> str | None:
    """The user of Basic credentials `base64(user:)`; None if a password is set."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None

    user, colon, password = decoded.partition(":")
    if not colon or password:
        return None

    return user.strip() or None


def check_api_key(found: KeyUse | None, settings: Settings) -> KeyUse:
    """Return `found` if the mock accepts it; raise the 401 or 404 Refiner gives."""
    if found is None:
        raise ApiError(401, dict(NO_KEY))

    key = found.key
    if len(key) < MIN_KEY_LENGTH:
        raise ApiError(401, dict(NO_KEY))

    if (
        not found.is_text
        or len(key) > MAX_KEY_LENGTH
        or not _KEY_CHARACTERS.fullmatch(key)
    ):
        raise ApiError(401, dict(MALFORMED_KEY))

    if settings.api_keys is not None and key not in settings.api_keys:
        raise ApiError(404, dict(UNKNOWN_KEY))

    return found
