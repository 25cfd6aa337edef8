"""Segment operations: listing segments and syncing contacts into manual ones.

- `GET /v1/segments` lists segments by name, one page at a time;
- `POST /v1/sync-segment` adds the contact named by `id` or `email` to a manual
  segment, creating the contact when nobody matches;
- `DELETE /v1/sync-segment` removes it.

Segments come from seeding (`PUT /__mock/state`); the API cannot create them.

Limitations: Refiner's replies for an unknown or automatic segment are undocumented;
the mock answers 404 and 400 with its own messages. A contact added twice keeps the
time it first joined.
"""

import logging

from mock_refiner.errors import ApiError
from mock_refiner.models import Environment, Segment
from mock_refiner.pagination import paginate
from mock_refiner.params import text_param
from mock_refiner.render import render_segment
from mock_refiner.routes import Call, Reply, operation
from mock_refiner.store import find_contact, identity_of, keep_contact

logger = logging.getLogger(__name__)

SEGMENT_REQUIRED = "The segment_uuid parameter is required."
SEGMENT_NOT_FOUND = "Segment not found."
SEGMENT_NOT_MANUAL = "Only manual segments can be synced through the API."
CONTACT_NOT_FOUND = "Contact not found."


@operation("GET", "/v1/segments", name="get-segments")
def get_segments(call: Call) -> Reply:
    with call.store.reading(call.api_key) as env:
        segments = sorted(
            env.segments.values(), key=lambda s: (s.name.casefold(), s.uuid)
        )
        page, pagination = paginate(
            segments, call.params, call.settings.default_page_length
        )
    return Reply(
        200, {"items": [render_segment(s) for s in page], "pagination": pagination}
    )


def manual_segment(env: Environment, params: dict) -> Segment:
    """The manual segment named by `segment_uuid`; 400 or 404 otherwise."""
    segment_uuid = text_param(params, "segment_uuid")
    if not segment_uuid:
        raise ApiError.bad_request(SEGMENT_REQUIRED)

    segment = env.segments.get(segment_uuid)
    if segment is None:
        raise ApiError(404, {"error": SEGMENT_NOT_FOUND})
    if not segment.is_manual:
        raise ApiError.bad_request(SEGMENT_NOT_MANUAL)
    return segment


@operation("POST", "/v1/sync-segment", name="add-to-segment")
def add_to_segment(call: Call) -> Reply:
    remote_id, email = identity_of(call.params)

    with call.store.writing(call.api_key) as env:
        segment = manual_segment(env, call.params)
        found = find_contact(env, remote_id, email)
        new_uuid = call.new_id(env) if found is None else found.uuid
        contact = keep_contact(env, found, new_uuid, remote_id, email, call.now)
        segment.members.setdefault(contact.uuid, call.now)

    return Reply(
        200,
        {"message": "ok", "contact_uuid": contact.uuid, "segment_uuid": segment.uuid},
    )


@operation("DELETE", "/v1/sync-segment", name="remove-from-segment")
def remove_from_segment(call: Call) -> Reply:
    remote_id, email = identity_of(call.params)

    with call.store.writing(call.api_key) as env:
        segment = manual_segment(env, call.params)
        contact = find_contact(env, remote_id, email)
        if contact is None:
            raise ApiError(404, {"error": CONTACT_NOT_FOUND})
        segment.members.pop(contact.uuid, None)

    return Reply(
        200,
        {"message": "ok", "contact_uuid": contact.uuid, "segment_uuid": segment.uuid},
    )
