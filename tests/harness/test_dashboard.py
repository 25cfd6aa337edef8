"""The demo server's dashboard at `/`, in headless Chromium through Playwright.

The server is `create_server_app` on a real loopback socket; calls reach it as
rudder-server delivers them (mapped, rendered by `harness.delivery`, form bodies with a
Bearer key) while the page is open. The browser is Debian's `/usr/bin/chromium`;
without it the browser tests are skipped, unless `REFINER_REQUIRE_BROWSER=1` makes its
absence a failure. Screenshots go to `REFINER_ARTIFACTS` (default `test-artifacts/`).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from harness.dashboard import CONTENT_SECURITY_POLICY, STATIC_FOLDER, dashboard
from harness.data_plane import PREFIX
from harness.delivery import encode_form, send, to_wire
from harness.mapper import map_event
from harness.runner import replay_settings
from harness.server import create_server_app

ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(dashboard.root_path) / STATIC_FOLDER
ARTIFACTS = Path(os.environ.get("REFINER_ARTIFACTS") or ROOT / "test-artifacts")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

KEY = "rf-demo-key"
CONFIG = {"apiKey": KEY}
REFINER = "https://api.refiner.io/v1"
FORM = "application/x-www-form-urlencoded"
MARKUP = "<img src=x onerror=window.__injected=1>"

PEOPLE = [
    {
        "type": "identify",
        "userId": "u1",
        "traits": {"email": "ada@example.com", "plan": "pro", "seats": 3},
    },
    {
        "type": "identify",
        "userId": "u2",
        "traits": {"email": "grace@example.com", "plan": "free"},
    },
    {
        "type": "group",
        "userId": "u1",
        "groupId": "acct-1",
        "traits": {"name": "Acme", "domain": "acme.io"},
    },
    {"type": "group", "userId": "u2", "groupId": "acct-1", "traits": {"name": "Acme"}},
    {"type": "track", "userId": "u1", "event": "Signed Up"},
    {"type": "page", "userId": "u2", "name": "Pricing"},
]

VISIBLE_CELLS = """rows => rows.map(row => [...row.cells]
    .filter(cell => getComputedStyle(cell).display !== "none")
    .map(cell => cell.innerText))"""

COUNTS = """() => Object.fromEntries([...document.querySelectorAll(".counts div")]
    .map(item => [item.querySelector("dt").textContent,
                  item.querySelector("dd").textContent]))"""

HIDE_TAB = """hidden => {
    Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
    Object.defineProperty(document, "visibilityState", {
        configurable: true, get: () => hidden ? "hidden" : "visible"});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


@dataclass
class Demo:
    """A demo server on loopback and a client that delivers calls to it."""

    base_url: str
    app: Flask
    client: httpx.Client

    def deliver(self, message: dict[str, Any]) -> httpx.Response:
        """Map a RudderStack message with the server's profile and deliver it."""
        request = map_event(message, CONFIG, self.app.extensions["refiner_profile"])
        return self.post(request.endpoint, request.form, request.headers)

    def post_form(
        self, path: str, form: dict[str, Any], key: str = KEY
    ) -> httpx.Response:
        """Deliver a form to `REFINER + path` with a Bearer key, as rudder-server."""
        headers = {"Content-Type": FORM, "Authorization": f"Bearer {key}"}
        return self.post(REFINER + path, form, headers)

    def post(
        self, endpoint: str, form: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        wire = to_wire("POST", endpoint, headers, form, target=self.base_url)
        return send(wire, self.client)


@pytest.fixture
def demo() -> Iterator[Demo]:
    app = create_server_app(replay_settings(), profile="documented")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"

    with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as client:
        yield Demo(base_url, app, client)

    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with no connection to anything but loopback."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; install it with: apt-get install chromium"
        if os.environ.get("REFINER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"REFINER_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, demo: Demo) -> Iterator[Any]:
    """A page of a fresh browser context that may reach the demo server only.

    Script errors, console errors and requests to any other origin fail the test;
    the one 404 of `/__mock/ingest` on a server without an ingest log is expected.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def only_the_demo_server(route: Any) -> None:
        if route.request.url.startswith(demo.base_url + "/"):
            route.continue_()
        else:
            problems.append(f"request to another origin: {route.request.url}")
            route.abort()

    def console(message: Any) -> None:
        missing_log = message.location.get("url") == f"{demo.base_url}/__mock/ingest"
        if message.type == "error" and not (missing_log and "404" in message.text):
            problems.append(f"console error: {message.text}")

    context.route("**/*", only_the_demo_server)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", console)

    yield page

    context.close()
    assert problems == []


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def rows(page: Any, body: str) -> list[list[str]]:
    """The visible cell texts of each row of the table body `#body`."""
    return page.eval_on_selector_all(f"#{body} tr", VISIBLE_CELLS)


def assert_rows(
    page: Any, body: str, expected: list[list[str]], cells: slice = slice(None)
) -> None:
    """The rows of `#body` (their `cells`) are `expected` within five seconds."""
    deadline = time.monotonic() + 5
    found = [row[cells] for row in rows(page, body)]
    while found != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        found = [row[cells] for row in rows(page, body)]

    assert found == expected


def wait_for_calls(page: Any, count: int) -> None:
    """Wait until the page shows `count` calls; a poll renders everything at once."""
    expect(page.locator("#count-calls")).to_have_text(str(count))


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def stub_ingest_log(app: Flask, log: dict[str, Any] | None) -> None:
    """Make `GET /__mock/ingest` answer `log`, or 404 as a server without one."""

    def view() -> Any:
        if log is None:
            return jsonify({"error": "Not found"}), 404
        return jsonify(log)

    for rule in app.url_map.iter_rules():
        if rule.rule == "/__mock/ingest" and "GET" in (rule.methods or ()):
            app.view_functions[rule.endpoint] = view
            return

    app.add_url_rule("/__mock/ingest", "stub_ingest", view)


def test_the_page_and_its_files_are_served_with_a_strict_policy(demo):
    page = demo.client.get("/")
    script = demo.client.get("/__dashboard/dashboard.js")
    missing = demo.client.get("/__dashboard/nothing.js")

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.text == (STATIC / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'(?:src|href)="([^"]*)"', page.text) == [
        "/__dashboard/icon.svg",
        "/__dashboard/dashboard.css",
        "/__dashboard/dashboard.js",
    ]
    assert script.status_code == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})


def test_the_static_files_load_nothing_from_elsewhere():
    for name in ("index.html", "dashboard.js", "dashboard.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text) == [], name


def test_the_empty_page_explains_what_to_send(page, demo):
    page.goto(demo.base_url)

    expect(page.locator("#live-status")).to_have_text(re.compile(r"^Live · updated "))
    expect(page.locator("#empty-state")).to_be_visible()
    assert page.title() == "Refiner mock dashboard"
    assert page.inner_text("#empty-title") == "Nothing has arrived yet"
    assert page.inner_text("#empty-text") == (
        f"Point a RudderStack SDK's data plane URL at {demo.base_url}{PREFIX}, "
        f"or send Refiner calls to {demo.base_url}/v1 with an API key."
    )
    assert page.evaluate(COUNTS) == {
        "Contacts": "0",
        "Accounts": "0",
        "Events": "0",
        "Calls": "0",
        "Refused": "0",
    }
    assert_rows(page, "contacts-rows", [["No contacts yet."]])
    assert_rows(page, "accounts-rows", [["No accounts yet."]])
    assert_rows(page, "events-rows", [["No events yet."]])
    assert_rows(page, "journal-rows", [["No calls yet."]])
    assert_rows(page, "refused-rows", [["Nothing refused."]])
    assert page.inner_text("#journal-shown") == "0 of 0 calls"
    assert page.inner_text("#call-detail") == (
        "Select a call to see its request and reply."
    )
    assert page.inner_text("#refused-note") == ""
    screenshot(page, "dashboard-empty.png")


def test_contacts_accounts_events_and_calls_appear_without_a_reload(page, demo):
    page.goto(demo.base_url)
    expect(page.locator("#empty-state")).to_be_visible()
    page.evaluate("window.__samePage = true")

    statuses = [demo.deliver(message).status_code for message in PEOPLE]

    assert statuses == [200] * 6
    wait_for_calls(page, 6)
    assert page.evaluate("window.__samePage") is True
    expect(page.locator("#empty-state")).to_be_hidden()
    assert page.evaluate(COUNTS) == {
        "Contacts": "2",
        "Accounts": "1",
        "Events": "2",
        "Calls": "6",
        "Refused": "0",
    }
    assert_rows(
        page,
        "contacts-rows",
        [
            ["u1", "ada@example.com", "plan\npro\nseats\n3", "acct-1", "00:00:04"],
            ["u2", "grace@example.com", "plan\nfree", "acct-1", "00:00:05"],
        ],
    )
    assert_rows(
        page,
        "accounts-rows",
        [
            ["acct-1", "Acme", "domain\nacme.io\nname\nAcme", "u1\nu2"],
        ],
    )
    assert_rows(
        page,
        "events-rows",
        [
            ["00:00:05", "Pricing", "u2", "/v1/track"],
            ["00:00:04", "Signed Up", "u1", "/v1/track"],
        ],
    )
    assert_rows(
        page,
        "journal-rows",
        [
            ["6", "00:00:05", "POST /v1/track", "200", KEY],
            ["5", "00:00:04", "POST /v1/track", "200", KEY],
            ["4", "00:00:03", "POST /v1/identify-user", "200", KEY],
            ["3", "00:00:02", "POST /v1/identify-user", "200", KEY],
            ["2", "00:00:01", "POST /v1/identify-user", "200", KEY],
            ["1", "00:00:00", "POST /v1/identify-user", "200", KEY],
        ],
    )
    assert page.inner_text("#journal-shown") == "6 of 6 calls"
    assert_rows(page, "refused-rows", [["Nothing refused."]])


def test_journal_filters_and_the_selected_call_survive_new_calls(page, demo):
    page.goto(demo.base_url)
    for message in PEOPLE:
        demo.deliver(message)
    demo.post_form("/identify-user", {"plan": "free"})
    wait_for_calls(page, 7)

    page.select_option("#filter-operation", "track")
    assert [row[0] for row in rows(page, "journal-rows")] == ["6", "5"]
    assert page.inner_text("#journal-shown") == "2 of 7 calls"

    page.select_option("#filter-operation", "")
    page.select_option("#filter-status", "4xx")
    assert [row[0] for row in rows(page, "journal-rows")] == ["7"]

    page.select_option("#filter-status", "200")
    page.fill("#filter-text", "GRACE@")
    assert [row[0] for row in rows(page, "journal-rows")] == ["2"]

    page.fill("#filter-text", "nobody")
    assert_rows(page, "journal-rows", [["No calls match the filters."]])

    page.fill("#filter-text", "u1")
    assert [row[0] for row in rows(page, "journal-rows")] == ["5", "3", "1"]

    page.click("#journal-rows tr[data-call-id='3']")
    assert page.inner_text("#call-title") == "Call 3: POST /v1/identify-user"
    assert page.get_attribute("tr[data-call-id='3']", "aria-current") == "true"
    assert page.inner_text("#call-detail .exchange[aria-label='Request'] dl") == (
        "Method\nPOST\nPath\n/v1/identify-user\nOperation\nidentify-user\n"
        f"Content type\n{FORM}\nAPI key\n{KEY} (bearer)\n"
        "Time\n2026-01-01T00:00:02.000000Z"
    )
    assert page.text_content("#call-params") == json.dumps(
        {"account": {"domain": "acme.io", "id": "acct-1", "name": "Acme"}, "id": "u1"},
        indent=2,
    )
    assert page.inner_text("#call-detail .exchange[aria-label='Reply'] dl") == (
        "Status\n200"
    )
    assert page.text_content("#call-reply") == json.dumps(
        {"message": "ok", "contact_uuid": "00000000-0000-4000-8000-000000000001"},
        indent=2,
    )

    demo.deliver({"type": "track", "userId": "u1", "event": "Invited"})
    demo.deliver({"type": "track", "userId": "u2", "event": "Invited"})
    wait_for_calls(page, 9)

    assert [row[0] for row in rows(page, "journal-rows")] == ["8", "5", "3", "1"]
    assert page.inner_text("#journal-shown") == "4 of 9 calls"
    assert page.input_value("#filter-operation") == ""
    assert page.input_value("#filter-status") == "200"
    assert page.input_value("#filter-text") == "u1"
    assert page.inner_text("#call-title") == "Call 3: POST /v1/identify-user"
    assert page.get_attribute("tr[data-call-id='3']", "aria-current") == "true"

    page.fill("#filter-text", "")
    page.select_option("#filter-status", "")
    path = screenshot(page, "dashboard.png")
    assert path.stat().st_size > 0


def test_a_refused_call_appears_with_its_reason(page, demo):
    page.goto(demo.base_url)
    demo.deliver(PEOPLE[0])
    missing_identity = demo.post_form("/identify-user", {"plan": "free"})
    missing_event = demo.post_form("/track", {"id": "u1"})

    assert (missing_identity.status_code, missing_event.status_code) == (400, 400)
    wait_for_calls(page, 3)
    assert page.inner_text("#count-refused") == "2"
    assert_rows(
        page,
        "refused-rows",
        [
            [
                "00:00:02",
                "Refiner API",
                "POST /v1/track",
                "400",
                "The event parameter is required.",
            ],
            [
                "00:00:01",
                "Refiner API",
                "POST /v1/identify-user",
                "400",
                "The id or email parameter is required.",
            ],
        ],
    )
    assert page.evaluate(COUNTS)["Contacts"] == "1"

    page.focus("#journal-rows tr[data-call-id='1']")
    page.keyboard.press("Enter")
    assert page.inner_text("#call-title") == "Call 1: POST /v1/identify-user"

    page.click("#refused-rows tr[data-call-id='2']")
    assert page.inner_text("#call-title") == "Call 2: POST /v1/identify-user"
    assert page.text_content("#call-params") == json.dumps({"plan": "free"}, indent=2)
    assert page.text_content("#call-reply") == json.dumps(
        {"error": "The id or email parameter is required."}, indent=2
    )


def test_markup_in_traits_and_event_names_shows_as_text(page, demo):
    page.goto(demo.base_url)
    demo.deliver(
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"email": "ada@example.com", "nickname": MARKUP},
        }
    )
    demo.deliver(
        {
            "type": "track",
            "userId": "u1",
            "event": "<script>window.__injected=2</script>",
        }
    )
    demo.post_form("/identify-user", {"id": "<b>w1</b>"}, key="<i>key</i>")
    wait_for_calls(page, 3)

    assert_rows(
        page,
        "contacts-rows",
        [
            ["u1", "ada@example.com", f"nickname\n{MARKUP}", "—", "00:00:01"],
        ],
    )
    assert rows(page, "events-rows")[0][1] == "<script>window.__injected=2</script>"
    assert rows(page, "journal-rows")[0] == [
        "3",
        "00:00:02",
        "POST /v1/identify-user",
        "401",
        "<i>key</i>",
    ]
    page.click("#journal-rows tr[data-call-id='1']")
    assert page.text_content("#call-params") == json.dumps(
        {"email": "ada@example.com", "id": "u1", "nickname": MARKUP}, indent=2
    )
    assert page.locator("main img, main script, main b, main i").count() == 0
    assert page.evaluate("window.__injected") is None


def test_refused_and_failed_events_of_the_ingest_log_show_their_reason(page, demo):
    stub_ingest_log(
        demo.app,
        {
            "events": [
                {
                    "id": 1,
                    "received_at": "2026-01-01T00:00:10.000000Z",
                    "write_key": "wk-1",
                    "type": "identify",
                    "message": {"type": "identify", "anonymousId": "anon-1"},
                    "outcome": "failed",
                    "status": 400,
                    "reason": "The id or email parameter is required.",
                    "call_id": 1,
                },
                {
                    "id": 2,
                    "received_at": "2026-01-01T00:00:11.000000Z",
                    "write_key": "wk-unknown",
                    "type": "track",
                    "message": {"type": "track", "userId": "u9", "event": "Paid"},
                    "outcome": "refused",
                    "status": 401,
                    "reason": "Unknown write key.",
                    "call_id": None,
                },
                {
                    "id": 3,
                    "received_at": "2026-01-01T00:00:12.000000Z",
                    "write_key": "wk-1",
                    "type": "alias",
                    "message": {"type": "alias", "userId": "u9"},
                    "outcome": "refused",
                    "status": None,
                    "reason": "Event type alias is not supported",
                    "call_id": None,
                },
                {
                    "id": 4,
                    "received_at": "2026-01-01T00:00:13.000000Z",
                    "write_key": "wk-1",
                    "type": "track",
                    "message": {"type": "track", "userId": "u9", "event": "Paid"},
                    "outcome": "delivered",
                    "status": 200,
                    "reason": None,
                    "call_id": 2,
                },
            ],
            "dropped": 3,
        },
    )
    refused_call = demo.post_form("/identify-user", {"plan": "free"})

    page.goto(demo.base_url)

    assert refused_call.status_code == 400
    expect(page.locator("#count-refused")).to_have_text("3")
    assert_rows(
        page,
        "refused-rows",
        [
            [
                "00:00:12",
                "Data plane (refused)",
                "alias u9",
                "—",
                ("Event type alias is not supported"),
            ],
            [
                "00:00:11",
                "Data plane (refused)",
                "track u9",
                "401",
                "Unknown write key.",
            ],
            [
                "00:00:10",
                "Data plane (failed)",
                "identify anon-1",
                "400",
                "The id or email parameter is required.",
            ],
        ],
    )
    assert (
        page.inner_text("#refused-note") == "3 older ingest log entries were dropped."
    )

    page.click("#refused-rows tr[data-call-id='1']")
    assert page.inner_text("#call-title") == "Call 1: POST /v1/identify-user"


def test_events_sent_to_the_data_plane_show_what_was_refused_and_why(page, demo):
    page.goto(demo.base_url)
    batch = {
        "batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "a@x.io"}},
            {"type": "alias", "userId": "u1", "previousId": "anon-1"},
            {"type": "identify", "anonymousId": "anon-2", "traits": {"plan": "x"}},
            {"type": "track", "userId": "u1", "event": "Signed Up"},
            {"type": "track", "userId": "u1"},
        ]
    }
    odd_key = {"userId": "u2", "event": "Paid"}

    replies = [
        demo.client.post(f"{PREFIX}/v1/batch", json=batch, auth=("wk-demo", "")),
        demo.client.post(f"{PREFIX}/v1/track", json=odd_key, auth=("<i>wk</i>", "")),
    ]

    assert [(reply.status_code, reply.text) for reply in replies] == [(200, "ok")] * 2
    wait_for_calls(page, 3)
    assert page.evaluate(COUNTS) == {
        "Contacts": "1",
        "Accounts": "0",
        "Events": "1",
        "Calls": "3",
        "Refused": "4",
    }
    assert_rows(
        page,
        "refused-rows",
        [
            ["Data plane (failed)", "track u2", "401", "API key does not look valid"],
            ["Data plane (refused)", "track u1", "400", "Event name is required"],
            [
                "Data plane (refused)",
                "identify anon-2",
                "400",
                "At least one of `userId` or `email` is required",
            ],
            [
                "Data plane (refused)",
                "alias u1",
                "400",
                'Event type "alias" is not supported',
            ],
        ],
        cells=slice(1, None),
    )
    times = [row[0] for row in rows(page, "refused-rows")]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", time) for time in times), times
    assert page.inner_text("#refused-note") == ""

    page.click("#refused-rows tr[data-call-id='3']")
    assert page.inner_text("#call-title") == "Call 3: POST /v1/track"
    assert page.text_content("#call-params") == json.dumps(
        {"event": "Paid", "id": "u2"}, indent=2
    )
    assert page.text_content("#call-reply") == json.dumps(
        {"error": "API key does not look valid"}, indent=2
    )


def test_without_an_ingest_log_refused_calls_are_listed_alone(page, demo):
    stub_ingest_log(demo.app, None)
    demo.post_form("/track", {"id": "u1"})

    page.goto(demo.base_url)

    wait_for_calls(page, 1)
    assert_rows(
        page,
        "refused-rows",
        [
            [
                "00:00:00",
                "Refiner API",
                "POST /v1/track",
                "400",
                "The event parameter is required.",
            ],
        ],
    )
    assert page.inner_text("#refused-note") == (
        "This server keeps no data-plane ingest log: refused Refiner API calls only."
    )


def test_the_journal_draws_the_newest_500_matching_calls(page, demo):
    mock = demo.app.extensions["mock_refiner"]
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": FORM}
    for number in range(1, 503):
        path, form = ("/v1/track", {"id": "u1", "event": f"E{number}"})
        if number % 2:
            path, form = ("/v1/identify-user", {"id": "u1", "seats": number})
        mock.handle("POST", path, b"", headers, encode_form(form).encode())

    page.goto(demo.base_url)

    wait_for_calls(page, 502)
    assert page.inner_text("#journal-shown") == "newest 500 of 502 matching, 502 calls"
    shown = rows(page, "journal-rows")
    assert (len(shown), shown[0][0], shown[-1][0]) == (500, "502", "3")

    page.select_option("#filter-operation", "track")

    assert page.inner_text("#journal-shown") == "251 of 502 calls"
    assert len(rows(page, "journal-rows")) == 251


def test_polling_pauses_while_the_tab_is_hidden(page, demo):
    page.goto(demo.base_url)
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^Live · "))
    polls: list[str] = []
    page.on(
        "request",
        lambda request: (
            polls.append(request.url) if "/__mock/" in request.url else None
        ),
    )

    page.evaluate(HIDE_TAB, True)
    demo.deliver(PEOPLE[0])
    page.wait_for_timeout(2500)

    assert page.inner_text("#live-status") == "Paused while this tab is hidden"
    assert page.inner_text("#count-calls") == "0"
    assert polls == []

    page.evaluate(HIDE_TAB, False)

    wait_for_calls(page, 1)
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^Live · "))
    assert page.inner_text("#count-contacts") == "1"


def test_the_api_key_picker_shows_one_environment(page, demo):
    page.goto(demo.base_url)
    demo.deliver(PEOPLE[0])
    demo.post_form("/identify-user", {"id": "w1", "plan": "team"}, key="rf-other-key")
    wait_for_calls(page, 2)

    assert_rows(
        page,
        "contacts-rows",
        [
            ["u1", "ada@example.com", "plan\npro\nseats\n3", "—", "00:00:00", KEY],
            ["w1", "—", "plan\nteam", "—", "00:00:01", "rf-other-key"],
        ],
    )

    page.select_option("#environment", "rf-other-key")

    assert_rows(page, "contacts-rows", [["w1", "—", "plan\nteam", "—", "00:00:01"]])
    demo.deliver(PEOPLE[1])
    wait_for_calls(page, 3)
    assert page.input_value("#environment") == "rf-other-key"
    assert_rows(page, "contacts-rows", [["w1", "—", "plan\nteam", "—", "00:00:01"]])
    assert page.evaluate(COUNTS)["Contacts"] == "3"
