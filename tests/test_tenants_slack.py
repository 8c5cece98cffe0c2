"""Two Slack workspaces on one install: App Home and its controls offer a workspace only the
shared sectors and its own, and a home action cannot reach another workspace's sector."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from storage.models import Subscriber, Tenant
from storage.repositories import sectors as sector_repo
from storage.repositories import subscribers as sub_repo
from tests import test_slack_adapter as base
from tests.slack_api import TEAM_ID
from tests.test_slack_adapter import NOW, Slack, wait_for

slack = base.slack  # the fixture

OTHER_TEAM = "T0002"


def home_opened(team: str, user: str, event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(NOW.timestamp()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D5", "tab": "home"},
        }
    )


def sectors_chosen(team: str, user: str, keys: list[str]) -> str:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team},
        "api_app_id": "A1",
        "trigger_id": "t",
        "user": {"id": user, "team_id": team},
        "container": {"type": "view", "view_id": "V0001"},
        "view": {"id": "V0001", "type": "home"},
        "actions": [
            {
                "type": "checkboxes",
                "action_id": "home_sectors",
                "block_id": "home_sectors",
                "selected_options": [{"value": k} for k in keys],
                "action_ts": "1",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def test_app_home_offers_each_workspace_only_shared_and_its_own_sectors(
    slack: Slack,
) -> None:
    async with slack.sessionmaker.begin() as session:
        tenant = await sub_repo.get_or_create_tenant(
            session, platform="slack", external_id=TEAM_ID, now=NOW
        )
        await sector_repo.add_sector(
            session,
            key="spaceflight",
            name_en="Spaceflight",
            name_ja="宇宙飛行",
            keywords=["rocket"],
            now=NOW,
            tenant_id=tenant.id,
        )
    assert (await slack.post(home_opened(TEAM_ID, "U5", "Ev1"))).status == 200
    own = json.dumps((await wait_for(slack, "views.publish")).args["view"], ensure_ascii=False)
    assert "spaceflight" in own and "Spaceflight" in own
    assert (await slack.post(home_opened(OTHER_TEAM, "U6", "Ev2"))).status == 200
    other = (await wait_for(slack, "views.publish", count=2)).args["view"]
    dumped = json.dumps(other, ensure_ascii=False)
    assert "spaceflight" not in dumped and "home_sectors" in dumped

    # A forged home action naming the other workspace's sector changes nothing.
    assert (await slack.post(sectors_chosen(OTHER_TEAM, "U6", ["spaceflight", "ai"]))).status == 200
    await wait_for(slack, "views.publish", count=3)
    async with slack.sessionmaker() as session:
        query = (
            select(Subscriber.sectors)
            .join(Tenant, Tenant.id == Subscriber.tenant_id)
            .where(Tenant.external_id == OTHER_TEAM, Subscriber.external_id == "U6")
        )
        sectors = (await session.execute(query)).scalar_one()
    assert "spaceflight" not in sectors
