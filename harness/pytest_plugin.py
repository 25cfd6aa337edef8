"""The pytest plugin of refiner-harness: mock fixtures and scenario files as tests.

Installing the package registers it (entry point ``pytest11``, name ``refiner``);
``-p no:refiner`` turns it off. It brings:

* fixtures: ``refiner`` (an in-process mock, fresh for each test), ``refiner_respx``
  (the same mock reached by httpx at ``https://api.refiner.io``, sync and async),
  ``refiner_server`` (a live server on 127.0.0.1, started once per session, serving a
  fresh mock to each test), ``refiner_settings`` (override it to change the mock's
  settings) and ``refiner_profile`` (the mapper profile in effect);
* the marker ``@pytest.mark.refiner_profile(name)``, which picks the mapper profile
  the fixtures replay events with;
* collection of scenario files: every ``*.yaml``/``*.yml`` file whose top level is a
  mapping with ``name``, ``config`` and ``events`` (``is_scenario_file`` of
  ``harness.scenario``, the rule ``refiner-harness run`` searches folders by) becomes
  one item per profile, named ``<scenario name>[<profile>]``. A failing item shows
  what was expected, what was found and the nearest matches, as the command does.
  A YAML file that cannot be parsed is collected too, so that it fails as a
  collection error naming the file instead of being skipped.

Options: ``--refiner-profile NAME`` (repeatable; default ``rudderstack``) chooses
the profiles scenario items run under, the first one also being the fixtures'
default; ``--refiner-target URL`` runs scenario items against a live mock; the ini
option ``refiner_scenarios = false`` stops the collection of scenario files.

Under pytest-xdist every worker has its own mocks and its own server port: nothing
binds a port before the first test that asks for ``refiner_server``.

Limitations: a live target is reset before each scenario item, so
``--refiner-target`` with more than one xdist worker is refused as a usage error.
Only ``refiner_respx`` routes httpx into a mock; with ``refiner`` alone, httpx
requests for ``https://api.refiner.io`` leave the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.fixtures import DEFAULT_PROFILE, LiveServer, RefinerMock, route_httpx
from harness.mapper import profiles as known_profiles
from harness.report import failure_text
from harness.runner import ScenarioResult, replay_settings, run_scenario
from harness.scenario import (
    SUFFIXES,
    Scenario,
    ScenarioError,
    is_scenario_file,
    load_scenario,
)
from harness.transport import TransportError, check_target
from mock_refiner import Settings, create_app


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refiner", "Refiner mock and scenario files")
    group.addoption(
        "--refiner-profile",
        action="append",
        dest="refiner_profiles",
        metavar="NAME",
        help="mapper profile for scenario items and fixtures (repeatable; "
        f"default {DEFAULT_PROFILE})",
    )
    group.addoption(
        "--refiner-target",
        dest="refiner_target",
        metavar="URL",
        help="run scenario items against the mock at URL (reset before each)",
    )
    parser.addini(
        "refiner_scenarios",
        type="bool",
        default=True,
        help="collect scenario YAML files as test items",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "refiner_profile(name): the mapper profile the refiner fixtures replay "
        "events with",
    )
    for profile in chosen_profiles(config):
        _check_profile(profile, "--refiner-profile")

    target = config.getoption("refiner_target")
    if target and xdist_workers(config) > 1:
        raise pytest.UsageError(
            "--refiner-target: scenario items reset the target before each run, so "
            "they cannot share it across xdist workers; run them on one worker "
            "(-n 0 or -n 1)"
        )
    if target:
        try:
            check_target(target)
        except TransportError as error:
            raise pytest.UsageError(f"--refiner-target: {error}") from None


def chosen_profiles(config: pytest.Config) -> list[str]:
    """The profiles of ``--refiner-profile``, each once, in order; or the default."""
    given = config.getoption("refiner_profiles") or [DEFAULT_PROFILE]
    return list(dict.fromkeys(given))


def xdist_workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers will run the tests; 0 without distribution."""
    if config.getoption("dist", "no") == "no" or config.getoption("collectonly"):
        return 0
    workers = 0
    for spec in config.getoption("tx", None) or []:
        count, star, _ = spec.partition("*")
        workers += int(count) if star and count.isdigit() else 1
    return workers


def _check_profile(profile: str, where: str) -> None:
    known = known_profiles()
    if profile not in known:
        raise pytest.UsageError(
            f"{where}: {profile!r} is not a profile (known: {', '.join(known)})"
        )


def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> ScenarioFile | None:
    if file_path.suffix not in SUFFIXES:
        return None
    if not parent.config.getini("refiner_scenarios"):
        return None
    if not _is_scenario_or_broken(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def _is_scenario_or_broken(path: Path) -> bool:
    """Scenario files, and YAML files that cannot be parsed: collecting one of those
    makes loading it report why, as a collection error naming the file."""
    try:
        return is_scenario_file(path)
    except ScenarioError:
        return True


class ScenarioFailed(Exception):
    """A scenario item whose expectations did not hold, or that could not run."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(failure_text(result))
        self.result = result


class ScenarioFile(pytest.File):
    """A scenario file: one item for each chosen profile it runs under."""

    def collect(self) -> Iterator[ScenarioItem]:
        scenario = load_scenario(self.path)
        for profile in chosen_profiles(self.config):
            if scenario.runs_under(profile):
                yield ScenarioItem.from_parent(
                    self,
                    name=f"{scenario.name}[{profile}]",
                    scenario=scenario,
                    profile=profile,
                )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    """One scenario replayed under one profile, in-process or against a target."""

    def __init__(self, *, scenario: Scenario, profile: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.profile = profile

    def runtest(self) -> None:
        target = self.config.getoption("refiner_target")
        result = run_scenario(self.scenario, self.profile, target=target)
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return failure_text(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


@pytest.fixture
def refiner_settings() -> Settings:
    """The settings of each fixture mock: a stepping clock from 2026-01-01T00:00:00Z
    and sequential ids, as in-process scenario runs use. Override to change them."""
    return replay_settings()


@pytest.fixture
def refiner_profile(request: pytest.FixtureRequest) -> str:
    """The mapper profile: the ``refiner_profile`` marker's, else the first
    ``--refiner-profile``, else ``rudderstack``."""
    marker = request.node.get_closest_marker("refiner_profile")
    if marker is None:
        return chosen_profiles(request.config)[0]
    if len(marker.args) != 1 or not isinstance(marker.args[0], str):
        pytest.fail("refiner_profile takes one profile name", pytrace=False)
    profile = marker.args[0]
    if profile not in known_profiles():
        known = ", ".join(known_profiles())
        pytest.fail(
            f"refiner_profile: {profile!r} is not a profile (known: {known})",
            pytrace=False,
        )
    return profile


@pytest.fixture
def refiner(refiner_settings: Settings, refiner_profile: str) -> RefinerMock:
    """A fresh in-process mock Refiner, reached through its own methods."""
    return RefinerMock(create_app(refiner_settings), profile=refiner_profile)


@pytest.fixture
def refiner_respx(refiner: RefinerMock) -> Iterator[RefinerMock]:
    """The ``refiner`` mock, answering httpx requests for ``https://api.refiner.io``
    (sync and async clients); its respx router is at ``.router``."""
    with route_httpx(refiner):
        yield refiner


@pytest.fixture(scope="session")
def refiner_live_server() -> Iterator[LiveServer]:
    """The session's server on a free port of 127.0.0.1 (one per xdist worker)."""
    with LiveServer(create_app(replay_settings())) as server:
        yield server


@pytest.fixture
def refiner_server(
    refiner_live_server: LiveServer, refiner_settings: Settings, refiner_profile: str
) -> RefinerMock:
    """A fresh mock Refiner served at ``.url`` by the session's live server."""
    app = create_app(refiner_settings)
    refiner_live_server.serve(app)
    return RefinerMock(app, url=refiner_live_server.url, profile=refiner_profile)
