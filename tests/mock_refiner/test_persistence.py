"""A state file keeps the state and the journal across restarts, exactly; writes cost
what a call changed; a save that fails is a 500 and undone, so memory matches the
file; a file that is not a state file, is damaged or cannot be written is refused
and left as it is."""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest

from mock_refiner import MockRefiner, StepClock, create_app
from mock_refiner.persistence import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    StateFile,
    StateWriteError,
)
from mock_refiner.state import StateError
from tests.mock_refiner.conftest import (
    FORM,
    KEY,
    START,
    deterministic_settings,
    environment,
    time_n,
    uuid_n,
)
from tests.mock_refiner.test_state import READS, mixed_workload

ROOT = Path(__file__).resolve().parents[2]
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mock.sqlite"


@pytest.fixture
def restart(serve, path):
    """Serve a mock on the state file; each call stops the one before (closing its
    file, as a process exit would) and serves a new one on the same file."""
    running: list[MockRefiner] = []

    def start(**settings: object) -> httpx.Client:
        if running:
            running.pop().close()
        app = create_app(deterministic_settings(**settings), state_file=path)
        running.append(app.extensions["mock_refiner"])
        return serve(app)

    yield start

    for mock in running:
        mock.close()


def everything(http: httpx.Client) -> tuple[dict, dict]:
    """The admin API's state and journal replies."""
    return http.get("/__mock/state").json(), http.get("/__mock/calls").json()


def send(http: httpx.Client, method: str, path: str, body: dict) -> httpx.Response:
    return http.request(method, path, json=body, headers=BEARER)


def test_a_new_file_starts_empty(restart, path):
    http = restart()

    assert everything(http) == ({"environments": []}, {"calls": [], "dropped": 0})
    assert path.exists()


def test_the_state_and_the_journal_survive_a_restart(restart):
    http = restart()
    mixed_workload(http)
    reads = [
        http.get(path, params=params, headers=BEARER).json() for path, params in READS
    ]
    before = everything(http)

    http = restart()

    assert everything(http) == before
    assert [
        http.get(path, params=params, headers=BEARER).json() for path, params in READS
    ] == reads


def test_calls_after_a_restart_continue_the_journal(restart):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1"})

    http = restart()
    send(http, "POST", "/v1/track", {"id": "u1", "event": "Opened"})
    http = restart()

    state, journal = everything(http)
    [env] = state["environments"]
    assert [(c["id"], c["path"]) for c in journal["calls"]] == [
        (1, "/v1/identify-user"),
        (2, "/v1/track"),
    ]
    assert [(e["name"], e["contact"]["remote_id"]) for e in env["events"]] == [
        ("Opened", "u1")
    ]
    assert env["usage"] == {
        "month": "2026-01",
        "mtu": 1,
        "mte": 1,
        "mpv": 0,
        "msr": 0,
        "tracked_users": [uuid_n(1)],
    }


def test_refused_calls_are_journaled_and_kept(restart):
    http = restart()
    send(http, "POST", "/v1/track", {"id": "u1"})
    http.post("/v1/identify-user", json={"id": "u1"})
    send(http, "GET", "/v1/nowhere", {})

    http = restart()

    state, journal = everything(http)
    assert state == {"environments": []}
    assert [
        (c["id"], c["path"], c["status"], c["reply"]) for c in journal["calls"]
    ] == [
        (1, "/v1/track", 400, {"error": "The event parameter is required."}),
        (2, "/v1/identify-user", 401, {"error": "No API key found in headers"}),
        (3, "/v1/nowhere", 404, {"error": "Not found"}),
    ]


def test_the_orders_lookups_keep_survive_a_restart(restart):
    """The first contact to get an email is the one found by it; an account lists
    its contacts in the order they joined; traits keep their order."""
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1", "zeta": "z"})
    send(http, "POST", "/v1/identify-user", {"id": "u2", "email": "b@x.test"})
    send(http, "POST", "/v1/identify-user", {"id": "u1", "email": "b@x.test"})
    for remote_id, account in (("u1", "acme"), ("u2", "acme"), ("u1", "beta")):
        body = {"id": remote_id, "account": {"id": account}, "alpha": 1}
        send(http, "POST", "/v1/identify-user", body)
    send(http, "POST", "/v1/identify-user", {"id": "u1", "account": {"id": "acme"}})
    before = everything(http)

    http = restart()

    assert everything(http) == before
    [env] = before[0]["environments"]
    assert [(a["remote_id"], a["contacts"]) for a in env["accounts"]] == [
        ("acme", ["u2", "u1"]),
        ("beta", []),
    ]
    assert list(env["traits"]) == ["zeta", "alpha"]
    by_email = http.get("/v1/contact", params={"email": "b@x.test"}, headers=BEARER)
    assert by_email.json()["remote_id"] == "u2"
    reply = send(http, "POST", "/v1/track", {"email": "b@x.test", "event": "x"})
    assert reply.status_code == 200
    [event] = everything(http)[0]["environments"][0]["events"]
    assert event["contact"]["remote_id"] == "u2"


def test_empty_display_names_and_a_deleted_contact_survive(restart):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1", "name": ""})
    send(
        http,
        "POST",
        "/v1/identify-user",
        {"id": "u2", "account": {"id": "acme", "name": "", "domain": ""}},
    )
    send(http, "POST", "/v1/track", {"id": "u2", "event": "x"})
    send(http, "DELETE", "/v1/contact", {"id": "u2"})
    before = everything(http)

    http = restart()

    assert everything(http) == before
    [env] = before[0]["environments"]
    assert [c["display_name"] for c in env["contacts"]] == [""]
    assert [
        (a["display_name"], a["domain"], a["contacts"]) for a in env["accounts"]
    ] == [("", "", [])]
    assert env["events"] == []


FULL = "database or disk is full"


@pytest.fixture
def disk(monkeypatch):
    """`disk.full = True` makes each save fail as on a full disk, once the
    transaction has written the state's rows; False lets saves through again."""
    disk = SimpleNamespace(full=False)
    write_calls = StateFile._write_calls

    def write_or_fail(state_file: StateFile, calls: object) -> None:
        if disk.full:
            raise sqlite3.OperationalError(FULL)
        write_calls(state_file, calls)

    monkeypatch.setattr(StateFile, "_write_calls", write_or_fail)
    return disk


def failed_save(path: Path) -> tuple[int, dict]:
    message = f"StateWriteError: {path}: cannot be written: {FULL}"
    return 500, {"error": f"Internal error: {message}"}


def test_a_call_whose_save_fails_is_a_500_and_leaves_no_trace(restart, path, disk):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1"})
    before = everything(http)

    disk.full = True
    failed = send(http, "POST", "/v1/identify-user", {"id": "u2", "bio": "x" * 2000})
    while_full = everything(http)
    disk.full = False
    saved = send(http, "POST", "/v1/identify-user", {"id": "u3"})
    after = everything(http)
    http = restart()

    assert (failed.status_code, failed.json()) == failed_save(path)
    assert while_full == before
    assert saved.status_code == 200
    assert everything(http) == after
    [env] = after[0]["environments"]
    assert [(c["uuid"], c["remote_id"]) for c in env["contacts"]] == [
        (uuid_n(1), "u1"),
        (uuid_n(3), "u3"),
    ]
    assert env["traits"] == {}
    assert [(c["id"], c["params"], c["status"]) for c in after[1]["calls"]] == [
        (1, {"id": "u1"}, 200),
        (2, {"id": "u3"}, 200),
    ]


def test_an_error_while_saving_undoes_the_call_too(restart, path, monkeypatch):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1"})
    before = everything(http)
    write_calls = StateFile._write_calls

    def fail(state_file: StateFile, calls: object) -> None:
        raise RuntimeError("no calls today")

    monkeypatch.setattr(StateFile, "_write_calls", fail)
    failed = send(http, "POST", "/v1/identify-user", {"id": "u2"})
    while_failing = everything(http)
    monkeypatch.setattr(StateFile, "_write_calls", write_calls)
    http = restart()

    assert (failed.status_code, failed.json()) == (
        500,
        {"error": "Internal error: RuntimeError: no calls today"},
    )
    assert while_failing == before
    assert everything(http) == before


def test_admin_changes_whose_save_fails_are_500s_and_change_nothing(
    restart, path, disk
):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1"})
    fault = http.post("/__mock/faults", json={"spec": "status=503,path=/v1/track"})
    before = everything(http)

    disk.full = True
    replies = []
    for change in (
        lambda: http.post("/__mock/reset"),
        lambda: http.post("/__mock/reset", params={"what": "state"}),
        lambda: http.post("/__mock/reset", params={"what": "calls"}),
        lambda: http.put("/__mock/state", json={"api_key": "other-key-1"}),
        lambda: send(http, "POST", "/v1/track", {"id": "u1", "event": "Opened"}),
    ):
        reply = change()
        replies.append((reply.status_code, reply.json(), everything(http)))
    disk.full = False
    faulted = send(http, "POST", "/v1/track", {"id": "u1", "event": "Opened"})
    http = restart()

    assert fault.status_code == 201
    assert replies == [(*failed_save(path), before)] * 5
    assert (faulted.status_code, faulted.json()) == (
        503,
        {"error": "Injected fault: 503 Service Unavailable"},
    )
    state, journal = everything(http)
    assert state == before[0]
    assert [(c["id"], c["status"], c["notes"]) for c in journal["calls"]] == [
        (1, 200, []),
        (2, 503, ["injected fault: status 503 (rule 1)"]),
    ]


def fill_the_disk(mock: MockRefiner) -> None:
    """Let the state file grow by no page, as on a full disk: SQLite itself then
    refuses a write that needs a new page."""
    assert mock.state_file is not None
    connection = mock.state_file._connection
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages}")


def test_a_write_sqlite_finds_no_room_for_is_undone(path):
    mock = MockRefiner(deterministic_settings(), state_file=path)
    mock.handle("POST", "/v1/identify-user", b"", BEARER_JSON, identify("u1"))
    before = (mock.store.snapshot(), mock.journal.calls(), mock.journal.dropped)
    fill_the_disk(mock)
    traits = {f"note_{number}": "x" * 2000 for number in range(8)}

    with pytest.raises(StateWriteError) as refused:
        mock.handle(
            "POST",
            "/v1/identify-user",
            b"",
            BEARER_JSON,
            json.dumps({"id": "u2", **traits}).encode(),
        )
    kept = (mock.store.snapshot(), mock.journal.calls(), mock.journal.dropped)
    mock.close()
    restarted = MockRefiner(deterministic_settings(), state_file=path)

    assert str(refused.value) == f"{path}: cannot be written: {FULL}"
    assert kept == before
    assert (
        restarted.store.snapshot(),
        restarted.journal.calls(),
        restarted.journal.dropped,
    ) == before
    restarted.close()


def test_changes_that_cannot_be_read_back_are_saved_with_the_next_call(
    restart, path, disk, monkeypatch
):
    http = restart()
    restore = StateFile.restore

    def unreadable(state_file: StateFile, store: object, journal: object) -> None:
        raise StateError("unreadable")

    monkeypatch.setattr(StateFile, "restore", unreadable)
    disk.full = True
    failed = send(http, "POST", "/v1/identify-user", {"id": "u1"})
    disk.full = False
    saved = send(http, "POST", "/v1/identify-user", {"id": "u2"})
    before = everything(http)
    monkeypatch.setattr(StateFile, "restore", restore)
    http = restart()

    assert (failed.status_code, failed.json()) == failed_save(path)
    assert saved.status_code == 200
    assert everything(http) == before
    [env] = before[0]["environments"]
    assert [contact["remote_id"] for contact in env["contacts"]] == ["u1", "u2"]
    assert [(c["id"], c["status"]) for c in before[1]["calls"]] == [(1, 200), (2, 200)]


def test_put_state_and_resets_are_kept(restart):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1"})
    document = {"api_key": "other-key-1", "contacts": [{"remote_id": "seeded"}]}
    assert http.put("/__mock/state", json=document).status_code == 200

    http = restart()
    state, journal = everything(http)
    assert [env["api_key"] for env in state["environments"]] == ["other-key-1"]
    assert [c["id"] for c in journal["calls"]] == [1]

    http.post("/__mock/reset", params={"what": "calls"})
    http = restart()
    assert everything(http) == (state, {"calls": [], "dropped": 0})

    send(http, "POST", "/v1/identify-user", {"id": "u9"})
    http.post("/__mock/reset", params={"what": "state"})
    http = restart()
    state, journal = everything(http)
    assert state == {"environments": []}
    assert [c["id"] for c in journal["calls"]] == [1]

    http.post("/__mock/reset")
    http = restart()
    assert everything(http) == ({"environments": []}, {"calls": [], "dropped": 0})


def test_a_refused_put_changes_nothing_in_the_file(restart):
    http = restart()
    send(http, "POST", "/v1/identify-user", {"id": "u1"})
    before = everything(http)[0]

    reply = http.put("/__mock/state", json={"contacts": []})

    assert reply.status_code == 400
    http = restart()
    assert everything(http)[0] == before


def test_segment_membership_and_response_tags_survive(restart):
    http = restart()
    seed = {
        "api_key": KEY,
        "forms": [{"uuid": "f1", "name": "NPS"}],
        "segments": [{"uuid": "s1", "name": "One"}, {"uuid": "s2", "name": "Two"}],
        "contacts": [{"remote_id": "u0"}],
    }
    http.put("/__mock/state", json=seed)
    for remote_id in ("u1", "u2", "u3"):
        body = {"segment_uuid": "s1", "id": remote_id}
        send(http, "POST", "/v1/sync-segment", body)
    send(http, "POST", "/v1/sync-segment", {"segment_uuid": "s2", "id": "u2"})
    send(http, "DELETE", "/v1/sync-segment", {"segment_uuid": "s1", "id": "u2"})
    send(http, "POST", "/v1/sync-segment", {"segment_uuid": "s1", "id": "u2"})
    stored = send(
        http, "POST", "/v1/responses", {"form_uuid": "f1", "id": "u3", "a": 1}
    )
    http.post(
        "/v1/responses/tags",
        content=f"uuid={stored.json()['uuid']}&tags[]=vip&tags[]=late".encode(),
        headers={**BEARER, "Content-Type": FORM},
    )
    before = everything(http)

    http = restart()

    assert everything(http) == before
    [env] = before[0]["environments"]
    assert [
        [member["uuid"] for member in segment["contacts"]]
        for segment in env["segments"]
    ] == [[uuid_n(2), uuid_n(4), uuid_n(3)], [uuid_n(3)]]
    assert [tag["name"] for tag in env["responses"][0]["tags"]] == ["vip", "late"]


def test_a_new_month_starts_the_tracked_users_again_after_a_restart(path):
    month = StepClock(START, timedelta(days=20))
    mock = MockRefiner(deterministic_settings(clock=month), state_file=path)
    for remote_id in ("u1", "u2", "u3"):
        mock.handle("POST", "/v1/track", b"", BEARER_JSON, track(remote_id))
    before = mock.store.snapshot()
    mock.close()

    restarted = MockRefiner(deterministic_settings(), state_file=path)

    assert restarted.store.snapshot() == before
    assert before["environments"][0]["usage"] == {
        "month": "2026-02",
        "mtu": 1,
        "mte": 1,
        "mpv": 0,
        "msr": 0,
        "tracked_users": [uuid_n(5)],
    }
    restarted.close()


BEARER_JSON = {**BEARER, "Content-Type": "application/json"}


def track(remote_id: str, event: str = "Opened") -> bytes:
    return json.dumps({"id": remote_id, "event": event}).encode()


def identify(remote_id: str) -> bytes:
    return json.dumps({"id": remote_id, "plan": "pro"}).encode()


def rows_written(mock: MockRefiner, body: bytes) -> int:
    assert mock.state_file is not None
    before = mock.state_file.rows_written
    mock.handle("POST", "/v1/identify-user", b"", BEARER_JSON, body)
    return mock.state_file.rows_written - before


def test_a_call_writes_the_same_rows_whatever_the_size_of_the_state(tmp_path):
    small = MockRefiner(deterministic_settings(), state_file=tmp_path / "small")
    large = MockRefiner(deterministic_settings(), state_file=tmp_path / "large")
    small.handle("POST", "/v1/identify-user", b"", BEARER_JSON, identify("u0"))
    for number in range(300):
        large.handle(
            "POST", "/v1/identify-user", b"", BEARER_JSON, identify(f"u{number}")
        )

    written = [rows_written(mock, identify("u0")) for mock in (small, large)]
    new_contact = [rows_written(mock, identify("new")) for mock in (small, large)]

    # environment, contact, call, the journal's counters; a new contact also
    # adds its tracked user
    assert written == [4, 4]
    assert new_contact == [5, 5]
    small.close()
    large.close()


def test_the_journal_limit_drops_rows_and_keeps_the_count(path):
    mock = MockRefiner(deterministic_settings(journal_limit=3), state_file=path)
    for number in range(5):
        mock.handle(
            "POST", "/v1/identify-user", b"", BEARER_JSON, identify(f"u{number}")
        )
    mock.close()

    with sqlite3.connect(path) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM calls")]
        counters = connection.execute("SELECT next_id, dropped FROM journal").fetchone()
    connection.close()

    assert (ids, counters) == ([3, 4, 5], (6, 2))


def test_concurrent_calls_are_all_kept(restart):
    http = restart()
    base_url = str(http.base_url)

    def identify_many(worker: int) -> None:
        with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
            for number in range(15):
                body = {"id": f"w{worker}-{number}", "plan": "pro"}
                reply = client.post("/v1/identify-user", json=body, headers=BEARER)
                assert reply.status_code == 200

    threads = [threading.Thread(target=identify_many, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    before = everything(http)

    http = restart()

    assert everything(http) == before
    assert len(before[0]["environments"][0]["contacts"]) == 60
    assert sorted(c["id"] for c in before[1]["calls"]) == list(range(1, 61))


def test_the_file_wins_over_a_seed(path):
    seed = {"api_key": KEY, "contacts": [{"remote_id": "seeded"}]}
    first = create_app(deterministic_settings(), seed=seed, state_file=path)
    mock = first.extensions["mock_refiner"]
    mock.handle("POST", "/v1/identify-user", b"", BEARER_JSON, identify("u1"))
    before = mock.store.snapshot()
    mock.close()

    other_seed = {"api_key": KEY, "contacts": [{"remote_id": "other"}]}
    second = create_app(deterministic_settings(), seed=other_seed, state_file=path)

    assert second.extensions["mock_refiner"].store.snapshot() == before
    assert [c["remote_id"] for c in before["environments"][0]["contacts"]] == [
        "seeded",
        "u1",
    ]
    second.extensions["mock_refiner"].close()


def test_a_seed_fills_a_file_without_state(path):
    empty = MockRefiner(deterministic_settings(), state_file=path)
    empty.handle("POST", "/v1/track", b"", BEARER_JSON, b"{}")
    empty.close()
    seed = {"api_key": KEY, "contacts": [{"remote_id": "seeded"}]}

    app = create_app(deterministic_settings(), seed=seed, state_file=path)
    app.extensions["mock_refiner"].close()
    restarted = MockRefiner(deterministic_settings(), state_file=path)

    assert restarted.store.snapshot() == {
        "environments": [
            environment(
                KEY,
                contacts=[
                    {
                        "uuid": uuid_n(1),
                        "remote_id": "seeded",
                        "email": None,
                        "display_name": None,
                        "first_seen_at": time_n(0),
                        "last_seen_at": time_n(0),
                        "last_tracking_event_at": None,
                        "attributes": {},
                        "segments": [],
                        "account": None,
                    }
                ],
            )
        ]
    }
    assert [c["status"] for c in restarted.journal.calls()] == [400]
    restarted.close()


def unchanged(path: Path) -> tuple[bytes, int, list[str]]:
    """The bytes, modification time and sibling files of `path`."""
    siblings = sorted(entry.name for entry in path.parent.iterdir())
    return path.read_bytes(), path.stat().st_mtime_ns, siblings


def other_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('keep me')")
    connection.close()


def future_state_file(path: Path) -> None:
    MockRefiner(deterministic_settings(), state_file=path).close()
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()


def damaged_state_file(path: Path) -> None:
    MockRefiner(deterministic_settings(), state_file=path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE calls")
    connection.close()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (
            lambda path: path.write_text("contacts: []\n", encoding="utf-8"),
            "not a state file of the mock: not a SQLite database",
        ),
        (
            other_database,
            "not a state file of the mock: a SQLite database of another application",
        ),
        (
            future_state_file,
            f"a state file of schema version {SCHEMA_VERSION + 1}, newer than this "
            f"mock reads ({SCHEMA_VERSION})",
        ),
        (
            damaged_state_file,
            "a damaged state file (schema version 1, missing tables: calls)",
        ),
    ],
)
def test_a_file_that_is_not_a_state_file_is_refused_and_left_as_it_is(
    path, make, problem
):
    make(path)
    before = unchanged(path)

    with pytest.raises(StateError) as refused:
        create_app(deterministic_settings(), state_file=path)

    assert str(refused.value) == f"{path}: {problem}"
    assert unchanged(path) == before


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            "UPDATE contacts SET body = 'not json'",
            "row 1 of contacts cannot be read (JSONDecodeError: Expecting value: "
            "line 1 column 1 (char 0))",
        ),
        (
            "UPDATE contacts SET account_uuid = 'nowhere'",
            "row 1 of contacts cannot be read (LookupError: no account 'nowhere')",
        ),
        (
            "UPDATE contacts SET api_key = 'elsewhere'",
            "row 1 of contacts cannot be read (KeyError: 'elsewhere')",
        ),
        (
            "UPDATE contacts SET body = json_set(body, '$.attributes', json('[1]'))",
            "row 1 of contacts cannot be read (TypeError: attributes must be an "
            "object, not [1])",
        ),
        (
            "UPDATE contacts SET body = json_set(body, '$.email', 7)",
            "row 1 of contacts cannot be read (TypeError: email must be text or "
            "null, not 7)",
        ),
        (
            "UPDATE environments SET body = json_set(body, '$.usage.mte', 'many')",
            "row 1 of environments cannot be read (TypeError: mte must be a whole "
            "number, not 'many')",
        ),
        (
            "UPDATE events SET body = json_set(body, '$.contact.uuid', 'nobody')",
            "row 1 of events cannot be read (LookupError: no contact 'nobody')",
        ),
        (
            "UPDATE events SET body = json_set(body, '$.received_at', 'soon')",
            "row 1 of events cannot be read (ValueError: Invalid isoformat string: "
            "'soon')",
        ),
        (
            "UPDATE traits SET type = 'float'",
            "row 1 of traits cannot be read (ValueError: type must be one of "
            "('string', 'integer', 'date'), not 'float')",
        ),
        (
            "UPDATE calls SET body = '{bad' WHERE id = 2",
            "row 2 of calls cannot be read (JSONDecodeError: Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (
            "UPDATE calls SET body = '[]'",
            "row 1 of calls cannot be read (TypeError: the body must be an object, "
            "not [])",
        ),
        (
            "UPDATE calls SET path = '/v1/other' WHERE id = 2",
            "row 2 of calls cannot be read (ValueError: the call's path is "
            "'/v1/track', the row's '/v1/other')",
        ),
        (
            "UPDATE journal SET next_id = 2",
            "the journal table cannot be read (ValueError: next_id 2 and dropped 0 "
            "do not fit the calls (last id 2))",
        ),
        (
            "DELETE FROM journal",
            "the journal table cannot be read (ValueError: its one row is missing)",
        ),
    ],
)
def test_a_state_file_with_damaged_rows_is_refused(path, change, problem):
    mock = MockRefiner(deterministic_settings(), state_file=path)
    mock.handle("POST", "/v1/identify-user", b"", BEARER_JSON, identify("u1"))
    mock.handle("POST", "/v1/track", b"", BEARER_JSON, track("u1"))
    mock.close()
    with sqlite3.connect(path) as connection:
        connection.execute(change)
    connection.close()
    before = unchanged(path)

    with pytest.raises(StateError) as refused:
        MockRefiner(deterministic_settings(), state_file=path)

    assert str(refused.value) == f"{path}: a damaged state file: {problem}"
    assert unchanged(path) == before


def damage_pages(path: Path) -> None:
    """Overwrite every 7th byte from the fourth page on, as a failing disk might."""
    data = bytearray(path.read_bytes())
    data[12288::7] = b"\xab" * len(data[12288::7])
    path.write_bytes(bytes(data))


def test_a_state_file_with_damaged_pages_is_refused_and_left_as_it_is(path):
    mock = MockRefiner(deterministic_settings(), state_file=path)
    for number in range(300):
        mock.handle(
            "POST", "/v1/identify-user", b"", BEARER_JSON, identify(f"u{number}")
        )
    mock.close()
    damage_pages(path)
    before = unchanged(path)

    with pytest.raises(StateError) as refused:
        create_app(deterministic_settings(), state_file=path)

    assert str(refused.value) == (
        f"{path}: a damaged state file: Page 27: free space corruption"
    )
    assert unchanged(path) == before


def test_a_path_that_is_not_a_regular_file_is_refused_and_nothing_is_made(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    siblings = sorted(tmp_path.iterdir())
    devices = sorted(Path("/dev").glob("null*"))

    refusals = []
    for path in (folder, pipe, Path("/dev/null")):
        with pytest.raises(StateError) as refused:
            MockRefiner(deterministic_settings(), state_file=path)
        refusals.append(str(refused.value))

    assert refusals == [
        f"{folder}: not a regular file",
        f"{pipe}: not a regular file",
        "/dev/null: not a regular file",
    ]
    assert sorted(tmp_path.iterdir()) == siblings
    assert sorted(Path("/dev").glob("null*")) == devices


def test_an_empty_path_is_refused():
    with pytest.raises(StateError) as refused:
        MockRefiner(deterministic_settings(), state_file="")

    assert str(refused.value) == "the state file has no name: the path is empty"


READ_ONLY_OPEN = textwrap.dedent(
    """
    import sys
    from mock_refiner import MockRefiner
    from mock_refiner.state import StateError

    try:
        MockRefiner(state_file=sys.argv[1])
    except StateError as error:
        print(error)
    """
)


def without_root_override() -> list[str]:
    """A command prefix that takes away root's power to write any file, so a
    read-only file is read-only; nothing for another user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: nothing is read-only")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_state_file_that_cannot_be_written_is_refused_and_nothing_is_left(
    tmp_path, read_only
):
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "mock.sqlite"
    mock = MockRefiner(deterministic_settings(), state_file=path)
    mock.handle("POST", "/v1/identify-user", b"", BEARER_JSON, identify("u1"))
    mock.close()
    (path if read_only == "file" else folder).chmod(0o555)
    before = unchanged(path)

    try:
        finished = subprocess.run(
            [*without_root_override(), sys.executable, "-c", READ_ONLY_OPEN, path],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        after = unchanged(path)
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)

    assert (finished.returncode, finished.stderr) == (0, "")
    assert (
        finished.stdout
        == {
            "file": f"{path}: cannot be written: Permission denied\n",
            "folder": f"{path}: cannot be written: no permission to add files to "
            f"{folder}\n",
        }[read_only]
    )
    assert after == before


def test_a_state_file_in_a_missing_folder_is_refused(tmp_path):
    path = tmp_path / "missing" / "mock.sqlite"

    with pytest.raises(StateError) as refused:
        MockRefiner(deterministic_settings(), state_file=path)

    assert (
        str(refused.value) == f"{path}: cannot be opened: unable to open database file"
    )


def test_the_file_is_marked_as_the_mocks(path):
    MockRefiner(deterministic_settings(), state_file=path).close()

    with sqlite3.connect(path) as connection:
        marks = [
            connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("application_id", "user_version", "journal_mode")
        ]
    connection.close()

    assert marks == [APPLICATION_ID, SCHEMA_VERSION, "wal"]


KILLED_RUN = textwrap.dedent(
    """
    import itertools, json, sys
    from mock_refiner import MockRefiner, SequentialIds, Settings

    mock = MockRefiner(Settings(ids=SequentialIds()), state_file=sys.argv[1])
    headers = {"Authorization": "Bearer test-key-0001",
               "Content-Type": "application/json"}

    def call(number):
        body = json.dumps({"id": f"u{number}", "plan": "pro"}).encode()
        mock.handle("POST", "/v1/identify-user", b"", headers, body)
        body = json.dumps({"id": f"u{number}", "event": "Opened"}).encode()
        mock.handle("POST", "/v1/track", b"", headers, body)

    for number in range(50):
        call(number)
    print("done", flush=True)
    for number in itertools.count(50):
        call(number)
    """
)


def test_every_answered_call_survives_a_kill(path):
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "done\n"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()

    mock = MockRefiner(deterministic_settings(), state_file=path)
    [env] = mock.store.snapshot()["environments"]
    calls = mock.journal.calls()
    mock.close()

    assert process.returncode == -signal.SIGKILL
    assert [call["id"] for call in calls] == list(range(1, len(calls) + 1))
    assert len(calls) >= 100
    assert all(call["status"] == 200 for call in calls)
    identified = [c["params"]["id"] for c in calls if c["path"] == "/v1/identify-user"]
    tracked = [c["params"]["id"] for c in calls if c["path"] == "/v1/track"]
    assert [contact["remote_id"] for contact in env["contacts"]] == identified
    assert [event["contact"]["remote_id"] for event in env["events"]] == tracked


SEEDED = {
    "environments": [
        {
            "api_key": KEY,
            "forms": [{"uuid": "f1", "name": "NPS"}, {"uuid": "f2", "name": "CSAT"}],
            "segments": [
                {"uuid": "s1", "name": "One"},
                {"uuid": "s2", "name": "Two"},
                {"uuid": "s3", "name": "Auto", "is_manual": False},
            ],
        }
    ]
}
KEYS = (KEY, "test-key-0002")


def random_call(chooser: random.Random) -> tuple[str, str, bytes, dict]:
    """One call of a random run: the method, path, query and JSON body."""
    key = chooser.choice(KEYS)
    user = {"id": f"u{chooser.randrange(8)}"}
    if chooser.random() < 0.3:
        user = {"email": f"e{chooser.randrange(4)}@x.test"}
    elif chooser.random() < 0.3:
        user["email"] = f"e{chooser.randrange(4)}@x.test"
    roll = chooser.random()
    if roll < 0.3:
        body = {**user, f"t{chooser.randrange(5)}": chooser.randrange(3)}
        if chooser.random() < 0.4:
            body["account"] = {"id": f"a{chooser.randrange(3)}", "n": 1}
        if chooser.random() < 0.2:
            body["name"] = chooser.choice(["", "Ada"])
        return key, "POST /v1/identify-user", b"", body
    if roll < 0.5:
        event = chooser.choice(["Opened", "pageView"])
        return key, "POST /v1/track", b"", {**user, "event": event}
    if roll < 0.65:
        method = chooser.choice(["POST", "DELETE"])
        segment = chooser.choice(["s1", "s2", "s3", "s9"])
        return key, f"{method} /v1/sync-segment", b"", {**user, "segment_uuid": segment}
    if roll < 0.75:
        body = {**user, "form_uuid": chooser.choice(["f1", "f2"]), "score": 3}
        body["tags"] = chooser.sample(["vip", "late", "nps"], chooser.randrange(3))
        return key, "POST /v1/responses", b"", body
    if roll < 0.8:
        return key, "DELETE /v1/contact", b"", user
    if roll < 0.85:
        form = {"form_uuid": chooser.choice(["f1", "f2"])}
        path = chooser.choice(["POST /v1/forms/publish", "DELETE /v1/forms"])
        if chooser.random() < 0.3:
            return key, "POST /v1/forms/duplicate", b"", {**form, "name": "Copy"}
        return key, path, b"", form
    if roll < 0.9:
        return key, "GET /v1/contact", urlencode(user).encode(), {}
    return key, "POST /v1/track", b"", user


def lookups(mock: MockRefiner) -> list[tuple[str, str, list[str]]]:
    """Every environment's contacts by email, in the order the lookup gives them."""
    return [
        (env.api_key, email, [c.uuid for c in env.contacts_with_email(email)])
        for env in mock.store.environments()
        for email in sorted({c.email for c in env.contacts.values() if c.email})
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_run_with_restarts_matches_one_without(path, seed):
    chooser = random.Random(seed)
    reference = MockRefiner(deterministic_settings(journal_limit=40))
    settings = deterministic_settings(journal_limit=40)
    saved = MockRefiner(settings, state_file=path)
    for mock in (reference, saved):
        mock.load(SEEDED)

    for step in range(400):
        key, route, query, body = random_call(chooser)
        method, call_path = route.split()
        headers = {"Authorization": f"Bearer {key}"}
        if body:
            headers["Content-Type"] = "application/json"
        sent = json.dumps(body).encode() if body else b""
        replies = [
            mock.handle(method, call_path, query, headers, sent)
            for mock in (reference, saved)
        ]
        assert replies[0] == replies[1], (step, route, body)

        if chooser.random() < 0.02:
            for mock in (reference, saved):
                mock.clear_calls()
        if chooser.random() < 0.01:
            for mock in (reference, saved):
                mock.reset()
                mock.load(SEEDED)
        if chooser.random() < 0.1:
            saved.close()
            saved = MockRefiner(settings, state_file=path)
            assert saved.store.snapshot() == reference.store.snapshot(), step
            assert saved.journal.calls() == reference.journal.calls(), step
            assert saved.journal.dropped == reference.journal.dropped
            assert lookups(saved) == lookups(reference), step

    saved.close()
