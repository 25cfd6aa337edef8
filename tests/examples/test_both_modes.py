"""How to run the same test in-process and against the live server.

The ``mock`` fixture yields either ``refiner_respx`` or ``refiner_server``; the code
under test takes the base URL (``mock.url``), and the assertions are the same. Both
start from a fresh mock with a stepping clock and sequential ids, so even uuids and
times are equal in both modes.
"""

import httpx
import pytest


@pytest.fixture(params=["in_process", "live"])
def mock(request):
    name = "refiner_respx" if request.param == "in_process" else "refiner_server"
    return request.getfixturevalue(name)


def send_user(base_url: str, user_id: str, **traits: object) -> httpx.Response:
    """Your code: identifies one user, the key in the Authorization header."""
    with httpx.Client(base_url=base_url, trust_env=False) as client:
        return client.post(
            "/v1/identify-user",
            data={"id": user_id, **traits},
            headers={"Authorization": "Bearer rf-demo-key"},
        )


def test_identify_creates_a_contact(mock):
    reply = send_user(mock.url, "u1", email="ada@example.test", seats=3)

    assert reply.json() == {
        "message": "ok",
        "contact_uuid": "00000000-0000-4000-8000-000000000001",
    }
    mock.assert_contact(
        uuid="00000000-0000-4000-8000-000000000001",
        remote_id="u1",
        email="ada@example.test",
        first_seen_at="2026-01-01T00:00:00.000000Z",
        attributes={"seats": 3},
    )
    mock.assert_calls(
        path="/v1/identify-user", status=200, count=1, key_source="bearer"
    )


def test_a_refused_call_is_journaled_and_changes_nothing(mock):
    reply = send_user(mock.url, "")

    assert reply.status_code == 400
    mock.assert_calls(path="/v1/identify-user", status=400, count=1)
    assert mock.contacts == []


def test_seeded_state_is_read_back(mock):
    mock.seed({"api_key": "rf-demo-key", "contacts": [{"remote_id": "u9"}]})
    send_user(mock.url, "u9", plan="team")

    mock.assert_contact(remote_id="u9", attributes={"plan": "team"})
    assert len(mock.contacts) == 1
