"""Throughput, latency and memory of the demo server process.

Starts `refiner-harness serve` on 127.0.0.1, in memory and (when `serve` has the flag)
with `--state` in a temporary folder, and drives it on loopback with concurrent
clients: wrk with a Lua script when /usr/bin/wrk exists, else Python client
processes. Each workload sends calls with distinct users: `GET /v1/`,
`POST /v1/identify-user`, `POST /v1/track-event`, and a mix of the three (1 : 2 : 2).
For each it prints requests/s, p50 and p99 latency and the server's CPU time per
call; then the memory the journal takes per call (in-process, with tracemalloc) and
the server's RSS before and after the load.

    python benchmarks/server.py [--duration 4] [--connections 16] [--py-spy FILE]

`--py-spy FILE` records the server with py-spy during the in-memory mix (py-spy must
be installed: `.venv/bin/pip install py-spy`), writes the collapsed stacks to FILE
and prints where the Python time goes. The default run takes about a minute on two
cores. The clients share the machine's cores with the server, so the figures are
what one machine serving itself gets. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
WRK = Path("/usr/bin/wrk")
KEY = "rf-bench-key"
BANNER = re.compile(r"Refiner mock on (http://\S+) ")
WORKLOADS = ("GET /v1/", "identify-user", "track-event", "mix")
MIX = ("GET /v1/", "identify-user", "identify-user", "track-event", "track-event")
WRK_THREADS = 2
STARTUP_SECONDS = 30
TRACED_CALLS = 5_000

WRK_SCRIPT = """
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

local counter = 0
local form = {
  ["Authorization"] = "Bearer %(key)s",
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local bearer = {["Authorization"] = "Bearer %(key)s"}
local kinds = {%(kinds)s}

function request()
  counter = counter + 1
  local user = "%(prefix)s-" .. index .. "-" .. counter
  local kind = kinds[counter %% #kinds + 1]
  if kind == "GET /v1/" then
    return wrk.format("GET", "/v1/", bearer)
  elseif kind == "identify-user" then
    return wrk.format("POST", "/v1/identify-user", form,
      "id=" .. user .. "&plan=pro&seats=" .. counter)
  end
  return wrk.format("POST", "/v1/track-event", form,
    "id=" .. user .. "&event=Report+Exported")
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass
class Load:
    """What one workload got: calls, seconds, latencies (ms) and failures."""

    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    refused: int
    failed: int


def whole_number(text: str) -> int:
    """A whole number of 1 or more, for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


@contextlib.contextmanager
def served(arguments: list[str], log: Path) -> Iterator[tuple[str, int]]:
    """A `refiner-harness serve --port 0` process; its URL and process id."""
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", "serve", "--port", "0", *arguments],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=ROOT,
        )

    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (match := BANNER.match(log.read_text(encoding="utf-8"))):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start: {log.read_text()!r}")
            time.sleep(0.05)
        yield match.group(1), process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive_with_wrk(
    url: str, workload: str, prefix: str, seconds: int, connections: int
) -> Load:
    """Runs wrk with a Lua script for `workload`."""
    kinds = MIX if workload == "mix" else (workload,)
    script = WRK_SCRIPT % {
        "key": KEY,
        "prefix": prefix,
        "kinds": ", ".join(f'"{kind}"' for kind in kinds),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)

    try:
        finished = subprocess.run(
            [
                str(WRK),
                f"-t{min(WRK_THREADS, connections)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                file.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(file.name)

    found = re.search(r"^RESULT (.+)$", finished.stdout, re.M)
    if not found:
        raise SystemExit(f"wrk failed: {finished.stdout}{finished.stderr}")
    calls, micros, p50, p99, refused, failed = map(int, found.group(1).split())
    return Load(calls, micros / 1e6, p50 / 1000, p99 / 1000, refused, failed)


def python_client(
    url: str, kinds: tuple[str, ...], user_prefix: str, seconds: float
) -> tuple[list[float], int, int]:
    """One keep-alive connection sending calls until `seconds` pass; latencies (ms),
    refused and failed counts."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    bearer = {"Authorization": f"Bearer {KEY}"}
    form = {**bearer, "Content-Type": "application/x-www-form-urlencoded"}
    latencies: list[float] = []
    refused = failed = 0
    deadline = time.perf_counter() + seconds

    counter = 0
    while time.perf_counter() < deadline:
        counter += 1
        kind = kinds[counter % len(kinds)]
        user = f"{user_prefix}-{counter}"
        started = time.perf_counter()
        try:
            if kind == "GET /v1/":
                connection.request("GET", "/v1/", headers=bearer)
            elif kind == "identify-user":
                body = f"id={user}&plan=pro&seats={counter}"
                connection.request("POST", "/v1/identify-user", body, form)
            else:
                body = f"id={user}&event=Report+Exported"
                connection.request("POST", "/v1/track-event", body, form)
            reply = connection.getresponse()
            reply.read()
        except (OSError, http.client.HTTPException):
            failed += 1
            connection.close()
            continue

        latencies.append((time.perf_counter() - started) * 1000)
        refused += reply.status > 399
    connection.close()
    return latencies, refused, failed


def drive_with_python(
    url: str, workload: str, prefix: str, seconds: int, connections: int
) -> Load:
    """Python client processes, one connection each."""
    kinds = MIX if workload == "mix" else (workload,)
    with ProcessPoolExecutor(max_workers=connections) as pool:
        results = list(
            pool.map(
                python_client,
                [url] * connections,
                [kinds] * connections,
                [f"{prefix}-{index}" for index in range(connections)],
                [seconds] * connections,
            )
        )

    latencies = sorted(value for result in results for value in result[0])
    if not latencies:
        raise SystemExit("no call was answered")
    cuts = statistics.quantiles(latencies, n=100)
    return Load(
        len(latencies),
        float(seconds),
        cuts[49],
        cuts[98],
        sum(result[1] for result in results),
        sum(result[2] for result in results),
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_mode(
    name: str, arguments: list[str], options: argparse.Namespace, folder: Path
) -> None:
    """All workloads against one server; prints a table row per workload."""
    drive = drive_with_wrk if WRK.exists() else drive_with_python
    py_spy = None
    with served(arguments, folder / f"{name}.log") as (url, pid):
        time.sleep(0.5)
        rss_before = rss_mib(pid)
        total = 0
        print(
            f"\n{name} ({'wrk' if WRK.exists() else 'Python clients'}, "
            f"{options.connections} connections, {options.duration} s each)"
        )
        print(
            f"{'workload':<15} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'CPU us/call':>12} {'non-2xx':>8} {'failed':>7}"
        )
        for workload in WORKLOADS:
            if workload == "mix" and options.py_spy and name == "memory":
                py_spy = record_py_spy(pid, options.duration, options.py_spy)

            cpu_before = cpu_seconds(pid)
            load = drive(
                url,
                workload,
                f"{name}-{workload[:5]}",
                options.duration,
                options.connections,
            )
            cpu = cpu_seconds(pid) - cpu_before
            total += load.calls
            print(
                f"{workload:<15} {load.calls / load.seconds:>9,.0f} "
                f"{load.p50_ms:>8.2f} {load.p99_ms:>8.2f} "
                f"{cpu / max(load.calls, 1) * 1e6:>12,.0f} {load.refused:>8} "
                f"{load.failed:>7}"
            )
        rss_after = rss_mib(pid)

    print(
        f"server RSS {rss_before:.1f} MiB before, {rss_after:.1f} MiB after "
        f"{total:,} calls ({(rss_after - rss_before) * 1024 * 1024 / total:,.0f} "
        "bytes a call)"
    )
    if py_spy is not None:
        py_spy.wait(timeout=options.duration + 60)
        print_profile(Path(options.py_spy))


def record_py_spy(pid: int, seconds: int, output: str) -> subprocess.Popen:
    """Starts py-spy on the server for `seconds`, sampling the GIL holder only."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--gil",
            "--format",
            "raw",
            "--output",
            output,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


PROFILE_PARTS = (
    ("logging", ("(logging/",)),
    ("journal", ("(mock_refiner/journal.py",)),
    ("params parsing", ("(mock_refiner/params.py", "(urllib/parse.py")),
    ("fault injection", ("(mock_refiner/faults.py",)),
    (
        "store and operations",
        tuple(
            f"(mock_refiner/{name}.py"
            for name in (
                "store",
                "contacts",
                "traits",
                "models",
                "render",
                "account",
                "limits",
                "segments",
                "forms",
                "responses",
                "auth",
            )
        ),
    ),
    ("mock, other", ("(mock_refiner/",)),
    ("JSON", ("(json/",)),
    ("Flask and werkzeug", ("(flask/", "(werkzeug/")),
    ("server: granian, access log", ("(granian/", "(harness/server.py")),
)


def print_profile(path: Path) -> None:
    """Self time per part: each sample goes to the innermost frame of a known part."""
    parts: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        part = "other"
        for frame in reversed(stack.split(";")):
            part = (
                next(
                    (
                        name
                        for name, marks in PROFILE_PARTS
                        if any(m in frame for m in marks)
                    ),
                    None,
                )
                or part
            )
            if part != "other":
                break
        parts[part] += int(count)

    total = sum(parts.values()) or 1
    print(f"\nwhere the Python time goes (py-spy --gil, {total} samples, {path}):")
    for part, count in parts.most_common():
        print(f"  {part:<30} {count / total:6.1%}")


def journal_memory(calls: int) -> None:
    """Bytes the journal takes per call, and the store's, measured with tracemalloc."""
    sys.path.insert(0, str(ROOT))
    from mock_refiner import MockRefiner

    for operation, body in (
        ("identify-user", "id=user-{n}&plan=pro&seats={n}&email=u{n}%40example.com"),
        ("track-event", "id=user-{n}&event=Report+Exported"),
    ):
        mock = MockRefiner()
        headers = {
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for number in range(calls):
            mock.handle(
                "POST",
                f"/v1/{operation}",
                b"",
                headers,
                body.format(n=number).encode(),
            )
        after_calls = tracemalloc.get_traced_memory()[0]
        kept = len(mock.journal.calls())
        mock.journal.clear()
        after_clear = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()

        journal = after_calls - after_clear
        store = after_clear - before
        print(
            f"{operation:<15} journal {journal / calls:>7,.0f} bytes a call "
            f"({kept:,} of {calls:,} calls kept), state {store / calls:>7,.0f} "
            "bytes a call"
        )


def serve_has_state_flag() -> bool:
    """Whether `refiner-harness serve` takes `--state`."""
    shown = subprocess.run(
        [sys.executable, "-m", "harness", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    return "--state" in shown.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=whole_number, default=4, help="seconds per workload"
    )
    parser.add_argument(
        "--connections", type=whole_number, default=16, help="concurrent connections"
    )
    parser.add_argument("--py-spy", help="record the server with py-spy into FILE")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        run_mode("memory", [], options, Path(folder))
        if serve_has_state_flag():
            state = str(Path(folder) / "state.sqlite")
            run_mode("state file", ["--state", state], options, Path(folder))
        else:
            print("\nstate file: skipped, `serve` has no --state flag")

    print(f"\nin-process memory ({TRACED_CALLS:,} calls, tracemalloc)")
    journal_memory(TRACED_CALLS)


if __name__ == "__main__":
    main()
