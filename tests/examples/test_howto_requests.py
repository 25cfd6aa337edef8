"""How to test code that does not use httpx: the live server, here from ``requests``.

``refiner_server.url`` is a real server on 127.0.0.1, started once per session and
serving a fresh mock to each test; the same reads and assertions apply.
"""

import requests


def send_page_view(base_url: str, email: str) -> int:
    """Your code: tracks a page view with ``requests``, the key as HTTP Basic user."""
    with requests.Session() as session:
        session.trust_env = False
        reply = session.post(
            f"{base_url}/v1/track",
            data={"email": email, "event": "Viewed Pricing Page"},
            auth=("rf-demo-key", ""),
            timeout=5,
        )
    return reply.status_code


def test_page_view_reaches_the_live_server(refiner_server):
    status = send_page_view(refiner_server.url, "ada@example.test")

    assert status == 200
    refiner_server.assert_event("Viewed Pricing Page", contact="ada@example.test")
    [call] = refiner_server.assert_calls(path="/v1/track", status=200, count=1)
    assert (call["key_source"], call["api_key"]) == ("basic", "rf-demo-key")
