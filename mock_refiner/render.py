"""The read shapes of Refiner's entities, as the API and the admin API show them.

Contacts and accounts use ISO times with microseconds (`2026-01-01T00:00:00.000000Z`);
responses use `2026-01-01 00:00:00`, as Refiner's samples do. The admin API shows the
same shapes plus what tests need to see (an account's members, a segment's members).
"""

import copy
from datetime import datetime

from mock_refiner.models import (
    Account,
    Contact,
    Environment,
    Event,
    Form,
    Response,
    Segment,
    Usage,
)
from mock_refiner.traits import format_response_time, format_time


def response_time(moment: datetime | None) -> str | None:
    """Refiner's response time text: `2026-01-01 00:00:00`."""
    return None if moment is None else format_response_time(moment)


def optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def render_environment(env: Environment) -> dict:
    """An environment as the ENV dict of the admin API."""
    return {
        "api_key": env.api_key,
        "uuid": env.uuid,
        "name": env.name,
        "contacts": [render_contact(env, contact) for contact in env.contacts.values()],
        "accounts": [
            render_account(account, members=True, env=env)
            for account in env.accounts.values()
        ],
        "events": [render_event(env, event) for event in env.events],
        "segments": [
            render_segment(segment, members=True) for segment in env.segments.values()
        ],
        "forms": [
            render_form(env, form, info=True, config=True)
            for form in env.forms.values()
        ],
        "responses": [
            render_response(env, response, with_attributes=False, admin=True)
            for response in env.responses.values()
        ],
        "traits": dict(env.traits),
        "usage": render_usage(env.usage),
    }


def render_usage(usage: Usage) -> dict:
    """This month's counters, with the contacts counted as tracked users."""
    return {
        "month": usage.month,
        "mtu": len(usage.tracked_users),
        "mte": usage.tracked_events,
        "mpv": usage.page_views,
        "msr": usage.survey_responses,
        "tracked_users": sorted(usage.tracked_users),
    }


def render_account(
    account: Account, members: bool = False, env: Environment | None = None
) -> dict:
    """An account; with `members`, the remote ids (else emails, else uuids) of its
    contacts, as the admin API shows them."""
    shown = {
        "uuid": account.uuid,
        "remote_id": account.remote_id,
        "display_name": account.display_name,
        "domain": account.domain,
        "first_seen_at": format_time(account.first_seen_at),
        "last_seen_at": format_time(account.last_seen_at),
        "attributes": copy.deepcopy(account.attributes),
    }
    if members and env is not None:
        contacts = [env.contacts[uuid] for uuid in account.contact_uuids]
        shown["contacts"] = [c.remote_id or c.email or c.uuid for c in contacts]
    return shown


def render_contact(env: Environment, contact: Contact) -> dict:
    """A contact as `GET /v1/contact` and the admin API show it."""
    account = env.accounts.get(contact.account_uuid or "")
    return {
        "uuid": contact.uuid,
        "remote_id": contact.remote_id,
        "email": contact.email,
        "display_name": contact.display_name,
        "first_seen_at": format_time(contact.first_seen_at),
        "last_seen_at": format_time(contact.last_seen_at),
        "last_tracking_event_at": optional_time(contact.last_tracking_event_at),
        "attributes": copy.deepcopy(contact.attributes),
        "segments": [
            {
                "uuid": segment.uuid,
                "name": segment.name,
                "created_at": format_time(segment.members[contact.uuid]),
            }
            for segment in env.segments_of(contact)
        ],
        "account": None if account is None else render_account(account),
    }


def render_event(env: Environment, event: Event) -> dict:
    """An event as the EVENT dict of the admin API."""
    contact = env.contacts[event.contact_uuid]
    return {
        "uuid": event.uuid,
        "name": event.name,
        "received_at": format_time(event.received_at),
        "path": event.path,
        "contact": {
            "uuid": contact.uuid,
            "remote_id": contact.remote_id,
            "email": contact.email,
        },
    }


def render_segment(segment: Segment, members: bool = False) -> dict:
    """A segment; with `members`, its contacts' uuids and when they joined."""
    shown: dict = {
        "uuid": segment.uuid,
        "name": segment.name,
        "is_manual": segment.is_manual,
    }
    if members:
        shown["contacts"] = [
            {"uuid": uuid, "created_at": format_time(joined)}
            for uuid, joined in segment.members.items()
        ]
    return shown


def render_form(env: Environment, form: Form, info: bool, config: bool) -> dict:
    """A form: `{uuid, name}`, plus its details with `info` and survey with `config`."""
    shown: dict = {"uuid": form.uuid, "name": form.name}
    if info:
        views = [r for r in env.responses.values() if r.form_uuid == form.uuid]
        shown.update(
            {
                "channels": list(form.channels),
                "published_at": optional_time(form.published_at),
                "archived_at": optional_time(form.archived_at),
                "created_at": format_time(form.created_at),
                "updated_at": format_time(form.updated_at),
                "responses_count": sum(r.completed_at is not None for r in views),
                "views_count": sum(r.show_counter for r in views),
                "page_url": form.page_url,
                "folder": form.folder,
                "first_form_view_at": optional_time(
                    min((r.first_shown_at for r in views), default=None)
                ),
                "last_form_view_at": optional_time(
                    max((r.last_shown_at for r in views), default=None)
                ),
            }
        )
    if config:
        shown["config"] = copy.deepcopy(form.config)
    return shown


def render_response(
    env: Environment, response: Response, with_attributes: bool, admin: bool = False
) -> dict:
    """A response as `GET /v1/responses` lists it; the admin shape adds the uuids
    that link it and its tag names."""
    form = env.forms.get(response.form_uuid)
    contact = env.contacts[response.contact_uuid]
    account = env.accounts.get(contact.account_uuid or "")
    tag_names = env.tag_names()

    shown_contact: dict = {
        "uuid": contact.uuid,
        "remote_id": contact.remote_id,
        "email": contact.email,
        "display_name": contact.display_name,
        "account": None
        if account is None
        else {
            "uuid": account.uuid,
            "remote_id": account.remote_id,
            "display_name": account.display_name,
            "domain": account.domain,
        },
    }
    if with_attributes:
        shown_contact["attributes"] = copy.deepcopy(contact.attributes)

    shown = {
        "uuid": response.uuid,
        "first_shown_at": response_time(response.first_shown_at),
        "last_shown_at": response_time(response.last_shown_at),
        "show_counter": response.show_counter,
        "first_data_reception_at": response_time(response.first_data_reception_at),
        "last_data_reception_at": response_time(response.last_data_reception_at),
        "completed_at": response_time(response.completed_at),
        "received_at": response_time(response.received_at),
        "dismissed_at": response_time(response.dismissed_at),
        "form": {"uuid": response.form_uuid, "name": form.name if form else None},
        "data": copy.deepcopy(response.data),
        "tags": [
            {"uuid": uuid, "name": tag_names[uuid]} for uuid in response.tag_uuids
        ],
        "contact": shown_contact,
    }
    if admin:
        shown["form_uuid"] = response.form_uuid
        shown["contact_uuid"] = response.contact_uuid
    return shown
