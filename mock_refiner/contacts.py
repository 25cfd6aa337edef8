"""Contact operations: identify-user, track-event, and reading and deleting contacts.

- `POST /v1/identify-user` creates or updates a contact, its traits and its account;
- `POST /v1/track-event` (and `/v1/track`, the path RudderStack calls) records an event;
- `GET /v1/contacts` lists contacts, filtered by `form_uuid`, `segment_uuid` and
  `search`, ordered by `order_by`, one page at a time;
- `GET /v1/contact` and `DELETE /v1/contact` find one contact by `uuid`, `id` or
  `email`; deleting it deletes its responses too.

Limitations: the default order (by `first_seen_at`, oldest first) and the direction of
each `order_by` (newest first for times, A to Z for names and emails) are assumptions,
as is `search` matching any part of the email, remote id or name, ignoring case.
"""

import logging

from mock_refiner.errors import ApiError
from mock_refiner.models import Contact, Environment
from mock_refiner.pagination import paginate
from mock_refiner.params import text_param
from mock_refiner.render import render_contact
from mock_refiner.routes import Call, Reply, operation

logger = logging.getLogger(__name__)

CONTACT_NOT_FOUND = "Contact not found."
CONTACT_REQUIRED = "One of the uuid, id or email parameters is required."
ORDERS = (
    "first_seen_at",
    "last_seen_at",
    "last_form_submission_at",
    "display_name",
    "email",
)


@operation("POST", "/v1/identify-user", name="identify-user")
def identify_user(call: Call) -> Reply:
    identified = call.store.identify(call.api_key, call.params, call.now)
    call.notes.extend(identified.notes)
    return Reply(200, {"message": "ok", "contact_uuid": identified.contact.uuid})


@operation("POST", "/v1/track-event", name="track-event")
@operation("POST", "/v1/track", name="track")
def track_event(call: Call) -> Reply:
    tracked = call.store.track(call.api_key, call.params, call.path, call.now)
    call.notes.extend(tracked.notes)
    return Reply(200, {"message": "ok"})


def contact_for(env: Environment, params: dict) -> Contact:
    """The contact named by `uuid`, else `id`, else `email`; 400 or 404 otherwise."""
    uuid, remote_id, email = (
        text_param(params, name) for name in ("uuid", "id", "email")
    )
    if not (uuid or remote_id or email):
        raise ApiError.bad_request(CONTACT_REQUIRED)

    if uuid:
        contact = env.contacts.get(uuid)
    elif remote_id:
        contact = env.contact_with_remote_id(remote_id)
    else:
        contact = next(iter(env.contacts_with_email(email)), None)

    if contact is None:
        raise ApiError(404, {"error": CONTACT_NOT_FOUND})
    return contact


def last_form_submission(env: Environment, contact: Contact) -> str:
    times = [
        response.completed_at
        for response in env.responses.values()
        if response.contact_uuid == contact.uuid and response.completed_at
    ]
    return max(times).isoformat() if times else ""


def sort_key(env: Environment, order_by: str):
    if order_by == "display_name":
        return lambda contact: (contact.display_name or "").casefold()
    if order_by == "email":
        return lambda contact: (contact.email or "").casefold()
    if order_by == "last_form_submission_at":
        return lambda contact: last_form_submission(env, contact)
    return lambda contact: getattr(contact, order_by)


def matching_contacts(env: Environment, params: dict) -> list[Contact]:
    """The contacts the list filters select, in the order asked for."""
    contacts = sorted(env.contacts.values(), key=lambda contact: contact.first_seen_at)

    form_uuid = text_param(params, "form_uuid")
    if form_uuid:
        if form_uuid not in env.forms:
            raise ApiError(404, {"error": "Form not found."})
        answered = {
            r.contact_uuid for r in env.responses.values() if r.form_uuid == form_uuid
        }
        contacts = [contact for contact in contacts if contact.uuid in answered]

    segment_uuid = text_param(params, "segment_uuid")
    if segment_uuid:
        segment = env.segments.get(segment_uuid)
        if segment is None:
            raise ApiError(404, {"error": "Segment not found."})
        contacts = [contact for contact in contacts if contact.uuid in segment.members]

    search = text_param(params, "search").casefold()
    if search:
        contacts = [
            contact
            for contact in contacts
            if any(
                search in (text or "").casefold()
                for text in (contact.email, contact.remote_id, contact.display_name)
            )
        ]

    order_by = text_param(params, "order_by")
    if order_by:
        if order_by not in ORDERS:
            raise ApiError.bad_request(
                f"The order_by parameter must be one of {', '.join(ORDERS)}."
            )
        newest_first = order_by.endswith("_at")
        contacts.sort(key=sort_key(env, order_by), reverse=newest_first)

    return contacts


@operation("GET", "/v1/contacts", name="get-contacts")
def get_contacts(call: Call) -> Reply:
    with call.store.reading(call.api_key) as env:
        contacts = matching_contacts(env, call.params)
        page, pagination = paginate(
            contacts, call.params, call.settings.default_page_length
        )
        items = [render_contact(env, contact) for contact in page]
    return Reply(200, {"items": items, "pagination": pagination})


@operation("GET", "/v1/contact", name="get-contact")
def get_contact(call: Call) -> Reply:
    with call.store.reading(call.api_key) as env:
        return Reply(200, render_contact(env, contact_for(env, call.params)))


@operation("DELETE", "/v1/contact", name="delete-contact")
def delete_contact(call: Call) -> Reply:
    with call.store.writing(call.api_key) as env:
        contact = contact_for(env, call.params)
        env.remove_contact(contact)
    return Reply(200, {"message": "Contact deleted."})
