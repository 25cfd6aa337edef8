"""Every recorded transformer case, through the mapper and through ``map``."""

from __future__ import annotations

import io
import json

import pytest

from harness.cli import main
from harness.mapper import MappingError, map_event
from tests.conftest import ROOT, SHARED, load_vector_cases

CASES = load_vector_cases()


def expected_line(case):
    expect = case["expect"]
    if "request" in expect:
        return {"request": expect["request"]}
    return {"error": {"status": expect["status"], "message": expect["error"]}}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_mapper_agrees_with_the_transformer(case):
    expect = case["expect"]

    if "request" in expect:
        request = map_event(case["message"], case["config"], "rudderstack")
        assert request.to_json() == expect["request"]
        assert list(request.form) == list(expect["request"]["form"])
    else:
        with pytest.raises(MappingError) as refusal:
            map_event(case["message"], case["config"], "rudderstack")
        assert (refusal.value.status, refusal.value.message) == (
            expect["status"],
            expect["error"],
        )


def test_vectors_cover_every_event_type_and_refusal():
    assert len(CASES) == 70
    statuses = [case["expect"]["status"] for case in CASES]
    assert statuses.count(200) == 55
    assert statuses.count(400) == 15


def test_map_command_agrees_with_every_vector(tmp_path, monkeypatch, capsys):
    source = tmp_path / "vectors.jsonl"
    source.write_text(
        "".join(
            json.dumps({"config": case["config"], "message": case["message"]}) + "\n"
            for case in CASES
        ),
        encoding="utf-8",
    )

    assert main(["map", str(source)]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [expected_line(case) for case in CASES]


def test_map_command_reads_stdin_and_reports_bad_lines_in_place(monkeypatch, capsys):
    case = CASES[0]
    good = json.dumps({"config": case["config"], "message": case["message"]})
    stdin = "\n".join(
        [
            good,
            "{not json",
            "[1, 2]",
            '{"config": 3, "message": {}}',
            '{"config": {}}',
            good,
        ]
    )
    monkeypatch.setattr(
        "sys.stdin", io.TextIOWrapper(io.BytesIO(f"{stdin}\n".encode()), "utf-8")
    )

    assert main(["map"]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == expected_line(case)
    assert lines[1]["error"]["status"] == 400
    assert lines[1]["error"]["message"].startswith("line 2: not valid JSON: ")
    assert lines[2:5] == [
        {"error": {"status": 400, "message": "line 3: expected a JSON object"}},
        {"error": {"status": 400, "message": 'line 4: "config" must be an object'}},
        {"error": {"status": 400, "message": 'line 5: "message" is missing'}},
    ]
    assert lines[5] == expected_line(case)


def test_map_command_refuses_an_unknown_profile(tmp_path, capsys):
    source = tmp_path / "empty.jsonl"
    source.write_text("", encoding="utf-8")

    assert main(["map", "--profile", "nope", str(source)]) == 2
    assert capsys.readouterr().err == (
        "refiner-harness: unknown profile 'nope' (known: documented, rudderstack)\n"
    )


def test_the_copy_in_tests_data_matches_the_shared_vectors():
    copy = ROOT / "tests" / "data" / "rudderstack-transformer.json"
    shared = SHARED / "vectors" / "rudderstack-transformer.json"
    if not shared.exists():
        pytest.skip("no shared folder beside the checkout")

    assert json.loads(copy.read_text("utf-8")) == json.loads(shared.read_text("utf-8"))
