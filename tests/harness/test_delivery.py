"""Delivery rendering checked against every observed row of rudder-server's output."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from werkzeug.serving import make_server

from harness.delivery import (
    WireRequest,
    decode_value,
    encode_form,
    render_value,
    send,
    to_wire,
)

# (JSON text, fmt.Sprint result, url-encoded pair) as rudder-server produced them:
# FORM body decoded, each value through fmt.Sprint, then url.Values.Encode. Inputs
# observed together are listed one case each.
OBSERVED_ROWS = [
    ("30", "30", "k=30"),
    ("36.0", "36", "k=36"),
    ("12.5", "12.5", "k=12.5"),
    ("1000000", "1e+06", "k=1e%2B06"),
    ("999999", "999999", "k=999999"),
    ("1234567", "1.234567e+06", "k=1.234567e%2B06"),
    ("9876543210", "9.87654321e+09", "k=9.87654321e%2B09"),
    ("2147483648", "2.147483648e+09", "k=2.147483648e%2B09"),
    ("1e21", "1e+21", "k=1e%2B21"),
    ("0.0001", "0.0001", "k=0.0001"),
    ("0.00001", "1e-05", "k=1e-05"),
    ("-7", "-7", "k=-7"),
    ("true", "true", "k=true"),
    ("false", "false", "k=false"),
    (
        '"text with spaces & = ?"',
        "text with spaces & = ?",
        "k=text+with+spaces+%26+%3D+%3F",
    ),
    ('"ünïcødé"', "ünïcødé", "k=%C3%BCn%C3%AFc%C3%B8d%C3%A9"),
    (
        '{"city":"Pune","state":"MH"}',
        "map[city:Pune state:MH]",
        "k=map%5Bcity%3APune+state%3AMH%5D",
    ),
    (
        '{"b":1,"a":{"c":[1,2]}}',
        "map[a:map[c:[1 2]] b:1]",
        "k=map%5Ba%3Amap%5Bc%3A%5B1+2%5D%5D+b%3A1%5D",
    ),
    ('["x","y"]', "[x y]", "k=%5Bx+y%5D"),
    ("[1,2.5]", "[1 2.5]", "k=%5B1+2.5%5D"),
    ("[]", "[]", "k=%5B%5D"),
    ("{}", "map[]", "k=map%5B%5D"),
    ('""', "", "k="),
    # Extra rows.
    ("1e20", "1e+20", "k=1e%2B20"),
    ("100000000000000000000", "1e+20", "k=1e%2B20"),
    ("123456789012345678901", "1.2345678901234568e+20", "k=1.2345678901234568e%2B20"),
    ("1E6", "1e+06", "k=1e%2B06"),
    ("-0", "-0", "k=-0"),
    ("-0.0", "-0", "k=-0"),
    ("9007199254740993", "9.007199254740992e+15", "k=9.007199254740992e%2B15"),
    ("12345678901234567890", "1.2345678901234567e+19", "k=1.2345678901234567e%2B19"),
    ("0.1", "0.1", "k=0.1"),
    ("1.10", "1.1", "k=1.1"),
    ("3.14159265358979323846", "3.141592653589793", "k=3.141592653589793"),
    ("0.000001", "1e-06", "k=1e-06"),
    ("0.0000001", "1e-07", "k=1e-07"),
    ("1e-7", "1e-07", "k=1e-07"),
    ("-1e21", "-1e+21", "k=-1e%2B21"),
    ("1.5e300", "1.5e+300", "k=1.5e%2B300"),
    (
        '{"z":"last","A":"upper","a":"lower","10":"ten","9":"nine"}',
        "map[10:ten 9:nine A:upper a:lower z:last]",
        "k=map%5B10%3Aten+9%3Anine+A%3Aupper+a%3Alower+z%3Alast%5D",
    ),
    (
        '[{"k":"v"},{"n":2}]',
        "[map[k:v] map[n:2]]",
        "k=%5Bmap%5Bk%3Av%5D+map%5Bn%3A2%5D%5D",
    ),
    ('["a b","c"]', "[a b c]", "k=%5Ba+b+c%5D"),
    ('["a","b","c"]', "[a b c]", "k=%5Ba+b+c%5D"),
    ('{"x":null}', "map[x:<nil>]", "k=map%5Bx%3A%3Cnil%3E%5D"),
    ("[null]", "[<nil>]", "k=%5B%3Cnil%3E%5D"),
    ("null", "<nil>", "k=%3Cnil%3E"),
    ('"a+b%c/d"', "a+b%c/d", "k=a%2Bb%25c%2Fd"),
    ('"line1\\nline2"', "line1\nline2", "k=line1%0Aline2"),
    ('"😀"', "😀", "k=%F0%9F%98%80"),
    ('"<tag>"', "<tag>", "k=%3Ctag%3E"),
]

IDENTIFY_USER = "https://api.refiner.io/v1/identify-user"
FORM_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "Bearer test-key",
}
IDENTIFY_FORM = {"id": "u1", "email": "a@example.com", "age": 1000000}
IDENTIFY_BODY = b"age=1e%2B06&email=a%40example.com&id=u1"


@pytest.mark.parametrize(("json_text", "rendered", "pair"), OBSERVED_ROWS)
def test_observed_row(json_text: str, rendered: str, pair: str) -> None:
    value = decode_value(json_text)

    assert render_value(value) == rendered
    assert encode_form({"k": value}) == pair


@pytest.mark.parametrize(
    ("number", "rendered"),
    [
        (100000, "100000"),
        (999999.5, "999999.5"),
        (0.00012345, "0.00012345"),
        (-0.00001, "-1e-05"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (2**63, "9.223372036854776e+18"),
    ],
)
def test_numbers_at_the_edges(number: float, rendered: str) -> None:
    assert render_value(number) == rendered
    assert float(rendered) == float(number)


@pytest.mark.parametrize(
    ("json_text", "rendered"),
    [(text, rendered) for text, rendered, _ in OBSERVED_ROWS if text != "-0"],
)
def test_plain_json_loads_renders_the_same(json_text: str, rendered: str) -> None:
    assert render_value(json.loads(json_text)) == rendered


def test_plain_json_loads_drops_the_sign_of_integer_minus_zero() -> None:
    assert render_value(json.loads("-0")) == "0"
    assert render_value(decode_value("-0")) == "-0"


@pytest.mark.parametrize("json_text", ["NaN", "-Infinity", "[Infinity]"])
def test_decode_value_refuses_non_json_numbers(json_text: str) -> None:
    with pytest.raises(ValueError, match="is not JSON"):
        decode_value(json_text)


def test_whole_form_is_sorted_by_key() -> None:
    form = json.loads('{"zeta":"1","alpha":2,"Mid":true,"b c":"x y"}')

    assert encode_form(form) == "Mid=true&alpha=2&b+c=x+y&zeta=1"


def test_group_style_keys_are_escaped() -> None:
    form = {"account[id]": "org-1", "id": "u1"}

    assert encode_form(form) == "account%5Bid%5D=org-1&id=u1"


def test_empty_form_encodes_to_empty_string() -> None:
    assert encode_form({}) == ""


@pytest.mark.parametrize("value", [(1, 2), {1, 2}, b"raw", float("nan")])
def test_non_json_values_are_refused(value: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="^delivery: "):
        render_value(value)


def test_to_wire_keeps_endpoint_without_target() -> None:
    wire = to_wire("POST", IDENTIFY_USER, FORM_HEADERS, IDENTIFY_FORM)

    assert wire == WireRequest(
        method="POST",
        url=IDENTIFY_USER,
        headers={**FORM_HEADERS, "User-Agent": "RudderLabs"},
        body=IDENTIFY_BODY,
    )


def test_to_wire_replaces_scheme_and_host_with_target() -> None:
    wire = to_wire(
        "POST",
        "https://api.refiner.io/v1/track?source=rudder",
        FORM_HEADERS,
        {"event": "Signed Up"},
        target="http://127.0.0.1:8080",
    )

    assert wire == WireRequest(
        method="POST",
        url="http://127.0.0.1:8080/v1/track?source=rudder",
        headers={**FORM_HEADERS, "User-Agent": "RudderLabs"},
        body=b"event=Signed+Up",
    )


def test_to_wire_does_not_change_given_headers() -> None:
    headers = dict(FORM_HEADERS)

    to_wire("POST", IDENTIFY_USER, headers, IDENTIFY_FORM)

    assert headers == FORM_HEADERS


def test_send_through_respx() -> None:
    wire = to_wire("POST", IDENTIFY_USER, FORM_HEADERS, IDENTIFY_FORM)

    with respx.mock(assert_all_called=True) as refiner, httpx.Client() as client:
        route = refiner.post(IDENTIFY_USER).mock(return_value=httpx.Response(200))
        response = send(wire, client)

    assert response.status_code == 200
    assert route.call_count == 1
    received = route.calls.last.request
    assert received.content == IDENTIFY_BODY
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.headers["Authorization"] == "Bearer test-key"
    assert received.headers.get_list("User-Agent") == ["RudderLabs"]


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback WSGI server that records each request's path, headers and body."""
    received: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "query": environ["QUERY_STRING"],
                "content_type": environ.get("CONTENT_TYPE"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
                "authorization": environ.get("HTTP_AUTHORIZATION"),
                "body": environ["wsgi.input"].read(length),
            }
        )
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"message":"ok"}']

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    yield f"http://127.0.0.1:{server.server_port}", received

    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_send_to_loopback_target(
    recording_server: tuple[str, list[dict[str, Any]]],
) -> None:
    target, received = recording_server
    wire = to_wire("POST", IDENTIFY_USER, FORM_HEADERS, IDENTIFY_FORM, target=target)

    with httpx.Client(trust_env=False) as client:
        response = send(wire, client)

    assert response.status_code == 200
    assert response.json() == {"message": "ok"}
    assert received == [
        {
            "method": "POST",
            "path": "/v1/identify-user",
            "query": "",
            "content_type": "application/x-www-form-urlencoded",
            "user_agent": "RudderLabs",
            "authorization": "Bearer test-key",
            "body": IDENTIFY_BODY,
        }
    ]
