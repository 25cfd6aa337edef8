"""The key check (`GET /v1/`) and the account's plan and usage (`GET /v1/account`).

The mock is one Refiner account: every API key it has seen is one of its environments,
and the subscription's counters add up this month's usage of all of them. Usage moves
with the calls received: identify and track count tracked users (`mtu`), track counts
tracked events (`mte`) and, for events named `pageView`, page views (`mpv`); stored
survey responses count as `msr`.

Limitations: the plans' limits are the mock's own figures, and counting `pageView`
events as page views is an assumption (Refiner counts its web client's page views).
"""

import logging
from datetime import datetime

from mock_refiner.models import Environment
from mock_refiner.routes import Call, Reply, operation

logger = logging.getLogger(__name__)

AUTHENTICATED = "Authentication successful"


@operation("GET", "/v1", "/v1/", name="check-key")
def check_key(call: Call) -> Reply:
    with call.store.reading(call.api_key) as env:
        return Reply(
            200,
            {
                "project_uuid": env.uuid,
                "project_name": env.name,
                "message": AUTHENTICATED,
            },
        )


def month_usage(env: Environment, now: datetime) -> dict[str, int]:
    """This month's counters of one environment (zeros after the month turned)."""
    usage = env.usage
    if usage.month != now.strftime("%Y-%m"):
        return {"mtu": 0, "mte": 0, "mpv": 0, "msr": 0}
    return {
        "mtu": len(usage.tracked_users),
        "mte": usage.tracked_events,
        "mpv": usage.page_views,
        "msr": usage.survey_responses,
    }


@operation("GET", "/v1/account", name="get-account")
def get_account(call: Call) -> Reply:
    with call.store.reading(call.api_key) as own:
        environments = call.store.environments()
        if own.api_key not in {env.api_key for env in environments}:
            environments.append(own)
        usages = [(env, month_usage(env, call.now)) for env in environments]

    totals = {
        name: sum(usage[name] for _, usage in usages)
        for name in ("mtu", "mte", "mpv", "msr")
    }
    limits = call.settings.plan_limits
    return Reply(
        200,
        {
            "subscription": {
                "plan": call.settings.plan.capitalize(),
                "mtu_count": totals["mtu"],
                "mtu_limit": limits["mtu_limit"],
                "mte_count": totals["mte"],
                "mpv_count": totals["mpv"],
                "mpv_limit": limits["mpv_limit"],
                "msr_count": totals["msr"],
                "msr_limit": limits["msr_limit"],
            },
            "environments": [
                {"uuid": env.uuid, "name": env.name, **usage} for env, usage in usages
            ],
        },
    )
