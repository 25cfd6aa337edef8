"""The pytest plugin, run on small test suites written by pytester."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_BLOCK = re.compile(
    r"<!-- (tests/examples/\S+) -->\n```python\n(.*?)```\n", re.S
)

UNUSED_PLUGINS = ("-p", "no:schemathesis", "-p", "no:hypothesispytest")
"""Plugins the inner suites do not need; leaving them out saves seconds per run."""

IDENTIFY_SCENARIO = """\
name: identify one user
config: {apiKey: rf-demo-key, userAttributesMapping: [{from: userId, to: id}]}
events:
  - {type: identify, userId: u1, traits: {email: ada@example.test, plan: pro}}
expect:
  contacts:
    - {remote_id: u1, attributes: {plan: %s}}
"""

CONTACT_U1 = (
    '{"uuid": "00000000-0000-4000-8000-000000000001", "remote_id": "u1", '
    '"email": "ada@example.test", "display_name": null, '
    '"first_seen_at": "2026-01-01T00:00:00.000000Z", '
    '"last_seen_at": "2026-01-01T00:00:00.000000Z", '
    '"last_tracking_event_at": null, "attributes": {"plan": "pro"}, '
    '"segments": [], "account": null}'
)

FAILING_HELPER = """
import httpx

def test_plan(refiner_respx):
    httpx.post(
        "https://api.refiner.io/v1/identify-user",
        data={"id": "u1", "email": "ada@example.test", "plan": "pro"},
        headers={"Authorization": "Bearer rf-demo-key"},
    )
    refiner_respx.assert_contact(remote_id="u1", attributes={"plan": "team"})
"""


def section(lines: list[str], title: str) -> list[str]:
    """The lines of one failure section of pytest's report, without its title."""
    start = next(i for i, line in enumerate(lines) if title in line and "___" in line)
    end = next(
        (
            i
            for i, line in enumerate(lines[start + 1 :], start + 1)
            if line.startswith(("___", "===", "---"))
        ),
        len(lines),
    )
    return lines[start + 1 : end]


def test_failing_scenario_and_helper_messages(pytester):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "team")
    pytester.makepyfile(test_helper=FAILING_HELPER)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(failed=2)
    lines = result.stdout.lines
    assert section(lines, "identify one user[rudderstack]") == [
        "contacts[0]: no contact matches",
        '  expected: {"remote_id": "u1", "attributes": {"plan": "team"}}',
        f"  nearest:  {CONTACT_U1}",
        '    differs at attributes.plan: expected "team", found "pro"',
    ]
    helper = section(lines, "test_plan")
    assert helper[
        helper.index(
            "E       AssertionError: no contact matches for API key rf-demo-key"
        ) :
    ] == [
        "E       AssertionError: no contact matches for API key rf-demo-key",
        'E         expected: {"remote_id": "u1", "attributes": {"plan": "team"}}',
        f"E         nearest:  {CONTACT_U1}",
        'E           differs at attributes.plan: expected "team", found "pro"',
        "",
        "test_helper.py:9: AssertionError",
    ]
    assert "harness/fixtures.py" not in result.stdout.str()


def test_scenario_files_are_items_per_profile(pytester):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "pro")
    pytester.makefile(
        ".yml",
        documented_only=textwrap.dedent(
            """\
            name: documented only
            config: {apiKey: rf-other-key}
            events: []
            profiles: [documented]
            expect: {counts: {contacts: 0}}
            """
        ),
    )
    pytester.makefile(".yaml", settings="name: not a scenario\nconfig: {}\n")
    pytester.makefile(".yaml", listing="- name: a list\n")

    result = pytester.runpytest(
        "--collect-only",
        "-q",
        "--refiner-profile",
        "rudderstack",
        "--refiner-profile",
        "documented",
        "--refiner-profile",
        "rudderstack",
    )

    assert result.stdout.lines[:3] == [
        "documented_only.yml::documented only[documented]",
        "identify.yaml::identify one user[rudderstack]",
        "identify.yaml::identify one user[documented]",
    ]
    assert pytester.runpytest("-p", "no:cacheprovider").ret == pytest.ExitCode.OK


def test_scenario_collection_can_be_turned_off(pytester):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "pro")
    pytester.makeini("[pytest]\nrefiner_scenarios = false\n")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_broken_scenario_is_a_collection_error_with_its_reason(pytester):
    pytester.makefile(".yaml", broken="name: broken\nconfig: 3\nevents: []\n")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert section(result.stdout.lines, "ERROR collecting broken.yaml") == [
        f"{pytester.path / 'broken.yaml'}: 'config' must be a mapping"
    ]


def test_yaml_that_cannot_be_parsed_is_a_collection_error(pytester):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "pro")
    pytester.makefile(".yml", broken="name: [unclosed\nconfig: {}\nevents: []\n")

    result = pytester.runpytest("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.INTERRUPTED
    reason = section(result.stdout.lines, "ERROR collecting broken.yml")
    assert reason[0] == (
        f"{pytester.path / 'broken.yml'}: cannot be read: while parsing a flow sequence"
    )


def test_a_seed_file_and_other_yaml_beside_a_scenario_are_left_alone(pytester):
    pytester.makefile(
        ".yaml",
        seeded=textwrap.dedent(
            """\
            name: seeded from a file
            config: {apiKey: rf-seed-key}
            seed: seed-state.yaml
            events: [{type: identify, userId: u1}]
            expect: {contacts: [{remote_id: u1, email: ada@example.test}]}
            """
        ),
    )
    pytester.makefile(
        ".yaml",
        **{"seed-state": "contacts: [{remote_id: u1, email: ada@example.test}]\n"},
    )
    pytester.makefile(".yml", **{"docker-compose": "services: {mock: {image: m}}\n"})
    pytester.makefile(".yaml", manifests="kind: Service\n---\nkind: Deployment\n")

    result = pytester.runpytest("-p", "no:cacheprovider", "-v")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["seeded.yaml::seeded from a file?rudderstack? PASSED*"]
    )


def test_a_live_target_with_several_xdist_workers_is_a_usage_error(pytester):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "pro")

    for workers in (["-n", "2"], ["--tx", "2*popen", "--dist", "load"]):
        result = pytester.runpytest(
            *workers, "--refiner-target", "http://127.0.0.1:9", *UNUSED_PLUGINS
        )

        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert result.stderr.lines[0] == (
            "ERROR: --refiner-target: scenario items reset the target before each "
            "run, so they cannot share it across xdist workers; run them on one "
            "worker (-n 0 or -n 1)"
        )


def test_a_live_target_runs_on_one_xdist_worker(pytester, refiner_server):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "pro")

    result = pytester.runpytest_subprocess(
        "-n", "1", "--refiner-target", refiner_server.url, *UNUSED_PLUGINS
    )

    result.assert_outcomes(passed=1)
    refiner_server.assert_contact(remote_id="u1", email="ada@example.test")


def test_an_ambiguous_key_shows_its_message_not_the_plugin_source(pytester):
    pytester.makepyfile(
        test_keys="""
        import httpx

        def identify(key):
            httpx.post(
                "https://api.refiner.io/v1/identify-user",
                data={"id": "u1"},
                headers={"Authorization": f"Bearer " + key},
            )

        def test_read(refiner_respx):
            identify("rf-one")
            identify("rf-two")
            refiner_respx.contacts

        def test_assert(refiner_respx):
            identify("rf-one")
            identify("rf-two")
            refiner_respx.assert_contact(remote_id="u1")
        """
    )

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(failed=2)
    message = (
        "E       harness.fixtures.AmbiguousKeyError: the mock holds environments "
        "for 2 API keys ('rf-one', 'rf-two'): pass api_key= or set api_key on the "
        "fixture"
    )
    for test, line in (("test_read", 13), ("test_assert", 18)):
        failure = section(result.stdout.lines, test)
        assert failure[-3:] == [
            message,
            "",
            f"test_keys.py:{line}: AmbiguousKeyError",
        ]
    assert "harness/fixtures.py" not in result.stdout.str()
    assert "def chosen_key" not in result.stdout.str()


def test_an_unknown_profile_is_a_usage_error(pytester):
    result = pytester.runpytest("--refiner-profile", "legacy")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines == [
        "ERROR: --refiner-profile: 'legacy' is not a profile "
        "(known: documented, rudderstack)",
        "",
    ]


def test_the_marker_and_the_option_choose_the_fixture_profile(pytester):
    pytester.makepyfile(
        """
        import pytest

        def test_default(refiner, refiner_server):
            assert (refiner.profile, refiner_server.profile) == ("documented",) * 2

        @pytest.mark.refiner_profile("rudderstack")
        def test_marked(refiner_respx):
            assert refiner_respx.profile == "rudderstack"

        @pytest.mark.refiner_profile("legacy")
        def test_unknown(refiner):
            pass
        """
    )

    result = pytester.runpytest("--refiner-profile", "documented")

    result.assert_outcomes(passed=2, errors=1)
    assert section(result.stdout.lines, "ERROR at setup of test_unknown") == [
        "refiner_profile: 'legacy' is not a profile (known: documented, rudderstack)"
    ]


def test_scenario_items_run_against_a_target(pytester, refiner_server):
    pytester.makefile(".yaml", identify=IDENTIFY_SCENARIO % "pro")

    result = pytester.runpytest("--refiner-target", refiner_server.url)

    result.assert_outcomes(passed=1)
    refiner_server.assert_calls(path="/v1/identify-user", status=200, count=1)
    refiner_server.assert_contact(remote_id="u1", email="ada@example.test")


def test_an_unreachable_target_is_a_usage_error(pytester, refiner_server):
    result = pytester.runpytest("--refiner-target", "ftp://127.0.0.1:9")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == (
        "ERROR: --refiner-target: target 'ftp://127.0.0.1:9' must be an http or "
        "https URL with a host and no query, such as http://127.0.0.1:8080"
    )


def test_each_xdist_worker_has_its_own_server_and_fresh_mocks(pytester):
    pytester.makepyfile(
        """
        import os
        import pytest
        import requests

        @pytest.mark.parametrize("user", ["u1", "u2", "u3", "u4"])
        def test_identify(refiner_server, user, tmp_path_factory):
            assert refiner_server.calls == []
            with requests.Session() as session:
                session.trust_env = False
                session.post(
                    f"{refiner_server.url}/v1/identify-user",
                    data={"id": user},
                    auth=("rf-demo-key", ""),
                    timeout=5,
                )
            refiner_server.assert_contact(remote_id=user)
            worker = os.environ["PYTEST_XDIST_WORKER"]
            print(f"SERVED {worker} {refiner_server.url}")
        """
    )

    result = pytester.runpytest_subprocess(
        "-n", "2", "-rP", "-p", "no:cacheprovider", *UNUSED_PLUGINS
    )

    result.assert_outcomes(passed=4)
    served = {
        tuple(line.split()[1:])
        for line in result.stdout.lines
        if line.startswith("SERVED ")
    }
    workers = {worker for worker, _ in served}
    urls = {url for _, url in served}
    assert (len(workers), len(urls), len(served)) == (2, 2, 2)


def test_the_how_to_shows_every_example_as_it_is():
    shown = dict(EXAMPLE_BLOCK.findall((ROOT / "docs" / "pytest.md").read_text()))

    examples = sorted(ROOT.glob("tests/examples/test_*.py"))
    assert sorted(shown) == [str(path.relative_to(ROOT)) for path in examples]
    for name, code in shown.items():
        assert code == (ROOT / name).read_text(encoding="utf-8"), name
