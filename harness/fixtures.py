"""A mock Refiner for one test: reads of its state, assertions, and ways to reach it.

:class:`RefinerMock` wraps one ``mock_refiner`` app. It reads contacts, accounts and
events (the admin shapes of ``docs/architecture.md``) for one API key, reads the
journal of calls, seeds and resets the state, replays events and scenarios into the
mock, and asserts on what it holds. A failed assertion raises ``AssertionError``
listing what was expected, what was found and the nearest matches, and what the calls
tell: none at all, the API keys seen, the first refused ones.

Two ways to reach the app from the code under test:

* :func:`route_httpx` sends every httpx request for ``https://api.refiner.io`` into
  the app through respx, for sync and async clients (``harness.transport.route_app``);
* :class:`LiveServer` serves it on a free port of 127.0.0.1 from a daemon thread, for
  clients that are not httpx (``requests``, ``urllib``, another process).

Limitations: only :func:`route_httpx` intercepts httpx, and only while it is active;
a ``RefinerMock`` alone does not. While it is active, the first respx router
registered answers, so ``harness.runner.run_scenario`` (which opens its own respx
router) would reach this mock; use :meth:`RefinerMock.run_scenario` instead. Every
other httpx request is refused unless another respx router handles it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import respx
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from harness.expectations import Mismatch, Nearest, differences, nearest, show
from harness.report import describe, failure_text
from harness.runner import Replay, ScenarioResult, replay, replay_scenario
from harness.scenario import Scenario, load_scenario
from harness.transport import (
    REFINER_URL,
    Connection,
    route_app,
    wsgi_response,
)
from mock_refiner import MockRefiner

logger = logging.getLogger(__name__)

DEFAULT_PROFILE = "rudderstack"
SHOWN_CALLS = 5
SHOWN_REFUSED = 3


class AmbiguousKeyError(LookupError):
    """The mock holds several environments and no API key was chosen."""


class RefinerMock:
    """A mock Refiner app, its state, and assertions on it.

    ``url`` is where clients reach it: ``https://api.refiner.io`` in-process, the
    server's URL when it is served live. Reads and assertions use the environment of
    ``api_key`` when it is set, else of the only API key the mock has seen; calls
    are the whole journal, whatever their key.
    """

    def __init__(
        self,
        app: Flask,
        *,
        url: str = REFINER_URL,
        profile: str = DEFAULT_PROFILE,
        api_key: str | None = None,
    ) -> None:
        self.app = app
        self.url = url.rstrip("/")
        self.profile = profile
        self.api_key = api_key
        self.router: respx.MockRouter | None = None

    def __repr__(self) -> str:
        return f"<RefinerMock {self.url} profile={self.profile}>"

    @property
    def mock(self) -> MockRefiner:
        """The ``MockRefiner`` behind the app: its store, journal and settings."""
        return self.app.extensions["mock_refiner"]

    @property
    def is_live(self) -> bool:
        """Whether clients reach the mock over a socket rather than in-process."""
        return self.url != REFINER_URL

    @property
    def contacts(self) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        return self.environment()["contacts"]

    @property
    def accounts(self) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        return self.environment()["accounts"]

    @property
    def events(self) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        return self.environment()["events"]

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Every call the mock received, oldest first, refused ones included."""
        return self.mock.journal.calls()

    def environment(self, api_key: str | None = None) -> dict[str, Any]:
        """The ENV of one API key (see :meth:`chosen_key`), empty when none was used."""
        __tracebackhide__ = True
        key = self.chosen_key(api_key)
        if key is None:
            return {"api_key": None, "contacts": [], "accounts": [], "events": []}
        return self.mock.store.snapshot(api_key=key)

    def chosen_key(self, api_key: str | None = None) -> str | None:
        """``api_key``, else ``self.api_key``, else the only key used (None if none).

        Raises :class:`AmbiguousKeyError` when several keys were used and none is
        chosen.
        """
        __tracebackhide__ = True
        if api_key is not None:
            return api_key
        if self.api_key is not None:
            return self.api_key

        keys = [env["api_key"] for env in self.mock.store.snapshot()["environments"]]
        if len(keys) > 1:
            shown = ", ".join(repr(key) for key in keys)
            raise AmbiguousKeyError(
                f"the mock holds environments for {len(keys)} API keys ({shown}): "
                "pass api_key= or set api_key on the fixture"
            )
        return keys[0] if keys else None

    def seed(self, document: Any) -> None:
        """Replaces the state with a state document (``mock_refiner.state``)."""
        self.mock.load(document)

    def reset(self) -> None:
        """Forgets the state and the journal; the clock and ids go on."""
        self.mock.reset()
        self.mock.journal.clear()

    def replay(
        self,
        events: Iterable[Any],
        config: Mapping[str, Any],
        profile: str | None = None,
    ) -> Replay:
        """Maps and delivers RudderStack events into this mock, as the runner does.

        ``events`` is a list (or another iterable) of messages; one message on its own
        or text raises ``TypeError``.
        """
        if isinstance(events, str | bytes | Mapping) or not isinstance(
            events, Iterable
        ):
            raise TypeError(
                f"replay takes a list of events, not {type(events).__name__}; "
                "put a single event in a list: replay([event], config)"
            )
        with self.connection() as connection:
            return replay(events, config, profile or self.profile, connection)

    def run_scenario(
        self,
        scenario: Scenario | str | Path,
        profile: str | None = None,
        *,
        check: bool = True,
    ) -> ScenarioResult:
        """Resets the mock, replays a scenario into it and compares its expectations.

        The state stays for further assertions. With ``check``, a failed scenario
        raises ``AssertionError`` with the same text as the command line.
        """
        __tracebackhide__ = True
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(Path(scenario))
        with self.connection() as connection:
            result = replay_scenario(scenario, profile or self.profile, connection)

        if check and not result.passed:
            raise AssertionError(
                f"scenario {scenario.name!r} under {result.profile} failed\n"
                f"{failure_text(result)}"
            )
        return result

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection the runner can deliver through: WSGI in-process, or the
        socket of a live server. Neither goes through respx."""
        if self.is_live:
            with httpx.Client(timeout=10.0, trust_env=False) as client:
                yield Connection(client=client, base_url=self.url, target=self.url)
        else:
            transport = httpx.MockTransport(partial(wsgi_response, self.app))
            with httpx.Client(transport=transport) as client:
                yield Connection(client=client, base_url=REFINER_URL)

    def assert_contact(
        self, *, api_key: str | None = None, **expected: Any
    ) -> dict[str, Any]:
        """Asserts a contact matches the partial CONTACT ``expected``; returns it."""
        __tracebackhide__ = True
        return self._assert_item("contacts", "contact", expected, api_key)

    def assert_account(
        self, *, api_key: str | None = None, **expected: Any
    ) -> dict[str, Any]:
        """Asserts an account matches the partial ACCOUNT ``expected``; returns it."""
        __tracebackhide__ = True
        return self._assert_item("accounts", "account", expected, api_key)

    def assert_event(
        self,
        name: str,
        contact: str | Mapping[str, Any] | None = None,
        *,
        api_key: str | None = None,
        **expected: Any,
    ) -> dict[str, Any]:
        """Asserts an event ``name`` was tracked (for ``contact`` if given); returns it.

        ``contact`` is an email when it holds ``@``, else a remote id, or a partial
        ``{"uuid", "remote_id", "email"}`` mapping.
        """
        __tracebackhide__ = True
        wanted: dict[str, Any] = {"name": name}
        if isinstance(contact, str):
            wanted["contact"] = {"email" if "@" in contact else "remote_id": contact}
        elif contact is not None:
            wanted["contact"] = dict(contact)
        wanted.update(expected)
        return self._assert_item("events", "event", wanted, api_key)

    def assert_calls(
        self,
        path: str | None = None,
        status: int | None = None,
        *,
        count: int | None = None,
        **expected: Any,
    ) -> list[dict[str, Any]]:
        """Asserts calls match the partial CALL given; returns the matching calls.

        Without ``count`` at least one must match; with it, exactly ``count``.
        """
        __tracebackhide__ = True
        wanted: dict[str, Any] = {}
        if path is not None:
            wanted["path"] = path
        if status is not None:
            wanted["status"] = status
        wanted.update(expected)

        calls = self.calls
        matching = [call for call in calls if not differences(wanted, call)]
        if count is None and matching:
            return matching
        if count is None:
            raise AssertionError(
                _message("calls", "no call matches", wanted, nearest(wanted, calls))
            )
        if len(matching) == count:
            return matching

        lines = [
            f"expected {_plural(count, 'call')} matching, found {len(matching)}",
            f"  expected: {show(wanted)}",
        ]
        lines.extend(_found_lines(matching))
        if len(matching) < count:
            others = [call for call in calls if differences(wanted, call)]
            for near in nearest(wanted, others):
                lines.append(f"  nearest:  {show(near.item)}")
                lines.extend(f"    differs at {found}" for found in near.differences)
        if not calls:
            lines.append("  found:    no calls at all")
        raise AssertionError("\n".join(lines))

    def assert_no_calls(self) -> None:
        """Asserts the mock received no call at all."""
        __tracebackhide__ = True
        calls = self.calls
        if calls:
            lines = [f"expected no calls, found {len(calls)}", *_found_lines(calls)]
            raise AssertionError("\n".join(lines))

    def _assert_item(
        self, section: str, noun: str, expected: dict[str, Any], api_key: str | None
    ) -> dict[str, Any]:
        __tracebackhide__ = True
        key = self.chosen_key(api_key)
        items = self.environment(key)[section]
        for item in items:
            if not differences(expected, item):
                return item

        where = "" if key is None else f" for API key {key}"
        problem = f"no {noun} matches{where}"
        message = _message(section, problem, expected, nearest(expected, items))
        raise AssertionError("\n".join([message, *self._journal_lines(key)]))

    def _journal_lines(self, key: str | None) -> list[str]:
        """What the calls tell about a failed assertion: that there were none, the
        API keys seen when some differ from ``key``, and the first refused calls."""
        calls = self.calls
        if not calls:
            return ["  the mock has received no calls"]

        lines: list[str] = []
        environments = self.mock.store.snapshot()["environments"]
        seen = [env["api_key"] for env in environments]
        seen.extend(call["api_key"] for call in calls)
        keys = [seen_key for seen_key in dict.fromkeys(seen) if seen_key is not None]
        if any(seen_key != key for seen_key in keys):
            lines.append(f"  API keys seen: {', '.join(map(repr, keys))}")

        refused = [call for call in calls if 400 <= call["status"] < 500]
        for call in refused[:SHOWN_REFUSED]:
            lines.append(
                f"  refused:  {call['method']} {call['path']} {call['status']} "
                f"{show(call['reply'])}"
            )
        if len(refused) > SHOWN_REFUSED:
            lines.append(f"  ... and {len(refused) - SHOWN_REFUSED} more refused")
        return lines


def _message(section: str, problem: str, expected: Any, near: list[Nearest]) -> str:
    mismatch = Mismatch(section, problem, expected=expected, nearest=near)
    return "\n".join(describe(mismatch))


def _found_lines(calls: list[dict[str, Any]]) -> list[str]:
    lines = [f"  found:    {show(call)}" for call in calls[:SHOWN_CALLS]]
    if len(calls) > SHOWN_CALLS:
        lines.append(f"  ... and {len(calls) - SHOWN_CALLS} more")
    return lines


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@contextmanager
def route_httpx(refiner: RefinerMock) -> Iterator[respx.MockRouter]:
    """Sends httpx requests for ``https://api.refiner.io`` into ``refiner``'s app.

    The router is also kept at ``refiner.router`` while the block runs.
    """
    with route_app(refiner.app) as router:
        refiner.router = router
        try:
            yield router
        finally:
            refiner.router = None


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log: the mock logs each call itself."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LiveServer:
    """A threaded HTTP server on a free port of 127.0.0.1 serving a swappable app.

    The port is bound when the server is made; :meth:`serve` changes the app that
    answers from the next request on.
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1") -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host,
            0,
            self._dispatch,
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"refiner-server-{self._server.server_port}",
            daemon=True,
        )

    def serve(self, app: Flask) -> None:
        """Answers with ``app`` from now on."""
        self.app = app

    def start(self) -> None:
        self._thread.start()
        logger.info("Refiner mock serving on %s", self.url)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LiveServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _dispatch(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.app(environ, start_response)
