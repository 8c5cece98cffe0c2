"""Every user action takes one path: App Home changes and button presses are engine requests.

Slack's App Home settings are checked and saved by the same ``settings`` handler as
``/brief settings`` (so a bad time is refused there too, and the scheduler resyncs), and a vote
from Slack and one from Discord are answered by the same handler.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack import home
from adapters.slack.adapter import SlackAdapter
from adapters.slack.render import VOTE_UP
from bot.commands import declare
from bot.commands.dispatcher import Dispatcher
from bot.commands.handlers.base import Context, Reply
from bot.config import Settings
from bot.delivery.deliver import DeliveryService
from bot.delivery.pacing import Pacer, RateLimit
from bot.delivery.schedule import DigestScheduler
from shiftbrief.runner import Schedules
from storage.models import Feedback, Subscriber
from tests import test_discord_adapter as discord_tests
from tests.conftest import Database
from tests.discord_api import FakeDiscord
from tests.slack_api import TEAM_ID, SlackAPI
from tests.test_slack_adapter import NOW, SECRET, Slack, actions_body, command_body, wait_for

api = discord_tests.api  # the fixture


@pytest.fixture
async def slack(sqlite_db: Database) -> AsyncIterator[tuple[Slack, DigestScheduler]]:
    """The Slack adapter in HTTP mode, its dispatcher wired to a running scheduler."""
    slack_api = SlackAPI()
    slack_api.users["UJA"] = {"locale": "ja-JP"}
    await slack_api.start()
    settings = Settings(
        slack_mode="http",
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=slack_api.base_url,
        http_host="127.0.0.1",
        http_port=0,
    )
    adapter = SlackAdapter(
        settings=settings,
        sessionmaker=sqlite_db.sessionmaker,
        clock=lambda: NOW,
        pacer=Pacer(per_destination=RateLimit(1000, 1)),
    )
    deliveries = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker,
        adapters={"slack": adapter},
        clock=lambda: NOW,
        worker_id="one-path",
    )
    scheduler = DigestScheduler(
        sessionmaker=sqlite_db.sessionmaker,
        sink=deliveries,
        clock=lambda: NOW,
        grace=timedelta(hours=1),
        name="one-path",
    )
    await scheduler.start()
    dispatcher = Dispatcher(
        sessionmaker=sqlite_db.sessionmaker,
        clock=lambda: NOW,
        schedules=Schedules(scheduler=scheduler, deliveries=deliveries),
    )
    await adapter.start(dispatcher)
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        yield Slack(slack_api, adapter, url, http, sqlite_db.sessionmaker), scheduler
    await adapter.close()
    await scheduler.shutdown()
    await slack_api.stop()


def home_action(user: str, action: dict[str, Any]) -> str:
    return actions_body(
        {
            "user": {"id": user, "team_id": TEAM_ID},
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home"},
            "actions": [{"block_id": "b", "action_ts": "1", **action}],
        }
    )


def time_picked(value: str) -> dict[str, Any]:
    return {"type": "timepicker", "action_id": home.TIME, "selected_time": value}


async def reader(slack: Slack, user: str) -> Subscriber:
    async with slack.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.external_id == user)
        return (await session.execute(query)).scalar_one()


async def test_a_time_set_on_app_home_is_saved_and_resyncs_the_scheduler(
    slack: tuple[Slack, DigestScheduler],
) -> None:
    client, scheduler = slack
    await client.post(
        command_body("subscribe ai", user="U1", response_url=client.api.response_url("s"))
    )
    await client.answers("s")
    zone = {
        "type": "external_select",
        "action_id": home.ZONE,
        "selected_option": {"value": "Asia/Tokyo"},
    }
    assert (await client.post(home_action("U1", zone))).status == 200
    await wait_for(client, "views.publish")
    assert (await client.post(home_action("U1", time_picked("09:15")))).status == 200
    await wait_for(client, "views.publish", count=2)
    user = await reader(client, "U1")
    assert (user.delivery_time, user.timezone) == ("09:15", "Asia/Tokyo")
    next_run = scheduler.next_run(user.id)
    assert next_run is not None
    assert next_run.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "09:15"


async def test_a_bad_time_is_refused_on_app_home_as_by_the_settings_command(
    slack: tuple[Slack, DigestScheduler],
) -> None:
    client, _ = slack
    assert (await client.post(home_action("UJA", time_picked("25:99")))).status == 200
    published = await wait_for(client, "views.publish")
    view = json.dumps(published.args["view"], ensure_ascii=False)
    assert "25:99" in view and "時刻として読めません" in view
    assert (await reader(client, "UJA")).delivery_time == "08:00"
    # /brief settings refuses it with the same sentence.
    await client.post(
        command_body("settings time 25:99", user="UJA", response_url=client.api.response_url("c"))
    )
    [answer] = await client.answers("c")
    first_line = answer["text"].splitlines()[0]
    assert first_line in view.replace("\\n", "\n")


async def test_a_vote_from_slack_and_one_from_discord_land_in_the_same_handler(
    slack: tuple[Slack, DigestScheduler],
    api: FakeDiscord,
    sqlite_db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _ = slack
    spec = declare.spec_for("vote")
    seen: list[str] = []

    async def recorded(ctx: Context, command: Any) -> Reply:
        seen.append(ctx.invocation.platform)
        return await spec.handler(ctx, command)

    monkeypatch.setitem(
        declare._registry.specs, "vote", type(spec)(**{**_fields(spec), "handler": recorded})
    )

    # Slack: an ephemeral briefing message (no blocks to mark), a Japanese reader.
    press = {
        "user": {"id": "UJA", "team_id": TEAM_ID},
        "channel": {"id": "C1"},
        "container": {
            "type": "message",
            "message_ts": "1.1",
            "channel_id": "C1",
            "is_ephemeral": True,
        },
        "response_url": client.api.response_url("vote"),
        "actions": [
            {
                "type": "button",
                "action_id": f"{VOTE_UP}:1",
                "value": json.dumps({"story": "s7", "sector": "ai"}),
                "block_id": "b",
                "action_ts": "1",
            }
        ],
    }
    assert (await client.post(actions_body(press))).status == 200
    [slack_answer] = await client.answers("vote")

    # Discord: a press in a server channel, a Japanese client.
    adapter = discord_tests.make_adapter(api, sqlite_db, tmp_path / "sync.json")
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    try:
        payload = discord_tests.press("sb:v:up:s7", in_guild=True)
        payload["locale"] = "ja"
        discord_tests.Env(api, adapter, sqlite_db).receive(payload)
        await api.wait_for(lambda: len(discord_tests.callbacks(api)) >= 1)
        [discord_answer] = discord_tests.callbacks(api)
    finally:
        await adapter.close()

    assert seen == ["slack", "discord"]
    assert slack_answer["text"] == discord_answer["data"]["content"] == "ありがとうございます 👍"
    async with sqlite_db.sessionmaker() as session:
        rows = (await session.execute(select(Feedback).order_by(Feedback.id))).scalars().all()
    assert [(r.platform, r.story_key, r.kind, r.value) for r in rows] == [
        ("slack", "s7", "vote", 1),
        ("discord", "s7", "vote", 1),
    ]


def _fields(spec: declare.CommandSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}
