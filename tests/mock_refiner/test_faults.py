"""Fault rules without a server: the spec parser, JSON rules, matching and the order,
`times` and seeded `probability` of the faults a sequence of calls gets."""

import threading

import httpx
import pytest

from mock_refiner import MockRefiner, create_app
from mock_refiner.faults import (
    DroppedConnection,
    FaultError,
    FaultInjector,
    FaultRule,
    FaultRules,
    parse_fault,
)
from tests.mock_refiner.conftest import KEY, deterministic_settings

IDENTIFY = "/v1/identify-user"
SEED_7_FAULTED = [1, 3, 6, 8, 10, 11, 14, 15]
"""The calls, counted from 0, that `probability=0.3,seed=7` faults among 20."""


@pytest.mark.parametrize(
    ("text", "rule", "spec"),
    [
        (
            "status=503,path=/v1/identify-user,times=2",
            FaultRule(status=503, path=IDENTIFY, times=2),
            "status=503,path=/v1/identify-user,times=2",
        ),
        (
            "delay=1500,path=/v1/*",
            FaultRule(delay_ms=1500, path="/v1/*"),
            "delay=1500,path=/v1/*",
        ),
        (
            "drop,path=/v1/track-event,probability=0.3,seed=7",
            FaultRule(drop=True, path="/v1/track-event", probability=0.3, seed=7),
            "drop,path=/v1/track-event,probability=0.3,seed=7",
        ),
        (
            "429,retry-after=30,times=1",
            FaultRule(status=429, retry_after=30, times=1),
            "status=429,retry-after=30,times=1",
        ),
        (
            " status = 500 , method=post ,path=/v1/track ",
            FaultRule(status=500, method="POST", path="/v1/track"),
            "status=500,path=/v1/track,method=POST",
        ),
        ("delay=250ms,drop", FaultRule(delay_ms=250, drop=True), "drop,delay=250"),
        (
            "delay=0,status=502,probability=1",
            FaultRule(delay_ms=0, status=502, probability=1.0, seed=0),
            "status=502,delay=0,probability=1.0,seed=0",
        ),
        (
            'status=503,times=3,body={"error": "down", "codes": [1, 2]}',
            FaultRule(status=503, times=3, body={"error": "down", "codes": [1, 2]}),
            'status=503,times=3,body={"error":"down","codes":[1,2]}',
        ),
    ],
)
def test_a_spec_gives_its_rule_and_reads_back_the_same(text, rule, spec):
    parsed = parse_fault(text)

    assert parsed == rule
    assert parsed.spec() == spec
    assert parse_fault(parsed.spec()) == parsed


@pytest.mark.parametrize("probability", [1e-05, 5e-324, 2.5e-1, 1e-300])
def test_a_probability_in_exponent_form_reads_back(probability):
    rule = FaultRule(status=503, probability=probability)

    assert parse_fault(rule.spec()) == rule
    assert parse_fault(f"503,probability={probability!r}").probability == probability


def test_a_body_nested_past_the_limit_is_refused():
    deep: object = "x"
    for _ in range(65):
        deep = [deep]

    with pytest.raises(FaultError, match="^body nests deeper than 64 levels$"):
        FaultRule(status=503, body=deep)

    with pytest.raises(FaultError, match="body nests deeper than 64 levels"):
        parse_fault("503,body=" + "[" * 100_000 + "]" * 100_000)


def test_body_takes_the_rest_of_the_spec_commas_included():
    rule = parse_fault('status=503,body=["a,b", "status=500"]')

    assert (rule.status, rule.body) == (503, ["a,b", "status=500"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a fault spec must not be empty"),
        ("  ", "a fault spec must not be empty"),
        (
            "status=abc",
            "fault spec 'status=abc': status must be an HTTP error status from 400 "
            'to 599, not "abc"',
        ),
        (
            "200",
            "fault spec '200': status must be an HTTP error status from 400 to 599, "
            "not 200",
        ),
        (
            "status=503,,times=2",
            "fault spec 'status=503,,times=2': empty item at character 11",
        ),
        ("status=503,", "fault spec 'status=503,': empty item at character 11"),
        (
            "status=503,retry=5",
            "fault spec 'status=503,retry=5': unknown item 'retry=5'; items are drop, "
            "a status, or key=value with key one of path, method, status, body, "
            "retry-after, delay, times, probability, seed",
        ),
        (
            "dorp",
            "fault spec 'dorp': unknown item 'dorp'; items are drop, a status, or "
            "key=value with key one of path, method, status, body, retry-after, "
            "delay, times, probability, seed",
        ),
        (
            "drop=true",
            "fault spec 'drop=true': unknown item 'drop=true'; items are drop, a "
            "status, or key=value with key one of path, method, status, body, "
            "retry-after, delay, times, probability, seed",
        ),
        (
            "503,status=504",
            "fault spec '503,status=504': status is given twice",
        ),
        ("drop,drop", "fault spec 'drop,drop': drop is given twice"),
        (
            "status=503,drop",
            "fault spec 'status=503,drop': status and drop exclude each other",
        ),
        (
            "retry-after=30",
            "fault spec 'retry-after=30': retry-after needs status",
        ),
        (
            "429,retry-after=-1",
            "fault spec '429,retry-after=-1': retry-after must be seconds from 0 to "
            "31536000, not -1",
        ),
        (
            "delay=1.5s",
            "fault spec 'delay=1.5s': delay must be milliseconds from 0 to 600000, "
            'not "1.5s"',
        ),
        (
            "delay=600001",
            "fault spec 'delay=600001': delay must be milliseconds from 0 to 600000, "
            "not 600001",
        ),
        (
            "drop,times=0",
            "fault spec 'drop,times=0': times must be a whole number from 1 to "
            "1000000000, not 0",
        ),
        (
            "drop,times=two",
            "fault spec 'drop,times=two': times must be a whole number from 1 to "
            '1000000000, not "two"',
        ),
        (
            "drop,probability=1.5",
            "fault spec 'drop,probability=1.5': probability must be a number from "
            "0 to 1, not 1.5",
        ),
        (
            "drop,probability=30%",
            "fault spec 'drop,probability=30%': probability must be a number from "
            '0 to 1, not "30%"',
        ),
        (
            "drop,probability=0.5,seed=-7",
            "fault spec 'drop,probability=0.5,seed=-7': seed must be a whole number "
            "from 0 to 18446744073709551615, not -7",
        ),
        ("drop,seed=7", "fault spec 'drop,seed=7': seed needs probability"),
        (
            "path=/v1/*",
            "fault spec 'path=/v1/*': a fault needs status, delay or drop",
        ),
        (
            "drop,path=v1/track",
            "fault spec 'drop,path=v1/track': path must be text starting with / or "
            '*, not "v1/track"',
        ),
        (
            "drop,path=",
            "fault spec 'drop,path=': path must be text starting with / or *, not \"\"",
        ),
        (
            "drop,path=/v1/contact?id=1",
            "fault spec 'drop,path=/v1/contact?id=1': path must hold no query, "
            'fragment, comma or whitespace: "/v1/contact?id=1"',
        ),
        (
            "500,path=/__mock/state",
            "fault spec '500,path=/__mock/state': path \"/__mock/state\" is under "
            "/__mock, which is never faulted",
        ),
        (
            "drop,method=PO-ST",
            "fault spec 'drop,method=PO-ST': method must be an HTTP method such as "
            'POST, not "PO-ST"',
        ),
        (
            "drop,body={}",
            "fault spec 'drop,body={}': body needs status",
        ),
        (
            "503,body={'a': 1}",
            "fault spec \"503,body={'a': 1}\": body is not valid JSON: Expecting "
            "property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            "503,body=NaN",
            "fault spec '503,body=NaN': body is not valid JSON: NaN is not a JSON "
            "number",
        ),
    ],
)
def test_a_bad_spec_is_a_value_error_naming_the_bad_part(text, message):
    with pytest.raises(ValueError) as raised:
        parse_fault(text)

    assert raised.type is FaultError
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        ({"status": 503, "times": 2}, FaultRule(status=503, times=2)),
        (
            {"path": "/v1/*", "method": "get", "delay_ms": 10},
            FaultRule(path="/v1/*", method="GET", delay_ms=10),
        ),
        (
            {"drop": True, "probability": 0.25, "seed": 3, "method": None},
            FaultRule(drop=True, probability=0.25, seed=3),
        ),
        (
            {"status": 429, "retry_after": 7, "body": {"message": "slow down"}},
            FaultRule(status=429, retry_after=7, body={"message": "slow down"}),
        ),
        ({"spec": "429,retry-after=7"}, FaultRule(status=429, retry_after=7)),
    ],
)
def test_a_json_rule_gives_its_rule(document, rule):
    assert FaultRule.from_json(document) == rule


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "a fault rule must be a JSON object, not []"),
        ("drop", 'a fault rule must be a JSON object, not "drop"'),
        ({}, "a fault needs status, delay_ms or drop"),
        (
            {"status": 503, "retry": 5},
            'unknown field "retry"; the fields are path, method, status, body, '
            "retry_after, delay_ms, drop, times, probability, seed",
        ),
        (
            {"status": "503"},
            'status must be an HTTP error status from 400 to 599, not "503"',
        ),
        (
            {"status": True},
            "status must be an HTTP error status from 400 to 599, not true",
        ),
        (
            {"status": 503.0},
            "status must be an HTTP error status from 400 to 599, not 503.0",
        ),
        ({"drop": "yes"}, 'drop must be true or false, not "yes"'),
        (
            {"drop": True, "times": 1.5},
            "times must be a whole number from 1 to 1000000000, not 1.5",
        ),
        (
            {"drop": True, "probability": True},
            "probability must be a number from 0 to 1, not true",
        ),
        (
            {"drop": True, "probability": -0.1},
            "probability must be a number from 0 to 1, not -0.1",
        ),
        ({"delay_ms": None}, "a fault needs status, delay_ms or drop"),
        (
            {"status": 503, "retry_after": "7"},
            'retry_after must be seconds from 0 to 31536000, not "7"',
        ),
        ({"drop": True, "body": {"error": "x"}}, "body needs status"),
        ({"drop": True, "path": 5}, "path must be text starting with / or *, not 5"),
        (
            {"drop": True, "path": "/__mock"},
            'path "/__mock" is under /__mock, which is never faulted',
        ),
        (
            {"drop": True, "path": "/v1/a b"},
            'path must hold no query, fragment, comma or whitespace: "/v1/a b"',
        ),
        (
            {"drop": True, "path": "/" + "a" * 2048},
            "path must be at most 2048 characters long",
        ),
        (
            {"drop": True, "method": ""},
            'method must be an HTTP method such as POST, not ""',
        ),
        ({"spec": "drop", "times": 1}, "spec cannot be given with other fields: times"),
        ({"spec": 5}, "spec must be text, not 5"),
        (
            {"spec": "dorp"},
            "fault spec 'dorp': unknown item 'dorp'; items are drop, a status, or "
            "key=value with key one of path, method, status, body, retry-after, "
            "delay, times, probability, seed",
        ),
    ],
)
def test_a_bad_json_rule_names_the_field(document, message):
    with pytest.raises(FaultError) as raised:
        FaultRule.from_json(document)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("rule_path", "path", "matches"),
    [
        ("/v1/identify-user", "/v1/identify-user", True),
        ("/v1/identify-user", "/v1/identify-user/", False),
        ("/v1/contact", "/v1/contacts", False),
        ("/v1/*", "/v1/identify-user", True),
        ("/v1/*", "/v1/forms/publish", True),
        ("/v1/*", "/v1/", True),
        ("/v1/*", "/v1", False),
        ("/v1/*", "/v2/identify-user", False),
        ("/v1/*", "/rudderstack/v1/batch", False),
        ("/v1*", "/v1", True),
        ("*", "/", True),
        ("*", "/rudderstack/v1/batch", True),
        ("*/batch", "/rudderstack/v1/batch", True),
        ("/v1/*-event", "/v1/track-event", True),
        ("/v1/*-event", "/v1/track", False),
        ("/v1/a.b", "/v1/aXb", False),
        ("/v1/[x]", "/v1/[x]", True),
        ("/v1/[x]", "/v1/x", False),
    ],
)
def test_paths_match_exactly_or_as_globs(rule_path, path, matches):
    rule = FaultRule(path=rule_path, drop=True)

    assert rule.matches("POST", path) is matches


def test_a_method_limits_a_rule_to_that_method():
    rule = FaultRule(path="/v1/contacts", method="get", status=500)

    assert [
        rule.matches(method, "/v1/contacts") for method in ("GET", "get", "POST")
    ] == [
        True,
        True,
        False,
    ]
    assert FaultRule(path="/v1/contacts", status=500).matches("DELETE", "/v1/contacts")


def numbers(rules: FaultRules, calls: list[tuple[str, str]]) -> list[int | None]:
    """The number of the rule that faults each call, None for no fault."""
    faults = [rules.pick(method, path) for method, path in calls]
    return [fault.number if fault else None for fault in faults]


def test_times_faults_the_next_n_matching_calls_then_the_rule_is_used_up():
    rules = FaultRules()
    rules.add(parse_fault("status=503,path=/v1/identify-user,times=2"))

    calls = [("POST", "/v1/track"), *[("POST", IDENTIFY)] * 3, ("POST", IDENTIFY)]

    assert numbers(rules, calls) == [None, 1, 1, None, None]
    assert [(view["faulted"], view["remaining"]) for view in rules.views()] == [(2, 0)]


def test_rules_apply_in_the_order_added_the_first_live_match_wins():
    rules = FaultRules()
    rules.add(parse_fault("status=503,path=/v1/identify-user,times=2"))
    rules.add(parse_fault("429,retry-after=7,path=/v1/identify-user,times=1"))
    rules.add(parse_fault("500,path=/v1/*,times=1"))

    calls = [("POST", IDENTIFY)] * 5 + [("POST", "/v1/track")] * 2

    assert numbers(rules, calls) == [1, 1, 2, 3, None, None, None]


def test_seed_7_faults_the_same_calls_every_run():
    expected = [index in SEED_7_FAULTED for index in range(20)]

    for _ in range(2):
        rules = FaultRules()
        rules.add(parse_fault("drop,path=/v1/track-event,probability=0.3,seed=7"))

        faults = [rules.pick("POST", "/v1/track-event") for _ in range(20)]

        assert [fault is not None for fault in faults] == expected


def test_only_matching_calls_draw_so_other_calls_do_not_shift_the_sequence():
    rules = FaultRules()
    rules.add(parse_fault("drop,path=/v1/track-event,probability=0.3,seed=7"))

    faulted = []
    for index in range(20):
        assert rules.pick("POST", "/v1/identify-user") is None
        assert rules.pick("GET", "/") is None
        if rules.pick("POST", "/v1/track-event"):
            faulted.append(index)

    assert faulted == SEED_7_FAULTED


def test_another_seed_gives_another_sequence():
    rules = FaultRules()
    rules.add(parse_fault("drop,probability=0.3,seed=8"))

    faulted = [index for index in range(20) if rules.pick("POST", "/v1/track")]

    assert faulted != SEED_7_FAULTED
    assert faulted == [0, 2, 4, 5, 7, 12, 14, 15, 16, 17]


def test_a_rule_that_draws_no_fault_passes_the_call_to_the_next_rule():
    rules = FaultRules()
    rules.add(parse_fault("drop,probability=0.3,seed=7"))
    rules.add(parse_fault("503"))

    picked = numbers(rules, [("POST", "/v1/track")] * 20)

    assert picked == [1 if index in SEED_7_FAULTED else 2 for index in range(20)]


def test_probability_with_times_stops_after_n_faults():
    rules = FaultRules()
    rules.add(parse_fault("drop,probability=0.3,seed=7,times=3"))

    faulted = [index for index in range(20) if rules.pick("POST", "/v1/track")]

    assert faulted == SEED_7_FAULTED[:3]


def test_views_show_each_rule_with_its_counts():
    rules = FaultRules()
    added = rules.add(parse_fault("429,retry-after=7,path=/v1/*,method=POST,times=2"))
    rules.add(parse_fault("delay=20,probability=0.5"))
    rules.pick("POST", IDENTIFY)

    assert added == {
        "id": 1,
        "spec": "status=429,retry-after=7,path=/v1/*,method=POST,times=2",
        "path": "/v1/*",
        "method": "POST",
        "status": 429,
        "body": None,
        "retry_after": 7,
        "delay_ms": None,
        "drop": False,
        "times": 2,
        "probability": None,
        "seed": None,
        "faulted": 0,
        "remaining": 2,
    }
    assert [
        (view["id"], view["faulted"], view["remaining"]) for view in rules.views()
    ] == [
        (1, 1, 1),
        (2, 0, None),
    ]
    assert rules.views()[1]["seed"] == 0


def test_clear_removes_every_rule_and_numbers_start_again():
    rules = FaultRules()
    rules.add(parse_fault("503"))
    rules.add(parse_fault("drop"))

    assert rules.clear() == 2
    assert (len(rules), rules.pick("GET", "/v1")) == (0, None)
    assert rules.add(parse_fault("drop"))["id"] == 1


def test_add_takes_only_a_fault_rule():
    with pytest.raises(TypeError, match="expected a FaultRule, not str"):
        FaultRules().add("503")  # type: ignore[arg-type]


def test_times_holds_under_concurrent_calls():
    rules = FaultRules()
    rules.add(parse_fault("503,times=300"))
    faulted = []

    def call_many() -> None:
        picked = [rules.pick("POST", "/v1/track") for _ in range(100)]
        faulted.append(sum(fault is not None for fault in picked))

    threads = [threading.Thread(target=call_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(faulted) == 300
    assert rules.views()[0]["remaining"] == 0


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("503", "injected fault: status 503 (rule 1)"),
        ("429,retry-after=7", "injected fault: status 429, Retry-After 7 (rule 1)"),
        ("drop", "injected fault: drop connection (rule 1)"),
        ("delay=1500", "injected fault: delay 1500 ms (rule 1)"),
        ("delay=100,503", "injected fault: delay 100 ms, then status 503 (rule 1)"),
        (
            "delay=100,drop",
            "injected fault: delay 100 ms, then drop connection (rule 1)",
        ),
    ],
)
def test_a_fault_note_says_what_was_injected(text, note):
    rules = FaultRules()
    rules.add(parse_fault(text))

    assert rules.pick("POST", "/v1/track").note == note


@pytest.mark.parametrize(
    ("rule", "body"),
    [
        (FaultRule(status=503), {"error": "Injected fault: 503 Service Unavailable"}),
        (FaultRule(status=499), {"error": "Injected fault: 499 Error"}),
        (FaultRule(status=500, body=["down"]), ["down"]),
    ],
)
def test_a_status_fault_answers_its_body_or_an_error(rule, body):
    assert rule.reply_body() == body


def test_in_process_a_drop_raises_dropped_connection_and_the_app_goes_on():
    app = create_app(deterministic_settings())
    app.extensions["mock_refiner"].faults.add(parse_fault("drop,times=1"))
    transport = httpx.WSGITransport(app=app)
    bearer = {"Authorization": f"Bearer {KEY}"}

    with httpx.Client(transport=transport, base_url="http://mock") as client:
        with pytest.raises(
            DroppedConnection, match="injected fault: connection dropped"
        ):
            client.post(IDENTIFY, json={"id": "u1"}, headers=bearer)

        after = client.post(IDENTIFY, json={"id": "u1"}, headers=bearer)

    assert after.status_code == 200
    assert [
        call["status"] for call in app.extensions["mock_refiner"].journal.calls()
    ] == [
        None,
        200,
    ]


def test_a_delay_notes_only_the_mock_call_of_the_delayed_path():
    mock = MockRefiner(deterministic_settings())
    mock.faults.add(parse_fault("delay=0,path=/outer"))
    mock.faults.add(parse_fault("delay=0,path=/v1"))

    def outer_app(environ: dict, start_response) -> list[bytes]:
        mock.handle("GET", "/v1", b"", {"Authorization": f"Bearer {KEY}"}, b"")
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    transport = httpx.WSGITransport(app=FaultInjector(outer_app, mock))
    with httpx.Client(transport=transport, base_url="http://mock") as client:
        client.get("/outer")
        client.get("/v1")

    assert [call["notes"] for call in mock.journal.calls()] == [
        [],
        ["injected fault: delay 0 ms (rule 2)"],
    ]
