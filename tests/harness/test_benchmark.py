"""``benchmarks/replay.py`` refuses arguments it cannot run with."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (
            ["--profile", "nope"],
            "argument --profile: invalid choice: 'nope' "
            "(choose from 'documented', 'rudderstack')",
        ),
        (["--events", "0"], "argument --events: '0' is not a whole number >= 1"),
        (["--events", "-5"], "argument --events: '-5' is not a whole number >= 1"),
        (["--events", "many"], "argument --events: 'many' is not a whole number >= 1"),
    ],
)
def test_bad_arguments_exit_2_before_any_work(arguments, problem):
    finished = subprocess.run(
        [sys.executable, "benchmarks/replay.py", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )

    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr.endswith(f"replay.py: error: {problem}\n")
