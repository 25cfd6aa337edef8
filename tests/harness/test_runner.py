"""Replaying scenarios in-process and against a live mock, and their reports."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from xml.etree import ElementTree

import httpx
import pytest
from werkzeug.serving import make_server

from harness.cli import main
from harness.runner import run_scenario
from harness.scenario import api_key, load_scenario
from harness.transport import TransportError, check_target, in_process

IDENTIFY = {
    "type": "identify",
    "userId": "u1",
    "traits": {"email": "ada@example.test", "plan": "pro", "visits": 1000000},
}
TRACK = {"type": "track", "userId": "u1", "event": "Report Exported"}
SCREEN = {"type": "screen", "userId": "u1"}
CONFIG = {
    "apiKey": "rf-runner-key",
    "userAttributesMapping": [{"from": "userId", "to": "id"}],
}

PASSING = {
    "name": "identify then track",
    "config": CONFIG,
    "events": [IDENTIFY, TRACK, SCREEN],
    "expect": {
        "contacts": [
            {
                "uuid": "00000000-0000-4000-8000-000000000001",
                "remote_id": "u1",
                "email": "ada@example.test",
                "first_seen_at": "2026-01-01T00:00:00.000000Z",
                "attributes": {"plan": "pro", "visits": "1e+06"},
            }
        ],
        "events": [{"name": "Report Exported", "contact": {"remote_id": "u1"}}],
        "rejected": [
            {
                "index": 2,
                "type": "screen",
                "status": 400,
                "message": 'Event type "screen" is not supported',
            }
        ],
        "calls": [
            {"path": "/v1/identify-user", "status": 200, "params": {"id": "u1"}},
            {"path": "/v1/track", "status": 200},
        ],
        "counts": {"contacts": 1, "events": 1, "rejected": 1, "calls": 2},
    },
}

BAD_TARGET = (
    "target '{}' must be an http or https URL with a host and no query, "
    "such as http://127.0.0.1:8080"
)


@contextmanager
def serving(app) -> Iterator[str]:
    """Any WSGI app on a free port of 127.0.0.1; its base URL."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def failing_document():
    document = json.loads(json.dumps(PASSING))
    document["name"] = "wrong plan"
    document["expect"]["contacts"][0]["attributes"]["plan"] = "team"
    return document


def test_in_process_replay_passes(write_scenario):
    result = run_scenario(load_scenario(write_scenario(PASSING)), "rudderstack")

    assert result.error is None
    assert result.mismatches == []
    assert result.passed
    assert [d["status"] for d in result.replay.delivered] == [200, 200]


def test_live_target_gives_the_same_state(write_scenario, live_mock):
    result = run_scenario(
        load_scenario(write_scenario(PASSING)), "rudderstack", target=live_mock
    )

    assert result.passed, result.mismatches


def test_failure_names_expected_found_and_nearest(write_scenario):
    result = run_scenario(
        load_scenario(write_scenario(failing_document())), "rudderstack"
    )

    assert not result.passed
    [mismatch] = result.mismatches
    assert mismatch.problem == "contacts[0]: no contact matches"
    assert mismatch.nearest[0].differences == [
        'attributes.plan: expected "team", found "pro"'
    ]


def test_unreachable_target_is_an_error_not_a_traceback(write_scenario):
    result = run_scenario(
        load_scenario(write_scenario(PASSING)),
        "rudderstack",
        target="http://127.0.0.1:9",
    )

    assert not result.passed
    assert result.error.startswith(
        "could not reach the mock: POST http://127.0.0.1:9/__mock/reset: "
    )


def test_expectations_per_profile(write_scenario):
    document = json.loads(json.dumps(PASSING))
    document["config"] = {"apiKey": "rf-runner-key"}
    document["expect"]["contacts"] = [{"remote_id": "u1"}]
    document["expect"]["calls"][0]["params"] = {"userId": "u1"}
    document["expect"]["counts"]["contacts"] = 2
    document["expect_by_profile"] = {
        "documented": {
            "calls": [{"path": "/v1/identify-user", "params": {"id": "u1"}}],
            "counts": {"contacts": 1, "events": 1},
        }
    }
    scenario = load_scenario(write_scenario(document))

    for profile in ("rudderstack", "documented"):
        result = run_scenario(scenario, profile)
        assert [m.problem for m in result.mismatches] == [], profile

    document["expect_by_profile"] = {}
    result = run_scenario(load_scenario(write_scenario(document)), "documented")
    assert [m.problem for m in result.mismatches] == [
        "calls[0]: no call matches",
        "counts.contacts: expected 2, found 1",
    ]


def test_run_command_prints_one_line_per_scenario_and_fails_on_any_failure(
    write_scenario, capsys
):
    write_scenario(PASSING, "a.yaml")
    path = write_scenario(failing_document(), "b.yaml")

    assert main(["run", str(path.parent)]) == 1

    header, *lines = capsys.readouterr().out.splitlines()
    assert header == (
        "result  scenario             profile      events       rejected           time"
    )
    assert lines[0].startswith(
        "PASS    identify then track  rudderstack  3 events     1 rejected    "
    )
    assert lines[1].startswith(
        "FAIL    wrong plan           rudderstack  3 events     1 rejected    "
    )
    assert lines[2] == f"      {path}"
    assert lines[3] == "      contacts[0]: no contact matches"
    assert lines[4].startswith(
        '        expected: {"uuid": "00000000-0000-4000-8000-000000000001"'
    )
    assert lines[5].startswith(
        '        nearest:  {"uuid": "00000000-0000-4000-8000-000000000001"'
    )
    assert (
        lines[6] == '          differs at attributes.plan: expected "team", found "pro"'
    )
    assert lines[-1] == "1 passed, 1 failed"


def test_run_command_json_and_junit(write_scenario, capsys, tmp_path):
    path = write_scenario(failing_document())

    assert main(["run", str(path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["passed"], report["failed"]) == (0, 1)
    assert report["results"][0]["mismatches"][0]["problem"] == (
        "contacts[0]: no contact matches"
    )

    junit = tmp_path / "report.xml"
    assert main(["run", str(path), "--format", "junit", "--output", str(junit)]) == 1
    suite = ElementTree.fromstring(junit.read_text(encoding="utf-8"))
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    failure = suite.find("testcase/failure")
    assert suite.find("testcase").get("name") == "wrong plan"
    assert failure.get("message") == "contacts[0]: no contact matches"
    assert 'differs at attributes.plan: expected "team", found "pro"' in failure.text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"config": {}}, "'name' must be non-empty text"),
        ({"name": "x"}, "'config' must be a mapping"),
        (
            {"name": "x", "config": {}, "events": 3},
            "'events' must be a list or a JSON Lines file name",
        ),
        (
            {"name": "x", "config": {}, "events": [], "expect": {"people": []}},
            "'expect.people' is not one of",
        ),
        (
            {
                "name": "x",
                "config": {},
                "events": [],
                "expect": {"counts": {"contacts": "2"}},
            },
            "'expect.counts' maps",
        ),
        (
            {"name": "x", "config": {}, "events": [], "colour": 1},
            "unknown keys ['colour']",
        ),
    ],
)
def test_bad_scenario_files_exit_2_with_the_file_named(
    write_scenario, capsys, document, message
):
    path = write_scenario(document)

    assert main(["run", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"refiner-harness: {path}: ")
    assert message in error


def test_events_from_a_json_lines_file(write_scenario, tmp_path):
    (tmp_path / "events.jsonl").write_text(
        "\n".join(json.dumps(event) for event in PASSING["events"]) + "\n",
        encoding="utf-8",
    )
    document = {**PASSING, "events": "events.jsonl"}

    assert run_scenario(load_scenario(write_scenario(document)), "rudderstack").passed


def test_code_calling_the_real_url_reaches_the_in_process_mock():
    with in_process() as connection:
        reply = httpx.post(
            "https://api.refiner.io/v1/identify-user",
            headers={"Authorization": "Bearer rf-direct-key"},
            json={"id": "u9", "plan": "pro"},
        )
        contacts = connection.environment("rf-direct-key")["contacts"]

    assert reply.status_code == 200
    assert reply.json()["message"] == "ok"
    assert [(c["remote_id"], c["attributes"]) for c in contacts] == [
        ("u9", {"plan": "pro"})
    ]


def test_a_scenario_can_start_from_a_seeded_refiner(write_scenario, live_mock):
    document = {
        "name": "seeded contact found by email",
        "config": {"apiKey": "rf-seeded-key"},
        "seed": {
            "contacts": [
                {"email": "ada@example.test", "attributes": {"plan": "legacy"}}
            ]
        },
        "events": [IDENTIFY],
        "expect": {
            "contacts": [
                {
                    "remote_id": None,
                    "email": "ada@example.test",
                    "attributes": {"plan": "pro", "userId": "u1", "visits": "1e+06"},
                }
            ],
            "counts": {"contacts": 1},
        },
    }
    scenario = load_scenario(write_scenario(document))

    assert scenario.seed["api_key"] == "rf-seeded-key"
    assert run_scenario(scenario, "rudderstack").passed
    assert run_scenario(scenario, "rudderstack", target=live_mock).passed


def test_a_bad_seed_is_reported_as_the_scenario_error(write_scenario):
    document = {
        "name": "bad seed",
        "config": {"apiKey": "rf-seeded-key"},
        "seed": {"contacts": [{"attributes": {}}]},
        "events": [],
    }

    result = run_scenario(load_scenario(write_scenario(document)), "rudderstack")

    assert result.error == (
        "PUT https://api.refiner.io/__mock/state answered 400: "
        '{"error":"The state document is not valid: '
        'environments[0].contacts[0]: needs a remote_id or an email"}'
    )


def test_anything_failing_while_comparing_is_the_scenario_error(
    write_scenario, monkeypatch, caplog
):
    def broken_compare(expect, actual):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("harness.runner.compare", broken_compare)

    with caplog.at_level(logging.INFO, logger="harness.runner"):
        result = run_scenario(load_scenario(write_scenario(PASSING)), "rudderstack")

    assert result.error == "RecursionError: maximum recursion depth exceeded"
    [record] = caplog.records
    assert (record.levelname, record.getMessage()) == (
        "INFO",
        "scenario identify then track under rudderstack failed to run",
    )
    assert record.exc_info[0] is RecursionError


def test_a_failing_scenario_shows_its_traceback_only_when_verbose(
    write_scenario, monkeypatch, capsys, caplog
):
    def broken_compare(expect, actual):
        raise RuntimeError("comparison broke")

    monkeypatch.setattr("harness.runner.compare", broken_compare)
    path = write_scenario({"name": "breaks", "config": CONFIG, "events": []})

    with caplog.at_level(logging.ERROR):
        assert main(["run", str(path)]) == 1
    quiet = capsys.readouterr()
    assert "RuntimeError: comparison broke" in quiet.out
    assert quiet.err == ""
    assert [r for r in caplog.records if r.exc_info] == []

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="harness.runner"):
        assert main(["run", str(path), "--verbose"]) == 1
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.getMessage() == "scenario breaks under rudderstack failed to run"
    assert record.exc_info[0] is RuntimeError


def test_a_missing_api_key_is_read_as_the_key_the_mapper_sends(write_scenario):
    document = {
        "name": "no api key",
        "config": {"userAttributesMapping": [{"from": "userId", "to": "id"}]},
        "seed": {"contacts": [{"remote_id": "u0", "email": "old@example.test"}]},
        "events": [IDENTIFY],
        "expect": {
            "contacts": [{"remote_id": "u0"}, {"remote_id": "u1"}],
            "calls": [{"path": "/v1/identify-user", "status": 200}],
            "counts": {"contacts": 2},
        },
    }

    scenario = load_scenario(write_scenario(document))
    result = run_scenario(scenario, "rudderstack")

    assert scenario.seed["api_key"] == "undefined"
    assert api_key(scenario.config) == "undefined"
    assert (result.error, result.mismatches) == (None, [])


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("http://[::1", "target 'http://[::1' is not a valid URL: Invalid IPv6 URL"),
        (
            "http://127.0.0.1:99999",
            "target 'http://127.0.0.1:99999' is not a valid URL: "
            "Port out of range 0-65535",
        ),
        ("ftp://127.0.0.1:8080", BAD_TARGET.format("ftp://127.0.0.1:8080")),
        ("127.0.0.1:8080", BAD_TARGET.format("127.0.0.1:8080")),
        ("http://", BAD_TARGET.format("http://")),
        ("http://127.0.0.1:8080?x=1", BAD_TARGET.format("http://127.0.0.1:8080?x=1")),
    ],
)
def test_a_target_that_is_not_a_usable_url_exits_2(
    write_scenario, capsys, target, problem
):
    path = write_scenario(PASSING)

    assert main(["run", str(path), "--target", target]) == 2

    assert capsys.readouterr() == ("", f"refiner-harness: {problem}\n")


def test_an_unreachable_target_exits_2_before_running_anything(write_scenario, capsys):
    path = write_scenario(PASSING)

    assert main(["run", str(path), "--target", "http://127.0.0.1:9"]) == 2

    out, error = capsys.readouterr()
    assert out == ""
    assert error.startswith(
        "refiner-harness: target http://127.0.0.1:9 cannot be reached: "
        "GET http://127.0.0.1:9/__mock/state: "
    )
    assert error.count("\n") == 1


@pytest.mark.parametrize(
    ("status", "content_type", "body", "shown"),
    [
        (404, "text/plain", b"not here", "404 text/plain: not here"),
        (200, "text/html", b"<p>hello</p>", "200 text/html: <p>hello</p>"),
        (
            200,
            "application/json",
            b'{"ok": true}',
            '200 application/json: {"ok": true}',
        ),
        (200, "application/json", b"[1, 2]", "200 application/json: [1, 2]"),
    ],
)
def test_a_target_that_is_not_the_mock_exits_2(
    write_scenario, capsys, status, content_type, body, shown
):
    def not_the_mock(environ, start_response):
        start_response(f"{status} X", [("Content-Type", content_type)])
        return [body]

    path = write_scenario(PASSING)
    with serving(not_the_mock) as base_url:
        assert main(["run", str(path), "--target", base_url]) == 2

    assert capsys.readouterr() == (
        "",
        f"refiner-harness: target {base_url} does not answer like the Refiner mock: "
        f"GET {base_url}/__mock/state gave {shown}\n",
    )


def test_a_target_that_never_answers_is_given_up_quickly():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.perf_counter()

        with pytest.raises(TransportError) as refused:
            check_target(base_url, timeout=0.2)

    assert time.perf_counter() - started < 5
    assert str(refused.value) == (
        f"target {base_url} cannot be reached: GET {base_url}/__mock/state: timed out"
    )


def test_the_run_command_checks_a_live_target_once_and_runs(
    write_scenario, capsys, live_mock
):
    path = write_scenario(PASSING)

    assert main(["run", str(path), "--target", live_mock]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


def test_the_in_process_mock_sees_paths_as_a_real_server_passes_them():
    with in_process() as connection:
        reply = connection.client.post(
            "https://api.refiner.io/v1/%C3%BCnknown",
            headers={"Authorization": "Bearer rf-path-key"},
        )
        journaled = connection.calls()

    assert (reply.status_code, reply.json()) == (404, {"error": "Not found"})
    assert [call["path"] for call in journaled] == ["/v1/ünknown"]


def test_bare_yaml_dates_in_a_seed_stay_text(tmp_path):
    path = tmp_path / "dates.yaml"
    path.write_text(
        "name: seeded bare date\n"
        "config: {apiKey: rf-seed-date}\n"
        "seed:\n"
        "  contacts: [{remote_id: u1, attributes: {born: 2000-01-01}}]\n"
        "events: []\n"
        "expect:\n"
        "  contacts: [{remote_id: u1, attributes: {born: '2000-01-01'}}]\n",
        encoding="utf-8",
    )

    result = run_scenario(load_scenario(path), "rudderstack")

    assert (result.error, result.mismatches) == (None, [])
