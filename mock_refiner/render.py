"""The read shapes of Refiner's entities, as the API and the admin API show them."""

import copy
from datetime import datetime

from mock_refiner.models import Account, Contact, Environment, Event
from mock_refiner.traits import format_time


def render_environment(env: Environment) -> dict:
    """An environment as the ENV dict of the admin API."""
    return {
        "api_key": env.api_key,
        "contacts": [render_contact(env, contact) for contact in env.contacts.values()],
        "accounts": [render_account(env, account) for account in env.accounts.values()],
        "events": [render_event(env, event) for event in env.events],
        "traits": dict(env.traits),
    }


def render_contact(env: Environment, contact: Contact) -> dict:
    """A contact as the CONTACT dict of the admin API."""
    account = env.accounts.get(contact.account_uuid or "")
    return {
        "uuid": contact.uuid,
        "remote_id": contact.remote_id,
        "email": contact.email,
        "display_name": contact.display_name,
        "first_seen_at": format_time(contact.first_seen_at),
        "last_seen_at": format_time(contact.last_seen_at),
        "last_tracking_event_at": _optional_time(contact.last_tracking_event_at),
        "attributes": copy.deepcopy(contact.attributes),
        "segments": copy.deepcopy(contact.segments),
        "account": None
        if account is None
        else {
            "uuid": account.uuid,
            "remote_id": account.remote_id,
            "display_name": account.display_name,
            "domain": account.domain,
        },
    }


def render_account(env: Environment, account: Account) -> dict:
    """An account as the ACCOUNT dict of the admin API."""
    members = [env.contacts[contact_uuid] for contact_uuid in account.contact_uuids]
    return {
        "uuid": account.uuid,
        "remote_id": account.remote_id,
        "display_name": account.display_name,
        "domain": account.domain,
        "first_seen_at": format_time(account.first_seen_at),
        "last_seen_at": format_time(account.last_seen_at),
        "attributes": copy.deepcopy(account.attributes),
        "contacts": [
            member.remote_id or member.email or member.uuid for member in members
        ],
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


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)
