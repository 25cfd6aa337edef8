"""Reports of a run: a terminal table, JSON, or JUnit XML for CI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.etree import ElementTree

from harness.expectations import Mismatch, show
from harness.runner import ScenarioResult

FORMATS = ("table", "json", "junit")


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


def table(results: Sequence[ScenarioResult]) -> str:
    """One line per scenario and profile, then the details of each failure."""
    name_width = max((len(result.scenario.name) for result in results), default=10)
    profile_width = max((len(result.profile) for result in results), default=10)
    lines = []

    for result in results:
        status = "PASS" if result.passed else "FAIL"
        lines.append(
            f"{status}  {result.scenario.name:<{name_width}}  "
            f"{result.profile:<{profile_width}}  "
            f"{len(result.scenario.events):>3} events  "
            f"{len(result.replay.rejected):>2} rejected  "
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
            classname=f"scenarios.{result.profile}",
            name=result.scenario.name,
            file=str(result.scenario.path),
            time=f"{result.seconds:.4f}",
        )
        if not result.passed:
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=result.error or result.mismatches[0].problem,
            )
            failure.text = failure_text(result)
    ElementTree.indent(suite)
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def render(results: Sequence[ScenarioResult], report_format: str) -> str:
    if report_format == "json":
        return as_json(results)
    if report_format == "junit":
        return junit(results)
    return table(results)
