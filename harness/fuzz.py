"""Property-based fuzzing of the full path, and the ``refiner-harness fuzz`` command.

A :class:`Property` is a plain check of one example (a config and a stream of
messages) against a :class:`harness.probe.Probe`; it calls :func:`fail` when the
example breaks it. :func:`run_property` runs one through hypothesis with a fixed seed
and no example database, counts examples and failures, and keeps the minimal example
of each distinct failure. :func:`fuzz` runs every property of ``harness.properties``
and the state machine of ``harness.refiner_model`` under one profile, shows a progress
line per property on standard error, saves each failure as a scenario file
(``harness.failure_scenarios``) and prints the examples per second of each.

Failures are told apart by their signature (for instance the refusal text): each
signature gets an exception class of its own, so hypothesis shrinks each distinct
failure separately and one run can report several.

With ``jobs`` above 1 the properties run in that many worker processes, each with its
own in-process mock; the seed fixes every property's examples, so the results do not
depend on the number of jobs.

Hypothesis stops generating soon after a failure; a property that failed runs again,
with the failures found so far counted as passing, so one frequent failure does not
hide the others (:data:`PASSES`).

Limitations: hypothesis stops shrinking after its own budget, so a saved example may
not be the smallest one; the state machine runs once, since a model that has drifted
from the mock cannot go on.
"""

from __future__ import annotations

import math
import multiprocessing
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.strategies import SearchStrategy

from harness.failure_scenarios import save_failure
from harness.mapper import get_mapper, shown_profile
from harness.probe import Probe, probing, quiet_mock

FUZZ_PHASES = (Phase.explicit, Phase.generate, Phase.shrink)
"""Hypothesis phases of a fuzz run: no database to reuse, no explanation phase."""

PASSES = 3
"""The most hypothesis runs of one property: one more after each new failure."""

EXIT_OK = 0
EXIT_FAILED = 1

Example = tuple[dict[str, Any], list[Any]]


@dataclass(frozen=True)
class Failure:
    """An example that breaks a property, and the scenario sections that show it."""

    signature: str
    message: str
    config: dict[str, Any]
    events: list[Any]
    expect: dict[str, Any]


class PropertyFailure(AssertionError):
    """Raised by a check; carries its :class:`Failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


_FAILURE_TYPES: dict[str, type[PropertyFailure]] = {}


def fail(
    signature: str,
    message: str,
    config: dict[str, Any],
    events: list[Any],
    expect: dict[str, Any],
) -> NoReturn:
    """Raises a :class:`PropertyFailure` of a class of its own for ``signature``."""
    failure_type = _FAILURE_TYPES.get(signature)
    if failure_type is None:
        name = f"PropertyFailure{len(_FAILURE_TYPES) + 1}"
        failure_type = type(name, (PropertyFailure,), {})
        _FAILURE_TYPES[signature] = failure_type
    raise failure_type(Failure(signature, message, config, events, expect))


@dataclass(frozen=True)
class Property:
    """A named check and the strategy of its examples under a profile."""

    name: str
    summary: str
    examples: Callable[[str], SearchStrategy[Example]]
    check: Callable[[Probe, str, Example], None]


@dataclass
class PropertyRun:
    """The outcome of one property under one profile."""

    name: str
    profile: str
    examples: int = 0
    seconds: float = 0.0
    failures: dict[str, Failure] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    saved: list[tuple[Path, bool]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else math.inf

    def record(self, failure: Failure) -> None:
        """Keeps the latest example of each failure; hypothesis runs the minimal one
        last."""
        self.failures[failure.signature] = failure


Progress = Callable[[PropertyRun], None]


def fuzz_settings(examples: int, **overrides: Any) -> settings:
    """Hypothesis settings for a fuzz run: no database, no deadline, quiet."""
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        report_multiple_bugs=True,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=FUZZ_PHASES,
        **overrides,
    )


def run_property(
    prop: Property,
    profile: str,
    examples: int,
    seed_value: int = 0,
    probe: Probe | None = None,
    progress: Progress | None = None,
) -> PropertyRun:
    """Runs one property for up to ``examples`` examples (shrinking comes on top);
    never raises for a failing example.

    Hypothesis stops generating soon after a failure, so when one is found the
    property runs again, up to :data:`PASSES` times in all, with the failures found
    so far counted as passing: a frequent failure cannot hide a rarer one.
    """
    run = PropertyRun(prop.name, profile)
    known: set[str] = set()
    with _probe_for(probe) as active:
        kinds_before = Counter(active.kinds)

        def test(example: Example) -> None:
            run.examples += 1
            try:
                prop.check(active, profile, example)
            except PropertyFailure as failure:
                if failure.failure.signature in known:
                    return
                run.record(failure.failure)
                raise
            except Exception as error:
                config, events = example
                text = f"the check raised {type(error).__name__}: {error}"
                run.record(Failure(type(error).__name__, text, config, events, {}))
                raise
            finally:
                if progress is not None:
                    progress(run)

        started = time.perf_counter()
        strategy = prop.examples(profile)
        for _ in range(PASSES):
            wrapped = seed(seed_value)(fuzz_settings(examples)(given(strategy)(test)))
            with suppress(Exception):  # recorded in the run; hypothesis re-raises
                wrapped()
            if set(run.failures) <= known:
                break
            known |= set(run.failures)
        run.seconds = time.perf_counter() - started
        run.kinds = active.kinds - kinds_before
    return run


@contextmanager
def _probe_for(probe: Probe | None) -> Iterator[Probe]:
    if probe is not None:
        yield probe
        return
    with probing() as fresh:
        yield fresh


# The command -------------------------------------------------------------------


def property_names() -> list[str]:
    """Every property the command runs, the state machine last."""
    from harness.properties import PROPERTIES
    from harness.refiner_model import MACHINE_NAME

    return [prop.name for prop in PROPERTIES] + [MACHINE_NAME]


def run_named(
    name: str,
    profile: str,
    examples: int,
    seed_value: int,
    probe: Probe | None = None,
    progress: Progress | None = None,
) -> PropertyRun:
    """Runs the property (or the state machine) called ``name``."""
    from harness.properties import PROPERTIES
    from harness.refiner_model import MACHINE_NAME, run_machine

    with _probe_for(probe) as active:
        if name == MACHINE_NAME:
            return run_machine(profile, examples, seed_value, active, progress)
        prop = next(prop for prop in PROPERTIES if prop.name == name)
        return run_property(prop, profile, examples, seed_value, active, progress)


class ProgressLines:
    """One line per property on a stream; on a terminal, the running ones are shown
    on a status line rewritten in place."""

    def __init__(self, stream: TextIO, interval: float = 0.2) -> None:
        self.stream = stream
        self.interval = interval
        self.live = stream.isatty()
        self.running: dict[str, tuple[int, int]] = {}
        self.shown = 0.0

    @staticmethod
    def text(name: str, profile: str, examples: int, failures: int) -> str:
        plural = "" if failures == 1 else "s"
        return (
            f"{name:<22} {shown_profile(profile):<12} {examples:>6} examples  "
            f"{failures} failure{plural}"
        )

    def update(self, name: str, examples: int, failures: int) -> None:
        self.running[name] = (examples, failures)
        now = time.perf_counter()
        if self.live and now - self.shown >= self.interval:
            self.shown = now
            status = "  ".join(
                f"{running}: {done} ({failed} failing)"
                for running, (done, failed) in self.running.items()
            )
            self.stream.write("\r\033[K" + status)
            self.stream.flush()

    def finish(self, run: PropertyRun) -> None:
        self.running.pop(run.name, None)
        prefix = "\r\033[K" if self.live else ""
        line = self.text(run.name, run.profile, run.examples, len(run.failures))
        self.stream.write(prefix + line + "\n")
        self.stream.flush()


def fuzz(
    profile: str,
    examples: int,
    seed_value: int = 0,
    save_failures: Path | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    jobs: int = 1,
    names: list[str] | None = None,
) -> int:
    """Runs the properties under ``profile``; the exit status is 1 when any failed."""
    get_mapper(profile)
    chosen = property_names() if names is None else names
    lines = ProgressLines(stderr or sys.stderr)
    if jobs > 1:
        runs = _run_in_workers(chosen, profile, examples, seed_value, jobs, lines)
    else:
        runs = []
        with probing() as probe:
            for name in chosen:

                def progress(run: PropertyRun) -> None:
                    lines.update(run.name, run.examples, len(run.failures))

                run = run_named(name, profile, examples, seed_value, probe, progress)
                lines.finish(run)
                runs.append(run)

    if save_failures is not None:
        with quiet_mock():
            _save_all(runs, profile, save_failures)

    (stdout or sys.stdout).write(report(runs, seed_value) + "\n")
    return EXIT_OK if all(run.passed for run in runs) else EXIT_FAILED


def _save_all(runs: list[PropertyRun], profile: str, directory: Path) -> None:
    for run in runs:
        for number, failure in enumerate(run.failures.values(), start=1):
            saved = save_failure(run.name, profile, failure, directory, number)
            run.saved.append(saved)


_PROGRESS: Any = None


def _start_worker(progress_queue: Any) -> None:
    global _PROGRESS
    _PROGRESS = progress_queue


def _worker_run(name: str, profile: str, examples: int, seed_value: int) -> PropertyRun:
    shown = [0.0]

    def progress(run: PropertyRun) -> None:
        now = time.perf_counter()
        if now - shown[0] >= 0.2:
            shown[0] = now
            _PROGRESS.put((run.name, run.examples, len(run.failures)))

    return run_named(name, profile, examples, seed_value, progress=progress)


def _run_in_workers(
    names: list[str],
    profile: str,
    examples: int,
    seed_value: int,
    jobs: int,
    lines: ProgressLines,
) -> list[PropertyRun]:
    context = multiprocessing.get_context(_start_method())
    progress_queue = context.Queue()
    with ProcessPoolExecutor(
        jobs, context, initializer=_start_worker, initargs=(progress_queue,)
    ) as pool:
        futures: dict[str, Future[PropertyRun]] = {
            name: pool.submit(_worker_run, name, profile, examples, seed_value)
            for name in names
        }
        pending = set(futures.values())
        while pending:
            with suppress(queue.Empty):
                lines.update(*progress_queue.get(timeout=0.1))
            for future in [future for future in pending if future.done()]:
                pending.discard(future)
                lines.finish(future.result())
        return [future.result() for future in futures.values()]


def _start_method() -> str:
    """``fork`` where it is safe (a single thread, as in the command): fast, and
    blind to how the program was started; ``spawn`` otherwise."""
    single = threading.active_count() == 1
    return (
        "fork"
        if single and "fork" in multiprocessing.get_all_start_methods()
        else "spawn"
    )


def report(runs: list[PropertyRun], seed_value: int) -> str:
    """The figures, kinds of change and failures of a fuzz run, as text."""
    lines = [
        f"seed {seed_value}",
        f"{'property':<22} {'profile':<12} {'examples':>8} {'seconds':>8} "
        f"{'examples/s':>10}  result",
    ]
    for run in runs:
        result = "ok" if run.passed else f"FAIL ({len(run.failures)})"
        lines.append(
            f"{run.name:<22} {shown_profile(run.profile):<12} {run.examples:>8} "
            f"{run.seconds:>8.2f} {run.examples_per_second:>10.1f}  {result}"
        )
    for run in runs:
        if run.kinds:
            seen = ", ".join(f"{kind} {n}" for kind, n in sorted(run.kinds.items()))
            lines.append(f"kinds of change seen by {run.name}: {seen}")
    for run in runs:
        for index, failure in enumerate(run.failures.values()):
            profile = shown_profile(run.profile)
            lines.append(f"FAIL {run.name} under {profile}: {failure.message}")
            if index < len(run.saved):
                path, replay_fails = run.saved[index]
                replays = "fails" if replay_fails else "PASSES: not reproduced"
                lines.append(f"  saved {path} (its replay {replays})")
    return "\n".join(lines)
