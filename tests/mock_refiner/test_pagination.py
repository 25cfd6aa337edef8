import base64
import json

import pytest

from mock_refiner import pagination
from mock_refiner.errors import ApiError
from mock_refiner.pagination import decode_cursor, encode_cursor, paginate

BAD_PAGE = "The page parameter must be a whole number from 1 to 2147483647."
BAD_PAGE_LENGTH = "The page_length parameter must be a whole number from 1 to 1000."
BAD_CURSOR = "The page_cursor parameter is not a cursor this API gave out."

ITEMS = [f"item-{number}" for number in range(120)]


def refusal(items: list, params: dict) -> tuple[int, dict]:
    with pytest.raises(ApiError) as caught:
        paginate(items, params)

    return caught.value.status, caught.value.body


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def cursor_fields(cursor: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def test_first_page_by_default():
    page, info = paginate(ITEMS, {})

    assert page == ITEMS[:50]
    assert info == {
        "items_count": 120,
        "current_page": 1,
        "last_page": 3,
        "page_length": 50,
        "next_page_cursor": "eyJ2IjoxLCJvIjo1MCwibiI6NTAsImMiOiJhZjMyMjE0OTAxNTQifQ",
    }


def test_cursor_is_base64url_json_with_version_offset_length_and_digest():
    cursor = encode_cursor(50, 50)

    assert cursor == "eyJ2IjoxLCJvIjo1MCwibiI6NTAsImMiOiJhZjMyMjE0OTAxNTQifQ"
    assert cursor_fields(cursor) == {"v": 1, "o": 50, "n": 50, "c": "af3221490154"}
    assert decode_cursor(cursor) == (50, 50)


def test_default_length_is_the_callers():
    page, info = paginate(ITEMS, {}, default_length=100)

    assert page == ITEMS[:100]
    assert info == {
        "items_count": 120,
        "current_page": 1,
        "last_page": 2,
        "page_length": 100,
        "next_page_cursor": encode_cursor(100, 100),
    }


@pytest.mark.parametrize("default_length", [0, 1001])
def test_default_length_out_of_range_is_a_programming_error(default_length):
    with pytest.raises(ValueError) as caught:
        paginate(ITEMS, {}, default_length=default_length)

    assert str(caught.value) == f"default_length {default_length} is not from 1 to 1000"


@pytest.mark.parametrize("page", [2, "2"])
def test_page_as_number_or_text(page):
    items, info = paginate(ITEMS, {"page": page})

    assert items == ITEMS[50:100]
    assert info == {
        "items_count": 120,
        "current_page": 2,
        "last_page": 3,
        "page_length": 50,
        "next_page_cursor": encode_cursor(100, 50),
    }


def test_last_page_is_short_and_has_no_cursor():
    items, info = paginate(ITEMS, {"page": "3"})

    assert items == ITEMS[100:]
    assert info == {
        "items_count": 120,
        "current_page": 3,
        "last_page": 3,
        "page_length": 50,
        "next_page_cursor": None,
    }


def test_full_last_page_has_no_cursor():
    items, info = paginate(ITEMS, {"page": 4, "page_length": "30"})

    assert items == ITEMS[90:]
    assert info == {
        "items_count": 120,
        "current_page": 4,
        "last_page": 4,
        "page_length": 30,
        "next_page_cursor": None,
    }


@pytest.mark.parametrize("page", [4, "5", 2147483647])
def test_page_past_the_last_is_empty(page):
    items, info = paginate(ITEMS, {"page": page})

    assert items == []
    assert info == {
        "items_count": 120,
        "current_page": int(page),
        "last_page": 3,
        "page_length": 50,
        "next_page_cursor": None,
    }


def test_no_items_is_one_empty_page():
    items, info = paginate([], {})

    assert items == []
    assert info == {
        "items_count": 0,
        "current_page": 1,
        "last_page": 1,
        "page_length": 50,
        "next_page_cursor": None,
    }


@pytest.mark.parametrize(
    ("page_length", "expected_items", "last_page"),
    [(1, ITEMS[:1], 120), ("7", ITEMS[:7], 18), (1000, ITEMS, 1), ("1000", ITEMS, 1)],
)
def test_page_length_within_range(page_length, expected_items, last_page):
    items, info = paginate(ITEMS, {"page_length": page_length})

    assert items == expected_items
    assert info["page_length"] == int(page_length)
    assert info["last_page"] == last_page
    assert info["items_count"] == 120


def test_any_sequence_is_paged_into_a_list():
    items, info = paginate(range(10), {"page": "2", "page_length": "4"})

    assert items == [4, 5, 6, 7]
    assert info == {
        "items_count": 10,
        "current_page": 2,
        "last_page": 3,
        "page_length": 4,
        "next_page_cursor": encode_cursor(8, 4),
    }


BAD_WHOLE_NUMBERS = [
    "abc",
    "0",
    0,
    -1,
    "-1",
    2.5,
    "2.5",
    2.0,
    True,
    False,
    "true",
    None,
    "",
    " 2",
    "2 ",
    "+2",
    "02",
    "1e3",
    "0x10",
    "\uff12",
    [2],
    ["2"],
    {"page": 2},
]


@pytest.mark.parametrize("value", [*BAD_WHOLE_NUMBERS, 2147483648, "2147483648"])
def test_bad_page_is_refused(value):
    assert refusal(ITEMS, {"page": value}) == (400, {"error": BAD_PAGE})


@pytest.mark.parametrize(
    "value", [*BAD_WHOLE_NUMBERS, 1001, "1001", "99999999999999999999"]
)
def test_bad_page_length_is_refused(value):
    assert refusal(ITEMS, {"page_length": value}) == (400, {"error": BAD_PAGE_LENGTH})


def test_bad_page_length_is_refused_with_a_cursor_too():
    params = {"page_cursor": encode_cursor(4, 4), "page_length": "0"}

    assert refusal(ITEMS, params) == (400, {"error": BAD_PAGE_LENGTH})


def test_cursor_serves_the_next_page():
    _, first = paginate(ITEMS, {"page_length": "40"})

    items, info = paginate(ITEMS, {"page_cursor": first["next_page_cursor"]})

    assert items == ITEMS[40:80]
    assert info == {
        "items_count": 120,
        "current_page": 2,
        "last_page": 3,
        "page_length": 40,
        "next_page_cursor": encode_cursor(80, 40),
    }


@pytest.mark.parametrize("page", ["1", 3, "abc", 0])
def test_cursor_wins_over_page_which_is_not_read(page):
    items, info = paginate(ITEMS, {"page_cursor": encode_cursor(10, 5), "page": page})

    assert items == ITEMS[10:15]
    assert info["current_page"] == 3
    assert info["next_page_cursor"] == encode_cursor(15, 5)


def test_page_length_wins_over_the_cursors_length():
    params = {"page_cursor": encode_cursor(4, 4), "page_length": "3"}

    items, info = paginate(list(range(10)), params)

    assert items == [4, 5, 6]
    assert info == {
        "items_count": 10,
        "current_page": 2,
        "last_page": 4,
        "page_length": 3,
        "next_page_cursor": encode_cursor(7, 3),
    }


def test_cursor_past_the_end_after_items_went_away():
    items, info = paginate(list(range(5)), {"page_cursor": encode_cursor(10, 5)})

    assert items == []
    assert info == {
        "items_count": 5,
        "current_page": 3,
        "last_page": 1,
        "page_length": 5,
        "next_page_cursor": None,
    }


def follow_cursors(items: list, page_length: int) -> list[tuple[list, dict]]:
    pages = [paginate(items, {"page_length": page_length})]
    while pages[-1][1]["next_page_cursor"] is not None:
        cursor = pages[-1][1]["next_page_cursor"]
        pages.append(paginate(items, {"page_cursor": cursor}))
        assert len(pages) <= len(items) + 1, "cursor chain does not end"

    return pages


def test_cursor_chain_visits_every_item_once_in_order():
    for count in range(31):
        items = [f"contact-{number}" for number in range(count)]
        for page_length in range(1, 13):
            pages = follow_cursors(items, page_length)
            last_page = max(1, -(-count // page_length))
            where = f"{count} items, page length {page_length}"

            seen = [item for page_items, _ in pages for item in page_items]
            assert seen == items, where
            assert len(pages) == last_page, where

            for number, (page_items, info) in enumerate(pages, start=1):
                by_number = paginate(
                    items, {"page": number, "page_length": page_length}
                )
                assert by_number == (page_items, info), where
                assert info["current_page"] == number, where
                assert info["last_page"] == last_page, where
                assert info["items_count"] == count, where
                assert info["page_length"] == page_length, where


def test_cursor_length_sticks_along_the_chain():
    pages = follow_cursors(list(range(9)), 4)

    assert [items for items, _ in pages] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    assert [info["next_page_cursor"] for _, info in pages] == [
        encode_cursor(4, 4),
        encode_cursor(8, 4),
        None,
    ]


def tampered_offset() -> str:
    fields = cursor_fields(encode_cursor(50, 50))
    fields["o"] = 60
    return b64(json.dumps(fields, separators=(",", ":")).encode())


def respaced() -> str:
    fields = cursor_fields(encode_cursor(50, 50))
    return b64(json.dumps(fields).encode())


def with_extra_field() -> str:
    fields = cursor_fields(encode_cursor(50, 50))
    fields["x"] = 1
    return b64(json.dumps(fields, separators=(",", ":")).encode())


def raw_fields(**fields: object) -> str:
    return b64(json.dumps(fields, separators=(",", ":")).encode())


VALID = encode_cursor(50, 50)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("not a cursor", id="spaces"),
        pytest.param("!!!!", id="not-base64url"),
        pytest.param("abcde", id="impossible-length"),
        pytest.param(VALID + "=", id="padded"),
        pytest.param(VALID + "A", id="appended"),
        pytest.param(VALID[:-1], id="cut"),
        pytest.param(VALID[:-1] + "R", id="non-canonical-last-char"),
        pytest.param(VALID.replace("_", "/").replace("-", "+") + "+/", id="std-b64"),
        pytest.param(b64(b"\xff\xfe\xfd"), id="not-utf8"),
        pytest.param(b64(b"plain text"), id="not-json"),
        pytest.param(b64(b"[50, 50]"), id="json-list"),
        pytest.param(b64(b"null"), id="json-null"),
        pytest.param(tampered_offset(), id="tampered-offset"),
        pytest.param(respaced(), id="respaced-json"),
        pytest.param(with_extra_field(), id="extra-field"),
        pytest.param(raw_fields(v=1, o=50, n=50), id="no-digest"),
        pytest.param(raw_fields(v=1, o=50.0, n=50, c="x"), id="float-offset"),
        pytest.param(raw_fields(v=1, o=True, n=50, c="x"), id="bool-offset"),
        pytest.param(raw_fields(v=1, o="50", n=50, c="x"), id="text-offset"),
        pytest.param(raw_fields(v=1, o=50, c="x"), id="no-length"),
        pytest.param(encode_cursor(-50, 50), id="negative-offset"),
        pytest.param(encode_cursor(0, 0), id="zero-length"),
        pytest.param(encode_cursor(0, 1001), id="length-over-1000"),
        pytest.param("A" * 201, id="too-long"),
        pytest.param("\u00e9t\u00e9", id="non-ascii"),
        pytest.param(50, id="number"),
        pytest.param([VALID], id="list"),
        pytest.param(None, id="null"),
    ],
)
def test_cursor_not_given_out_is_refused(cursor):
    assert refusal(ITEMS, {"page_cursor": cursor}) == (400, {"error": BAD_CURSOR})


def test_cursor_of_another_version_is_refused(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(pagination, "CURSOR_VERSION", 2)
        other_version = encode_cursor(50, 50)

    assert cursor_fields(other_version)["v"] == 2
    assert refusal(ITEMS, {"page_cursor": other_version}) == (
        400,
        {"error": BAD_CURSOR},
    )
    assert paginate(ITEMS, {"page_cursor": VALID})[0] == ITEMS[50:100]
