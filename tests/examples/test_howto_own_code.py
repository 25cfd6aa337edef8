"""How to check what your own code sends to Refiner, with ``refiner_respx``.

The function under test calls the real URL; the fixture routes it into a fresh mock,
so the test asserts on the Refiner state it produced and the calls it made.
"""

import httpx

API_KEY = "rf-demo-key"


def send_signup(user_id: str, email: str, plan: str) -> None:
    """Your code: tells Refiner about a new user, then tracks the signup."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url="https://api.refiner.io", headers=headers) as client:
        client.post(
            "/v1/identify-user", data={"id": user_id, "email": email, "plan": plan}
        )
        client.post("/v1/track-event", data={"id": user_id, "event": "Signed Up"})


def test_signup_creates_the_contact_and_its_event(refiner_respx):
    send_signup("u1", "ada@example.test", "pro")

    refiner_respx.assert_contact(
        remote_id="u1", email="ada@example.test", attributes={"plan": "pro"}
    )
    refiner_respx.assert_event("Signed Up", contact="u1")
    refiner_respx.assert_calls(path="/v1/identify-user", status=200, count=1)
    refiner_respx.assert_calls(path="/v1/track-event", params={"event": "Signed Up"})


def test_nothing_is_sent_before_signup(refiner_respx):
    refiner_respx.assert_no_calls()
    assert refiner_respx.contacts == []
