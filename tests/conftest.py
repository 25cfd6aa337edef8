"""Shared fixtures: the recorded transformer vectors and the captured SDK batches.

Both are read from the shared folder beside the checkout (``../shared``, or
``REFINER_SHARED``) when it is there, else from the copies in ``tests/data``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("REFINER_SHARED", ROOT.parent / "shared"))
DATA = ROOT / "tests" / "data"


def shared_or_copy(relative: str) -> Path:
    shared = SHARED / relative
    return shared if shared.exists() else DATA / Path(relative).name


VECTORS = shared_or_copy("vectors/rudderstack-transformer.json")
SDK_BATCHES = shared_or_copy("fixtures/sdk-batches.jsonl")


def load_vector_cases() -> list[dict[str, Any]]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="session")
def vector_cases() -> list[dict[str, Any]]:
    return load_vector_cases()


@pytest.fixture(scope="session")
def sdk_messages() -> list[dict[str, Any]]:
    messages = []
    for line in SDK_BATCHES.read_text(encoding="utf-8").splitlines():
        messages.extend(json.loads(line)["body"]["batch"])
    return messages
