"""Scenario files the loader must refuse, each with the file and the bad value named."""

from __future__ import annotations

import json
import time

import pytest

from harness.cli import main
from harness.scenario import ScenarioError, find_scenarios, load_scenario

HEAD = "name: x\nconfig: {apiKey: rf-load-key}\n"
IDENTIFY = {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}}
COUNTS_RULE = (
    "'expect.counts' maps ['contacts', 'accounts', 'events', 'rejected', 'calls'] "
    "to whole numbers >= 0"
)


@pytest.fixture
def refusal(tmp_path, capsys):
    """Runs a scenario written as YAML text; the error line ``run`` prints."""

    def run(text: str) -> tuple[str, str]:
        path = tmp_path / "scenario.yaml"
        path.write_text(text, encoding="utf-8")

        assert main(["run", str(path)]) == 2

        captured = capsys.readouterr()
        assert captured.out == ""
        return str(path), captured.err

    return run


def test_deep_yaml_events_are_refused(refusal):
    path, error = refusal(HEAD + "events: " + "[" * 5000 + "]" * 5000 + "\n")

    assert error == (
        f"refiner-harness: {path}: cannot be read: nested deeper than 100 levels\n"
    )


def test_nesting_is_refused_past_one_hundred_levels_with_its_path(refusal):
    path, error = refusal(HEAD + "events: " + "[" * 150 + "]" * 150 + "\n")

    assert error == (
        f"refiner-harness: {path}: events[0][0][0][0][0] ... [0][0][0]: "
        "nested deeper than 100 levels\n"
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("[" * 100_000, "nested deeper than 100 levels"),
        (
            '{"type": "identify", "score": NaN}',
            "not valid JSON: NaN is not a JSON number",
        ),
        ('{"score": -Infinity}', "not valid JSON: -Infinity is not a JSON number"),
        ('{"score": 1e999}', "number 1e999 overflows to infinity"),
    ],
)
def test_an_events_file_the_harness_cannot_use_is_refused(
    refusal, tmp_path, line, problem
):
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(IDENTIFY) + "\n" + line + "\n", encoding="utf-8")

    path, error = refusal(HEAD + "events: events.jsonl\n")

    assert error == f"refiner-harness: {path}: {events}:2: {problem}\n"


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        (
            "expect: {contacts: &c [{attributes: *c}]}",
            "expect.contacts[0].attributes: an alias of a value that contains it "
            "(a cycle)",
        ),
        (
            "expect:\n  contacts: [&x {email: nobody, attributes: {loop: *x}}]",
            "expect.contacts[0].attributes.loop: an alias of a value that contains "
            "it (a cycle)",
        ),
        (
            'expect: {contacts: [{email: "bad \\ud800"}]}',
            "expect.contacts[0].email: text holds an unpaired UTF-16 surrogate \\ud800",
        ),
        (
            'expect: {contacts: [{attributes: {"k\\udc80": 1}}]}',
            "expect.contacts[0].attributes.k\\udc80: key holds an unpaired UTF-16 "
            "surrogate \\udc80",
        ),
        (
            "events: [{type: identify, userId: u1, traits: {score: .nan}}]",
            "events[0].traits.score: nan is not a number JSON can carry",
        ),
        (
            "events: [{type: identify, userId: u1, traits: {score: -.inf}}]",
            "events[0].traits.score: -inf is not a number JSON can carry",
        ),
    ],
)
def test_values_no_run_could_use_are_refused_with_their_path(
    refusal, yaml_text, problem
):
    path, error = refusal(HEAD + "events: []\n" + yaml_text + "\n")

    assert error == f"refiner-harness: {path}: {problem}\n"


def test_unpaired_surrogate_in_the_name_is_refused(refusal):
    path, error = refusal('name: "bad \\ud800"\nconfig: {}\nevents: []\n')

    assert error == (
        f"refiner-harness: {path}: name: text holds an unpaired UTF-16 surrogate "
        "\\ud800\n"
    )


def test_aliases_that_expand_too_far_are_refused_quickly(refusal):
    levels = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for level in range(1, 6):
        below = ", ".join([f"*a{level - 1}"] * 10)
        levels.append(f"a{level}: &a{level} [{below}]")
    started = time.perf_counter()

    path, error = refusal(
        "name: x\nconfig:\n"
        + "".join(f"  {line}\n" for line in levels)
        + "events: []\n"
    )

    assert error == (
        f"refiner-harness: {path}: config.a5: "
        "expands to more than 1000000 values through aliases\n"
    )
    assert time.perf_counter() - started < 5


def test_a_seed_file_is_checked_the_same_way(refusal, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "contacts: &c [{email: ada@example.test, attributes: {all: *c}}]\n",
        encoding="utf-8",
    )

    path, error = refusal(HEAD + "events: []\nseed: seed.yaml\n")

    assert error == (
        f"refiner-harness: {path}: seed file {seed}: contacts[0].attributes.all: "
        "an alias of a value that contains it (a cycle)\n"
    )


def test_shared_aliases_without_a_cycle_are_accepted(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(
        HEAD
        + "events:\n"
        + "  - {type: identify, userId: u1, traits: &traits {plan: pro}}\n"
        + "  - {type: identify, userId: u2, traits: *traits}\n",
        encoding="utf-8",
    )

    scenario = load_scenario(path)

    assert [event["traits"] for event in scenario.events] == [
        {"plan": "pro"},
        {"plan": "pro"},
    ]


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        (
            "expect: {contacts: [u1]}",
            "'expect.contacts[0]' must be a mapping, not 'u1'",
        ),
        ("expect: {calls: [[]]}", "'expect.calls[0]' must be a mapping, not []"),
        (
            "expect_by_profile: {documented: {rejected: [{index: 0}, 3]}}",
            "'expect_by_profile.documented.rejected[1]' must be a mapping, not 3",
        ),
        ("expect: {counts: {contacts: -1}}", f"{COUNTS_RULE}, not contacts: -1"),
        ("expect: {counts: {events: true}}", f"{COUNTS_RULE}, not events: True"),
        ("expect: {counts: {calls: 1.5}}", f"{COUNTS_RULE}, not calls: 1.5"),
        ("expect: {counts: {people: 1}}", f"{COUNTS_RULE}, not people: 1"),
        (
            "profiles: [rudderstack, rudderstak]",
            "'profiles' names 'rudderstak', not a profile "
            "(known: documented, rudderstack)",
        ),
        (
            "expect_by_profile: {documentd: {}}",
            "'expect_by_profile' names 'documentd', not a profile "
            "(known: documented, rudderstack)",
        ),
    ],
)
def test_malformed_expectations_and_profiles_are_refused(refusal, yaml_text, problem):
    path, error = refusal(HEAD + "events: []\n" + yaml_text + "\n")

    assert error == f"refiner-harness: {path}: {problem}\n"


def test_a_file_named_twice_or_inside_a_named_folder_is_found_once(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    inside = folder / "a.yaml"
    other = folder / "b.yaml"
    for path in (inside, other):
        path.write_text(HEAD + "events: []\n", encoding="utf-8")

    found = find_scenarios([inside, folder, tmp_path / "folder" / ".." / "folder"])

    assert found == [inside, other]


def test_a_file_named_twice_runs_once(tmp_path, capsys):
    path = tmp_path / "scenario.yaml"
    path.write_text(HEAD + "events: []\n", encoding="utf-8")

    assert main(["run", str(path), str(path), str(tmp_path)]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


def test_loading_raises_scenario_error(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text(HEAD + "events: []\nexpect: {accounts: [7]}\n", encoding="utf-8")

    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)

    assert str(refused.value) == (
        f"{path}: 'expect.accounts[0]' must be a mapping, not 7"
    )


SEEDED = """\
name: seeded from a file
config: {apiKey: rf-seed-key}
seed: seed-state.yaml
events: [{type: identify, userId: u1, traits: {plan: pro}}]
expect: {contacts: [{remote_id: u1, email: ada@example.test}]}
"""
SEED_STATE = (
    "contacts: [{remote_id: u1, email: ada@example.test}]\napi_key: rf-seed-key\n"
)
COMPOSE = "services: {mock: {image: refiner-mock, ports: ['8080:8080']}}\n"
MANIFESTS = "kind: Service\nname: a\n---\nkind: Deployment\nname: b\n"


@pytest.fixture
def folder(tmp_path):
    """A folder holding one scenario, its seed file and YAML that is no scenario."""
    folder = tmp_path / "only"
    folder.mkdir()
    (folder / "seeded.yaml").write_text(SEEDED, encoding="utf-8")
    (folder / "seed-state.yaml").write_text(SEED_STATE, encoding="utf-8")
    (folder / "docker-compose.yml").write_text(COMPOSE, encoding="utf-8")
    (folder / "manifests.yaml").write_text(MANIFESTS, encoding="utf-8")
    (folder / "folder.yaml").mkdir()
    return folder


def test_a_searched_folder_skips_yaml_that_is_not_a_scenario(folder, capsys):
    assert find_scenarios([folder]) == [folder / "seeded.yaml"]

    assert main(["run", str(folder)]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


def test_a_file_named_explicitly_must_be_a_scenario(folder, capsys):
    seed_state = folder / "seed-state.yaml"

    assert find_scenarios([seed_state]) == [seed_state]
    assert main(["run", str(seed_state)]) == 2

    assert capsys.readouterr().err.startswith(
        f"refiner-harness: {seed_state}: unknown keys ['api_key', 'contacts']"
    )


def test_a_scenario_with_two_documents_is_found_and_refused(folder, capsys):
    twice = folder / "twice.yaml"
    twice.write_text(SEEDED + "---\n" + SEEDED, encoding="utf-8")

    assert main(["run", str(folder)]) == 2

    error = capsys.readouterr().err
    assert error.startswith(f"refiner-harness: {twice}: cannot be read: ")
    assert "expected a single document" in error


@pytest.mark.parametrize(
    "text",
    ["name: [unclosed\n", "events: " + "[" * 5000 + "]" * 5000 + "\n", "\udcff"],
)
def test_a_file_that_cannot_be_parsed_in_a_searched_folder_is_refused(
    folder, capsys, text
):
    broken = folder / "broken.yaml"
    broken.write_bytes(text.encode("utf-8", "surrogateescape"))

    with pytest.raises(ScenarioError, match="cannot be read"):
        find_scenarios([folder])
    assert main(["run", str(folder)]) == 2

    assert capsys.readouterr().err.startswith(
        f"refiner-harness: {broken}: cannot be read: "
    )
