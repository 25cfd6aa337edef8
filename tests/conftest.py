"""Shared fixtures: the recorded vectors and SDK batches under ../shared/."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("REFINER_SHARED", ROOT.parent / "shared"))
VECTORS = SHARED / "vectors" / "rudderstack-transformer.json"
SDK_BATCHES = SHARED / "fixtures" / "sdk-batches.jsonl"


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
