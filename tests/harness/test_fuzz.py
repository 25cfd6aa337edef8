"""The fuzzer: every property on a bounded run, the trait model's kinds of change,
saved failures that replay to the same failure, and the ``fuzz`` command."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import strategies as st

from harness import mapper
from harness.cli import main
from harness.failure_scenarios import save_failure
from harness.fuzz import (
    Property,
    PropertyFailure,
    PropertyRun,
    fail,
    fuzz,
    report,
    run_property,
)
from harness.mapper import get_mapper
from harness.probe import Probe, probing
from harness.properties import (
    PROPERTIES,
    check_identify_then_track,
    check_trait_fidelity,
)
from harness.refiner_model import MACHINE_NAME, RefinerModel, run_machine
from harness.refusals import (
    DOCUMENTED_REFUSALS,
    check_refusals_documented,
    mapper_refusal_source,
)
from harness.trait_changes import KINDS, predict_identify
from mock_refiner import store

SEED = 5
EXAMPLES = 30
PROFILES = ("documented", "rudderstack")

CONFIG = {"apiKey": "rf-fuzz-test"}


@pytest.fixture
def probe() -> Iterator[Probe]:
    with probing() as fresh:
        yield fresh


def identify(traits: Any, **fields: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": "u1", "traits": traits, **fields}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda prop: prop.name)
def test_property_holds_on_a_bounded_run(probe, prop, profile):
    run = run_property(prop, profile, EXAMPLES, SEED, probe)

    assert run.failures == {}
    assert run.examples >= EXAMPLES


@pytest.mark.parametrize("profile", PROFILES)
def test_the_state_machine_agrees_with_the_mock(probe, profile):
    run = run_machine(profile, 15, SEED, probe)

    assert run.failures == {}
    assert run.examples >= 15


def test_an_id_trait_with_brackets_is_a_documented_refusal(probe):
    example = (CONFIG, [identify({"id[]": "pro"})])

    check_refusals_documented(probe, "documented", example)


def test_an_undocumented_refusal_fails_the_property(probe, monkeypatch):
    monkeypatch.delitem(
        DOCUMENTED_REFUSALS, "The id parameter must be text or a number."
    )
    example = (CONFIG, [identify({"id[]": "pro"})])

    with pytest.raises(PropertyFailure) as raised:
        check_refusals_documented(probe, "documented", example)

    failure = raised.value.failure
    assert failure.signature == "400 The id parameter must be text or a number."
    assert failure.expect == {"calls": [{"path": "/v1/identify-user", "status": 200}]}


def test_without_the_user_id_row_rudderstack_splits_a_user_in_two(probe, tmp_path):
    stream = [
        identify({"email": "ada@example.test"}),
        {"type": "track", "userId": "u1", "event": "Signed Up"},
    ]

    with pytest.raises(PropertyFailure) as raised:
        check_identify_then_track(probe, "rudderstack", (CONFIG, stream))

    assert raised.value.failure.message == (
        "the identify of 'u1' reached a contact whose remote id is None"
    )
    assert raised.value.failure.expect["counts"] == {
        "contacts": 1,
        "events": 1,
        "rejected": 0,
    }
    assert raised.value.failure.expect["events"] == [
        {"name": "Signed Up", "contact": {"remote_id": "u1"}}
    ]
    saved = save_failure("split", "rudderstack", raised.value.failure, tmp_path, 1)
    assert saved == (tmp_path / "split-rudderstack-1.yaml", True)
    config = {**CONFIG, "userAttributesMapping": [{"from": "userId", "to": "id"}]}
    check_identify_then_track(probe, "rudderstack", (config, stream))


def test_mapper_refusal_texts_name_their_documents():
    assert mapper_refusal_source('Event type "screen" is not supported') == (
        "docs/profiles.md (the type checks); "
        "docs/research/rudderstack-mapping.md section 7"
    )
    assert mapper_refusal_source("Cannot read properties of null (reading 'type')")
    assert mapper_refusal_source("Something else") is None


KIND_EXAMPLES = [
    ("go-exponent-number", "documented", {"visits": 1000000}, {"visits": "1e+06"}),
    (
        "go-map-text",
        "documented",
        {"address": {"city": "Pune"}},
        {"address": "map[city:Pune]"},
    ),
    ("go-array-text", "documented", {"tags": ["a", "b"]}, {"tags": "[a b]"}),
    ("boolean-text", "documented", {"beta": True}, {"beta": "true"}),
    ("number-text", "documented", {"score": 12.5}, {"score": "12.5"}),
    ("integer-text", "documented", {"zip": "30"}, {"zip": 30}),
    (
        "date-trait",
        "documented",
        {"trial_end_date": "2026-12-31"},
        {"trial_end_date": "2026-12-31T00:00:00.000000Z"},
    ),
    ("reserved-name", "documented", {"country": "PT"}, {}),
    (
        "bracket-key-nesting",
        "documented",
        {"plan[tier]": "pro"},
        {"plan": '{"tier":"pro"}'},
    ),
    ("empty-key-dropped", "documented", {"": "x"}, {}),
    ("string-cap", "documented", {"bio": "x" * 10_001}, {"bio": "x" * 10_000}),
    ("null-dropped", "documented", {"plan": None}, {}),
    ("identity-chain", "rudderstack", {"userId": "u2"}, {"userId": "u1"}),
    ("js-dropped-key", "documented", {"constructor": "x"}, {}),
]


@pytest.mark.parametrize(
    "kind, profile, traits, attributes",
    KIND_EXAMPLES,
    ids=[k[0] for k in KIND_EXAMPLES],
)
def test_each_kind_of_change_has_its_minimal_example(
    probe, kind, profile, traits, attributes
):
    message = identify(traits)
    form = get_mapper(profile)(message, CONFIG).form

    prediction = predict_identify(message, CONFIG, profile, form)

    assert prediction.changes == {f"traits.{next(iter(traits))}": {kind}}
    assert prediction.attributes == attributes
    assert prediction.unexplained == []
    check_trait_fidelity(probe, profile, (CONFIG, [message]))


def test_context_traits_win_and_mapping_rows_move_traits(probe):
    message = identify({"plan": "free"}, context={"traits": {"plan": "pro"}})
    config = {**CONFIG, "userAttributesMapping": [{"from": "plan", "to": "tier"}]}
    form = get_mapper("documented")(message, config).form

    prediction = predict_identify(message, config, "documented", form)

    assert prediction.changes == {
        "traits.plan": {"context-trait-wins"},
        "context.traits.plan": {"attribute-mapping"},
    }
    assert prediction.attributes == {"tier": "pro"}
    check_trait_fidelity(probe, "documented", (config, [message]))


def test_traits_given_as_text_are_spread_by_index():
    message = identify("ab")
    form = get_mapper("documented")(message, CONFIG).form

    prediction = predict_identify(message, CONFIG, "documented", form)

    assert prediction.changes == {
        "traits.0": {"spread-by-index"},
        "traits.1": {"spread-by-index"},
    }
    assert prediction.attributes == {"0": "a", "1": "b"}


def test_every_kind_is_described_and_documented():
    docs = (Path(__file__).parents[2] / "docs").resolve()
    fuzzing = (docs / "fuzzing.md").read_text(encoding="utf-8")
    fidelity = (docs / "fidelity.md").read_text(encoding="utf-8")

    for kind in KINDS:
        assert f"`{kind}`" in fuzzing, kind
        assert f"`{kind}`" in fidelity, kind


def test_a_change_no_rule_explains_is_reported():
    message = identify({"plan": "pro"})
    form = {"id": "u1", "plan": "free", "extra": 1}

    prediction = predict_identify(message, CONFIG, "documented", form)

    assert prediction.unexplained == [
        'traits.plan: "pro" reached the form as "free"',
        "form key 'extra' comes from no trait",
    ]
    assert prediction.untraced == {"plan": "pro", "extra": None}


def test_a_mapper_that_changes_a_trait_fails_trait_fidelity(
    probe, tmp_path, monkeypatch
):
    documented = get_mapper("documented")

    def careless(message: Any, config: Any) -> Any:
        request = documented(message, config)
        return replace(request, form={**request.form, "plan": "free"})

    monkeypatch.setitem(mapper._PROFILES, "documented", careless)
    example = (CONFIG, [identify({"plan": "pro"})])

    with pytest.raises(PropertyFailure) as raised:
        check_trait_fidelity(probe, "documented", example)

    failure = raised.value.failure
    assert failure.message == 'traits.plan: "pro" reached the form as "free"'
    assert failure.expect == {
        "calls": [{"path": "/v1/identify-user", "params": {"plan": "pro"}}]
    }
    assert save_failure("careless", "documented", failure, tmp_path, 1)[1] is True


def test_a_mock_that_stores_a_computed_trait_fails_trait_fidelity(
    probe, tmp_path, monkeypatch
):
    monkeypatch.setattr(store, "COMPUTED_TRAITS", store.COMPUTED_TRAITS - {"country"})
    example = (CONFIG, [identify({"country": "PT", "plan": "pro"})])

    with pytest.raises(PropertyFailure) as raised:
        check_trait_fidelity(probe, "documented", example)

    failure = raised.value.failure
    assert failure.signature == "attributes differs from the prediction"
    assert failure.expect["contacts"][0]["attributes"] == {
        "plan": "pro",
        "country": None,
    }
    assert save_failure("country", "documented", failure, tmp_path, 1)[1] is True


def broken_property() -> Property:
    """Claims that traits are stored exactly as sent, ignoring Go's rendering."""

    def check(probe: Probe, profile: str, example: Any) -> None:
        config, events = example
        probe.reset()
        probe.replay(profile, config, events)
        contact = probe.environment(config)["contacts"][0]
        traits = events[0]["traits"]
        if contact["attributes"] != traits:
            expect = {"contacts": [{"remote_id": "u1", "attributes": traits}]}
            fail("traits changed", "traits changed", config, events, expect)

    visits = st.sampled_from([5, 1000000])
    messages = st.builds(lambda v: [identify({"visits": v})], visits)
    return Property(
        "broken",
        "traits unchanged",
        lambda p: st.tuples(st.just(CONFIG), messages),
        check,
    )


def test_a_broken_propertys_saved_scenario_replays_to_the_same_failure(
    probe, tmp_path, capsys
):
    run = run_property(broken_property(), "documented", 20, SEED, probe)
    failure = run.failures["traits changed"]

    path, replay_fails = save_failure("broken", "documented", failure, tmp_path, 1)

    assert failure.events == [identify({"visits": 1000000})]
    assert replay_fails is True
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["profiles"] == [
        "documented"
    ]
    assert main(["run", str(path), "--profile", "documented"]) == 1
    assert 'differs at attributes.visits: expected 1000000, found "1e+06"' in (
        capsys.readouterr().out
    )


def test_messages_yaml_cannot_carry_go_to_a_json_lines_file(tmp_path):
    run_failure = fail_of(identify({"note": "a\x85b"}))

    path, replay_fails = save_failure("nel", "documented", run_failure, tmp_path, 1)

    assert (
        yaml.safe_load(path.read_text(encoding="utf-8"))["events"]
        == "nel-documented-1.jsonl"
    )
    assert replay_fails is True


def fail_of(message: dict[str, Any]) -> Any:
    try:
        fail("x", "x", CONFIG, [message], {"counts": {"contacts": 2}})
    except PropertyFailure as raised:
        return raised.failure


def test_a_machine_failure_is_saved_with_the_models_state(probe, tmp_path, monkeypatch):
    track = RefinerModel.track

    def track_without_event(self: RefinerModel, *arguments: Any) -> None:
        track(self, *arguments)
        self.events.pop()

    monkeypatch.setattr(RefinerModel, "track", track_without_event)

    run = run_machine("documented", 30, SEED, probe)

    failure = run.failures["events differ from the model"]
    assert failure.expect["counts"]["events"] == 0
    assert [message["type"] for message in failure.events][-1] in ("track", "page")
    monkeypatch.undo()
    assert save_failure(MACHINE_NAME, "documented", failure, tmp_path, 1)[1] is True


def test_the_fuzz_command_prints_figures_and_progress(capsys):
    code = main(
        [
            "fuzz",
            "--profile",
            "rudderstack",
            "--examples",
            "5",
            "--seed",
            "3",
            "--jobs",
            "1",
        ]
    )

    out, err = capsys.readouterr()
    assert code == 0
    names = [prop.name for prop in PROPERTIES] + [MACHINE_NAME]
    assert [line.split()[0] for line in err.splitlines()] == names
    assert "5 examples  0 failures" in err.splitlines()[0]
    rows = out.splitlines()
    assert rows[0] == "seed 3"
    assert rows[1].split() == [
        "property",
        "profile",
        "examples",
        "seconds",
        "examples/s",
        "result",
    ]
    assert [row.split()[0] for row in rows[2:9]] == names
    assert all(row.split()[-1] == "ok" for row in rows[2:9])


def test_worker_processes_give_the_same_results():
    names = ["mapper-refusals", "trait-fidelity"]
    one, two = io.StringIO(), io.StringIO()

    assert fuzz("documented", 10, 3, None, one, io.StringIO(), jobs=1, names=names) == 0
    assert fuzz("documented", 10, 3, None, two, io.StringIO(), jobs=2, names=names) == 0

    def results(text: str) -> list[list[str]]:
        return [row.split()[:3] + row.split()[-1:] for row in text.splitlines()[2:4]]

    assert results(one.getvalue()) == results(two.getvalue())


def test_the_report_names_each_failure_and_its_saved_file():
    run = PropertyRun("broken", "documented", examples=8, seconds=2.0)
    run.record(fail_of(identify({"plan": "pro"})))
    run.saved.append((Path("out/broken-documented-1.yaml"), True))
    run.kinds["null-dropped"] = 2

    assert report([run], 7).splitlines() == [
        "seed 7",
        "property               profile      examples  seconds examples/s  result",
        "broken                 documented          8     2.00        4.0  FAIL (1)",
        "kinds of change seen by broken: null-dropped 2",
        "FAIL broken under documented: x",
        "  saved out/broken-documented-1.yaml (its replay fails)",
    ]


@pytest.mark.parametrize("option", [["--examples", "0"], ["--jobs", "x"]])
def test_the_fuzz_command_refuses_bad_numbers(option, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["fuzz", *option])

    assert raised.value.code == 2


def test_an_unknown_profile_is_refused(capsys):
    assert main(["fuzz", "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_a_transformer_url_shows_without_its_credentials_in_the_report():
    from harness.fuzz import Failure, ProgressLines, PropertyRun, report

    url = "http://harness:s3cret@127.0.0.1:9090"
    run = PropertyRun("mapper-refusals", url, examples=3, seconds=1.0)
    run.failures["x"] = Failure("x", "boom", {}, [], {})

    text = report([run], 0) + ProgressLines.text("mapper-refusals", url, 3, 1)

    assert "s3cret" not in text
    assert "http://***@127.0.0.1:9090" in text
