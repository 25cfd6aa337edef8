"""Reports that stay readable and well formed whatever text the scenarios hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from xml.etree import ElementTree

from harness.cli import main
from tests.conftest import ROOT

CONFIG = {"apiKey": "rf-report-key"}
LONE_TYPE = '{"type": "\\ud800 visit", "userId": "u1"}\n'


def control_character_document() -> dict:
    return {
        "name": "bell \x01 in the name",
        "config": CONFIG,
        "events": [{"type": "track", "userId": "u1", "event": "Rang \x07"}],
        "expect": {"events": [{"name": "Rang \x07 twice"}]},
    }


def test_junit_leaves_out_characters_xml_cannot_hold(write_scenario, capsys):
    path = write_scenario(control_character_document())

    assert main(["run", str(path), "--format", "junit"]) == 1

    suite = ElementTree.fromstring(capsys.readouterr().out)
    case = suite.find("testcase")
    failure = case.find("failure")
    assert case.get("name") == "bell  in the name"
    assert failure.get("message") == "events[0]: no event matches"
    assert failure.text.splitlines()[:2] == [
        "events[0]: no event matches",
        '  expected: {"name": "Rang \\u0007 twice"}',
    ]


def test_junit_leaves_out_unpaired_surrogates(write_scenario, tmp_path):
    (tmp_path / "events.jsonl").write_text(LONE_TYPE, encoding="utf-8")
    path = write_scenario(
        {
            "name": "lone surrogate",
            "config": CONFIG,
            "events": "events.jsonl",
            "expect": {"rejected": [{"status": 200}]},
        }
    )
    report = tmp_path / "report.xml"

    assert main(["run", str(path), "--format", "junit", "--output", str(report)]) == 1

    failure = ElementTree.parse(report).find("testcase/failure")
    assert failure.text.splitlines()[2] == (
        '  nearest:  {"index": 0, "type": " visit", "status": 400, '
        '"message": "Event type \\" visit\\" is not supported"}'
    )


def test_an_output_file_keeps_text_it_cannot_encode_as_escapes(
    write_scenario, tmp_path
):
    (tmp_path / "events.jsonl").write_text(LONE_TYPE, encoding="utf-8")
    path = write_scenario(
        {
            "name": "lone surrogate",
            "config": CONFIG,
            "events": "events.jsonl",
            "expect": {"rejected": [{"status": 200}]},
        }
    )
    report = tmp_path / "report.json"

    assert main(["run", str(path), "--format", "json", "--output", str(report)]) == 1

    text = report.read_text(encoding="utf-8")
    assert '"type": "\\ud800 visit"' in text
    [mismatch] = json.loads(text)["results"][0]["mismatches"]
    assert mismatch["nearest"][0]["item"]["type"] == "\ud800 visit"


def test_map_output_stays_valid_json_with_unpaired_surrogates():
    line = {"config": {}, "message": {"type": "\ud800"}}

    finished = subprocess.run(
        [sys.executable, "-m", "harness", "map"],
        input=json.dumps(line).encode() + b"\n",
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
        timeout=60,
    )

    assert (finished.returncode, finished.stderr) == (0, b"")
    assert finished.stdout == (
        b'{"error": {"status": 400, "message": "Event type \\"\\ud800\\" is not '
        b'supported"}}\n'
    )
    assert json.loads(finished.stdout)["error"]["message"] == (
        'Event type "\ud800" is not supported'
    )


def test_the_table_has_a_header_and_counts_one_event(write_scenario, capsys):
    path = write_scenario(
        {
            "name": "one event",
            "config": CONFIG,
            "events": [{"type": "track", "userId": "u1", "event": "Signed Up"}],
        }
    )

    assert main(["run", str(path)]) == 0

    header, line, summary = capsys.readouterr().out.splitlines()
    assert header == (
        "result  scenario   profile      events       rejected           time"
    )
    assert line.startswith("PASS    one event  rudderstack  1 event      0 rejected  ")
    assert line.endswith(" ms")
    assert summary == "1 passed, 0 failed"
