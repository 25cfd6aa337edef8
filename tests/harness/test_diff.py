"""``refiner-harness diff``: two mappers' requests and the Refiner state each leaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.diff import diff, fuzz_sources, read_sources
from tests.conftest import ROOT, load_vector_cases
from tests.harness.transformer_fake import TransformerFake, serving

CASES = load_vector_cases()
SCENARIOS = ROOT / "scenarios"
DIFFERENCES = SCENARIOS / "profile-differences"

NEEDS_AN_ID = '"The id or email parameter is required."'
NO_IDENTITY = '"At least one of `userId` or `email` is required"'
SENT_IDENTIFY = "sent POST https://api.refiner.io/v1/identify-user"

PROFILE_TABLE = {
    "01-identify-user-id-key.yaml": {
        0: (
            [
                'form userId: "u-201" (A) vs absent (B)',
                'form id: absent (A) vs "u-201" (B)',
            ],
            [
                'contact u-201, remote_id: null (A) vs "u-201" (B)',
                'contact u-201, attribute userId: "u-201" (A) vs absent (B)',
            ],
        ),
        1: (
            [
                'form userId: "u-202" (A) vs absent (B)',
                'form id: absent (A) vs "u-202" (B)',
                f"Refiner: 400 {NEEDS_AN_ID} (A) vs 200 (B)",
            ],
            [
                "contact u-202: absent (A) vs "
                '{"remote_id": "u-202", "attributes": {"plan": "free"}} (B)'
            ],
        ),
    },
    "02-identify-user-id-source.yaml": {
        0: (
            ['form userId: "u-203" (A) vs absent (B)'],
            ['contact u-203, attribute userId: "u-203" (A) vs absent (B)'],
        ),
        1: (
            [f"mapper: {SENT_IDENTIFY} (A) vs refused 400 {NO_IDENTITY} (B)"],
            [
                'contact u-204: {"remote_id": "u-204", "attributes": '
                '{"plan": "free", "userId": "u-204"}} (A) vs absent (B)'
            ],
        ),
    },
    "03-identify-email-source.yaml": {
        0: (
            [
                'form userId: "u-205" (A) vs absent (B)',
                'form email: "HS-4471" (A) vs absent (B)',
                'form id: absent (A) vs "u-205" (B)',
            ],
            [
                'contact HS-4471: {"email": "HS-4471", "attributes": '
                '{"plan": "pro", "userId": "u-205"}} (A) vs absent (B)',
                "contact u-205: absent (A) vs "
                '{"remote_id": "u-205", "attributes": {"plan": "pro"}} (B)',
            ],
        ),
        1: (
            [
                'form email: "work@example.test" (A) vs "home@example.test" (B)',
                'form userId: "u-206" (A) vs absent (B)',
                'form id: absent (A) vs "u-206" (B)',
            ],
            [
                'contact work@example.test: {"email": "work@example.test", '
                '"attributes": {"userId": "u-206"}} (A) vs absent (B)',
                "contact u-206: absent (A) vs "
                '{"remote_id": "u-206", "email": "home@example.test"} (B)',
            ],
        ),
    },
    "04-identify-required.yaml": {
        0: (
            [f"mapper: {SENT_IDENTIFY} (A) vs refused 400 {NO_IDENTITY} (B)"],
            [
                'contact lee@example.test: {"email": "lee@example.test", '
                '"attributes": {"plan": "pro"}} (A) vs absent (B)'
            ],
        ),
        1: ([f"mapper: {SENT_IDENTIFY} (A) vs refused 400 {NO_IDENTITY} (B)"], []),
    },
    "05-track-fields.yaml": {
        0: (
            ['form email: "sam@example.test" (A) vs absent (B)'],
            ['contact u-208, email: "sam@example.test" (A) vs null (B)'],
        ),
        1: (
            [
                'form email: "pat@example.test" (A) vs absent (B)',
                f"Refiner: 200 (A) vs 400 {NEEDS_AN_ID} (B)",
            ],
            [
                'contact pat@example.test: {"email": "pat@example.test"} (A) vs '
                "absent (B)",
                'events "Signed Up" of contact pat@example.test: 1 (A) vs 0 (B)',
            ],
        ),
    },
    "06-page-event-name.yaml": {
        0: (
            [
                'form event: "Viewed Docs Getting Started Page" (A) vs '
                '"Getting Started" (B)'
            ],
            [
                'events "Getting Started" of contact u-210: 0 (A) vs 1 (B)',
                'events "Viewed Docs Getting Started Page" of contact u-210: '
                "1 (A) vs 0 (B)",
            ],
        ),
        1: (
            ['form event: "Viewed Docs Page" (A) vs "pageView" (B)'],
            [
                'events "Viewed Docs Page" of contact u-210: 1 (A) vs 0 (B)',
                'events "pageView" of contact u-210: 0 (A) vs 1 (B)',
            ],
        ),
    },
    "07-page-fields.yaml": {
        0: (
            [
                'form email: "lee@example.test" (A) vs absent (B)',
                'form event: "Viewed Pricing Page" (A) vs "Pricing" (B)',
            ],
            [
                'contact u-212, email: "lee@example.test" (A) vs null (B)',
                'events "Pricing" of contact u-212: 0 (A) vs 1 (B)',
                'events "Viewed Pricing Page" of contact u-212: 1 (A) vs 0 (B)',
            ],
        ),
        1: (
            [
                'form email: "sam@example.test" (A) vs absent (B)',
                'form event: "Viewed Pricing Page" (A) vs "Pricing" (B)',
                f"Refiner: 200 (A) vs 400 {NEEDS_AN_ID} (B)",
            ],
            [
                'contact sam@example.test: {"email": "sam@example.test"} (A) vs '
                "absent (B)",
                'events "Viewed Pricing Page" of contact sam@example.test: '
                "1 (A) vs 0 (B)",
            ],
        ),
    },
    "08-group-required.yaml": {
        0: (
            [f'mapper: {SENT_IDENTIFY} (A) vs refused 400 "`userId` is required" (B)'],
            [],
        )
    },
    "09-group-user-email.yaml": {
        1: (
            ['form email: absent (A) vs "mia@example.test" (B)'],
            [
                'contact mia@example.test: {"email": "mia@example.test", '
                '"attributes": {"plan": "pro"}} (A) vs absent (B)',
                'contact u-214, email: null (A) vs "mia@example.test" (B)',
                'contact u-214, attribute plan: absent (A) vs "pro" (B)',
            ],
        )
    },
    "10-group-user-id-from-traits.yaml": {
        0: (
            [f'mapper: {SENT_IDENTIFY} (A) vs refused 400 "`userId` is required" (B)'],
            [
                'contact crm-5510: {"remote_id": "crm-5510", "account": "acct-215"} '
                "(A) vs absent (B)",
                'account acct-215: {"remote_id": "acct-215", "display_name": '
                '"Initech", "attributes": {"name": "Initech"}, "contacts": '
                '["crm-5510"]} (A) vs absent (B)',
            ],
        )
    },
    "11-group-account-traits.yaml": {
        0: (
            [
                'form account[name]: "Nina Park" (A) vs absent (B)',
                'form account[role]: "admin" (A) vs absent (B)',
                'form account[email]: "nina@example.test" (A) vs absent (B)',
                'form email: absent (A) vs "nina@example.test" (B)',
            ],
            [
                'contact u-216, email: null (A) vs "nina@example.test" (B)',
                'account acct-216, display_name: "Nina Park" (A) vs null (B)',
                'account acct-216, attribute email: "nina@example.test" (A) vs '
                "absent (B)",
                'account acct-216, attribute name: "Nina Park" (A) vs absent (B)',
                'account acct-216, attribute role: "admin" (A) vs absent (B)',
            ],
        )
    },
    "12-group-account-id.yaml": {
        0: (
            [
                'form account[id]: "acct-217" (A) vs absent (B)',
                'Refiner: 200 (A) vs 400 "The account parameter needs an id." (B)',
            ],
            [
                'contact u-217: {"remote_id": "u-217", "account": "acct-217"} (A) vs '
                "absent (B)",
                'account acct-217: {"remote_id": "acct-217", "display_name": '
                '"Umbrella", "attributes": {"groupId": "acct-217", "name": '
                '"Umbrella"}, "contacts": ["u-217"]} (A) vs absent (B)',
            ],
        )
    },
}
"""Each row of the table in docs/profiles.md: its scenario, and for each event that
differs, the request differences and the state differences that event makes."""

DIFFERING_EVENTS = {
    "journeys/anonymous-visitor-signs-up.yaml": [1, 2, 3],
    "journeys/one-user-full-journey.yaml": [3],
    "journeys/two-users-one-account.yaml": [0, 1, 2, 3],
    **{
        f"profile-differences/{name}": sorted(events)
        for name, events in PROFILE_TABLE.items()
    },
    "sdk/node-plain.yaml": [0, 1, 2],
    "sdk/node-user-id-mapping.yaml": [2],
    "sdk/python-plain.yaml": [0, 1, 2],
    "sdk/python-user-id-mapping.yaml": [2],
    "seed-page/group-context-traits-email.yaml": [0],
    "seed-page/group-requires-user-id.yaml": [0],
    "seed-page/identify-user-id.yaml": [0],
    "seed-page/page-named.yaml": [0],
}
"""Every scenario event on which rudderstack and documented differ."""


def run(arguments: list[str], capsys) -> tuple[int, str, str]:
    status = main(arguments)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def transformer() -> Iterator[tuple[str, TransformerFake]]:
    fake = TransformerFake(CASES)
    with serving(fake) as url:
        yield url, fake


@pytest.fixture
def vectors(tmp_path) -> Path:
    """Every recorded case as JSON Lines of ``{config, message}``."""
    path = tmp_path / "vectors.jsonl"
    path.write_text(
        "".join(
            json.dumps({"config": case["config"], "message": case["message"]}) + "\n"
            for case in CASES
        ),
        encoding="utf-8",
    )
    return path


def test_the_transformer_and_the_rudderstack_profile_agree_on_every_vector(
    transformer, vectors, capsys
):
    url, fake = transformer

    status, out, err = run(
        ["diff", "--profile", "rudderstack", "--profile", url, str(vectors)], capsys
    )

    assert (status, err) == (0, "")
    assert out == (
        f"A: rudderstack\nB: {url}\n\nno differences in 70 events from 1 source\n"
    )
    assert fake.batches == [70]


@pytest.mark.parametrize("report_format", ["text", "json"])
def test_a_transformer_url_is_shown_without_its_user_and_password(
    transformer, vectors, capsys, report_format
):
    url, fake = transformer
    secret = url.replace("http://", "http://harness:s3cret@")
    masked = url.replace("http://", "http://***@")

    status, out, err = run(
        ["diff", "--profile", secret, "--profile", "rudderstack", str(vectors)]
        + ["--format", report_format],
        capsys,
    )

    assert (status, err) == (0, "")
    if report_format == "text":
        assert out == (
            f"A: {masked}\nB: rudderstack\n\nno differences in 70 events from 1 "
            "source\n"
        )
    else:
        assert json.loads(out)["profiles"] == {"A": masked, "B": "rudderstack"}
    assert "s3cret" not in out
    assert fake.authorizations == ["Basic aGFybmVzczpzM2NyZXQ="]


def test_rudderstack_and_documented_differ_as_the_profile_table_says(capsys):
    status, out, err = run(
        [
            "diff",
            "--profile",
            "rudderstack",
            "--profile",
            "documented",
            "--format",
            "json",
            str(SCENARIOS),
        ],
        capsys,
    )

    assert (status, err) == (1, "")
    report = json.loads(out)
    assert report["profiles"] == {"A": "rudderstack", "B": "documented"}
    assert (report["events"], report["differing_events"]) == (90, 39)
    differing = {
        Path(source["path"]).relative_to(SCENARIOS).as_posix(): [
            difference["index"] for difference in source["differences"]
        ]
        for source in report["sources"]
        if source["differences"]
    }
    assert differing == DIFFERING_EVENTS

    rows = {
        Path(source["path"]).name: {
            difference["index"]: (difference["request"], difference["state"])
            for difference in source["differences"]
        }
        for source in report["sources"]
        if Path(source["path"]).parent == DIFFERENCES
    }
    assert rows == PROFILE_TABLE


def test_the_text_report_shows_each_event_as_requests_and_as_state(capsys):
    path = DIFFERENCES / "01-identify-user-id-key.yaml"

    status, out, _ = run(
        ["diff", "--profile", "rudderstack", "--profile", "documented", str(path)],
        capsys,
    )

    assert status == 1
    assert out == (
        "A: rudderstack\n"
        "B: documented\n"
        "\n"
        f"difference 1, identify: the user id key ({path}): differences in 2 of 2 "
        "events\n"
        "  events[0] identify\n"
        "    A: POST https://api.refiner.io/v1/identify-user, Refiner 200\n"
        "    B: POST https://api.refiner.io/v1/identify-user, Refiner 200\n"
        '    request: form userId: "u-201" (A) vs absent (B)\n'
        '    request: form id: absent (A) vs "u-201" (B)\n'
        '    state: contact u-201, remote_id: null (A) vs "u-201" (B)\n'
        '    state: contact u-201, attribute userId: "u-201" (A) vs absent (B)\n'
        "  events[1] identify\n"
        "    A: POST https://api.refiner.io/v1/identify-user, Refiner 400 "
        f"{NEEDS_AN_ID}\n"
        "    B: POST https://api.refiner.io/v1/identify-user, Refiner 200\n"
        '    request: form userId: "u-202" (A) vs absent (B)\n'
        '    request: form id: absent (A) vs "u-202" (B)\n'
        f"    request: Refiner: 400 {NEEDS_AN_ID} (A) vs 200 (B)\n"
        "    state: contact u-202: absent (A) vs "
        '{"remote_id": "u-202", "attributes": {"plan": "free"}} (B)\n'
        "\n"
        "differences in 2 of 2 events, in 1 of 1 source\n"
    )


def test_the_json_report_holds_both_sides_of_each_event(capsys):
    path = DIFFERENCES / "08-group-required.yaml"

    status, out, _ = run(
        [
            "diff",
            str(path),
            "--profile",
            "rudderstack",
            "--profile",
            "documented",
            "--format",
            "json",
        ],
        capsys,
    )

    assert status == 1
    assert json.loads(out) == {
        "profiles": {"A": "rudderstack", "B": "documented"},
        "events": 1,
        "differing_events": 1,
        "sources": [
            {
                "name": "difference 8, group: what is required",
                "path": str(path),
                "events": 1,
                "differences": [
                    {
                        "index": 0,
                        "type": "group",
                        "api_key": "rf-scn-diff-08",
                        "A": {
                            "request": {
                                "method": "POST",
                                "endpoint": "https://api.refiner.io/v1/identify-user",
                                "headers": {
                                    "Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": "Bearer rf-scn-diff-08",
                                },
                                "form": {
                                    "account[name]": "Acme",
                                    "account[email]": "billing@acme.example.test",
                                    "account[id]": "acct-213",
                                },
                            },
                            "refiner": {
                                "status": 400,
                                "reply": {
                                    "error": "The id or email parameter is required."
                                },
                            },
                        },
                        "B": {
                            "refusal": {
                                "status": 400,
                                "message": "`userId` is required",
                            }
                        },
                        "request": [
                            f"mapper: {SENT_IDENTIFY} (A) vs refused 400 "
                            '"`userId` is required" (B)'
                        ],
                        "state": [],
                    }
                ],
                "final_state": [],
            }
        ],
    }


def test_both_sides_start_from_the_scenarios_seed(write_scenario, capsys):
    path = write_scenario(
        {
            "name": "a seeded contact identified by id",
            "config": {"apiKey": "rf-diff-seed"},
            "seed": {"contacts": [{"remote_id": "u-1", "email": "ada@example.test"}]},
            "events": [
                {"type": "identify", "userId": "u-1", "traits": {"plan": "pro"}}
            ],
        }
    )

    status, out, _ = run(
        ["diff", "--profile", "rudderstack", "--profile", "documented", str(path)],
        capsys,
    )

    assert status == 1
    assert out.splitlines()[4:] == [
        "  events[0] identify",
        "    A: POST https://api.refiner.io/v1/identify-user, Refiner 400 "
        f"{NEEDS_AN_ID}",
        "    B: POST https://api.refiner.io/v1/identify-user, Refiner 200",
        '    request: form userId: "u-1" (A) vs absent (B)',
        '    request: form id: absent (A) vs "u-1" (B)',
        f"    request: Refiner: 400 {NEEDS_AN_ID} (A) vs 200 (B)",
        '    state: contact u-1, attribute plan: absent (A) vs "pro" (B)',
        "",
        "differences in 1 of 1 event, in 1 of 1 source",
    ]


def test_a_difference_that_later_events_undo_is_reported_as_gone(
    write_scenario, capsys
):
    path = write_scenario(
        {
            "name": "documented catches up",
            "config": {"apiKey": "rf-diff-undo"},
            "events": [
                {"type": "track", "userId": "u-1", "event": "Opened", "traits": {}},
                {
                    "type": "track",
                    "userId": "u-1",
                    "event": "Opened",
                    "context": {"traits": {"email": "ada@example.test"}},
                },
                {
                    "type": "identify",
                    "userId": "u-1",
                    "traits": {"email": "ada@example.test"},
                    "properties": {"email": "ada@example.test"},
                },
            ],
        }
    )

    status, out, _ = run(
        ["diff", "--profile", "rudderstack", "--profile", "documented", str(path)],
        capsys,
    )

    assert status == 1
    lines = out.splitlines()
    assert [line for line in lines if "state:" in line or "events[" in line] == [
        "  events[1] track",
        '    state: contact u-1, email: "ada@example.test" (A) vs null (B)',
        "  events[2] identify",
        '    state: contact u-1, attribute userId: "u-1" (A) vs absent (B)',
        "    state: contact u-1, email: now the same",
    ]


def test_the_same_profile_twice_differs_nowhere(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)

    status, out, err = run(
        ["diff", "--profile", "documented", "--profile", "documented"], capsys
    )

    assert (status, err) == (0, "")
    assert out == (
        "A: documented\nB: documented\n\nno differences in 90 events from 46 sources\n"
    )


def test_fuzzed_events_are_drawn_alike_for_a_seed(capsys):
    arguments = ["diff", "--profile", "rudderstack", "--profile", "documented"]
    arguments += ["--fuzz", "12", "--seed", "5", "--format", "json"]

    first = run(arguments, capsys)
    again = run(arguments, capsys)

    assert first == again
    status, out, err = first
    assert (status, err) == (1, "")
    report = json.loads(out)
    assert report["events"] == 12
    assert 0 < report["differing_events"] <= 12
    assert [source["path"] for source in report["sources"]] == [None] * len(
        report["sources"]
    )
    assert report["sources"][0]["name"] == "fuzz example 1 (seed 5)"


def test_fuzzing_one_profile_against_itself_finds_nothing(capsys):
    status, out, _ = run(
        ["diff", "--profile", "rudderstack", "--profile", "rudderstack"]
        + ["--fuzz", "8"],
        capsys,
    )

    assert status == 0
    assert out.startswith(
        "A: rudderstack\nB: rudderstack\n\nno differences in 8 events"
    )


def test_fuzz_sources_hold_exactly_the_events_asked_for():
    sources = fuzz_sources(9, seed=2)

    assert sum(len(source.events) for source in sources) == 9
    assert fuzz_sources(9, seed=2) == sources
    report = diff(sources, "rudderstack", "rudderstack")
    assert (report.events, report.differing_events) == (9, 0)


def test_json_lines_and_scenarios_can_be_mixed_and_each_file_is_read_once(vectors):
    scenario = DIFFERENCES / "12-group-account-id.yaml"

    sources = read_sources([vectors, DIFFERENCES, scenario, vectors])

    assert [source.name for source in sources][:2] == [
        "vectors.jsonl",
        "difference 1, identify: the user id key",
    ]
    assert len(sources) == 13
    assert sources[0].events[0] == (CASES[0]["message"], CASES[0]["config"])


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (
            ["--profile", "rudderstack"],
            "diff compares two mappers: give --profile twice, not 1 time",
        ),
        (
            ["--profile", "rudderstack", "--profile", "documented", "--profile", "x"],
            "diff compares two mappers: give --profile twice, not 3 times",
        ),
        (
            ["--profile", "rudderstack", "--profile", "documented", "scenarios"]
            + ["--fuzz", "3"],
            "diff takes scenario paths or --fuzz N, not both",
        ),
        (
            ["--profile", "rudderstack", "--profile", "documented", "--seed", "3"],
            "--seed goes with --fuzz N",
        ),
        (
            ["--profile", "rudderstack", "--profile", "nope"],
            "unknown profile 'nope' (known: documented, rudderstack)",
        ),
        (
            ["--profile", "rudderstack", "--profile", "documented", "no/such/path"],
            "no/such/path: no such file or directory",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(arguments, problem, capsys):
    assert run(["diff", *arguments], capsys) == (2, "", f"refiner-harness: {problem}\n")


def test_a_bad_json_lines_file_is_named_with_its_line(tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text('{"config": {}, "message": {}}\n[1]\n', encoding="utf-8")

    assert run(
        ["diff", "--profile", "rudderstack", "--profile", "documented", str(path)],
        capsys,
    ) == (2, "", f"refiner-harness: {path}: line 2: expected a JSON object\n")


def test_an_empty_folder_has_no_scenarios(tmp_path, capsys):
    assert run(
        ["diff", "--profile", "rudderstack", "--profile", "documented", str(tmp_path)],
        capsys,
    ) == (2, "", f"refiner-harness: no scenario files in {tmp_path}\n")


def test_diff_needs_its_profiles(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["diff", "scenarios"])

    assert stopped.value.code == 2
    assert capsys.readouterr().err.endswith(
        "refiner-harness diff: error: the following arguments are required: --profile\n"
    )
