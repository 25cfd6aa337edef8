import pytest

from mock_refiner.errors import ApiError
from mock_refiner.params import find_header, parse_params, split_name

FORM = "application/x-www-form-urlencoded"


def form(body: bytes, query: bytes = b"") -> dict:
    return parse_params("POST", query, FORM, body)


def refusal(query: bytes, content_type: str | None, body: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_params("POST", query, content_type, body)

    return caught.value


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"account[id]=a&account[name]=b", {"account": {"id": "a", "name": "b"}}),
        (b"tags[]=x&tags[]=y", {"tags": ["x", "y"]}),
        (b"a[b][c]=1", {"a": {"b": {"c": "1"}}}),
        (b"account[plan[tier]]=cobalt", {"account": {"plan[tier": "cobalt"}}),
        (b"name=first&name=second", {"name": "second"}),
        (b"q[0]=a&q[1]=b", {"q": ["a", "b"]}),
        (b"q[1]=b", {"q": {"1": "b"}}),
        (b"s[][n]=1&s[][n]=2", {"s": [{"n": "1"}, {"n": "2"}]}),
        (b"a=1&a[b]=2", {"a": {"b": "2"}}),
        (b"a[b]=2&a=1", {"a": "1"}),
        (b"a[b]c=1", {"a": {"b": "1"}}),
        (b"a[b=1", {"a[b": "1"}),
        (b"[x]=1", {"[x]": "1"}),
        (b"flag&empty=", {"flag": "", "empty": ""}),
        (b"w=a+b%20c%2B", {"w": "a b c+"}),
        (b"city=Pune%20%E2%82%B9", {"city": "Pune \u20b9"}),
        (b"age=30&big=1e%2B06", {"age": "30", "big": "1e+06"}),
        (b"&&x=1&", {"x": "1"}),
    ],
)
def test_form_body_uses_php_bracket_nesting(body, expected):
    assert form(body) == expected


def test_query_string_uses_the_same_nesting():
    params = parse_params("POST", b"account[id]=acme&tags[]=a", None, b"")

    assert params == {"account": {"id": "acme"}, "tags": ["a"]}


def test_body_wins_over_query_on_a_top_level_key():
    params = form(b"id=body&account[name]=B", query=b"id=query&account[id]=q&x=1")

    assert params == {"id": "body", "account": {"name": "B"}, "x": "1"}


def test_json_object_body_keeps_its_types():
    body = b'{"id": 7, "ok": true, "n": null, "account": {"id": "a"}, "r": 1.5}'

    params = parse_params("POST", b"api_key=k", "application/json", body)

    assert params == {
        "api_key": "k",
        "id": 7,
        "ok": True,
        "n": None,
        "account": {"id": "a"},
        "r": 1.5,
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.refiner+json",
    ],
)
def test_json_content_types(content_type):
    assert parse_params("POST", b"", content_type, b'{"id": "u1"}') == {"id": "u1"}


def test_form_content_type_with_charset():
    params = parse_params("POST", b"", FORM + "; charset=UTF-8", b"id=u1")

    assert params == {"id": "u1"}


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/json", "multipart/form-data"]
)
def test_empty_body_is_fine_with_any_content_type(content_type):
    assert parse_params("POST", b"id=q", content_type, b"") == {"id": "q"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"{",
            "JSON body is malformed: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1).",
        ),
        (b"[1, 2]", "JSON body must be an object, not an array."),
        (b'"text"', "JSON body must be an object, not a string."),
        (b"3", "JSON body must be an object, not a number."),
        (b"null", "JSON body must be an object, not null."),
        (b"true", "JSON body must be an object, not a boolean."),
        (b'{"a": NaN}', "JSON body is malformed: NaN is not allowed in JSON."),
        (b'{"a": "\xff"}', "JSON body is not valid UTF-8 (byte 7)."),
    ],
)
def test_bad_json_is_a_400(body, message):
    error = refusal(b"", "application/json", body)

    assert (error.status, error.body) == (400, {"error": message})


def test_form_value_not_utf8_after_percent_decoding_is_a_400():
    error = refusal(b"", FORM, b"id=u1&a=%ff")

    assert (error.status, error.body) == (
        400,
        {"error": "Form body is not valid UTF-8 after percent-decoding: 'a=%ff'."},
    )


def test_raw_non_utf8_form_bytes_are_a_400():
    error = refusal(b"", FORM, b"name=\xff\xfe")

    assert (error.status, error.body) == (
        400,
        {
            "error": "Form body is not valid UTF-8 after percent-decoding: "
            "'name=\\xff\\xfe'."
        },
    )


def test_query_not_utf8_is_a_400():
    error = refusal(b"%c3%28=1", None, b"")

    assert (error.status, error.body) == (
        400,
        {
            "error": "Query string is not valid UTF-8 after percent-decoding: "
            "'%c3%28=1'."
        },
    )


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("text/plain", "text/plain"),
        ("multipart/form-data; boundary=x", "multipart/form-data"),
        ("application/xml", "application/xml"),
    ],
)
def test_other_content_types_with_a_body_are_a_415(content_type, shown):
    error = refusal(b"", content_type, b"id=u1")

    assert (error.status, error.body) == (
        415,
        {
            "error": f"Unsupported Content-Type '{shown}'; send application/json "
            "or application/x-www-form-urlencoded."
        },
    )


def test_a_body_without_content_type_is_a_415():
    error = refusal(b"", None, b"id=u1")

    assert (error.status, error.body) == (
        415,
        {
            "error": "Request body has no Content-Type; send application/json "
            "or application/x-www-form-urlencoded."
        },
    )


@pytest.mark.parametrize(
    ("name", "segments"),
    [
        ("plain", ["plain"]),
        ("a[b][]", ["a", "b", None]),
        ("account[plan[tier]]", ["account", "plan[tier"]),
        ("a[", ["a["]),
    ],
)
def test_split_name(name, segments):
    assert split_name(name) == segments


def test_find_header_ignores_case():
    headers = {"content-TYPE": "application/json"}

    assert find_header(headers, "Content-Type") == "application/json"
    assert find_header(headers, "Authorization") is None
