"""Survey responses: listing, storing and tagging them, and the reports built on them.

- `GET /v1/responses` lists responses, newest first, filtered by form, segment, tag,
  date range, `include` (`completed`, the default; `partials`; `all`, which adds
  dismissed and empty views), `search` and `response_data[..]`, `contact_data[..]`,
  `account_data[..]` (every key must match); `with_attributes=1` adds the contact's
  attributes;
- `POST /v1/responses` stores a completed response to an existing form for the
  contact named by `uuid`, `id` or `email` (created when `id` or `email` is new), with
  the answers as top-level keys; an identical response is not stored twice unless
  `prevent_duplicates` is false. A contact named by `uuid` keeps its own id and email.
  Response times keep whole seconds, as Refiner shows them;
- `POST /v1/responses/tags` adds tags, by name, to a response;
- `GET /v1/reporting` computes NPS, CSAT, ratings, distributions and counts.

Limitations: the date range of the list is compared with the last data reception,
or the last view with `include=all`; an `account` sent with a response is not stored
(its tags are); the duplicate check compares form, contact and answers. These are
assumptions.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from mock_refiner.errors import ApiError
from mock_refiner.forms import flag, form_for
from mock_refiner.models import Environment, Response
from mock_refiner.pagination import paginate
from mock_refiner.params import text_param
from mock_refiner.render import render_response
from mock_refiner.reporting import parse_date_range, read_date, report
from mock_refiner.routes import Call, Reply, operation
from mock_refiner.store import find_contact, keep_contact
from mock_refiner.traits import as_text

logger = logging.getLogger(__name__)

INCLUDES = ("completed", "partials", "all")
MAX_TAGS = 20
RESPONSE_FIELDS = frozenset(
    {"form_uuid", "uuid", "id", "email", "date", "prevent_duplicates", "api_key"}
)
IGNORED_FIELDS = frozenset({"account"})
TAG_FIELDS = frozenset({"tags", "tags[]"})
MAX_TAG_LENGTH = 255


def texts(params: dict, name: str) -> list[str]:
    """A list parameter given as `name[]=a&name[]=b`, a JSON list or one text."""
    value = params.get(name, params.get(f"{name}[]"))
    if value is None or value == "":
        return []
    values = value if isinstance(value, list) else [value]
    return [as_text(item) for item in values if as_text(item)]


def tag_names(params: dict) -> list[str]:
    """The tag names of a call (`tags[]=a`, a JSON list, one text, or the literal
    JSON key `"tags[]"`), each once; 400 for a tag that is not text or too long."""
    value = params.get("tags", params.get("tags[]"))
    if value is None or value == "":
        return []

    names = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ApiError.bad_request("Each tag must be text.")
        name = as_text(item).strip()
        if len(name) > MAX_TAG_LENGTH:
            raise ApiError.bad_request(
                f"A tag is at most {MAX_TAG_LENGTH} characters long."
            )
        if name:
            names.append(name)

    names = list(dict.fromkeys(names))
    if len(names) > MAX_TAGS:
        raise ApiError.bad_request(f"A response can have at most {MAX_TAGS} tags.")
    return names


def add_tags(
    env: Environment, response: Response, names: list[str], call: Call
) -> None:
    """Tags a response, making each tag on first use; at most `MAX_TAGS` in all."""
    known = env.tag_names()
    current = {known[uuid] for uuid in response.tag_uuids}
    if len(current | set(names)) > MAX_TAGS:
        raise ApiError.bad_request(f"A response can have at most {MAX_TAGS} tags.")

    for name in names:
        tag = env.tag(name, call.settings.ids)
        if tag.uuid not in response.tag_uuids:
            response.tag_uuids.append(tag.uuid)


DATA_FILTERS = ("response_data", "contact_data", "account_data")


def data_filters(params: dict) -> dict[str, dict]:
    """The `*_data[..]` filters of a call; 400 for one not written as a mapping."""
    filters = {name: params[name] for name in DATA_FILTERS if name in params}
    if not all(isinstance(expected, dict) for expected in filters.values()):
        raise ApiError.bad_request("Data filters must be written as name[key]=value.")
    return filters


def matches_data(expected: dict, actual: dict) -> bool:
    """Whether every key of a `*_data[..]` filter equals the actual value as text."""
    return all(
        as_text(actual.get(key)) == as_text(value) for key, value in expected.items()
    )


def filtered(
    env: Environment, params: dict, include: str = "completed"
) -> list[Response]:
    """The responses that the form, segment, tag and data filters select."""
    forms = set(texts(params, "form_uuid") + texts(params, "form_uuids"))
    segments = set(texts(params, "segment_uuid") + texts(params, "segment_uuids"))
    tags = set(texts(params, "tag_uuid") + texts(params, "tag_uuids"))
    data = data_filters(params)
    selected = []

    for response in env.responses.values():
        contact = env.contacts[response.contact_uuid]
        account = env.accounts.get(contact.account_uuid or "")
        if include == "completed" and response.completed_at is None:
            continue
        if include == "partials" and response.first_data_reception_at is None:
            continue
        if forms and response.form_uuid not in forms:
            continue
        if segments and not any(
            contact.uuid in env.segments[s].members
            for s in segments
            if s in env.segments
        ):
            continue
        if tags and not tags.intersection(response.tag_uuids):
            continue
        if "response_data" in data and not matches_data(
            data["response_data"], response.data
        ):
            continue
        if "contact_data" in data and not matches_data(
            data["contact_data"], contact.attributes
        ):
            continue
        if "account_data" in data and not matches_data(
            data["account_data"], account.attributes if account else {}
        ):
            continue
        selected.append(response)

    return selected


def searched(env: Environment, responses: Iterable[Response], search: str) -> list:
    needle = search.casefold()
    return [
        response
        for response in responses
        for contact in [env.contacts[response.contact_uuid]]
        if any(
            needle in (text or "").casefold()
            for text in (
                contact.remote_id,
                contact.uuid,
                contact.email,
                contact.display_name,
            )
        )
    ]


def whole_seconds(moment: datetime) -> datetime:
    """A response time as Refiner shows it and a state document keeps it."""
    return moment.replace(microsecond=0)


def received_at(response: Response, include: str):
    if include == "all":
        return response.last_shown_at
    return response.last_data_reception_at or response.last_shown_at


@operation("GET", "/v1/responses", name="get-responses")
def get_responses(call: Call) -> Reply:
    include = text_param(call.params, "include") or "completed"
    if include not in INCLUDES:
        raise ApiError.bad_request(
            f"The include parameter must be one of {', '.join(INCLUDES)}."
        )
    start = read_date(call.params, "date_range_start")
    end = read_date(call.params, "date_range_end")
    with_attributes = flag(call.params, "with_attributes", False)

    with call.store.reading(call.api_key) as env:
        responses = filtered(env, call.params, include)
        search = text_param(call.params, "search")
        if search:
            responses = searched(env, responses, search)
        responses = [
            response
            for response in responses
            if (start is None or received_at(response, include) >= start)
            and (end is None or received_at(response, include) < end)
        ]
        responses.sort(key=lambda r: (received_at(r, include), r.uuid), reverse=True)
        page, pagination = paginate(
            responses, call.params, call.settings.default_page_length
        )
        items = [render_response(env, response, with_attributes) for response in page]

    return Reply(200, {"items": items, "pagination": pagination})


@operation("POST", "/v1/responses", name="store-response")
def store_response(call: Call) -> Reply:
    params = call.params
    date = whole_seconds(read_date(params, "date") or call.now)
    prevent_duplicates = flag(params, "prevent_duplicates", True)
    contact_uuid = text_param(params, "uuid")
    remote_id = text_param(params, "id") or None
    email = text_param(params, "email") or None
    if not (contact_uuid or remote_id or email):
        raise ApiError.bad_request(
            "One of the uuid, id or email parameters is required."
        )
    tags = tag_names(params)
    answers = {
        key: value
        for key, value in params.items()
        if key not in RESPONSE_FIELDS | IGNORED_FIELDS | TAG_FIELDS
    }
    ignored = sorted(IGNORED_FIELDS.intersection(params))
    if ignored:
        call.notes.append(f"parameters not stored: {', '.join(ignored)}")

    with call.store.writing(call.api_key) as env:
        form = form_for(env, params)
        if contact_uuid:
            found = env.contacts.get(contact_uuid)
            if found is None:
                raise ApiError(404, {"error": "Contact not found."})
            remote_id, email = found.remote_id, found.email
        else:
            found = find_contact(env, remote_id, email)

        if found is not None and prevent_duplicates:
            for response in env.responses.values():
                if (response.form_uuid, response.contact_uuid, response.data) == (
                    form.uuid,
                    found.uuid,
                    answers,
                ):
                    call.notes.append(
                        f"duplicate of response {response.uuid}; not stored"
                    )
                    return Reply(200, {"message": "ok", "uuid": response.uuid})

        new_contact_uuid = call.new_id(env) if found is None else found.uuid
        response = Response(
            uuid=call.new_id(env),
            form_uuid=form.uuid,
            contact_uuid=new_contact_uuid,
            first_shown_at=date,
            last_shown_at=date,
            first_data_reception_at=date,
            last_data_reception_at=date,
            completed_at=date,
            received_at=whole_seconds(call.now),
            data=answers,
        )
        keep_contact(env, found, new_contact_uuid, remote_id, email, call.now)
        add_tags(env, response, tags, call)
        env.responses[response.uuid] = response
        env.usage.count(call.now, response=True)

    return Reply(200, {"message": "ok", "uuid": response.uuid})


@operation("POST", "/v1/responses/tags", name="tag-response")
def tag_response(call: Call) -> Reply:
    response_uuid = text_param(call.params, "uuid")
    if not response_uuid:
        raise ApiError.bad_request("The uuid parameter is required.")
    names = tag_names(call.params)
    if not names:
        raise ApiError.bad_request("The tags parameter needs at least one tag.")

    with call.store.writing(call.api_key) as env:
        response = env.responses.get(response_uuid)
        if response is None:
            raise ApiError(404, {"error": "Response not found."})
        add_tags(env, response, names, call)

    return Reply(200, {"message": "Tags added."})


@operation("GET", "/v1/reporting", name="get-reporting")
def get_reporting(call: Call) -> Reply:
    report_type = text_param(call.params, "type")
    if not report_type:
        raise ApiError.bad_request("The type parameter is required.")
    date_range = parse_date_range(call.params, call.now)
    questions = texts(call.params, "question_identifiers") or None

    with call.store.reading(call.api_key) as env:
        responses = [
            {
                "uuid": response.uuid,
                "form_uuid": response.form_uuid,
                "contact_uuid": response.contact_uuid,
                "completed_at": response.completed_at,
                "dismissed_at": response.dismissed_at,
                "last_shown_at": response.last_shown_at,
                "last_data_reception_at": response.last_data_reception_at,
                "data": response.data,
            }
            for response in filtered(env, call.params, include="all")
        ]
        elements = {
            form.uuid: form.config.get("form_elements", [])
            for form in env.forms.values()
        }

    return Reply(200, report(report_type, responses, elements, questions, date_range))
