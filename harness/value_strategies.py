"""Hypothesis strategies for the values inside RudderStack messages.

JSON values, trait keys, traits and identifiers, mixing ordinary values with hostile
ones: unicode, empty and blank text, text around Refiner's length caps, nested
objects and arrays, booleans, large and fractional numbers and the numbers Go prints
in exponent form, nulls; trait keys with brackets, dots or spaces, Refiner's reserved
and computed names, JavaScript's special keys; user and account ids that are text,
blank or numbers. ``harness.strategies`` builds messages, configs and streams from
them.

Every strategy is built once (``functools.cache``): hypothesis checks a strategy the
first time it draws from it, and a fresh one per draw would cost more than the draw.

Limitations: text never holds unpaired UTF-16 surrogates, because scenario files
cannot carry them; a trait key never nests more than three brackets deep; nested
values go two levels deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from harness.delivery import render_value

SearchStrategy = st.SearchStrategy


ORDINARY_KEYS = ("plan", "logins", "firstName", "company", "seats", "role", "address")
ORDINARY_KEYS += ("tags", "trial_end_date", "created_at", "signed_up_at")
RESERVED_KEYS = ("id", "email", "account", "api_key", "userId", "name", "domain")
RESERVED_KEYS += ("groupId", "first_seen_at", "last_seen_at", "country")
RESERVED_KEYS += ("form_views_count", "form_submissions_count", "last_form_view_at")
RESERVED_KEYS += ("last_form_submission_at",)
HOSTILE_KEYS = ("a.b", "first name", "", " ", "名前", "[x]", "a]b", "a[b", "tags[]")
HOSTILE_KEYS += ("address[city]", "x[y][z]", "0", "10", "__proto__", "constructor")
HOSTILE_KEYS += ("prototype", "toString")
SAFE_KEYS = (*ORDINARY_KEYS, "name", "domain", "country", "first_seen_at", "名前")
"""Keys that never change who a call is about, nor make Refiner refuse it."""

HOSTILE_TEXT = ("", " ", "\t", "  padded  ", "ünïcødé", "名前", "😀", "line1\nline2")
HOSTILE_TEXT += ("\u2028", "a+b%c/d", "text with spaces & = ?", "<tag>", "null")
HOSTILE_TEXT += ("true", "30", "-7", "030", "+7", "-0", "12.5", "1e+06", "2026-12-31")
HOSTILE_TEXT += ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00+05:30", "1767225600")
HOSTILE_TEXT += ("map[a:b]", "[a b]", "2147483647", "-2147483647", "2147483648")
HOSTILE_TEXT += ("-2147483648", "00000000001", "1700000000000")
HOSTILE_NUMBERS = (0, 1, -7, 30, 999999, 1000000, 1234567, 2147483647, -2147483647)
HOSTILE_NUMBERS += (-2147483648, 2147483648, 1767225600, 9007199254740993)
HOSTILE_NUMBERS += (12345678901234567890, 36.0, 12.5, 0.1, 0.0001, 0.00001, 1e-7)
HOSTILE_NUMBERS += (-0.0, 1.5e300, 1e21)
EMAILS = ("ada@example.test", "river@example.test", "sky@example.test", " ")
EMAILS += ("Ada@Example.test", "ünï@example.test", "HS-4471")
LONG_LENGTHS = (255, 256, 10_000, 10_001, 12_345)


@dataclass(frozen=True)
class User:
    """One person of a stream's pool: the user id and email the SDK knows."""

    user_id: Any
    email: str | None


# Values ------------------------------------------------------------------------


@cache
def plain_text(max_size: int = 12) -> SearchStrategy[str]:
    """Any text without unpaired surrogates."""
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)


@cache
def long_text() -> SearchStrategy[str]:
    """Text of a length around Refiner's caps (255, 10,000)."""
    return st.builds(
        lambda letter, length: letter * length,
        st.sampled_from("xé"),
        st.sampled_from(LONG_LENGTHS),
    )


@cache
def texts() -> SearchStrategy[str]:
    """Ordinary words, hostile text, any text and, rarely, very long text."""
    return st.one_of(
        st.sampled_from(("pro", "growth", "Ada", "Lisbon", "enterprise")),
        st.sampled_from(HOSTILE_TEXT),
        plain_text(),
        long_text(),
    )


@cache
def numbers() -> SearchStrategy[int | float]:
    """Small and large integers, fractions, and the numbers delivery changes."""
    return st.one_of(
        st.sampled_from(HOSTILE_NUMBERS),
        st.integers(-(10**7), 10**7),
        st.floats(allow_nan=False, allow_infinity=False),
    )


@cache
def json_scalars() -> SearchStrategy[Any]:
    """Any JSON scalar, hostile ones included."""
    return st.one_of(texts(), numbers(), st.booleans(), st.none())


@cache
def json_values(max_size: int = 3) -> SearchStrategy[Any]:
    """Objects and arrays of JSON scalars, nested up to three levels."""
    inner = st.one_of(
        json_scalars(),
        st.lists(json_scalars(), max_size=2),
        st.dictionaries(trait_keys(), json_scalars(), max_size=2),
    )
    return st.one_of(
        st.lists(inner, max_size=max_size),
        st.dictionaries(trait_keys(), inner, max_size=max_size),
    )


@cache
def trait_values() -> SearchStrategy[Any]:
    """What a trait holds: mostly scalars, sometimes an object or array."""
    return st.one_of(json_scalars(), json_scalars(), json_values())


# Keys and traits ---------------------------------------------------------------


@cache
def bracket_keys() -> SearchStrategy[str]:
    """Keys Refiner reads as nested parameters: ``plan[tier]``, ``id[x]``, ``a[]``."""
    return st.builds(
        lambda base, segments: base + "".join(f"[{part}]" for part in segments),
        st.sampled_from(("plan", "address", "id", "email", "account", "name", "a")),
        st.lists(
            st.sampled_from(("", "id", "x", "0", "1", "city")), min_size=1, max_size=3
        ),
    )


@cache
def trait_keys() -> SearchStrategy[str]:
    """Ordinary, reserved and hostile trait keys, and any text."""
    return st.one_of(
        st.sampled_from(ORDINARY_KEYS),
        st.sampled_from(RESERVED_KEYS),
        st.sampled_from(HOSTILE_KEYS),
        bracket_keys(),
        plain_text(max_size=8),
    )


@cache
def traits(
    keys: SearchStrategy[str] | None = None, max_size: int = 5
) -> SearchStrategy[dict[str, Any]]:
    """A traits object."""
    return st.dictionaries(
        keys if keys is not None else trait_keys(), trait_values(), max_size=max_size
    )


@cache
def safe_traits(max_size: int = 4) -> SearchStrategy[dict[str, Any]]:
    """Traits whose keys never change who the call is about (:data:`SAFE_KEYS`)."""
    return st.dictionaries(
        st.sampled_from(SAFE_KEYS), trait_values(), max_size=max_size
    )


@cache
def odd_traits() -> SearchStrategy[Any]:
    """Traits that are not an object: text and arrays, spread by index."""
    return st.one_of(
        st.sampled_from(("ab", "😀", "")),
        st.lists(json_scalars(), max_size=2),
    )


# Identifiers -------------------------------------------------------------------


@cache
def user_ids() -> SearchStrategy[Any]:
    """User ids: SDK-like text, hostile text, and numbers."""
    return st.one_of(
        st.builds(lambda n: f"user-{n}", st.integers(1000, 1003)),
        st.sampled_from(("u 1", "ünï", "42", " ", "a[b]", "名前", "0")),
        st.sampled_from((42, 1000000, 12.5)),
    )


@cache
def emails() -> SearchStrategy[str]:
    """Emails, and the external ids RudderStack may read as one."""
    return st.one_of(
        st.sampled_from(EMAILS),
        st.builds(lambda n: f"user{n}@example.test", st.integers(1, 3)),
    )


@cache
def users() -> SearchStrategy[User]:
    """A user: an id and, usually, an email."""
    return st.builds(User, user_ids(), st.one_of(st.none(), emails()))


@cache
def group_ids() -> SearchStrategy[Any]:
    """Account ids: SDK-like text, hostile text and numbers."""
    return st.one_of(
        st.builds(lambda n: f"acct-{n}", st.integers(1, 3)),
        st.sampled_from(("Northwind Labs", " ", "ünï", 77, 1000000)),
    )


@cache
def user_pools(max_size: int = 3) -> SearchStrategy[list[User]]:
    """One to ``max_size`` users whose ids reach Refiner as different text."""
    return st.lists(
        users(),
        min_size=1,
        max_size=max_size,
        unique_by=lambda user: render_value(user.user_id),
    )


@cache
def account_pools(max_size: int = 2) -> SearchStrategy[list[Any]]:
    """One to ``max_size`` account ids that reach Refiner as different text."""
    return st.lists(group_ids(), min_size=1, max_size=max_size, unique_by=render_value)
