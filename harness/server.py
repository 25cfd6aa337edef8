"""The demo server's app: the Refiner mock, the admin API, RudderStack's data plane
and the dashboard, in one Flask app sharing one `MockRefiner`.

`create_server_app` composes the parts; `refiner-harness serve` runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from harness.mapper import get_mapper
from mock_refiner import Settings, create_app

logger = logging.getLogger(__name__)


def create_server_app(
    settings: Settings | None = None,
    profile: str = "rudderstack",
    seed: str | Path | Mapping | None = None,
) -> Flask:
    """The mock's app with the data plane and the dashboard added.

    Events that arrive at the data plane go through the mapper of `profile`
    (`app.extensions["refiner_profile"]`) and the delivery step into the mock.
    """
    get_mapper(profile)
    app = create_app(settings, seed)
    app.extensions["refiner_profile"] = profile
    return app
