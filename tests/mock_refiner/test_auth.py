import base64

import pytest

from mock_refiner import Settings
from mock_refiner.auth import KeyUse, basic_user, check_api_key, find_api_key
from mock_refiner.errors import ApiError

NO_KEY = (401, {"error": "No API key found in headers"})
MALFORMED = (401, {"error": "API key does not look valid"})
UNKNOWN = (404, {"message": "API key not valid or does not exist"})


def basic(credentials: str) -> dict[str, str]:
    encoded = base64.b64encode(credentials.encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def refusal(found: KeyUse | None, settings: Settings | None = None) -> tuple:
    with pytest.raises(ApiError) as caught:
        check_api_key(found, settings or Settings())

    return caught.value.status, caught.value.body


@pytest.mark.parametrize(
    ("headers", "params", "expected"),
    [
        ({"Authorization": "Bearer key-1"}, {}, KeyUse("key-1", "bearer")),
        ({"authorization": "bearer  key-1 "}, {}, KeyUse("key-1", "bearer")),
        (basic("key-2:"), {}, KeyUse("key-2", "basic")),
        ({}, {"api_key": "key-3"}, KeyUse("key-3", "param")),
        (
            {"Authorization": "Bearer key-1"},
            {"api_key": "k3"},
            KeyUse("key-1", "bearer"),
        ),
        (basic("key-2:"), {"api_key": "key-3"}, KeyUse("key-2", "basic")),
        ({"Authorization": "Bearer "}, {"api_key": "key-3"}, KeyUse("key-3", "param")),
        (basic("key-2:secret"), {"api_key": "key-3"}, KeyUse("key-3", "param")),
        (basic("key-2"), {"api_key": "key-3"}, KeyUse("key-3", "param")),
        (
            {"Authorization": "Token key-9"},
            {"api_key": "key-3"},
            KeyUse("key-3", "param"),
        ),
        ({}, {"api_key": 123456}, KeyUse("123456", "param")),
        ({}, {"api_key": {"a": "b"}}, KeyUse('{"a":"b"}', "param", is_text=False)),
    ],
)
def test_find_api_key_order(headers, params, expected):
    assert find_api_key(headers, params) == expected


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({}, {}),
        ({"Authorization": "Bearer "}, {}),
        ({"Authorization": "Bearer"}, {"api_key": ""}),
        (basic(":"), {}),
        ({"Authorization": "Basic !!!"}, {}),
    ],
)
def test_no_key_found(headers, params):
    assert find_api_key(headers, params) is None


def test_basic_user_needs_the_trailing_colon_and_an_empty_password():
    def encode(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    assert basic_user(encode("key-2:")) == "key-2"
    assert basic_user(encode("key-2")) is None
    assert basic_user(encode("key-2:pw")) is None
    assert basic_user(base64.b64encode(b"\xff:").decode()) is None


def test_check_accepts_a_well_formed_key():
    found = KeyUse("Ab9._-" + "x" * 122, "bearer")

    assert check_api_key(found, Settings()) == found


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (None, NO_KEY),
        (KeyUse("abc", "bearer"), NO_KEY),
        (KeyUse("ab!", "param"), NO_KEY),
        (KeyUse("key with space", "bearer"), MALFORMED),
        (KeyUse("key/slash", "param"), MALFORMED),
        (KeyUse("k\u00e9y1", "param"), MALFORMED),
        (KeyUse('{"a":"b"}', "param"), MALFORMED),
        (KeyUse("x" * 129, "bearer"), MALFORMED),
    ],
)
def test_check_refuses_missing_and_malformed_keys(found, expected):
    assert refusal(found) == expected


def test_check_refuses_a_key_outside_the_accepted_set():
    settings = Settings(api_keys=frozenset({"known-key"}))

    assert refusal(KeyUse("other-key", "bearer"), settings) == UNKNOWN
    assert check_api_key(KeyUse("known-key", "basic"), settings).key == "known-key"


def test_malformed_key_is_refused_before_the_accepted_set_is_looked_at():
    settings = Settings(api_keys=frozenset({"known-key"}))

    assert refusal(KeyUse("bad key", "bearer"), settings) == MALFORMED
