"""``refiner-harness``: map events, replay scenarios, serve the mock."""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from harness import report
from harness.ingest import read_map_inputs
from harness.mapper import Mapper, MappingError, get_mapper
from harness.runner import run_scenarios
from harness.scenario import ScenarioError, find_scenarios, load_scenario
from harness.transport import TransportError, check_target
from mock_refiner.settings import PLANS
from mock_refiner.state import StateError, read_state_file

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
    map_command.add_argument("--profile", default="rudderstack", help="mapper profile")

    run_command = commands.add_parser("run", help="replay scenarios against the mock")
    run_command.add_argument(
        "paths", nargs="*", default=["scenarios"], help="scenario files or folders"
    )
    run_command.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        help="mapper profile; repeat to run several (default: rudderstack)",
    )
    run_command.add_argument("--format", choices=report.FORMATS, default="table")
    run_command.add_argument(
        "--target", help="base URL of a running mock (default: in-process)"
    )
    run_command.add_argument("--output", help="write the report to this file")
    run_command.add_argument(
        "--verbose", action="store_true", help="log every call the mock receives"
    )

    serve_command = commands.add_parser("serve", help="run the mock on a local port")
    serve_command.add_argument("--host", type=host_name, default="127.0.0.1")
    serve_command.add_argument(
        "--port", type=port_number, default=8080, help="0 picks a free port"
    )
    serve_command.add_argument(
        "--seed", help="a YAML or JSON state document to start from"
    )
    serve_command.add_argument(
        "--string-cap",
        type=int,
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
    return parser


def positive_number(text: str) -> int:
    """A whole number of 1 or more, for argparse."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not 1 or more")
    return number


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
    mapper = get_mapper(arguments.profile)
    if arguments.file:
        with Path(arguments.file).open("rb") as source:
            return map_lines(mapper, source, stdout)
    return map_lines(mapper, stdin, stdout)


def map_lines(mapper: Mapper, source: Iterable[bytes], stdout: TextIO) -> int:
    """Writes one JSON line per input line: the request, or the error."""
    for item in read_map_inputs(source):
        if item.problem is not None:
            line = {"error": {"status": 400, "message": item.problem}}
        else:
            try:
                line = {"request": mapper(item.message, item.config).to_json()}
            except MappingError as refusal:
                line = {"error": refusal.to_json()}
        stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    return EXIT_OK


def run_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    chosen = arguments.profiles or ["rudderstack"]
    for profile in chosen:
        get_mapper(profile)
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


def serve_command(arguments: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from mock_refiner import Settings, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settings = Settings(
        string_cap=arguments.string_cap,
        plan=arguments.plan,
        rate_limits=arguments.rate_limits,
    )
    app = create_app(settings)
    if arguments.seed is not None:
        document = read_state_file(arguments.seed)
        try:
            app.extensions["mock_refiner"].load(document)
        except StateError as error:
            raise StateError(f"{arguments.seed}: {error}") from None
    server = make_server(arguments.host, arguments.port, app, threaded=True)
    print(
        f"Refiner mock on http://{arguments.host}:{server.server_port} "
        f"(admin: /__mock/state, /__mock/calls); Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


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
        return serve_command(arguments)
    except KeyError as error:
        print(f"refiner-harness: {error.args[0]}", file=sys.stderr)
    except (ScenarioError, TransportError, StateError, OSError, ValueError) as error:
        print(f"refiner-harness: {error}", file=sys.stderr)
    return EXIT_USAGE
