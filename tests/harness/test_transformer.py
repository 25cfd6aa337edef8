"""A transformer URL as the mapper: every recorded case, batching, and each failure."""

from __future__ import annotations

import json
import logging
import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from respx.models import AllMockedAssertionError
from werkzeug.wrappers import Request, Response

from harness.cli import main
from harness.mapper import MappingError, get_mapper, map_event, map_many
from harness.runner import run_scenario
from harness.scenario import load_scenario
from harness.transformer import (
    TransformerError,
    TransformerMapper,
    configure,
    request_item,
)
from harness.transport import in_process
from tests.conftest import VECTORS, load_vector_cases
from tests.harness.transformer_fake import (
    Recorder,
    TransformerFake,
    answering,
    raw,
    serving,
)

CASES = load_vector_cases()
SDK_NODE = CASES[65:70]
"""The analytics-node batch: five messages sharing the config ``rf-sdk-node``."""
ENDPOINT = "https://api.refiner.io/v1/track"


def expected_outcome(case):
    expect = case["expect"]
    if "request" in expect:
        return {"request": expect["request"]}
    return {"error": {"status": expect["status"], "message": expect["error"]}}


def outcome_json(outcome):
    if isinstance(outcome, MappingError):
        return {"error": outcome.to_json()}
    return {"request": outcome.to_json()}


def vector_lines(cases) -> str:
    return "".join(
        json.dumps({"config": case["config"], "message": case["message"]}) + "\n"
        for case in cases
    )


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[str, TransformerFake]]:
    """The fake transformer on loopback, shared by the tests of this module."""
    fake = TransformerFake(CASES)
    with serving(fake) as url:
        yield url, fake


@pytest.fixture
def transformer(recorded) -> tuple[str, TransformerFake]:
    """The shared fake, with its record of requests emptied."""
    url, fake = recorded
    fake.batches.clear()
    fake.job_ids.clear()
    fake.authorizations.clear()
    configure(url)
    return url, fake


@pytest.fixture
def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_every_recorded_case_through_the_transformer_url(case, transformer):
    url, _ = transformer
    expect = case["expect"]

    if "request" in expect:
        request = map_event(case["message"], case["config"], url)
        assert request.to_json() == expect["request"]
        assert list(request.form) == list(expect["request"]["form"])
    else:
        with pytest.raises(MappingError) as refusal:
            map_event(case["message"], case["config"], url)
        assert (refusal.value.status, refusal.value.message) == (
            expect["status"],
            expect["error"],
        )


def test_seventy_events_in_batches_of_sixteen_make_five_requests_in_order(
    transformer,
):
    url, fake = transformer
    mapper = TransformerMapper(url, batch_size=16)

    outcomes = mapper.map_many([(case["message"], case["config"]) for case in CASES])

    assert fake.batches == [16, 16, 16, 16, 6]
    assert mapper.requests == 5
    assert fake.job_ids == list(range(1, 71))
    assert [outcome_json(outcome) for outcome in outcomes] == [
        expected_outcome(case) for case in CASES
    ]


def test_job_ids_count_on_from_one_batch_to_the_next(transformer):
    url, fake = transformer
    mapper = TransformerMapper(url, batch_size=2)

    mapper.map_many([(case["message"], case["config"]) for case in CASES[:3]])
    mapper.map_many([(case["message"], case["config"]) for case in CASES[3:5]])

    assert fake.batches == [2, 1, 2]
    assert fake.job_ids == [1, 2, 3, 4, 5]


def test_map_many_gives_built_in_profiles_and_urls_the_same_outcomes(transformer):
    url, fake = transformer
    pairs = [(case["message"], case["config"]) for case in CASES]

    built_in = map_many(get_mapper("rudderstack"), pairs)
    asked = map_many(get_mapper(url), pairs)

    assert [outcome_json(outcome) for outcome in asked] == [
        outcome_json(outcome) for outcome in built_in
    ]
    assert fake.batches == [70]


def test_request_items_have_the_shape_of_the_recorded_example():
    example = json.loads(VECTORS.read_text(encoding="utf-8"))["request_item_example"]
    case = CASES[0]

    item = request_item(case["message"], case["config"], 7)

    assert list(item) == list(example)
    assert list(item["destination"]) == list(example["destination"])
    assert list(item["destination"]["DestinationDefinition"]) == list(
        example["destination"]["DestinationDefinition"]
    )
    assert list(item["metadata"]) == list(example["metadata"])
    assert item["message"] == case["message"]
    assert item["destination"]["Config"] == case["config"]
    assert item["destination"]["DestinationDefinition"]["Name"] == "REFINER"
    assert item["metadata"]["jobId"] == 7


def test_map_command_asks_the_transformer_in_batches_and_keeps_line_order(
    transformer, tmp_path, capsys
):
    url, fake = transformer
    source = tmp_path / "vectors.jsonl"
    source.write_text(vector_lines(CASES) + "[1, 2]\n", encoding="utf-8")

    assert (
        main(["map", str(source), "--profile", url, "--transformer-batch", "16"]) == 0
    )

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [expected_outcome(case) for case in CASES] + [
        {"error": {"status": 400, "message": "line 71: expected a JSON object"}}
    ]
    assert fake.batches == [16, 16, 16, 16, 6]


SDK_NODE_SCENARIO = {
    "name": "analytics-node batch through the transformer",
    "config": SDK_NODE[0]["config"],
    "events": [case["message"] for case in SDK_NODE],
    "expect": {
        "counts": {"contacts": 2, "accounts": 1, "events": 2, "rejected": 1},
        "rejected": [
            {
                "index": 4,
                "type": "page",
                "status": 400,
                "message": "At least one of `userId` or `email` is required",
            }
        ],
    },
    "expect_by_profile": {
        "rudderstack": {
            "contacts": [
                {
                    "remote_id": None,
                    "email": "wren@example.test",
                    "attributes": {"seats": 27, "userId": "node-user-7373"},
                },
                {"remote_id": "node-user-7373", "account": {"remote_id": "acct-7373"}},
            ],
            "accounts": [
                {"remote_id": "acct-7373", "attributes": {"employees": "2.4e+06"}}
            ],
            "events": [
                {"name": "Comment Posted", "contact": {"remote_id": "node-user-7373"}},
                {
                    "name": "Viewed Workspace Members Page",
                    "contact": {"remote_id": "node-user-7373"},
                },
            ],
        },
        "documented": {"contacts": [{"remote_id": "no such contact"}]},
    },
}


def test_a_scenario_replays_through_the_transformer_in_one_request(
    transformer, write_scenario
):
    url, fake = transformer
    scenario = load_scenario(write_scenario(SDK_NODE_SCENARIO))

    result = run_scenario(scenario, url)

    assert result.error is None
    assert result.mismatches == []
    assert result.profile == url
    assert fake.batches == [5]
    assert run_scenario(scenario, "rudderstack").passed


def test_the_run_command_takes_a_transformer_url_and_its_batch_size(
    transformer, write_scenario, capsys
):
    url, fake = transformer
    path = write_scenario(SDK_NODE_SCENARIO)

    arguments = ["run", str(path), "--profile", url, "--transformer-batch", "2"]
    assert main([*arguments, "--format", "json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert [
        (result["profile"], result["passed"], result["delivered"], result["rejected"])
        for result in document["results"]
    ] == [(url, True, 4, 1)]
    assert fake.batches == [2, 2, 1]


def test_the_transformer_is_reached_past_the_in_process_router_and_nothing_else(
    transformer,
):
    url, fake = transformer
    mapper = TransformerMapper(url)

    with in_process() as connection:
        [request] = mapper.map_many([(CASES[0]["message"], CASES[0]["config"])])
        with pytest.raises(AllMockedAssertionError):
            connection.client.get(f"{url}/elsewhere")
        with pytest.raises(AllMockedAssertionError):
            httpx.get(f"{url}/v0/destinations/refiner")

    assert request.to_json() == CASES[0]["expect"]["request"]
    assert fake.batches == [1]


def failure(url: str, problem: str) -> str:
    return (
        f"refiner-harness: transformer {url}: POST /v0/destinations/refiner {problem}\n"
    )


@pytest.mark.parametrize(
    ("fault", "options", "problem"),
    [
        ("error", [], "answered 500: transformer crashed"),
        (
            "not-json",
            [],
            "replied with text that is not JSON: <html>Bad Gateway</html>",
        ),
        ("short", [], "got 2 replies for 3 events"),
        ("slow", ["--transformer-timeout", "0.2"], "gave no reply within 0.2 s"),
    ],
)
def test_a_misbehaving_transformer_is_one_line_and_exit_2(
    fault, options, problem, tmp_path, capsys
):
    source = tmp_path / "three.jsonl"
    source.write_text(vector_lines(CASES[:3]), encoding="utf-8")

    with serving(TransformerFake(CASES, fault=fault, delay=1.0)) as url:
        assert main(["map", str(source), "--profile", url, *options]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == failure(url, problem)


def test_a_message_the_fake_never_recorded_is_refused_with_400(transformer, tmp_path):
    url, _ = transformer
    unknown = {"type": "identify", "userId": "never-recorded"}

    with pytest.raises(TransformerError) as refused:
        TransformerMapper(url).map_many([(unknown, {"apiKey": "rf-x"})])

    assert str(refused.value) == (
        f"transformer {url}: POST /v0/destinations/refiner answered 400: "
        '{"error": "item 1: no recorded case has this message and config"}'
    )


def test_a_transformer_that_is_down_stops_map_run_and_diff_with_exit_2(
    free_port, tmp_path, write_scenario, capsys
):
    url = f"http://127.0.0.1:{free_port}"
    down = (
        f"refiner-harness: transformer {url} cannot be reached: "
        "POST /v0/destinations/refiner: [Errno 111] Connection refused\n"
    )
    source = tmp_path / "one.jsonl"
    source.write_text(vector_lines(CASES[:1]), encoding="utf-8")
    scenario = str(write_scenario(SDK_NODE_SCENARIO))

    assert main(["map", str(source), "--profile", url]) == 2
    assert capsys.readouterr().err == down
    assert main(["run", scenario, "--profile", url]) == 2
    assert capsys.readouterr() == ("", down)
    assert main(["diff", scenario, "--profile", "rudderstack", "--profile", url]) == 2
    assert capsys.readouterr() == ("", down)


def replying(replies):
    """A WSGI app that answers every request with ``replies`` as JSON."""

    def app(environ, start_response):
        Request(environ).get_data()
        response = Response(json.dumps(replies), mimetype="application/json")
        return response(environ, start_response)

    return app


@pytest.mark.parametrize(
    ("replies", "problem"),
    [
        ({"statusCode": 200}, "replied with an object, not a list"),
        (
            [{"statusCode": 400, "error": "x", "metadata": {"jobId": 2}}],
            "reply 1 has metadata.jobId 2: not one of the jobIds sent (1 to 1), or "
            "one already answered",
        ),
        (
            [{"statusCode": 400, "error": "x"}],
            "reply 1 has metadata.jobId null: not one of the jobIds sent (1 to 1), "
            "or one already answered",
        ),
    ],
)
def test_replies_that_cannot_be_matched_to_the_events_are_refused(replies, problem):
    with serving(replying(replies)) as url, pytest.raises(TransformerError) as refused:
        TransformerMapper(url).map_many([({"type": "track"}, {"apiKey": "rf-x"})])

    assert str(refused.value) == (
        f"transformer {url}: POST /v0/destinations/refiner {problem}"
    )


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (None, " has statusCode 200 but no output object"),
        (
            {"method": "POST", "endpoint": 1, "headers": {}, "body": {"FORM": {}}},
            ": output.method and output.endpoint must be text",
        ),
        (
            {"method": "POST", "endpoint": ENDPOINT, "headers": {"A": 1}, "body": {}},
            ": output.headers must map names to text",
        ),
        (
            {"method": "POST", "endpoint": ENDPOINT, "headers": {}, "body": {}},
            ": output.body.FORM must be an object",
        ),
        (
            {
                "method": "POST",
                "endpoint": ENDPOINT,
                "headers": {},
                "params": {"a": 1},
                "body": {"FORM": {}, "JSON": {"a": 1}},
            },
            " carries params, JSON, which the harness cannot deliver (only body.FORM)",
        ),
    ],
)
def test_a_success_reply_without_a_usable_request_is_refused(output, problem):
    reply = {"statusCode": 200, "metadata": {"jobId": 1}, "output": output}

    with serving(replying([reply])) as url, pytest.raises(TransformerError) as refused:
        TransformerMapper(url).map_many([({"type": "track"}, {"apiKey": "rf-x"})])

    where = f"transformer {url}: POST /v0/destinations/refiner: the reply for jobId 1"
    assert str(refused.value) == f"{where}{problem}"


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        (
            "http://",
            "transformer URL 'http://' must be an http or https URL with a host and "
            "no query, such as http://127.0.0.1:9090",
        ),
        (
            "http://127.0.0.1:9090/?batch=2",
            "transformer URL 'http://127.0.0.1:9090/?batch=2' must be an http or "
            "https URL with a host and no query, such as http://127.0.0.1:9090",
        ),
        (
            "http://127.0.0.1:99999",
            "transformer URL 'http://127.0.0.1:99999' is not valid: "
            "Port out of range 0-65535",
        ),
    ],
)
def test_a_url_profile_that_is_not_usable_exits_2(profile, problem, tmp_path, capsys):
    source = tmp_path / "empty.jsonl"
    source.write_text("", encoding="utf-8")

    assert main(["map", str(source), "--profile", profile]) == 2
    assert capsys.readouterr().err == f"refiner-harness: {problem}\n"


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--transformer-batch", "0", "0 is not 1 or more"),
        ("--transformer-batch", "ten", "'ten' is not a whole number"),
        ("--transformer-timeout", "0", "0 is not a number of seconds above 0"),
        ("--transformer-timeout", "inf", "inf is not a number of seconds above 0"),
        ("--transformer-timeout", "soon", "'soon' is not a number"),
    ],
)
def test_bad_transformer_settings_are_usage_errors(option, value, problem, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["map", "--profile", "http://127.0.0.1:9090", option, value])

    assert stopped.value.code == 2
    assert re.search(
        rf"refiner-harness map: error: argument {option}: {re.escape(problem)}\n$",
        capsys.readouterr().err,
    )


def map_run_and_diff(url, tmp_path, write_scenario, capsys, *options):
    """``map``, ``run`` and ``diff`` with ``url`` as the profile: for each, the exit
    status, stdout and stderr."""
    source = tmp_path / "node.jsonl"
    source.write_text(vector_lines(SDK_NODE), encoding="utf-8")
    scenario = str(write_scenario(SDK_NODE_SCENARIO))

    finished = []
    for arguments in (
        ["map", str(source), "--profile", url],
        ["run", scenario, "--profile", url],
        ["diff", scenario, "--profile", "rudderstack", "--profile", url],
    ):
        status = main([*arguments, *options])
        out, err = capsys.readouterr()
        finished.append((status, out, err))
    return finished


SUCCESS = CASES[0]["reply"]
"""A recorded success: POST https://api.refiner.io/v1/identify-user with a form."""


def success_with(**output):
    return {"statusCode": 200, "output": {**SUCCESS["output"], **output}}


UNREADABLE_REPLIES = [
    pytest.param(
        b"[" * 100_000 + b"]" * 100_000,
        "replied with JSON nested deeper than 110 levels",
        id="nested-100000",
    ),
    pytest.param(
        b"[" * 111 + b"]" * 111,
        "replied with JSON nested deeper than 110 levels",
        id="nested-111",
    ),
    pytest.param(
        b'[{"statusCode": NaN}]',
        "replied with text that is not JSON: NaN is not a JSON number",
        id="nan",
    ),
    pytest.param(
        b'[{"statusCode": 400, "error": -Infinity}]',
        "replied with text that is not JSON: -Infinity is not a JSON number",
        id="infinity",
    ),
    pytest.param(
        b'[{"statusCode": 1e999}]',
        "replied with text that is not JSON: number 1e999 overflows to infinity",
        id="overflowing-float",
    ),
    pytest.param(
        b'[{"statusCode": ' + b"9" * 5000 + b"}]",
        "replied with text that is not JSON: number 999999999999999999999999... "
        "(5000 chars) overflows to infinity",
        id="overflowing-integer",
    ),
    pytest.param(
        b'[{"statusCode": 400, "error": "caf\xe9"}]',
        "replied with text that is not UTF-8: invalid continuation byte at byte 34",
        id="latin-1",
    ),
    pytest.param(
        b'[{"statusCode": 400, "statusCode": 200}]',
        'replied with an object that names "statusCode" twice',
        id="duplicate-key",
    ),
    pytest.param(
        b'"\\u001b[31m[{}]"',
        "replied with text, not a list",
        id="text",
    ),
    pytest.param(
        b"<html>\x1b[31mdown\r\n</html>",
        "replied with text that is not JSON: <html>\\x1b[31mdown </html>",
        id="control-characters",
    ),
]


@pytest.mark.parametrize(("body", "problem"), UNREADABLE_REPLIES)
def test_a_reply_that_cannot_be_read_is_refused(body, problem):
    with serving(raw(body)) as url, pytest.raises(TransformerError) as refused:
        TransformerMapper(url).map_many([({"type": "track"}, {"apiKey": "rf-x"})])

    assert str(refused.value) == (
        f"transformer {url}: POST /v0/destinations/refiner {problem}"
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [UNREADABLE_REPLIES[0], UNREADABLE_REPLIES[2], UNREADABLE_REPLIES[6]],
)
def test_a_reply_that_cannot_be_read_stops_map_run_and_diff_with_exit_2(
    body, problem, tmp_path, write_scenario, capsys
):
    with serving(raw(body)) as url:
        finished = map_run_and_diff(url, tmp_path, write_scenario, capsys)

    assert finished == [(2, "", failure(url, problem))] * 3


UNUSABLE_ITEMS = [
    pytest.param(
        {"statusCode": 1e300, "error": "x"},
        ": statusCode must be a whole number from 100 to 599, not 1e+300",
        id="status-huge",
    ),
    pytest.param(
        {"statusCode": 99, "error": "x"},
        ": statusCode must be a whole number from 100 to 599, not 99",
        id="status-99",
    ),
    pytest.param(
        {"statusCode": "400", "error": "x"},
        ': statusCode must be a whole number from 100 to 599, not "400"',
        id="status-text",
    ),
    pytest.param(
        {"error": "x"},
        ": statusCode must be a whole number from 100 to 599, not absent",
        id="status-absent",
    ),
    pytest.param(
        success_with(endpoint="http://127.0.0.1:1/evil"),
        ': output.endpoint "http://127.0.0.1:1/evil" is not a path under '
        "https://api.refiner.io/v1/ (without query, fragment or dot segments)",
        id="endpoint-elsewhere",
    ),
    pytest.param(
        success_with(endpoint="https://api.refiner.io.example.test/v1/track"),
        ': output.endpoint "https://api.refiner.io.example.test/v1/track" is not a '
        "path under https://api.refiner.io/v1/ (without query, fragment or dot "
        "segments)",
        id="endpoint-other-host",
    ),
    pytest.param(
        success_with(endpoint="https://user:pw@api.refiner.io/v1/track"),
        ': output.endpoint "https://***@api.refiner.io/v1/track" is not a path under '
        "https://api.refiner.io/v1/ (without query, fragment or dot segments)",
        id="endpoint-user",
    ),
    *(
        pytest.param(
            success_with(endpoint=endpoint),
            f": output.endpoint {json.dumps(endpoint)} is not a path under "
            "https://api.refiner.io/v1/ (without query, fragment or dot segments)",
            id=name,
        )
        for name, endpoint in [
            ("endpoint-port", "https://api.refiner.io:8443/v1/track"),
            ("endpoint-http", "http://api.refiner.io/v1/track"),
            ("endpoint-v2", "https://api.refiner.io/v2/track"),
            ("endpoint-base", "https://api.refiner.io/v1"),
            ("endpoint-prefix", "https://api.refiner.io/v1track"),
            ("endpoint-dots", "https://api.refiner.io/v1/../__mock/reset"),
            ("endpoint-encoded-dots", "https://api.refiner.io/v1/%2E%2e/__mock"),
            ("endpoint-query", "https://api.refiner.io/v1/track?api_key=k"),
            ("endpoint-fragment", "https://api.refiner.io/v1/track#x"),
            ("endpoint-space", "https://api.refiner.io/v1/track x"),
            ("endpoint-newline", "https://api.refiner.io/v1/track\r\nHost: x"),
            ("endpoint-backslash", "https://api.refiner.io/v1\\..\\x"),
            ("endpoint-percent", "https://api.refiner.io/v1/%zz"),
            ("endpoint-unicode", "https://api.refiner.io/v1/trück"),
        ]
    ),
    pytest.param(
        success_with(method="post"),
        ': output.method must be one of GET, POST, PUT, PATCH, DELETE, not "post"',
        id="method-lower-case",
    ),
    pytest.param(
        success_with(method="POST /v1/track HTTP/1.1\r\n"),
        ": output.method must be one of GET, POST, PUT, PATCH, DELETE, not "
        '"POST /v1/track HTTP/1.1\\r\\n"',
        id="method-line",
    ),
    pytest.param(
        success_with(headers={"Bad Name": "x"}),
        ': output.headers name "Bad Name" is not an HTTP header name',
        id="header-name",
    ),
    pytest.param(
        success_with(headers={"Authorization": "Bearer k\r\nHost: evil"}),
        ': output.headers "Authorization" holds a control character',
        id="header-newline",
    ),
    pytest.param(
        success_with(headers={"Content-Length": "3"}),
        ': output.headers sets "Content-Length", which only the transport sets',
        id="header-transport",
    ),
    pytest.param(
        success_with(headers={"Content-Type": "a", "content-type": "b"}),
        ': output.headers names "content-type" twice',
        id="header-twice",
    ),
    pytest.param(
        success_with(files={"upload": "x"}),
        " carries files, which the harness cannot deliver (only body.FORM)",
        id="files",
    ),
    pytest.param(
        success_with(body={"FORM": {}, "JSON_ARRAY": {"batch": []}}),
        " carries JSON_ARRAY, which the harness cannot deliver (only body.FORM)",
        id="json-array",
    ),
]


@pytest.mark.parametrize(("reply", "problem"), UNUSABLE_ITEMS)
def test_a_reply_item_that_is_not_a_refiner_request_is_refused(reply, problem):
    with serving(answering(reply)) as url, pytest.raises(TransformerError) as refused:
        TransformerMapper(url).map_many([({"type": "track"}, {"apiKey": "rf-x"})])

    where = f"transformer {url}: POST /v0/destinations/refiner: the reply for jobId 1"
    assert str(refused.value) == f"{where}{problem}"


@pytest.mark.parametrize(
    ("reply", "problem"), [UNUSABLE_ITEMS[0], UNUSABLE_ITEMS[4], UNUSABLE_ITEMS[-5]]
)
def test_a_reply_item_that_is_not_a_refiner_request_stops_map_run_and_diff(
    reply, problem, tmp_path, write_scenario, capsys
):
    with serving(answering(reply)) as url:
        finished = map_run_and_diff(url, tmp_path, write_scenario, capsys)

    line = (
        f"refiner-harness: transformer {url}: POST /v0/destinations/refiner: "
        f"the reply for jobId 1{problem}\n"
    )
    assert finished == [(2, "", line)] * 3


def test_nothing_is_sent_to_an_endpoint_outside_refiner(
    tmp_path, write_scenario, live_mock, capsys
):
    recorder = Recorder()
    with serving(recorder) as elsewhere:
        reply = success_with(endpoint=f"{elsewhere}/evil")
        with serving(answering(reply)) as url:
            finished = map_run_and_diff(url, tmp_path, write_scenario, capsys)
            scenario = str(tmp_path / "scenario.yaml")
            targeted = main(["run", scenario, "--profile", url, "--target", live_mock])
            targeted_output = capsys.readouterr()

    problem = (
        f'output.endpoint "{elsewhere}/evil" is not a path under '
        "https://api.refiner.io/v1/ (without query, fragment or dot segments)"
    )
    line = (
        f"refiner-harness: transformer {url}: POST /v0/destinations/refiner: "
        f"the reply for jobId 1: {problem}\n"
    )
    assert finished == [(2, "", line)] * 3
    assert (targeted, *targeted_output) == (2, "", line)
    assert recorder.paths == []
    assert httpx.get(f"{live_mock}/__mock/calls").json()["calls"] == []


def test_every_form_value_json_can_hold_is_taken():
    """Numbers as large as a double holds, values nested as deep as an event's and
    any text, lone surrogates included, are taken as the transformer gives them."""
    form = {
        "big": 1.7976931348623157e308,
        "long": 10**300,
        "nested": json.loads("[" * 100 + "]" * 100),
        "text": "\u2028\x00\U0001f600\ud800",
    }
    reply = success_with(body={"FORM": form})

    with serving(answering(reply)) as url:
        [request] = TransformerMapper(url).map_many([({"type": "x"}, {})])

    assert request.form == form
    assert request.endpoint == "https://api.refiner.io/v1/identify-user"


def test_credentials_in_a_transformer_url_are_used_and_never_shown(
    transformer, tmp_path, write_scenario, caplog, capsys
):
    url, fake = transformer
    secret = url.replace("http://", "http://harness:s3cret@")
    masked = url.replace("http://", "http://***@")
    caplog.set_level(logging.DEBUG)

    finished = map_run_and_diff(secret, tmp_path, write_scenario, capsys)
    run_json = main(
        ["run", str(tmp_path / "scenario.yaml"), "--profile", secret, "--format"]
        + ["json"]
    )
    document = json.loads(capsys.readouterr().out)

    assert [status for status, _, _ in finished] == [0, 0, 0]
    assert finished[2][1] == (
        f"A: rudderstack\nB: {masked}\n\nno differences in 5 events from 1 source\n"
    )
    assert f"  {masked}  " in finished[1][1]
    assert run_json == 0
    assert [result["profile"] for result in document["results"]] == [masked]
    assert fake.authorizations == ["Basic aGFybmVzczpzM2NyZXQ="] * 4
    shown = "".join(out + err for _, out, err in finished) + caplog.text
    assert "s3cret" not in shown
    assert "harness:" not in shown


@pytest.mark.parametrize(
    ("profile", "problem"),
    [
        (
            "http://user:pw@127.0.0.1:99999",
            "transformer URL 'http://***@127.0.0.1:99999' is not valid: "
            "Port out of range 0-65535",
        ),
        (
            "http://user:p/w@127.0.0.1",
            "transformer URL 'http://***@127.0.0.1' is not valid",
        ),
        (
            "http://user:pw@127.0.0.1:9090/?batch=2",
            "transformer URL 'http://***@127.0.0.1:9090/?batch=2' must be an http or "
            "https URL with a host and no query, such as http://127.0.0.1:9090",
        ),
    ],
)
def test_a_url_with_credentials_that_is_not_usable_is_shown_without_them(
    profile, problem, tmp_path, capsys
):
    source = tmp_path / "empty.jsonl"
    source.write_text("", encoding="utf-8")

    assert main(["map", str(source), "--profile", profile]) == 2
    assert capsys.readouterr().err == f"refiner-harness: {problem}\n"


def test_a_transformer_that_is_down_is_named_without_credentials(
    free_port, tmp_path, write_scenario, capsys
):
    secret = f"http://harness:s3cret@127.0.0.1:{free_port}"
    down = (
        f"refiner-harness: transformer http://***@127.0.0.1:{free_port} cannot be "
        "reached: POST /v0/destinations/refiner: [Errno 111] Connection refused\n"
    )

    finished = map_run_and_diff(secret, tmp_path, write_scenario, capsys)

    assert finished == [(2, "", down)] * 3


def test_a_mapper_shows_its_url_without_credentials():
    mapper = TransformerMapper("http://harness:s3cret@127.0.0.1:9090/", batch_size=4)

    assert (
        repr(mapper) == "TransformerMapper('http://***@127.0.0.1:9090', batch_size=4)"
    )
    assert mapper.url == "http://harness:s3cret@127.0.0.1:9090"


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--transformer-batch", "0", "0 is not 1 or more"),
        ("--transformer-timeout", "-1", "-1 is not a number of seconds above 0"),
    ],
)
def test_serve_takes_the_transformer_settings_too(option, value, problem, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--profile", "http://127.0.0.1:9090", option, value])

    assert stopped.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"refiner-harness serve: error: argument {option}: {problem}\n"
    )
