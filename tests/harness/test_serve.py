"""``refiner-harness serve`` as a real process on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from harness.cli import main


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    banner = process.stderr.readline()
    match = re.match(r"Refiner mock on (http://127\.0\.0\.1:\d+) ", banner)
    assert match, banner
    yield match.group(1), process
    process.terminate()
    process.wait(timeout=10)


def test_serve_answers_refiner_calls_and_logs_one_line_per_call(served):
    base_url, process = served

    with httpx.Client(base_url=base_url, trust_env=False, timeout=5) as client:
        reply = client.post(
            "/v1/identify-user",
            data={"id": "u1", "plan": "pro", "account[id]": "acct-1"},
            headers={"Authorization": "Bearer rf-serve-key"},
        )
        refused = client.post("/v1/track", data={"id": "u1"}, auth=("rf-serve-key", ""))
        environment = client.get("/__mock/state", params={"api_key": "rf-serve-key"})

    assert reply.status_code == 200
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "The event parameter is required."},
    )
    contacts = environment.json()["contacts"]
    assert [
        (c["remote_id"], c["attributes"], c["account"]["remote_id"]) for c in contacts
    ] == [("u1", {"plan": "pro"}, "acct-1")]

    process.terminate()
    process.wait(timeout=10)
    log = process.stderr.read()
    assert "POST /v1/identify-user -> 200" in log
    assert "POST /v1/track -> 400" in log
    assert "refused POST /v1/track: 400" in log


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--port", "-1"], "argument --port: -1 is not a port (0 to 65535)"),
        (["--port", "65536"], "argument --port: 65536 is not a port (0 to 65535)"),
        (["--port", "99999"], "argument --port: 99999 is not a port (0 to 65535)"),
        (["--port", "http"], "argument --port: 'http' is not a whole number"),
        (["--host", ""], "argument --host: the host must not be empty"),
        (["--host", "  "], "argument --host: the host must not be empty"),
    ],
)
def test_serve_refuses_a_bad_port_or_host(capsys, arguments, problem):
    with pytest.raises(SystemExit) as stopped:
        main(["serve", *arguments])

    assert stopped.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"refiner-harness serve: error: {problem}\n"
    )
