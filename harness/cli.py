"""``refiner-harness``: map events, replay scenarios, serve the mock."""

from __future__ import annotations

import argparse
import io
import json
import logging
import signal
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness import report
from harness.ingest import read_map_inputs
from harness.mapper import (
    Mapper,
    MappingError,
    get_mapper,
    is_transformer_url,
    map_many,
)
from harness.runner import run_scenarios
from harness.scenario import ScenarioError, find_scenarios, load_scenario
from harness.transformer import BATCH_SIZE, TIMEOUT, TransformerError, configure
from harness.transport import TransportError, check_target
from mock_refiner.settings import PLANS
from mock_refiner.state import StateError, read_state_file

if TYPE_CHECKING:
    from flask import Flask

    from mock_refiner import Settings
    from mock_refiner.faults import FaultRule

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PORT_RANGE = range(0, 65536)


def port_number(text: str) -> int:
    """A TCP port, 0 (any free port) to 65535, for argparse."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if port not in PORT_RANGE:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def host_name(text: str) -> str:
    """A host name or address to listen on, for argparse."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the host must not be empty")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refiner-harness",
        description="A local Refiner API and a harness for RudderStack -> Refiner.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    map_command = commands.add_parser(
        "map", help="map JSON Lines of {config, message} to Refiner requests"
    )
    map_command.add_argument("file", nargs="?", help="input file (default: stdin)")
    map_command.add_argument(
        "--profile",
        default="rudderstack",
        help="mapper profile, or the URL of a running transformer",
    )
    add_transformer_options(map_command)

    run_command = commands.add_parser("run", help="replay scenarios against the mock")
    run_command.add_argument(
        "paths", nargs="*", default=["scenarios"], help="scenario files or folders"
    )
    run_command.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        help="mapper profile or transformer URL; repeat to run several "
        "(default: rudderstack)",
    )
    add_transformer_options(run_command)
    run_command.add_argument("--format", choices=report.FORMATS, default="table")
    run_command.add_argument(
        "--target", help="base URL of a running mock (default: in-process)"
    )
    run_command.add_argument("--output", help="write the report to this file")
    run_command.add_argument(
        "--verbose", action="store_true", help="log every call the mock receives"
    )

    serve_command = commands.add_parser(
        "serve", help="run the demo server: mock, admin API, data plane, dashboard"
    )
    serve_command.add_argument("--host", type=host_name, default="127.0.0.1")
    serve_command.add_argument(
        "--port", type=port_number, default=8080, help="0 picks a free port"
    )
    serve_command.add_argument(
        "--profile",
        default="rudderstack",
        help="mapper profile or transformer URL of the ingest API "
        "(default: rudderstack)",
    )
    add_transformer_options(serve_command)
    serve_command.add_argument(
        "--state",
        metavar="FILE",
        help="keep the state and the journal in this SQLite file, across restarts",
    )
    serve_command.add_argument(
        "--seed",
        metavar="FILE",
        help="a YAML or JSON state document to start from (not loaded when the "
        "--state file already holds environments)",
    )
    serve_command.add_argument(
        "--journal-limit",
        type=count_number,
        default=10_000,
        metavar="N",
        help="calls the journal keeps, the newest (default: 10000; 0 keeps none)",
    )
    serve_command.add_argument(
        "--string-cap",
        type=positive_number,
        default=10_000,
        help="longest trait text kept (Refiner documents 10000 and 255)",
    )
    serve_command.add_argument(
        "--plan",
        choices=sorted(PLANS),
        default="growth",
        help="Refiner plan; essentials refuses track-event",
    )
    serve_command.add_argument(
        "--rate-limits",
        action="store_true",
        help="answer 429 past 4000 calls a minute per key or 100 per user",
    )
    serve_command.add_argument(
        "--fault",
        action="append",
        type=fault_rule,
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. status=503,path=/v1/identify-user,times=2 "
        "(docs/faults.md); repeat for several",
    )
    serve_command.add_argument(
        "--verbose",
        action="store_true",
        help="also log reads of the dashboard and the admin API",
    )
    fuzz_command = commands.add_parser(
        "fuzz", help="run the property-based fuzzer through the full path"
    )
    fuzz_command.add_argument("--profile", default="rudderstack", help="mapper profile")
    fuzz_command.add_argument(
        "--examples",
        type=positive_number,
        default=200,
        help="examples per property (default: 200)",
    )
    fuzz_command.add_argument(
        "--seed", type=int, default=0, help="hypothesis seed (default: 0)"
    )
    fuzz_command.add_argument(
        "--save-failures", help="write each minimal failure as a scenario file here"
    )
    fuzz_command.add_argument(
        "--jobs",
        type=positive_number,
        default=2,
        help="worker processes (default: 2)",
    )

    diff_command = commands.add_parser(
        "diff",
        help="compare two mappers' requests and Refiner state on the same events",
    )
    diff_command.add_argument(
        "paths",
        nargs="*",
        help="scenario files or folders, or JSON Lines of {config, message} "
        "(default: scenarios)",
    )
    diff_command.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        required=True,
        help="mapper profile or transformer URL; give two, A then B",
    )
    diff_command.add_argument(
        "--fuzz",
        type=positive_number,
        metavar="N",
        help="compare N events drawn by the fuzzer's strategies instead of files",
    )
    diff_command.add_argument(
        "--seed", type=int, help="hypothesis seed of --fuzz (default: 0)"
    )
    diff_command.add_argument("--format", choices=("text", "json"), default="text")
    add_transformer_options(diff_command)
    return parser


def add_transformer_options(command: argparse.ArgumentParser) -> None:
    """The settings of a profile given as a transformer URL."""
    command.add_argument(
        "--transformer-batch",
        type=positive_number,
        default=BATCH_SIZE,
        metavar="N",
        help=f"events per request to a transformer URL (default: {BATCH_SIZE})",
    )
    command.add_argument(
        "--transformer-timeout",
        type=positive_seconds,
        default=TIMEOUT,
        metavar="SECONDS",
        help=f"seconds to wait for a transformer's reply (default: {TIMEOUT:g})",
    )


def positive_seconds(text: str) -> float:
    """A number of seconds above 0, for argparse."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return seconds


def configure_profiles(profiles: Iterable[str], arguments: argparse.Namespace) -> None:
    """Sets the batch size and timeout of every profile given as a transformer URL,
    and checks every profile exists."""
    for profile in profiles:
        if is_transformer_url(profile):
            configure(
                profile,
                batch_size=arguments.transformer_batch,
                timeout=arguments.transformer_timeout,
            )
        get_mapper(profile)


def whole_number(text: str, low: int) -> int:
    """A whole number of `low` or more, for argparse."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < low:
        raise argparse.ArgumentTypeError(f"{number} is not {low} or more")
    return number


def count_number(text: str) -> int:
    """A whole number of 0 or more, for argparse."""
    return whole_number(text, 0)


def positive_number(text: str) -> int:
    """A whole number of 1 or more, for argparse."""
    return whole_number(text, 1)


def fuzz_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from harness.fuzz import fuzz

    save = Path(arguments.save_failures) if arguments.save_failures else None
    return fuzz(
        arguments.profile,
        arguments.examples,
        arguments.seed,
        save,
        stdout=stdout,
        jobs=arguments.jobs,
    )


def map_command(
    arguments: argparse.Namespace, stdin: Iterable[bytes], stdout: TextIO
) -> int:
    configure_profiles([arguments.profile], arguments)
    mapper = get_mapper(arguments.profile)
    if arguments.file:
        with Path(arguments.file).open("rb") as source:
            return map_lines(mapper, source, stdout)
    return map_lines(mapper, stdin, stdout)


def map_lines(mapper: Mapper, source: Iterable[bytes], stdout: TextIO) -> int:
    """Writes one JSON line per input line: the request, or the error. A mapper
    that maps in batches (a transformer URL) is given a batch of lines at a time."""
    size = getattr(mapper, "batch_size", 1)
    for chunk in _chunks(read_map_inputs(source), size):
        readable = [item for item in chunk if item.problem is None]
        outcomes = iter(
            map_many(mapper, [(item.message, item.config) for item in readable])
        )
        for item in chunk:
            if item.problem is not None:
                line = {"error": {"status": 400, "message": item.problem}}
            else:
                outcome = next(outcomes)
                kind = "error" if isinstance(outcome, MappingError) else "request"
                line = {kind: outcome.to_json()}
            stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    return EXIT_OK


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def run_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    chosen = arguments.profiles or ["rudderstack"]
    configure_profiles(chosen, arguments)
    if arguments.target:
        check_target(arguments.target)

    paths = find_scenarios(Path(path) for path in arguments.paths)
    if not paths:
        raise ScenarioError(f"no scenario files in {' '.join(arguments.paths)}")
    scenarios = [load_scenario(path) for path in paths]

    results = run_scenarios(scenarios, chosen, target=arguments.target)
    text = report.render(results, arguments.format)
    if arguments.output:
        Path(arguments.output).write_text(
            text + "\n", encoding="utf-8", errors="backslashreplace"
        )
        stdout.write(report.table(results) + "\n")
    else:
        stdout.write(text + "\n")
    return EXIT_OK if all(result.passed for result in results) else EXIT_FAILED


def diff_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from harness.diff import diff, fuzz_sources, read_sources, render

    profiles = arguments.profiles
    if len(profiles) != 2:
        raise ValueError(
            f"diff compares two mappers: give --profile twice, not {len(profiles)} "
            f"time{'s' if len(profiles) > 1 else ''}"
        )
    if arguments.fuzz is not None and arguments.paths:
        raise ValueError("diff takes scenario paths or --fuzz N, not both")
    if arguments.seed is not None and arguments.fuzz is None:
        raise ValueError("--seed goes with --fuzz N")
    configure_profiles(profiles, arguments)

    if arguments.fuzz is not None:
        sources = fuzz_sources(arguments.fuzz, arguments.seed or 0)
    else:
        paths = arguments.paths or ["scenarios"]
        sources = read_sources(Path(path) for path in paths)
        if not sources:
            raise ScenarioError(f"no scenario files in {' '.join(paths)}")

    compared = diff(sources, profiles[0], profiles[1])
    stdout.write(render(compared, arguments.format) + "\n")
    return EXIT_FAILED if compared.differs else EXIT_OK


def serve_command(arguments: argparse.Namespace) -> int:
    """Run the demo server until Ctrl-C or SIGTERM; exit 0 then."""
    from harness.server import (
        hold_state_file,
        listen,
        quiet_mock_logs,
        serve,
        url_of,
    )
    from mock_refiner import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if arguments.verbose:
        logging.getLogger("harness.server").setLevel(logging.DEBUG)
    settings = Settings(
        string_cap=arguments.string_cap,
        plan=arguments.plan,
        rate_limits=arguments.rate_limits,
        journal_limit=arguments.journal_limit,
    )
    configure_profiles([arguments.profile], arguments)

    on_terminate = signal.signal(signal.SIGTERM, stop_serving)
    try:
        with quiet_mock_logs():
            app = build_server_app(arguments, settings)
            try:
                with (
                    hold_state_file(arguments.state),
                    listen(arguments.host, arguments.port) as listener,
                ):
                    url = url_of(listener)
                    serve(app, listener, on_ready=lambda: announce(url))
            finally:
                app.extensions["mock_refiner"].close()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, on_terminate)
    return EXIT_OK


def fault_rule(text: str) -> FaultRule:
    """A `--fault` spec, for argparse; the error names the bad part."""
    from mock_refiner.faults import parse_fault

    try:
        return parse_fault(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_server_app(arguments: argparse.Namespace, settings: Settings) -> Flask:
    """The demo server's app from the `serve` flags; seed errors name the file."""
    from harness.server import create_server_app

    for flag, path in (("--state", arguments.state), ("--seed", arguments.seed)):
        if path == "":
            raise ValueError(f"{flag} must name a file")

    document = read_state_file(arguments.seed) if arguments.seed is not None else None
    app = create_server_app(settings, arguments.profile, state_file=arguments.state)
    mock = app.extensions["mock_refiner"]
    try:
        if arguments.seed is not None:
            try:
                mock.seed(document)
            except StateError as error:
                raise StateError(f"{arguments.seed}: {error}") from None

        for rule in arguments.fault:
            mock.faults.add(rule)
    except BaseException:
        mock.close()
        raise
    return app


def announce(url: str) -> None:
    """The one startup line, on stderr, in one write: log lines from other threads
    cannot land inside it."""
    sys.stderr.write(
        f"Refiner mock on {url} (dashboard: /, admin: /__mock/state, /__mock/calls);"
        " Ctrl-C stops it\n"
    )
    sys.stderr.flush()


def stop_serving(signum: int, frame: object) -> None:
    """SIGTERM before the server takes over the signals: stop as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command == "map":
            return map_command(arguments, sys.stdin.buffer, sys.stdout)
        if arguments.command == "run":
            return run_command(arguments, sys.stdout)
        if arguments.command == "fuzz":
            return fuzz_command(arguments, sys.stdout)
        if arguments.command == "diff":
            return diff_command(arguments, sys.stdout)
        return serve_command(arguments)
    except KeyError as error:
        print(f"refiner-harness: {error.args[0]}", file=sys.stderr)
    except (
        ScenarioError,
        TransportError,
        TransformerError,
        StateError,
        OSError,
        ValueError,
    ) as error:
        print(f"refiner-harness: {error}", file=sys.stderr)
    return EXIT_USAGE
