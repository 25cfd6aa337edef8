"""Reports of a run: a terminal table, JSON, or JUnit XML for CI."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from xml.etree import ElementTree

from harness.expectations import Mismatch, show
from harness.runner import ScenarioResult

FORMATS = ("table", "json", "junit")

_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def summary_line(results: Sequence[ScenarioResult]) -> str:
    passed = sum(result.passed for result in results)
    return f"{passed} passed, {len(results) - passed} failed"


def describe(mismatch: Mismatch) -> list[str]:
    """The lines that explain one mismatch: expected, then the nearest found."""
    lines = [mismatch.problem]
    if mismatch.expected is not None and not mismatch.problem.startswith("counts."):
        lines.append(f"  expected: {show(mismatch.expected)}")
    if not mismatch.nearest:
        lines.append(f"  found:    no {mismatch.section} at all")
    label = "found:" if mismatch.problem.startswith("counts.") else "nearest:"
    for near in mismatch.nearest:
        lines.append(f"  {label:<9} {show(near.item)}")
        lines.extend(f"    differs at {difference}" for difference in near.differences)
    return lines


def failure_text(result: ScenarioResult) -> str:
    if result.error:
        return result.error
    return "\n".join(
        line for mismatch in result.mismatches for line in describe(mismatch)
    )


def count(number: int, noun: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def table(results: Sequence[ScenarioResult]) -> str:
    """A header, one line per scenario and profile, then each failure's details."""
    name_width = max([len("scenario"), *(len(r.scenario.name) for r in results)])
    profile_width = max([len("profile"), *(len(r.profile) for r in results)])
    lines = [
        f"{'result':<6}  {'scenario':<{name_width}}  {'profile':<{profile_width}}  "
        f"{'events':<11}  {'rejected':<12}  {'time':>9}"
    ]

    for result in results:
        status = "PASS" if result.passed else "FAIL"
        events = count(len(result.scenario.events), "event")
        rejected = f"{len(result.replay.rejected)} rejected"
        lines.append(
            f"{status:<6}  {result.scenario.name:<{name_width}}  "
            f"{result.profile:<{profile_width}}  {events:<11}  {rejected:<12}  "
            f"{result.seconds * 1000:>6.1f} ms"
        )
        if not result.passed:
            lines.append(f"      {result.scenario.path}")
            lines.extend(f"      {line}" for line in failure_text(result).splitlines())

    lines.append(summary_line(results))
    return "\n".join(lines)


def as_json(results: Sequence[ScenarioResult]) -> str:
    passed = sum(result.passed for result in results)
    document = {
        "passed": passed,
        "failed": len(results) - passed,
        "results": [result.to_json() for result in results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (controls, surrogates)."""
    return _NOT_XML.sub("", text)


def junit(results: Sequence[ScenarioResult]) -> str:
    """JUnit XML: one test case per scenario and profile."""
    failures = sum(not result.passed for result in results)
    suite = ElementTree.Element(
        "testsuite",
        name="refiner-harness",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{sum(result.seconds for result in results):.4f}",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=xml_text(f"scenarios.{result.profile}"),
            name=xml_text(result.scenario.name),
            file=xml_text(str(result.scenario.path)),
            time=f"{result.seconds:.4f}",
        )
        if not result.passed:
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=xml_text(result.error or result.mismatches[0].problem),
            )
            failure.text = xml_text(failure_text(result))
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def render(results: Sequence[ScenarioResult], report_format: str) -> str:
    if report_format == "json":
        return as_json(results)
    if report_format == "junit":
        return junit(results)
    return table(results)
