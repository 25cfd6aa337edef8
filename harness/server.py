"""The demo server's app: the Refiner mock, the admin API, RudderStack's data plane
and the dashboard, in one Flask app sharing one `MockRefiner`.

`create_server_app` composes the parts; `serve` runs the app with granian in this
process, so every call sees the same state: granian's thread-worker server (built for
free-threaded Python) serves an app object built here, on a socket bound here, with
one worker thread and a pool of blocking threads taking turns on the GIL. `AccessLog`
writes one line per call. docs/server.md has the measurements behind the choice.

Limitations: granian's thread-worker server and its socket holder are not public API,
so the granian version is pinned to a minor release in pyproject.toml; granian copies
the process environment into every request's WSGI environ, so `serve` drops the
variables named like request headers (`HTTP_*`, `CONTENT_TYPE`, `CONTENT_LENGTH`)
from the environment first. A request granian cannot parse is answered by granian
(400, empty body) and never reaches the app, the journal or the log. The queue of log
lines is not bounded: a terminal slower than the calls lets it grow.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from queue import SimpleQueue
from typing import Any

from flask import Flask
from granian._granian import SocketHolder
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server.mt import MTServer

from harness.dashboard import dashboard
from harness.data_plane import data_plane
from harness.mapper import get_mapper
from mock_refiner import Settings, create_app
from mock_refiner.faults import DROP_MESSAGE, DROPPED_KEY, DroppedConnection

logger = logging.getLogger(__name__)

BLOCKING_THREADS = 4
DROPPED_TRACE_END = f"{DroppedConnection.__name__}: {DROP_MESSAGE}"
STOP_GRACE = 5
BACKLOG = 1024
HEADER_VARIABLES = ("CONTENT_TYPE", "CONTENT_LENGTH")
QUIET_LEVELS = {
    "mock_refiner": logging.WARNING,
    "mock_refiner.service": logging.ERROR,
    "harness.data_plane": logging.ERROR,
    "httpx": logging.WARNING,
}
GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "_granian": {"propagate": True},
        "granian.access": {"propagate": False},
    },
}


class DroppedCallFilter(logging.Filter):
    """Leaves out granian's report of a call a `drop` fault ended on purpose (a
    traceback granian writes as the record's text): the access line and the journal
    tell it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("_granian"):
            return True

        return not str(record.msg).rstrip().endswith(DROPPED_TRACE_END)


def create_server_app(
    settings: Settings | None = None,
    profile: str = "rudderstack",
    seed: str | Path | Mapping | None = None,
    destination_config: Mapping | None = None,
    state_file: str | Path | None = None,
) -> Flask:
    """The mock's app with the data plane and the dashboard added.

    Events that arrive at the data plane go through the mapper of `profile`
    (`app.extensions["refiner_profile"]`) and the delivery step into the mock, with
    the destination config `{"apiKey": <write key>, **destination_config}`: each
    write key is its own Refiner environment unless `destination_config` names an
    `apiKey`; other keys such as `userAttributesMapping` reach the mapper as given.

    `state_file` keeps the state and the journal in a SQLite file (`create_app`).
    """
    get_mapper(profile)
    app = create_app(settings, seed, state_file=state_file)
    app.extensions["refiner_profile"] = profile
    app.register_blueprint(dashboard)
    app.register_blueprint(data_plane, destination_config=destination_config)
    return app


class ServeError(OSError):
    """The server cannot listen on the address it was given."""


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on `host` and `port` (0 picks a free port).

    SO_REUSEPORT is left off, so a second server on a port in use fails to start
    instead of sharing the port. TCP_NODELAY is set, as granian sets it on the
    sockets it binds: the connections inherit it, and a reply's head and body then
    leave at once instead of waiting on the client's delayed ACK (40 ms). Raises
    `ServeError` with a one-line reason.
    """
    try:
        found = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {host}: {error.strerror}") from None

    family, kind, protocol, _, address = found[0]
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind(address)
        listener.listen(BACKLOG)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is already in use") from None
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None

    return listener


@contextlib.contextmanager
def hold_state_file(path: str | Path | None) -> Iterator[None]:
    """Hold an exclusive lock on a state file while serving, so a second server
    refuses it instead of overwriting its rows; the lock goes with the process,
    however it ends. Raises `ServeError` when another process holds it."""
    if path is None:
        yield
        return

    with open(path, "rb") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServeError(
                f"{path} is in use by another process; one server at a time may use "
                "a state file"
            ) from None
        yield


def url_of(listener: socket.socket) -> str:
    """The base URL of a listening socket, with the port it really has."""
    host, port = listener.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"

    return f"http://{host}:{port}"


class AccessLog:
    """WSGI middleware: one line per call, `METHOD PATH -> STATUS (N.N ms)`.

    Calls log at INFO, except reads of the dashboard and the admin API (`GET` or
    `HEAD` of `/`, `/__dashboard/...`, `/__mock/...`), which log at DEBUG: an open
    dashboard reads several of them every second. The path is decoded as werkzeug
    decodes it, and control characters in it are escaped, so a call is always one
    line. The query string is left out: it may hold an API key.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        status = "500"

        def start(line: str, headers: list, exc_info: Any = None) -> Any:
            nonlocal status
            status = line[:3]
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            milliseconds = (time.perf_counter() - started) * 1000
            if environ.get(DROPPED_KEY):
                status = "dropped"
            method = environ.get("REQUEST_METHOD", "")
            path = environ.get("PATH_INFO", "")
            logger.log(
                logging.DEBUG if is_read_of_tools(method, path) else logging.INFO,
                "%s %s -> %s (%.1f ms)",
                method,
                printable_path(path),
                status,
                milliseconds,
            )


def is_read_of_tools(method: str, path: str) -> bool:
    """Whether a call reads the dashboard or the admin API rather than calling Refiner
    or the data plane or changing anything."""
    if method not in ("GET", "HEAD"):
        return False

    return path == "/" or path.startswith(("/__dashboard/", "/__mock/"))


def printable_path(path_info: str) -> str:
    """A WSGI `PATH_INFO` as text, with non-printable characters escaped."""
    path = path_info.encode("latin-1").decode("utf-8", "replace")
    if path.isprintable():
        return path

    return "".join(
        character if character.isprintable() else ascii(character)[1:-1]
        for character in path
    )


@contextlib.contextmanager
def quiet_mock_logs() -> Iterator[None]:
    """Make the access line the only line per call: the mock's and the data plane's
    own lines about each call (the call, its refusal, each event delivered, a fault,
    an admin action, a seed loaded) and httpx's line per request to a transformer
    URL are silenced, their errors are not. The levels are restored on leaving."""
    levels = {name: logging.getLogger(name).level for name in QUIET_LEVELS}
    for name, level in QUIET_LEVELS.items():
        logging.getLogger(name).setLevel(level)

    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


class _ThreadServer(MTServer):
    """granian's thread-worker server, serving on a socket bound by `listen`.

    granian chooses this server on free-threaded Python only and refuses it when
    the GIL is on; here the GIL is on by design: one worker thread runs granian's
    Rust runtime, which hands each call to one of `BLOCKING_THREADS` Python threads.
    """

    def __init__(self, listener: socket.socket) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(
            "",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=1,
            blocking_threads=BLOCKING_THREADS,
            backlog=BACKLOG,
            log_level=LogLevels.error,
            log_dictconfig=GRANIAN_LOGGING,
        )
        self.listener = listener
        self._stop_deadline: threading.Timer | None = None

    def _check_gil(self) -> None:
        """Serve with the GIL on."""

    def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
        """Stop on SIGINT or SIGTERM: granian lets the calls in progress finish; if
        clients keep their connections busy past `STOP_GRACE` seconds, the process
        ends anyway. Every call answered by then is in the state (and in the state
        file, which commits each call before answering it).

        The handler runs in the main thread, which may be inside granian's wait on
        `main_loop_interrupt` holding that event's lock; setting the event from
        here could then wait for ever, so another thread sets it."""
        self.interrupt_signal = True
        if self._stop_deadline is None:
            self._stop_deadline = threading.Timer(STOP_GRACE, _stop_now)
            self._stop_deadline.daemon = True
            self._stop_deadline.start()
            threading.Thread(target=self.main_loop_interrupt.set, daemon=True).start()

    def _init_shared_socket(self) -> None:
        """Hand the bound socket to granian, which closes it when it stops."""
        self._shd = SocketHolder(self.listener.detach(), False, self.backlog)
        self._sfd = self._shd.get_fd()


def _stop_now() -> None:
    """End the process after a stop that took longer than `STOP_GRACE` seconds."""
    logger.warning("calls still open %d s after the stop signal; stopping", STOP_GRACE)
    time.sleep(0.2)
    logging.shutdown()
    os._exit(0)


def serve(
    app: Callable[..., Iterable[bytes]],
    listener: socket.socket,
    on_ready: Callable[[], None] = lambda: None,
) -> None:
    """Serve `app` on `listener` in this process until SIGINT or SIGTERM.

    `on_ready` runs once the signal handlers are set, before the first call is
    taken; calls that arrive earlier wait in the socket's backlog. Log records skip
    what the access line does not show (caller, thread and process names), as the
    logging HOWTO's Optimization section describes, and reach the root logger's
    handlers through a queue (`queued_logging`).
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    for name in list(os.environ):
        if name.startswith("HTTP_") or name in HEADER_VARIABLES:
            del os.environ[name]

    server = _ThreadServer(listener)
    server.on_startup(on_ready)
    with queued_logging():
        server.serve(target_loader=lambda: AccessLog(app), wrap_loader=False)


class RecordQueueHandler(QueueHandler):
    """Queues each record as it is: the one writer thread formats it. The standard
    handler formats and copies every record in the call's thread, which matters for
    a queue read by another process, not for one read in this process."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


@contextlib.contextmanager
def queued_logging() -> Iterator[None]:
    """Put the root logger's handlers behind a queue while serving: a call's thread
    only queues its line, and one thread writes the lines. Writing in the call's
    thread gives up the GIL for each write and costs about a quarter of the
    server's CPU time (docs/server.md). Lines still queued are written on leaving.
    """
    root = logging.getLogger()
    handlers = root.handlers[:]
    lines: SimpleQueue[logging.LogRecord] = SimpleQueue()
    writer = QueueListener(lines, *handlers, respect_handler_level=True)
    handler = RecordQueueHandler(lines)
    handler.addFilter(DroppedCallFilter())
    root.handlers[:] = [handler]
    writer.start()
    try:
        yield
    finally:
        writer.stop()
        root.handlers[:] = handlers
