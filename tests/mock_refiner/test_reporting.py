from datetime import UTC, datetime, timedelta, timezone

import pytest

from mock_refiner.errors import ApiError
from mock_refiner.reporting import (
    answer_scale,
    default_date_range,
    parse_date_range,
    report,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 8, tzinfo=UTC)
RANGE = (START, END)
INSIDE = START + timedelta(days=2)
DATES = {
    "date_range_start": "2026-03-01 00:00:00",
    "date_range_end": "2026-03-08 00:00:00",
}

SURVEY = "form-survey"
PULSE = "form-pulse"
ELEMENTS = {
    SURVEY: [
        {"identifier": "how_likely", "type": "nps"},
        {"identifier": "satisfied", "type": "csat"},
        {"identifier": "stars", "type": "rating", "scale": 10},
        {"identifier": "plan", "type": "single_choice"},
        {"identifier": "features", "type": "multiple_choice"},
        {"identifier": "why", "type": "text"},
        {"identifier": "intro", "type": "welcome_screen"},
    ],
    PULSE: [
        {"identifier": "pulse_nps", "type": "nps"},
        {"identifier": "pulse_stars", "type": "rating"},
    ],
}


def response(
    answers: dict,
    form: str = SURVEY,
    received: datetime | None = INSIDE,
    completed: bool = True,
    shown: datetime | None = None,
) -> dict:
    """A response to `form`, completed (or not) and received at `received`."""
    return {
        "uuid": f"response-{id(answers)}",
        "form_uuid": form,
        "contact_uuid": "contact-1",
        "completed_at": received if completed and received else None,
        "dismissed_at": None,
        "last_shown_at": shown or received or INSIDE,
        "last_data_reception_at": received,
        "data": answers,
        "tags": [],
        "segment_uuids": [],
    }


def answering(question: str, *answers: object, form: str = SURVEY) -> list[dict]:
    """One completed response per answer, each answering only `question`."""
    return [response({question: answer}, form) for answer in answers]


def build(
    report_type: str,
    responses: list[dict],
    questions: list[str] | None = None,
    date_range: tuple[datetime, datetime] = RANGE,
) -> dict:
    return report(report_type, responses, ELEMENTS, questions, date_range)


def refusal(report_type: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        build(report_type, [])

    return caught.value


def date_refusal(params: dict) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_date_range(params, datetime(2026, 3, 10, 15, 30, tzinfo=UTC))

    return caught.value


def test_nps_counts_each_group_and_rounds_the_score() -> None:
    responses = answering("how_likely", 9, "10", 9.0, 7, 0, "6")

    body = build("nps", responses)

    # 3 promoters - 2 detractors = 1 of 6 answers: 16.67 -> 17
    assert body == {
        "data": {"detractors": 2, "passives": 1, "promoters": 3},
        "count": 6,
        "nps": 17,
        **DATES,
    }
    assert list(body) == [
        "data",
        "count",
        "nps",
        "date_range_start",
        "date_range_end",
    ]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((10, 8, 8, 8, 8, 8, 8, 8), 13),  # 1 of 8 = 12.5, half away from zero
        ((0, 8, 8, 8, 8, 8, 8, 8), -13),  # -1 of 8 = -12.5
        ((10, 10), 100),
        ((0, 6, 1), -100),
        ((7, 8), 0),
        ((10, 0), 0),
        ((9, 9, 0), 33),  # 1 of 3 = 33.33
        ((9, 9, 8), 67),  # 2 of 3 = 66.67
    ],
)
def test_nps_score(answers: tuple[int, ...], expected: int) -> None:
    assert build("nps", answering("how_likely", *answers))["nps"] == expected


@pytest.mark.parametrize(
    "answer",
    [
        11,
        -1,
        "11",
        "-1",
        7.5,
        "7.5",
        "9.0",
        "09",
        " 9",
        "9 ",
        "+9",
        "nine",
        "",
        True,
        False,
        None,
        [9],
        {"score": 9},
        float("nan"),
        float("inf"),
        pytest.param("9" * 5000, id="5000 digits"),
    ],
)
def test_nps_ignores_answers_that_are_not_whole_numbers_in_range(
    answer: object,
) -> None:
    body = build("nps", answering("how_likely", answer))

    assert body["count"] == 0
    assert body["nps"] == 0
    assert body["data"] == {"detractors": 0, "passives": 0, "promoters": 0}


def test_nps_counts_every_nps_question_of_a_response() -> None:
    both = response({"how_likely": 10, "satisfied": 1})
    pulse = response({"pulse_nps": 0, "pulse_stars": 5}, form=PULSE)

    body = build("nps", [both, pulse])

    assert body["data"] == {"detractors": 1, "passives": 0, "promoters": 1}
    assert body["count"] == 2
    assert body["nps"] == 0


def test_nps_counts_two_questions_answered_in_one_response() -> None:
    elements = {SURVEY: [*ELEMENTS[SURVEY], {"identifier": "again", "type": "nps"}]}
    responses = [response({"how_likely": 9, "again": 3})]

    body = report("nps", responses, elements, None, RANGE)

    assert body["count"] == 2
    assert body["data"] == {"detractors": 1, "passives": 0, "promoters": 1}


def test_questions_narrow_to_the_identifiers_given() -> None:
    responses = [
        response({"how_likely": 10}),
        response({"pulse_nps": 0}, form=PULSE),
    ]

    narrowed = build("nps", responses, ["how_likely"])
    unknown = build("nps", responses, ["not_a_question"])
    wrong_type = build("nps", responses, ["satisfied"])
    empty = build("nps", responses, [])

    assert (narrowed["count"], narrowed["nps"]) == (1, 100)
    assert (unknown["count"], unknown["nps"]) == (0, 0)
    assert wrong_type["count"] == 0
    assert (empty["count"], empty["nps"]) == (2, 0)


def test_answers_to_questions_not_on_the_form_are_ignored() -> None:
    stray = response({"pulse_nps": 10})
    unknown_form = response({"how_likely": 10}, form="form-unknown")

    assert build("nps", [stray, unknown_form])["count"] == 0
    assert build("count", [stray, unknown_form])["responses"] == 2


def test_csat_share_of_satisfied_answers() -> None:
    responses = answering("satisfied", 5, 5, "4", 3, 1, "2", 0, 6, True, 4.5)

    body = build("csat", responses)

    # 4s and 5s: 3 of 6 counted answers
    assert body == {
        "csat": 50.0,
        "count": 6,
        "data": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2},
        **DATES,
    }
    assert list(body) == ["csat", "count", "data", "date_range_start", "date_range_end"]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((5, 4, 1), 66.7),  # 66.666...
        ((5, 1, 1), 33.3),  # 33.333...
        ((5,) + (1,) * 15, 6.3),  # 1 of 16 = 6.25, half away from zero
        ((4, 5), 100.0),
        ((1, 2, 3), 0.0),
    ],
)
def test_csat_rounds_to_one_decimal(answers: tuple[int, ...], expected: float) -> None:
    assert build("csat", answering("satisfied", *answers))["csat"] == expected


def test_csat_does_not_count_true_as_one() -> None:
    body = build("csat", answering("satisfied", True, 1))

    assert body["count"] == 1
    assert body["data"]["1"] == 1


def test_ratings_sum_average_and_counts_up_to_the_largest_scale() -> None:
    responses = [
        *answering("stars", 10, 7, "3", 11, 0),
        *answering("pulse_stars", 5, 6, form=PULSE),
    ]

    body = build("ratings", responses)

    # counted: 10, 7, 3 (scale 10) and 5 (default scale 5); 6 is above 5
    assert body == {
        "average": 6.25,
        "count": 4,
        "sum": 25,
        "data": {
            "1": 0,
            "2": 0,
            "3": 1,
            "4": 0,
            "5": 1,
            "6": 0,
            "7": 1,
            "8": 0,
            "9": 0,
            "10": 1,
        },
        **DATES,
    }
    assert list(body) == [
        "average",
        "count",
        "sum",
        "data",
        "date_range_start",
        "date_range_end",
    ]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((3, 3, 4), 3.33),  # 10 / 3
        ((1, 1, 1, 1, 1, 1, 1, 2), 1.13),  # 9 / 8 = 1.125, half away from zero
        ((2, 3), 2.5),
        ((5,), 5.0),
    ],
)
def test_ratings_average_rounds_to_two_decimals(
    answers: tuple[int, ...], expected: float
) -> None:
    assert build("ratings", answering("pulse_stars", *answers, form=PULSE)) == {
        "average": expected,
        "count": len(answers),
        "sum": sum(answers),
        "data": {str(score): answers.count(score) for score in range(1, 6)},
        **DATES,
    }


@pytest.mark.parametrize(
    ("scale", "largest_key"),
    [("7", "7"), (3, "3"), (None, "5"), ("x", "5"), (0, "5"), (True, "5")],
)
def test_rating_scale_is_read_from_the_element(scale: object, largest_key: str) -> None:
    elements = {SURVEY: [{"identifier": "stars", "type": "rating", "scale": scale}]}

    body = report("ratings", answering("stars", 1), elements, None, RANGE)

    assert list(body["data"])[-1] == largest_key


def test_rating_scale_defaults_to_five_when_absent() -> None:
    elements = {SURVEY: [{"identifier": "stars", "type": "rating"}]}

    body = report("ratings", answering("stars", 5, 6), elements, None, RANGE)

    assert (body["count"], body["sum"], list(body["data"])) == (
        1,
        5,
        ["1", "2", "3", "4", "5"],
    )


def test_ratings_ignore_true_fractions_and_text() -> None:
    body = build("ratings", answering("stars", True, 2.5, "2.5", "two", "1"))

    assert (body["count"], body["sum"], body["average"]) == (1, 1, 1.0)


def test_distribution_counts_each_answer_per_question() -> None:
    responses = [
        response(
            {
                "how_likely": 9,
                "satisfied": 5,
                "stars": 10,
                "plan": "Pro",
                "features": ["SSO", "API", "SSO"],
                "why": "Because",
            }
        ),
        response(
            {"how_likely": "9", "satisfied": 0, "plan": "Free", "features": "API"}
        ),
        response({"why": "Only text"}),
    ]

    body = build("distribution", responses)

    # datapoints: 2 + 1 + 1 + 2 + 3; the third response answers nothing counted
    assert body == {
        "data": {
            "how_likely": {"9": 2},
            "satisfied": {"5": 1},
            "stars": {"10": 1},
            "plan": {"Pro": 1, "Free": 1},
            "features": {"SSO": 1, "API": 2},
        },
        "datapoints": 9,
        "responses": 2,
        **DATES,
    }
    assert list(body) == [
        "data",
        "datapoints",
        "responses",
        "date_range_start",
        "date_range_end",
    ]


def test_distribution_orders_numeric_answers_by_value() -> None:
    body = build("distribution", answering("how_likely", 10, 2, 9, 0), ["how_likely"])

    assert list(body["data"]["how_likely"]) == ["0", "2", "9", "10"]


def test_distribution_narrows_and_lists_unanswered_questions_as_empty() -> None:
    responses = [response({"plan": "Pro", "how_likely": 10})]

    body = build("distribution", responses, ["plan", "features", "why"])

    assert body == {
        "data": {"plan": {"Pro": 1}, "features": {}},
        "datapoints": 1,
        "responses": 1,
        **DATES,
    }


def test_distribution_merges_questions_of_several_forms() -> None:
    elements = {
        SURVEY: [{"identifier": "how_likely", "type": "nps"}],
        PULSE: [{"identifier": "how_likely", "type": "nps"}],
    }
    responses = [
        response({"how_likely": 3}),
        response({"how_likely": "3"}, form=PULSE),
    ]

    body = report("distribution", responses, elements, None, RANGE)

    assert body["data"] == {"how_likely": {"3": 2}}
    assert (body["datapoints"], body["responses"]) == (2, 2)


@pytest.mark.parametrize(
    "answers",
    [
        {"plan": ""},
        {"plan": True},
        {"plan": 3},
        {"plan": ["Pro"]},
        {"plan": None},
        {"features": []},
        {"features": [True, 3, "", None, ["SSO"]]},
        {"features": {"SSO": True}},
        {"features": 5},
        {"features": ""},
        {"how_likely": 11},
        {"satisfied": True},
        {"stars": 7.5},
        {"why": "Free text is not distributed"},
    ],
)
def test_distribution_ignores_answers_that_do_not_count(answers: dict) -> None:
    body = build("distribution", [response(answers)])

    assert (body["datapoints"], body["responses"]) == (0, 0)
    assert all(tally == {} for tally in body["data"].values())


def test_count_views_by_last_shown_and_responses_by_reception() -> None:
    completed = response({"how_likely": 9})
    partial = response({"how_likely": 9}, completed=False)
    dismissed = response({}, received=None, completed=False)
    dismissed["dismissed_at"] = INSIDE
    shown_before = response({}, shown=START - timedelta(seconds=1))
    shown_after = response({}, received=None, completed=False, shown=END)

    body = build("count", [completed, partial, dismissed, shown_before, shown_after])

    assert body == {"views": 3, "responses": 2, **DATES}
    assert list(body) == ["views", "responses", "date_range_start", "date_range_end"]


def test_count_ignores_question_identifiers() -> None:
    responses = [response({"how_likely": 9}), response({})]

    assert build("count", responses, ["how_likely"])["responses"] == 2


@pytest.mark.parametrize(
    ("received", "counted"),
    [
        (START, True),
        (END - timedelta(microseconds=1), True),
        (END, False),
        (START - timedelta(microseconds=1), False),
        (None, False),
        (datetime(2026, 3, 1), True),  # naive is UTC
        (datetime(2026, 3, 8), False),
        (datetime(2026, 3, 8, 1, 0, tzinfo=timezone(timedelta(hours=2))), True),
        (datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), False),
    ],
)
def test_date_range_start_is_inclusive_and_end_exclusive(
    received: datetime | None, counted: bool
) -> None:
    responses = [response({"how_likely": 10}, received=received)]
    responses[0]["completed_at"] = INSIDE

    assert build("nps", responses)["count"] == int(counted)
    assert build("count", responses)["responses"] == int(counted)


def test_only_completed_responses_count() -> None:
    partial = response({"how_likely": 10, "plan": "Pro"}, completed=False)

    for report_type in ("nps", "csat", "ratings", "distribution", "count"):
        body = build(report_type, [partial])
        assert body.get("count", body.get("datapoints", body.get("responses"))) == 0

    assert build("count", [partial])["views"] == 1


def test_range_given_with_offsets_and_naive_times_is_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    date_range = (
        datetime(2026, 3, 1, 2, 0, tzinfo=plus_two),
        datetime(2026, 3, 8, 0, 0, 30),
    )

    body = build("count", [], date_range=date_range)

    assert body == {
        "views": 0,
        "responses": 0,
        "date_range_start": "2026-03-01 00:00:00",
        "date_range_end": "2026-03-08 00:00:30",
    }


@pytest.mark.parametrize(
    ("report_type", "expected"),
    [
        (
            "nps",
            {
                "data": {"detractors": 0, "passives": 0, "promoters": 0},
                "count": 0,
                "nps": 0,
            },
        ),
        (
            "csat",
            {
                "csat": 0.0,
                "count": 0,
                "data": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
            },
        ),
        ("ratings", {"average": 0.0, "count": 0, "sum": 0, "data": {}}),
        ("distribution", {"data": {}, "datapoints": 0, "responses": 0}),
        ("count", {"views": 0, "responses": 0}),
    ],
)
def test_empty_inputs(report_type: str, expected: dict) -> None:
    assert report(report_type, [], {}, None, RANGE) == {**expected, **DATES}
    assert build(report_type, []) == {**expected, **DATES}


def test_responses_without_answers_give_empty_reports() -> None:
    responses = [response({}), response({"how_likely": None})]
    responses[0]["data"] = None

    assert build("nps", responses)["count"] == 0
    assert build("distribution", responses)["datapoints"] == 0


@pytest.mark.parametrize("report_type", ["NPS", "nps ", "", "responses", "rating"])
def test_unknown_report_type_is_refused(report_type: str) -> None:
    error = refusal(report_type)

    assert error.status == 400
    assert error.body == {
        "error": "The type parameter must be one of nps, csat, ratings, "
        "distribution, count."
    }


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (
            datetime(2026, 3, 10, 15, 30, tzinfo=UTC),
            (datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)),
        ),
        (
            datetime(2026, 3, 10),
            (datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)),
        ),
        (
            datetime(2026, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
            (datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 12, tzinfo=UTC)),
        ),
        (
            datetime(2026, 1, 2, 23, 59, 59, 999999, tzinfo=UTC),
            (datetime(2025, 12, 27, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)),
        ),
    ],
)
def test_default_date_range_is_the_last_seven_days_through_today(
    now: datetime, expected: tuple[datetime, datetime]
) -> None:
    assert default_date_range(now) == expected


NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
DEFAULT = (datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, DEFAULT),
        ({"date_range_start": "", "date_range_end": None}, DEFAULT),
        (
            {"date_range_start": "2026-02-01", "date_range_end": "2026-02-15"},
            (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)),
        ),
        (
            {
                "date_range_start": "2026-02-01T10:00:00+02:00",
                "date_range_end": "2026-02-15T10:00:00Z",
            },
            (
                datetime(2026, 2, 1, 8, tzinfo=UTC),
                datetime(2026, 2, 15, 10, tzinfo=UTC),
            ),
        ),
        (
            {"date_range_start": "2026-02-01 10:00"},
            (datetime(2026, 2, 1, 10, tzinfo=UTC), DEFAULT[1]),
        ),
        (
            {"date_range_end": "2026-02-15"},
            (datetime(2026, 2, 8, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)),
        ),
        (
            {"date_range_start": "2026-02-01", "date_range_end": "2026-02-01"},
            (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        ),
    ],
)
def test_parse_date_range(params: dict, expected: tuple[datetime, datetime]) -> None:
    assert parse_date_range(params, NOW) == expected


@pytest.mark.parametrize("name", ["date_range_start", "date_range_end"])
@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-01", "2026-02-30", "01/02/2026", 20260201, ["x"]]
)
def test_parse_date_range_refuses_text_that_is_not_iso(
    name: str, value: object
) -> None:
    error = date_refusal({name: value})

    assert error.status == 400
    assert error.body == {"error": f"The {name} parameter must be an ISO 8601 date."}


@pytest.mark.parametrize(
    "params",
    [
        {"date_range_start": "2026-02-15", "date_range_end": "2026-02-01"},
        {"date_range_start": "2026-02-01T00:00:01", "date_range_end": "2026-02-01"},
        {"date_range_start": "2026-03-12"},
        {"date_range_start": "2026-03-12", "date_range_end": None},
    ],
)
def test_parse_date_range_refuses_a_start_after_the_end(params: dict) -> None:
    error = date_refusal(params)

    assert error.status == 400
    assert error.body == {"error": "The date range must start before it ends."}


def test_parsed_range_feeds_the_report() -> None:
    date_range = parse_date_range(
        {"date_range_start": "2026-03-01", "date_range_end": "2026-03-08"}, NOW
    )
    responses = [
        response({"how_likely": 10}, received=START),
        response({"how_likely": 0}, received=END),
    ]

    assert build("nps", responses, date_range=date_range) == {
        "data": {"detractors": 0, "passives": 0, "promoters": 1},
        "count": 1,
        "nps": 100,
        **DATES,
    }


def test_a_rating_scale_past_one_hundred_falls_back_to_five():
    assert answer_scale({"type": "rating", "scale": 3_000_000}) == (1, 5)
    assert answer_scale({"type": "rating", "scale": 100}) == (1, 100)
