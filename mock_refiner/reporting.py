"""Refiner's survey reports: NPS, CSAT, ratings, answer distribution and counts.

`report` builds the body of `GET /v1/reporting` from responses the caller has already
filtered by form, segment, tag and data filters. A response counts when it is
completed and its last data reception lies in the date range (start inclusive, end
exclusive); the `count` report also counts views by their last-shown time. Questions
are the elements of the response's form whose type fits the report, narrowed to the
requested identifiers. A numeric answer counts when it is a whole number within the
question's scale (NPS 0-10, CSAT 1-5, rating 1 to the element's `scale`, 5 by
default), sent as a number or as canonical integer text: `"9"`, not `"09"` or `"9.0"`.
Each counted answer, and each chosen option of a multiple choice, is one datapoint.

Limitations: these are assumptions. Rounding is half away from zero, as PHP rounds;
`csat` and `average` are floats, 0.0 when nothing counted. Whole floats (`9.0`) count;
booleans never do. Choice answers count only as non-empty text, and a lone text is a
one-option multiple choice. The distribution merges questions sharing an identifier
across forms and lists an unanswered question as an empty object. Ratings `data`
runs from 1 to the largest scale asked in range. An empty identifier list narrows
nothing. A date without a time is midnight UTC; a missing end is the end of today, a
missing start seven days before the end, and empty text counts as missing. A start
equal to the end is accepted and counts nothing. Body dates drop microseconds.
"""

import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from mock_refiner.errors import ApiError
from mock_refiner.traits import as_utc, format_response_time

logger = logging.getLogger(__name__)

NPS = "nps"
CSAT = "csat"
RATINGS = "ratings"
DISTRIBUTION = "distribution"
COUNT = "count"
REPORT_TYPES = (NPS, CSAT, RATINGS, DISTRIBUTION, COUNT)

QUESTION_TYPES: dict[str, tuple[str, ...]] = {
    NPS: ("nps",),
    CSAT: ("csat",),
    RATINGS: ("rating",),
    DISTRIBUTION: ("nps", "csat", "rating", "single_choice", "multiple_choice"),
    COUNT: (),
}

DEFAULT_RATING_SCALE = 5
MAX_RATING_SCALE = 100
DEFAULT_RANGE_DAYS = 7
DETRACTOR_MAX = 6
PASSIVE_MAX = 8
SATISFIED_MIN = 4

_INTEGER_TEXT = re.compile(r"0|-?[1-9][0-9]*")


def report(
    report_type: str,
    responses: Sequence[Mapping],
    elements_by_form: Mapping[str, Sequence[Mapping]],
    question_identifiers: Sequence[str] | None,
    date_range: tuple[datetime, datetime],
) -> dict:
    """The `GET /v1/reporting` body of `report_type` over `responses` in `date_range`.

    Raises `ApiError` (400) for a report type Refiner does not know.
    """
    if report_type not in REPORT_TYPES:
        kinds = ", ".join(REPORT_TYPES)
        raise ApiError.bad_request(f"The type parameter must be one of {kinds}.")

    start, end = as_utc(date_range[0]), as_utc(date_range[1])
    received = [
        response
        for response in responses
        if response.get("completed_at") is not None
        and in_range(response.get("last_data_reception_at"), start, end)
    ]

    if report_type == COUNT:
        body = count_body(responses, received, start, end)
    else:
        asked = list(
            questions_asked(
                received,
                elements_by_form,
                QUESTION_TYPES[report_type],
                question_identifiers,
            )
        )
        body = BODY_BUILDERS[report_type](asked)

    body["date_range_start"] = format_response_time(start)
    body["date_range_end"] = format_response_time(end)
    return body


def questions_asked(
    responses: Sequence[Mapping],
    elements_by_form: Mapping[str, Sequence[Mapping]],
    question_types: Sequence[str],
    question_identifiers: Sequence[str] | None,
) -> Iterator[tuple[Mapping, Mapping]]:
    """Each (response, question) pair a report looks at, in response and form order."""
    wanted = set(question_identifiers) if question_identifiers else None
    for response in responses:
        for element in questions_of(elements_by_form.get(response.get("form_uuid"))):
            if element.get("type") not in question_types:
                continue

            if wanted is not None and element.get("identifier") not in wanted:
                continue

            yield response, element


def questions_of(elements: object) -> list[Mapping]:
    """The elements of a survey that can be questions: mappings with a text
    identifier. A survey's configuration is kept as given, so anything else in it
    is skipped."""
    if not isinstance(elements, Sequence) or isinstance(elements, str):
        return []

    return [
        element
        for element in elements
        if isinstance(element, Mapping) and isinstance(element.get("identifier"), str)
    ]


def nps_body(asked: Sequence[tuple[Mapping, Mapping]]) -> dict:
    """Detractors (0-6), passives (7-8), promoters (9-10) and the score."""
    detractors = passives = promoters = 0
    for score in scores(asked):
        if score <= DETRACTOR_MAX:
            detractors += 1
        elif score <= PASSIVE_MAX:
            passives += 1
        else:
            promoters += 1

    count = detractors + passives + promoters
    nps = 0
    if count:
        nps = int(round_half_away(Fraction(100 * (promoters - detractors), count)))

    return {
        "data": {
            "detractors": detractors,
            "passives": passives,
            "promoters": promoters,
        },
        "count": count,
        "nps": nps,
    }


def csat_body(asked: Sequence[tuple[Mapping, Mapping]]) -> dict:
    """The share of 4 and 5 answers as a percentage, and the count of each answer."""
    tally = {str(score): 0 for score in range(1, 6)}
    for score in scores(asked):
        tally[str(score)] += 1

    count = sum(tally.values())
    satisfied = sum(tally[str(score)] for score in range(SATISFIED_MIN, 6))
    csat = 0.0
    if count:
        csat = float(round_half_away(Fraction(100 * satisfied, count), 1))

    return {"csat": csat, "count": count, "data": tally}


def ratings_body(asked: Sequence[tuple[Mapping, Mapping]]) -> dict:
    """The average, count and sum of rating answers, and the count of each answer."""
    largest = max((answer_scale(element)[1] for _, element in asked), default=0)
    tally = {str(score): 0 for score in range(1, largest + 1)}
    for score in scores(asked):
        tally[str(score)] += 1

    count = sum(tally.values())
    total = sum(int(score) * number for score, number in tally.items())
    average = 0.0
    if count:
        average = float(round_half_away(Fraction(total, count), 2))

    return {"average": average, "count": count, "sum": total, "data": tally}


def distribution_body(asked: Sequence[tuple[Mapping, Mapping]]) -> dict:
    """Answer counts per question, with datapoint and response totals."""
    tallies: dict[str, dict[str, int]] = {}
    contributing: set[int] = set()
    for response, element in asked:
        identifier = str(element.get("identifier"))
        tally = tallies.setdefault(identifier, {})
        answers = answer_texts(element, answer_of(response, element))
        for text in answers:
            tally[text] = tally.get(text, 0) + 1

        if answers:
            contributing.add(id(response))

    ordered = {
        identifier: dict(sorted(tally.items(), key=_distribution_order))
        for identifier, tally in tallies.items()
    }
    datapoints = sum(sum(tally.values()) for tally in ordered.values())
    return {"data": ordered, "datapoints": datapoints, "responses": len(contributing)}


def count_body(
    responses: Sequence[Mapping],
    received: Sequence[Mapping],
    start: datetime,
    end: datetime,
) -> dict:
    """Views shown in range, whatever became of them, and completed responses."""
    views = sum(
        1
        for response in responses
        if in_range(response.get("last_shown_at"), start, end)
    )
    return {"views": views, "responses": len(received)}


BODY_BUILDERS = {
    NPS: nps_body,
    CSAT: csat_body,
    RATINGS: ratings_body,
    DISTRIBUTION: distribution_body,
}


def scores(asked: Sequence[tuple[Mapping, Mapping]]) -> Iterator[int]:
    """The numeric answers that count, one per answered question."""
    for response, element in asked:
        score = numeric_answer(element, answer_of(response, element))
        if score is not None:
            yield score


def answer_of(response: Mapping, element: Mapping) -> object:
    """What `response` answered to the question `element`, or None."""
    answers = response.get("data") or {}
    return answers.get(element.get("identifier"))


def answer_scale(element: Mapping) -> tuple[int, int]:
    """The lowest and highest answer a numeric question accepts."""
    kind = element.get("type")
    if kind == "nps":
        return 0, 10

    if kind == "csat":
        return 1, 5

    scale = whole_number(element.get("scale", DEFAULT_RATING_SCALE))
    if scale is None or not 1 <= scale <= MAX_RATING_SCALE:
        scale = DEFAULT_RATING_SCALE

    return 1, scale


def numeric_answer(element: Mapping, answer: object) -> int | None:
    """`answer` as a whole number within the question's scale, or None."""
    number = whole_number(answer)
    if number is None:
        return None

    lowest, highest = answer_scale(element)
    if not lowest <= number <= highest:
        return None

    return number


def answer_texts(element: Mapping, answer: object) -> list[str]:
    """The counted answers of one question, written as text for the distribution."""
    kind = element.get("type")
    if kind in ("nps", "csat", "rating"):
        score = numeric_answer(element, answer)
        return [] if score is None else [str(score)]

    if kind == "single_choice":
        return [answer] if isinstance(answer, str) and answer else []

    if kind == "multiple_choice":
        options = [answer] if isinstance(answer, str) else answer
        if not isinstance(options, list):
            return []

        chosen = (option for option in options if isinstance(option, str) and option)
        return list(dict.fromkeys(chosen))

    return []


def whole_number(value: object) -> int | None:
    """The integer a JSON number or canonical integer text stands for, or None."""
    if isinstance(value, bool):
        return None

    if isinstance(value, float):
        return int(value) if value.is_integer() else None

    if isinstance(value, str):
        if len(value) > 20 or not _INTEGER_TEXT.fullmatch(value):
            return None

        return int(value)

    if isinstance(value, int):
        return value

    return None


def round_half_away(value: Fraction, places: int = 0) -> Fraction:
    """`value` rounded to `places` decimals, halves away from zero."""
    scale = 10**places
    rounded = math.floor(abs(value) * scale + Fraction(1, 2))
    return Fraction(rounded if value >= 0 else -rounded, scale)


def default_date_range(now: datetime) -> tuple[datetime, datetime]:
    """The last seven days through the end of today, in UTC."""
    today = as_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=DEFAULT_RANGE_DAYS - 1), today + timedelta(days=1)


def parse_date_range(params: Mapping, now: datetime) -> tuple[datetime, datetime]:
    """The report's date range from `date_range_start` and `date_range_end`.

    Raises `ApiError` (400) for a value that is not ISO 8601 or a start after the end.
    """
    start = read_date(params, "date_range_start")
    end = read_date(params, "date_range_end")

    if end is None:
        end = default_date_range(now)[1]

    if start is None:
        try:
            start = end - timedelta(days=DEFAULT_RANGE_DAYS)
        except OverflowError:
            raise ApiError.bad_request(
                "The date range must lie between the years 1 and 9999."
            ) from None

    if start > end:
        raise ApiError.bad_request("The date range must start before it ends.")

    return start, end


def read_date(params: Mapping, name: str) -> datetime | None:
    """The UTC instant of ISO 8601 parameter `name`, or None when it is absent."""
    value = params.get(name)
    if value is None or value == "":
        return None

    refusal = ApiError.bad_request(f"The {name} parameter must be an ISO 8601 date.")
    if not isinstance(value, str):
        raise refusal

    try:
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise refusal from None


def in_range(moment: datetime | None, start: datetime, end: datetime) -> bool:
    """Whether `moment` is set and lies in [start, end)."""
    return moment is not None and start <= as_utc(moment) < end


def _distribution_order(item: tuple[str, int]) -> tuple[int, int]:
    """Sort key: numeric answers first in numeric order, then texts as first given."""
    number = whole_number(item[0])
    if number is None:
        return 1, 0

    return 0, number
