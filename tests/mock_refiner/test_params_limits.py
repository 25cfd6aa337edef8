"""Input the parser must refuse, or read in bounded time, without ever failing."""

from __future__ import annotations

import time

import pytest

from mock_refiner import MockRefiner
from mock_refiner.errors import ApiError
from mock_refiner.params import MAX_DEPTH, parse_params, text_param
from tests.mock_refiner.conftest import deterministic_settings

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def refusal(content_type: str, body: bytes) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        parse_params("POST", b"", content_type, body)
    return caught.value.status, caught.value.body["error"]


def test_json_nested_past_the_limit_is_refused():
    deep = b'{"id":"u","t":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    where = "t" + "[0]" * (MAX_DEPTH - 1)
    assert refusal(JSON, deep) == (
        400,
        f"JSON body nests deeper than {MAX_DEPTH} levels (at {where}).",
    )


def test_json_nested_at_the_limit_is_read():
    depth = MAX_DEPTH - 1
    body = b'{"t":' + b"[" * depth + b"]" * depth + b"}"
    assert parse_params("POST", b"", JSON, body)["t"] == eval("[" * depth + "]" * depth)


def test_json_deeper_than_python_can_parse_is_refused():
    assert refusal(JSON, b"[" * 100_000) == (
        400,
        f"JSON body nests deeper than {MAX_DEPTH} levels.",
    )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"id":"u","x":"\\ud800"}', "x"),
        (b'{"id":"u","\\udc00":"x"}', "a key"),
        (b'{"id":"u","a":{"b":["ok","\\ud83d"]}}', "a.b[1]"),
    ],
)
def test_json_text_with_unpaired_surrogates_is_refused(body, where):
    assert refusal(JSON, body) == (
        400,
        f"JSON body has text with an unpaired UTF-16 surrogate (at {where}).",
    )


def test_json_surrogate_pairs_are_text():
    body = b'{"mood":"\\ud83d\\ude80"}'
    assert parse_params("POST", b"", JSON, body) == {"mood": "\U0001f680"}


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1e309"])
def test_json_numbers_out_of_range_are_refused(number):
    assert refusal(JSON, b'{"id":"u","x":' + number + b"}") == (
        400,
        f"JSON body is malformed: the number {number.decode()} is out of range.",
    )


def test_form_names_nested_past_the_limit_are_refused():
    name = "a" + "[x]" * MAX_DEPTH
    assert refusal(FORM, f"id=f&{name}=1".encode()) == (
        400,
        f"Form body has a name nested deeper than {MAX_DEPTH} levels.",
    )


def test_form_lists_are_read_in_linear_time():
    body = b"id=q&" + b"&".join([b"a[]=x"] * 60_000)
    started = time.perf_counter()
    params = parse_params("POST", b"", FORM, body)
    assert len(params["a"]) == 60_000
    assert time.perf_counter() - started < 5


def test_form_index_keys_with_many_digits_stay_text():
    body = b"id=big&a[" + b"9" * 5000 + b"]=1&a[]=2"
    assert parse_params("POST", b"", FORM, body) == {
        "id": "big",
        "a": {"9" * 5000: "1", "0": "2"},
    }


def test_form_explicit_indexes_move_the_next_appended_index():
    assert parse_params("POST", b"", FORM, b"a[5]=x&a[]=y&a[2]=z&a[]=w") == {
        "a": {"5": "x", "6": "y", "2": "z", "7": "w"}
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("", ""), ("u1", "u1"), (" ", " "), (42, "42"), (12.5, "12.5")],
)
def test_text_param_reads_text_and_numbers(value, text):
    assert text_param({"id": value}, "id") == text


@pytest.mark.parametrize("value", [True, False, [], ["x"], {}, {"x": "1"}])
def test_text_param_refuses_other_values(value):
    with pytest.raises(ApiError) as caught:
        text_param({"id": value}, "id")
    assert (caught.value.status, caught.value.body) == (
        400,
        {"error": "The id parameter must be text or a number."},
    )


@pytest.mark.parametrize(
    ("path", "body", "name"),
    [
        ("/v1/identify-user", b'{"id": false}', "id"),
        ("/v1/identify-user", b'{"id": []}', "id"),
        ("/v1/identify-user", b'{"id": {}}', "id"),
        ("/v1/identify-user", b'{"id": "u", "email": ["a@b.co"]}', "email"),
        ("/v1/identify-user", b'{"id": "u", "account": {"id": {"x": 1}}}', "id"),
        ("/v1/track-event", b'{"id": "u", "event": {"name": "E"}}', "event"),
        ("/v1/track", b'{"id": true, "event": "E"}', "id"),
    ],
)
def test_identifiers_that_are_not_text_are_refused_and_change_nothing(path, body, name):
    mock = MockRefiner(deterministic_settings())
    headers = {"Authorization": "Bearer test-key-0001", "Content-Type": JSON}

    reply = mock.handle("POST", path, b"", headers, body)

    assert (reply.status, reply.body) == (
        400,
        {"error": f"The {name} parameter must be text or a number."},
    )
    assert mock.store.snapshot() == {"environments": []}
    assert [call["status"] for call in mock.journal.calls()] == [400]


def test_form_identifiers_given_as_lists_are_refused():
    mock = MockRefiner(deterministic_settings())
    headers = {"Authorization": "Bearer test-key-0001", "Content-Type": FORM}

    reply = mock.handle("POST", "/v1/identify-user", b"", headers, b"id[]=x")

    assert (reply.status, reply.body) == (
        400,
        {"error": "The id parameter must be text or a number."},
    )


@pytest.mark.parametrize("key", [b"true", b"false", b"[1, 2]", b'{"k": "rf"}', b"12.5"])
def test_an_api_key_parameter_that_is_not_text_does_not_look_valid(key):
    mock = MockRefiner(deterministic_settings())
    body = b'{"id": "u", "api_key": ' + key + b"}"

    reply = mock.handle("POST", "/v1/identify-user", b"", {"Content-Type": JSON}, body)

    assert (reply.status, reply.body) == (401, {"error": "API key does not look valid"})
    assert mock.store.snapshot() == {"environments": []}


@pytest.mark.parametrize(
    ("method", "path", "query", "name"),
    [
        ("GET", "/v1/contact", b"id[]=x", "id"),
        ("DELETE", "/v1/contact", b"uuid[a]=b", "uuid"),
        ("GET", "/v1/contacts", b"search[]=a", "search"),
        ("POST", "/v1/sync-segment", b"id=u&segment_uuid[]=s", "segment_uuid"),
        ("POST", "/v1/forms/publish", b"form_uuid[]=f", "form_uuid"),
        ("GET", "/v1/responses", b"include[]=all", "include"),
        ("GET", "/v1/reporting", b"type[x]=nps", "type"),
    ],
)
def test_every_operation_reads_identifiers_the_same_way(method, path, query, name):
    mock = MockRefiner(deterministic_settings())
    headers = {"Authorization": "Bearer test-key-0001"}

    reply = mock.handle(method, path, query, headers, b"")

    assert (reply.status, reply.body) == (
        400,
        {"error": f"The {name} parameter must be text or a number."},
    )
