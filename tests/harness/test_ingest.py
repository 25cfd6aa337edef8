"""Reading JSON Lines strictly, and ``refiner-harness map`` on input it must refuse."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from harness.cli import main
from harness.ingest import JsonError, JsonLine, load_json, read_json_lines
from tests.conftest import ROOT

CONFIG = {
    "apiKey": "rf-map-key",
    "userAttributesMapping": [{"from": "userId", "to": "id"}],
}
IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}
GOOD = json.dumps({"config": CONFIG, "message": IDENTIFY}).encode()
GOOD_REQUEST = {
    "request": {
        "method": "POST",
        "endpoint": "https://api.refiner.io/v1/identify-user",
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Bearer rf-map-key",
        },
        "form": {"plan": "pro", "id": "u1"},
    }
}


def error_line(message: str) -> dict:
    return {"error": {"status": 400, "message": message}}


def map_file(tmp_path, capsys, content: bytes) -> list[dict]:
    source = tmp_path / "input.jsonl"
    source.write_bytes(content)

    assert main(["map", str(source)]) == 0

    return [json.loads(line) for line in capsys.readouterr().out.split("\n") if line]


def test_a_line_that_is_not_utf8_is_an_error_line_and_the_rest_go_on(tmp_path, capsys):
    lines = map_file(tmp_path, capsys, b"\xff\xfe{}\n" + GOOD + b"\n")

    assert lines == [
        error_line(
            "line 1: not valid UTF-8: 'utf-8' codec can't decode byte 0xff in "
            "position 0: invalid start byte"
        ),
        GOOD_REQUEST,
    ]


def test_stdin_is_read_as_bytes(monkeypatch, capsys):
    stdin = b'{"config": {}, "message": {"userId": "\xff"}}\n' + GOOD + b"\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), "utf-8"))

    assert main(["map"]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        error_line(
            "line 1: not valid UTF-8: 'utf-8' codec can't decode byte 0xff in "
            "position 38: invalid start byte"
        ),
        GOOD_REQUEST,
    ]


def test_an_invalid_byte_on_real_stdin_never_reaches_stdout():
    stdin = b'{"config": {}, "message": {"userId": "\xff"}}\n' + GOOD + b"\n"

    finished = subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "harness", "map"],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    lines = [json.loads(line) for line in finished.stdout.decode().splitlines()]
    assert lines[0]["error"]["message"].startswith("line 1: not valid UTF-8: ")
    assert lines[1] == GOOD_REQUEST


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_line_separators_inside_strings_stay_on_their_line(tmp_path, capsys, separator):
    message = {**IDENTIFY, "traits": {"bio": f"one{separator}two"}}
    line = json.dumps({"config": CONFIG, "message": message}, ensure_ascii=False)

    lines = map_file(tmp_path, capsys, f"{line}\r\n".encode() + GOOD + b"\n")

    assert lines[0]["request"]["form"] == {"bio": f"one{separator}two", "id": "u1"}
    assert lines[1] == GOOD_REQUEST


def test_deep_nesting_is_an_error_line_and_the_next_line_is_still_mapped(
    tmp_path, capsys
):
    lines = map_file(tmp_path, capsys, b"[" * 100_000 + b"\n" + GOOD + b"\n")

    assert lines == [error_line("line 1: nested deeper than 100 levels"), GOOD_REQUEST]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("NaN", "not valid JSON: NaN is not a JSON number"),
        ("Infinity", "not valid JSON: Infinity is not a JSON number"),
        ("-Infinity", "not valid JSON: -Infinity is not a JSON number"),
        ("1e999", "number 1e999 overflows to infinity"),
        ("-1e999", "number -1e999 overflows to infinity"),
        ("1" + "0" * 400, "number 100000000000000000000000... (401 chars) overflows"),
        ("1" + "0" * 5000, "number 100000000000000000000000... (5001 chars) overflows"),
    ],
)
def test_numbers_json_cannot_carry_are_error_lines(tmp_path, capsys, value, problem):
    bad = f'{{"config": {{}}, "message": {{"traits": {{"score": {value}}}}}}}'

    lines = map_file(tmp_path, capsys, bad.encode() + b"\n" + GOOD + b"\n")

    assert lines[0]["error"]["message"].startswith(f"line 1: {problem}")
    assert lines[1] == GOOD_REQUEST


def test_json_lines_split_on_newline_only_and_skip_blank_lines():
    stream = io.BytesIO(b'"a\xe2\x80\xa8b"\r\n\n  \r\n{"c": "\xc2\x85"}\n[1]')

    assert list(read_json_lines(stream)) == [
        JsonLine(1, value="a\u2028b"),
        JsonLine(4, value={"c": "\x85"}),
        JsonLine(5, value=[1]),
    ]


def test_nesting_up_to_one_hundred_levels_is_accepted():
    assert load_json("[" * 100 + "]" * 100) == json.loads("[" * 100 + "]" * 100)

    with pytest.raises(JsonError, match=r"^nested deeper than 100 levels$"):
        load_json("[" * 101 + "]" * 101)


def test_finite_numbers_keep_their_value():
    assert load_json("[-0, 1e308, 1e-999, 12345678901234567890, 2.5]") == [
        0,
        1e308,
        0.0,
        12345678901234567890,
        2.5,
    ]
