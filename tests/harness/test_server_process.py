"""The demo server process under load: one state for every thread, a clean stop on
SIGTERM, and one clear line when it cannot listen or use its state file."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.server import STOP_GRACE, ServeError, listen, url_of
from mock_refiner import MockRefiner, SequentialIds, Settings
from tests.conftest import ROOT
from tests.harness.test_serve import BEARER, KEY, Served, run_serve, start_serve

THREADS = 8
CALLS_PER_THREAD = 50


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    """A `refiner-harness serve --port 0` process, killed at the end if still up."""
    served = start_serve(tmp_path / "serve.log")
    yield served
    if served.process.poll() is None:
        served.process.kill()
        served.process.wait(timeout=20)


def identify_in_threads(url: str) -> list[int | str]:
    """8 threads, each with its own connection, identify 50 distinct users; the
    statuses, in no particular order. A thread whose connection fails records
    `"failed"` and stops."""
    statuses: list[int | str] = []
    lock = threading.Lock()

    def identify(thread: int) -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            for number in range(CALLS_PER_THREAD):
                try:
                    reply = client.post(
                        "/v1/identify-user",
                        data={"id": f"user-{thread}-{number}", "thread": f"t{thread}"},
                        headers=BEARER,
                    )
                except httpx.TransportError:
                    with lock:
                        statuses.append("failed")
                    return

                with lock:
                    statuses.append(reply.status_code)

    workers = [
        threading.Thread(target=identify, args=(thread,)) for thread in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return statuses


def test_concurrent_calls_share_one_state_and_journal(server):
    statuses = identify_in_threads(server.url)

    with server.client() as client:
        calls = client.get("/__mock/calls").json()["calls"]
        environment = client.get("/__mock/state", params={"api_key": KEY}).json()

    expected = {
        (f"user-{thread}-{number}", f"t{thread}")
        for thread in range(THREADS)
        for number in range(CALLS_PER_THREAD)
    }
    assert statuses == [200] * THREADS * CALLS_PER_THREAD
    assert [call["id"] for call in calls] == list(range(1, 401))
    assert {(c["params"]["id"], c["params"]["thread"]) for c in calls} == expected
    assert {c["status"] for c in calls} == {200}
    contacts = environment["contacts"]
    assert len(contacts) == 400
    assert {(c["remote_id"], c["attributes"]["thread"]) for c in contacts} == expected
    assert len({c["uuid"] for c in contacts}) == 400

    assert server.stop() == 0
    assert Counter(server.calls_logged()) == {"POST /v1/identify-user -> 200": 400}


def test_reads_of_the_dashboard_and_admin_api_are_logged_only_when_verbose(
    tmp_path: Path,
):
    for verbose, expected in (
        (False, ["POST /__mock/reset -> 200"]),
        (
            True,
            [
                "GET / -> 200",
                "GET /__mock/calls -> 200",
                "HEAD /__mock/state -> 200",
                "POST /__mock/reset -> 200",
            ],
        ),
    ):
        arguments = ("--verbose",) if verbose else ()
        served = start_serve(tmp_path / f"serve-{verbose}.log", *arguments)
        try:
            with served.client() as client:
                client.get("/")
                client.get("/__mock/calls")
                client.head("/__mock/state")
                client.post("/__mock/reset")
            assert served.stop() == 0
            assert served.calls_logged() == expected
        finally:
            if served.process.poll() is None:
                served.process.kill()
                served.process.wait(timeout=20)


def test_sigterm_under_load_stops_the_server_with_exit_0(server):
    statuses: list[int | str] = []
    loading = threading.Thread(
        target=lambda: statuses.extend(identify_in_threads(server.url))
    )
    loading.start()
    with server.client() as client:
        while not client.get("/__mock/calls").json()["calls"]:
            pass

    code = server.stop(signal.SIGTERM)
    loading.join(timeout=120)

    assert code == 0
    assert not loading.is_alive()
    assert set(statuses) <= {200, "failed"}
    assert "Traceback" not in server.log.read_text(encoding="utf-8")


def test_a_call_still_open_after_the_grace_period_does_not_hold_the_stop(
    tmp_path: Path,
):
    served = start_serve(tmp_path / "serve.log", "--fault", "delay=60000,path=/v1/")
    outcome: list[str] = []

    def hold() -> None:
        try:
            httpx.get(f"{served.url}/v1/", headers=BEARER, timeout=90, trust_env=False)
        except httpx.RemoteProtocolError as error:
            outcome.append(str(error))

    held = threading.Thread(target=hold, daemon=True)
    try:
        held.start()
        time.sleep(0.5)

        assert served.stop() == 0
        assert served.log_lines()[-1].endswith(
            f"calls still open {STOP_GRACE} s after the stop signal; stopping"
        )
        held.join(timeout=20)
        assert outcome == ["Server disconnected without sending a response."]
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=20)


def test_a_port_in_use_is_one_line_and_exit_2(server):
    port = server.url.rsplit(":", 1)[1]

    finished = run_serve("--port", port)

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == (
        f"refiner-harness: port {port} on 127.0.0.1 is already in use\n"
    )
    with server.client() as client:
        assert client.get("/v1/", headers=BEARER).status_code == 200


def test_a_port_another_program_listens_on_is_refused_too():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]

        finished = run_serve("--port", str(port))

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == (
        f"refiner-harness: port {port} on 127.0.0.1 is already in use\n"
    )


def test_a_host_that_cannot_be_bound_is_one_line_and_exit_2():
    finished = run_serve("--port", "0", "--host", "192.0.2.1")

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == (
        "refiner-harness: cannot listen on 192.0.2.1:0: Cannot assign requested "
        "address\n"
    )


def send_until_killed(url: str, thread: int, answers: list, lock) -> None:
    """Identify then track distinct users until the server goes away, keeping each
    answer as `(kind, user, status)`."""
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        for number in range(100_000):
            user = f"user-{thread}-{number}"
            for kind, path, form in (
                ("identify", "/v1/identify-user", {"id": user, "plan": "pro"}),
                ("track", "/v1/track-event", {"id": user, "event": f"ev-{user}"}),
            ):
                try:
                    reply = client.post(path, data=form, headers=BEARER)
                except httpx.TransportError:
                    return

                with lock:
                    answers.append((kind, user, reply.status_code))


def test_kill_9_under_load_loses_no_call_answered_with_success(tmp_path):
    state = str(tmp_path / "state.sqlite")
    first = start_serve(tmp_path / "first.log", "--state", state)
    answers: list[tuple[str, str, int]] = []
    lock = threading.Lock()
    clients = [
        threading.Thread(target=send_until_killed, args=(first.url, n, answers, lock))
        for n in range(THREADS)
    ]
    for client in clients:
        client.start()
    while len(answers) < 300 and first.process.poll() is None:
        time.sleep(0.01)

    first.process.kill()
    first.process.wait(timeout=20)
    for client in clients:
        client.join(timeout=60)
    second = start_serve(tmp_path / "second.log", "--state", state)
    try:
        with second.client() as client:
            environment = client.get("/__mock/state", params={"api_key": KEY}).json()
            calls = client.get("/__mock/calls").json()
    finally:
        assert second.stop() == 0

    identified = {user for kind, user, _ in answers if kind == "identify"}
    tracked = {user for kind, user, _ in answers if kind == "track"}
    assert len(answers) >= 300
    assert {status for _, _, status in answers} == {200}
    assert identified <= {c["remote_id"] for c in environment["contacts"]}
    assert {(f"ev-{user}", user) for user in tracked} <= {
        (event["name"], event["contact"]["remote_id"])
        for event in environment["events"]
    }
    journaled = {
        (call["operation"], call["params"]["id"])
        for call in calls["calls"]
        if call["status"] == 200
    }
    assert {("identify-user", user) for user in identified} <= journaled
    assert {("track-event", user) for user in tracked} <= journaled
    assert calls["dropped"] == 0


def test_a_restart_continues_from_the_state_file(tmp_path):
    state = str(tmp_path / "state.sqlite")
    first = start_serve(tmp_path / "first.log", "--state", state)
    with first.client() as client:
        client.post(
            "/v1/identify-user", data={"id": "u1", "plan": "pro"}, headers=BEARER
        )
    assert first.stop() == 0

    seed = tmp_path / "seed.yaml"
    seed.write_text(f"api_key: {KEY}\ncontacts: [{{remote_id: seeded}}]\n")
    second = start_serve(tmp_path / "second.log", "--state", state, "--seed", str(seed))
    with second.client() as client:
        client.post("/v1/identify-user", data={"id": "u2"}, headers=BEARER)
        environment = client.get("/__mock/state", params={"api_key": KEY}).json()
        calls = client.get("/__mock/calls").json()["calls"]
    assert second.stop() == 0

    assert [(c["remote_id"], c["attributes"]) for c in environment["contacts"]] == [
        ("u1", {"plan": "pro"}),
        ("u2", {}),
    ]
    assert [(call["id"], call["params"]["id"]) for call in calls] == [
        (1, "u1"),
        (2, "u2"),
    ]


def test_a_state_file_in_use_is_refused_with_exit_2(tmp_path):
    state = str(tmp_path / "state.sqlite")
    first = start_serve(tmp_path / "first.log", "--state", state)
    try:
        finished = run_serve("--port", "0", "--state", state)
        with first.client() as client:
            still_serving = client.get("/v1/", headers=BEARER).status_code
    finally:
        assert first.stop() == 0

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == (
        f"refiner-harness: {state} is in use by another process; one server at a "
        "time may use a state file\n"
    )
    assert still_serving == 200


def test_the_journal_limit_keeps_the_newest_calls(server_with_limit):
    with server_with_limit.client() as client:
        for user in ("u1", "u2", "u3", "u4"):
            client.post("/v1/identify-user", data={"id": user}, headers=BEARER)
        calls = client.get("/__mock/calls").json()

    assert [(c["id"], c["params"]["id"]) for c in calls["calls"]] == [
        (3, "u3"),
        (4, "u4"),
    ]
    assert calls["dropped"] == 2
    assert server_with_limit.stop() == 0


@pytest.fixture
def server_with_limit(tmp_path: Path) -> Iterator[Served]:
    served = start_serve(tmp_path / "serve.log", "--journal-limit", "2")
    yield served
    if served.process.poll() is None:
        served.process.kill()
        served.process.wait(timeout=20)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("missing/state.sqlite", "cannot be opened: unable to open database file"),
        ("seed.yaml", "not a state file of the mock: not a SQLite database"),
    ],
)
def test_a_state_file_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path, path, problem
):
    (tmp_path / "seed.yaml").write_text(f"api_key: {KEY}\n")

    finished = subprocess.run(
        [sys.executable, "-m", "harness", "serve", "--port", "0", "--state", path],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == f"refiner-harness: {path}: {problem}\n"


def test_the_listening_socket_sets_nodelay_and_leaves_reuseport_off():
    with listen("127.0.0.1", 0) as listener:
        options = (
            listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
            listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT),
            listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
        )
        url = url_of(listener)

    assert options == (1, 0, 1)
    assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", url)


def test_an_ipv6_address_is_bracketed_in_the_url():
    try:
        listener = listen("::1", 0)
    except ServeError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")

    with listener:
        assert re.fullmatch(r"http://\[::1\]:[1-9]\d*", url_of(listener))


def damage_pages(path: Path) -> None:
    """Overwrite every 7th byte from the fourth page on, as a failing disk might."""
    data = bytearray(path.read_bytes())
    data[12288::7] = b"\xab" * len(data[12288::7])
    path.write_bytes(bytes(data))


def damage_a_call(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE calls SET body = '{bad' WHERE id = 3")
    connection.close()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (damage_pages, "Page 27: free space corruption"),
        (
            damage_a_call,
            "row 3 of calls cannot be read (JSONDecodeError: Expecting property "
            "name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
    ],
)
def test_a_damaged_state_file_is_one_line_and_exit_2_and_left_as_it_is(
    tmp_path, damage, problem
):
    state = tmp_path / "state.sqlite"
    mock = MockRefiner(Settings(ids=SequentialIds()), state_file=state)
    headers = {**BEARER, "Content-Type": "application/json"}
    for number in range(300):
        body = f'{{"id": "u{number}", "plan": "pro"}}'.encode()
        mock.handle("POST", "/v1/identify-user", b"", headers, body)
    mock.close()
    damage(state)
    before = (
        state.read_bytes(),
        state.stat().st_mtime_ns,
        sorted(os.listdir(tmp_path)),
    )

    finished = run_serve("--port", "0", "--state", str(state))

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr == (
        f"refiner-harness: {state}: a damaged state file: {problem}\n"
    )
    assert (
        state.read_bytes(),
        state.stat().st_mtime_ns,
        sorted(os.listdir(tmp_path)),
    ) == before
