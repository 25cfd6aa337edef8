"""``refiner-harness serve`` as a real process on loopback: its startup line, its
log line per call and its flags."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.cli import main
from tests.conftest import ROOT

KEY = "rf-serve-key"
BEARER = {"Authorization": f"Bearer {KEY}"}
BANNER = re.compile(
    r"Refiner mock on (http://127\.0\.0\.1:(\d+)) \(dashboard: /, admin: "
    r"/__mock/state, /__mock/calls\); Ctrl-C stops it\n"
)
CALL_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (.+ -> (?:\d{3}|dropped)) \(\d+\.\d ms\)"
)
STARTUP_SECONDS = 30


@dataclass
class Served:
    """A `refiner-harness serve` process, its base URL and its log file."""

    process: subprocess.Popen
    url: str
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=10)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Sends `signum` and waits; the exit code. A server still running after
        20 s fails the test with its log."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log = self.log.read_text(encoding="utf-8")
            pytest.fail(f"serve did not stop within 20 s of signal {signum}: {log!r}")

    def log_lines(self) -> list[str]:
        """The log after the startup line, one item per line."""
        return self.log.read_text(encoding="utf-8").splitlines()[1:]

    def calls_logged(self) -> list[str]:
        """Each log line as `METHOD PATH -> STATUS`; fails on any other line."""
        calls = []
        for line in self.log_lines():
            match = CALL_LINE.fullmatch(line)
            assert match, f"not a call line: {line!r}"
            calls.append(match.group(1))
        return calls


def start_serve(log: Path, *arguments: str) -> Served:
    """Starts `python -m harness serve --port 0 ARGUMENTS`, logging to `log`, and
    waits for its startup line."""
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", "serve", "--port", "0", *arguments],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=ROOT,
        )

    deadline = time.monotonic() + STARTUP_SECONDS
    while "\n" not in log.read_text(encoding="utf-8"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"serve did not start: {log.read_text(encoding='utf-8')!r}")
        time.sleep(0.02)

    first_line = log.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    match = BANNER.fullmatch(first_line)
    if not match:
        process.kill()
        process.wait()
        pytest.fail(f"not the startup line: {first_line!r}")
    return Served(process, match.group(1), log)


def run_serve(*arguments: str) -> subprocess.CompletedProcess:
    """Runs `python -m harness serve ARGUMENTS` expecting it to stop by itself."""
    return subprocess.run(
        [sys.executable, "-m", "harness", "serve", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """Starts servers with `serve(*arguments)`; kills any still running at the end."""
    started: list[Served] = []

    def start(*arguments: str) -> Served:
        served = start_serve(tmp_path / f"serve-{len(started)}.log", *arguments)
        started.append(served)
        return served

    yield start

    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=20)


def test_the_startup_line_names_the_port_picked_for_port_0(serve):
    served = serve()

    port = int(served.url.rsplit(":", 1)[1])
    with served.client() as client:
        reply = client.get("/v1/", headers=BEARER)

    assert port > 0
    assert reply.status_code == 200
    assert reply.json()["message"] == "Authentication successful"
    assert served.stop() == 0
    assert served.calls_logged() == ["GET /v1/ -> 200"]


def test_serve_answers_refiner_calls_and_logs_one_line_per_call(serve):
    served = serve()

    with served.client() as client:
        reply = client.post(
            "/v1/identify-user",
            data={"id": "u1", "plan": "pro", "account[id]": "acct-1"},
            headers=BEARER,
        )
        refused = client.post("/v1/track", data={"id": "u1"}, auth=(KEY, ""))
        unknown = client.get("/v1/no-such-thing", headers=BEARER)
        environment = client.get("/__mock/state", params={"api_key": KEY})
        calls = client.get("/__mock/calls")
        reset = client.post("/__mock/reset", params={"what": "calls"})
        page = client.get("/")

    assert reply.status_code == 200
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "The event parameter is required."},
    )
    assert unknown.status_code == 404
    contacts = environment.json()["contacts"]
    assert [
        (c["remote_id"], c["attributes"], c["account"]["remote_id"]) for c in contacts
    ] == [("u1", {"plan": "pro"}, "acct-1")]
    assert [call["status"] for call in calls.json()["calls"]] == [200, 400, 404]
    assert (reset.status_code, page.status_code) == (200, 200)

    assert served.stop() == 0
    assert served.calls_logged() == [
        "POST /v1/identify-user -> 200",
        "POST /v1/track -> 400",
        "GET /v1/no-such-thing -> 404",
        "POST /__mock/reset -> 200",
    ]


@pytest.mark.parametrize(
    ("arguments", "event"),
    [
        ([], "Viewed Docs Getting Started Page"),
        (["--profile", "rudderstack"], "Viewed Docs Getting Started Page"),
        (["--profile", "documented"], "Getting Started"),
    ],
)
def test_the_ingest_api_maps_events_with_the_profile_chosen(serve, arguments, event):
    served = serve(*arguments)

    with served.client() as client:
        reply = client.post(
            "/rudderstack/v1/page",
            json={"userId": "u7", "name": "Getting Started", "category": "Docs"},
            auth=(KEY, ""),
        )
        environment = client.get("/__mock/state", params={"api_key": KEY}).json()

    assert reply.status_code == 200
    assert [(e["name"], e["contact"]["remote_id"]) for e in environment["events"]] == [
        (event, "u7")
    ]
    assert served.stop() == 0
    assert served.calls_logged() == ["POST /rudderstack/v1/page -> 200"]


def test_the_log_line_leaves_the_query_out_and_escapes_control_characters(serve):
    served = serve()

    with served.client() as client:
        reply = client.get(f"/v1/a%0Ab%C3%A9?api_key={KEY}")

    assert reply.status_code == 404
    assert served.stop() == 0
    assert served.calls_logged() == ["GET /v1/a\\nbé -> 404"]


def test_a_dropped_call_is_one_log_line_without_a_traceback(serve):
    served = serve("--fault", "drop,path=/v1/,times=1")

    with served.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/", headers=BEARER)
        answered = client.get("/v1/", headers=BEARER)

    assert answered.status_code == 200
    assert served.stop() == 0
    assert served.calls_logged() == ["GET /v1/ -> dropped", "GET /v1/ -> 200"]


def test_ctrl_c_stops_the_server_with_exit_0(serve):
    served = serve()

    assert served.stop(signal.SIGINT) == 0
    assert served.log_lines() == []


def test_a_seed_file_is_served(serve, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        f"api_key: {KEY}\ncontacts:\n"
        "  - {remote_id: u9, attributes: {plan: pro}}\n",
        encoding="utf-8",
    )
    served = serve("--seed", str(seed))

    with served.client() as client:
        environment = client.get("/__mock/state", params={"api_key": KEY}).json()

    assert [(c["remote_id"], c["attributes"]) for c in environment["contacts"]] == [
        ("u9", {"plan": "pro"})
    ]
    assert served.stop() == 0


def test_the_plan_and_rate_limit_flags_reach_the_mock(serve):
    served = serve("--plan", "essentials", "--rate-limits", "--string-cap", "5")

    with served.client() as client:
        tracked = client.post(
            "/v1/track-event", data={"id": "u1", "event": "Signed Up"}, headers=BEARER
        )
        client.post(
            "/v1/identify-user", data={"id": "u1", "note": "abcdefgh"}, headers=BEARER
        )
        for _ in range(99):
            client.get("/v1/contacts", params={"id": "u1"}, headers=BEARER)
        limited = client.get("/v1/contacts", params={"id": "u1"}, headers=BEARER)
        environment = client.get("/__mock/state", params={"api_key": KEY}).json()

    assert (tracked.status_code, tracked.json()) == (
        403,
        {"error": "Event tracking is not available on your plan."},
    )
    assert limited.status_code == 429
    assert [c["attributes"] for c in environment["contacts"]] == [{"note": "abcde"}]
    assert served.stop() == 0


def test_fault_flags_add_rules_before_the_first_call(serve):
    served = serve(
        "--fault",
        "status=503,path=/v1/identify-user,times=2",
        "--fault",
        "429,path=/v1/track-event,retry-after=30,times=1",
    )

    with served.client() as client:
        identified = [
            client.post("/v1/identify-user", data={"id": "u1"}, headers=BEARER)
            for _ in range(3)
        ]
        tracked = client.post(
            "/v1/track-event", data={"id": "u1", "event": "Signed Up"}, headers=BEARER
        )

    assert [reply.status_code for reply in identified] == [503, 503, 200]
    assert (tracked.status_code, tracked.headers["Retry-After"]) == (429, "30")
    assert served.stop() == 0
    assert served.calls_logged() == [
        "POST /v1/identify-user -> 503",
        "POST /v1/identify-user -> 503",
        "POST /v1/identify-user -> 200",
        "POST /v1/track-event -> 429",
    ]


def test_an_unknown_profile_exits_2_before_serving():
    finished = run_serve("--port", "0", "--profile", "nope")

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr.startswith(
        "refiner-harness: unknown profile 'nope' (known: "
    )
    assert finished.stderr.count("\n") == 1


def test_a_bad_seed_file_exits_2_naming_the_file(tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("contacts: []\n", encoding="utf-8")

    finished = run_serve("--port", "0", "--seed", str(seed))

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == (
        f"refiner-harness: {seed}: environments[0].api_key: api_key is required\n"
    )


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--port", "-1"], "argument --port: -1 is not a port (0 to 65535)"),
        (["--port", "65536"], "argument --port: 65536 is not a port (0 to 65535)"),
        (["--port", "99999"], "argument --port: 99999 is not a port (0 to 65535)"),
        (["--port", "http"], "argument --port: 'http' is not a whole number"),
        (["--host", ""], "argument --host: the host must not be empty"),
        (["--host", "  "], "argument --host: the host must not be empty"),
        (["--string-cap", "0"], "argument --string-cap: 0 is not 1 or more"),
        (["--string-cap", "ten"], "argument --string-cap: 'ten' is not a whole number"),
        (
            ["--fault", "status=999"],
            "argument --fault: fault spec 'status=999': status must be an HTTP error "
            "status from 400 to 599, not 999",
        ),
        (["--fault", ""], "argument --fault: a fault spec must not be empty"),
        (
            ["--plan", "gold"],
            "argument --plan: invalid choice: 'gold' "
            "(choose from 'enterprise', 'essentials', 'growth')",
        ),
    ],
)
def test_serve_refuses_bad_flag_values(capsys, arguments, problem):
    with pytest.raises(SystemExit) as stopped:
        main(["serve", *arguments])

    assert stopped.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"refiner-harness serve: error: {problem}\n"
    )
