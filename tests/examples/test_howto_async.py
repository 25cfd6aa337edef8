"""How to test async code: ``refiner_respx`` answers ``httpx.AsyncClient`` too.

The test runs on anyio's pytest plugin (``@pytest.mark.anyio``, asyncio backend).
"""

import asyncio

import httpx
import pytest

HEADERS = {"Authorization": "Bearer rf-demo-key"}


async def send_team(user_ids: list[str], account_id: str) -> list[int]:
    """Your code: puts several users in one account, concurrently."""
    async with httpx.AsyncClient(
        base_url="https://api.refiner.io", headers=HEADERS
    ) as client:
        replies = await asyncio.gather(
            *(
                client.post(
                    "/v1/identify-user",
                    json={"id": user_id, "account": {"id": account_id}},
                )
                for user_id in user_ids
            )
        )
    return [reply.status_code for reply in replies]


@pytest.mark.anyio
async def test_team_members_join_one_account(refiner_respx):
    statuses = await send_team(["u1", "u2", "u3"], "acct-1")

    assert statuses == [200, 200, 200]
    refiner_respx.assert_account(remote_id="acct-1")
    assert sorted(refiner_respx.accounts[0]["contacts"]) == ["u1", "u2", "u3"]
    refiner_respx.assert_calls(path="/v1/identify-user", status=200, count=3)
