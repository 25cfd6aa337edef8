"""Fixtures for harness tests: scenario files and a live mock on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import make_server

from harness.runner import replay_settings
from mock_refiner import create_app


@pytest.fixture
def live_mock() -> Iterator[str]:
    """A mock on a free port of 127.0.0.1 with replay settings; its base URL."""
    server = make_server("127.0.0.1", 0, create_app(replay_settings()), threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def write_scenario(tmp_path: Path):
    """Writes a scenario mapping as YAML under tmp_path and returns its path."""

    def write(document: dict, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    return write
