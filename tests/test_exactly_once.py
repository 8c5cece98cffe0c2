"""Every part of a digest exactly once on Slack and Discord, also across ``kill -9``.

A killed worker leaves at most one part per delivery posted but unrecorded; the restarted one
looks it up on the platform (Slack message metadata through conversations.history, Discord's
channel messages) before posting it again. The fakes speak those APIs on loopback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest
from sqlalchemy import select

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.render import render_briefing_messages as discord_render
from adapters.slack.adapter import SlackAdapter
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.delivery.deliver import DeliveryService, RetryPolicy
from bot.delivery.pacing import Pacer, RateLimit
from bot.platform import Destination
from storage.models import Delivery
from tests.conftest import Database
from tests.discord_api import BOT_ID, FakeDiscord, user_json
from tests.killharness import SECTORS, run_fanout, seed_long_news
from tests.seed import add_subscribers
from tests.slack_api import TEAM_ID, Failure, SlackAPI
from tests.test_render_slack import long_briefing

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def _kill_and_check(db: Database, tmp_path: Path, kills: int) -> None:
    outcome = await run_fanout(db, tmp_path, kills=kills, seed=11, readers=40)
    assert outcome.kills == kills and outcome.restarts == kills
    assert outcome.kills_before_reply > 0  # some parts were posted and never heard of
    assert outcome.readers_with_problems == []
    assert (outcome.duplicates, outcome.losses) == (0, 0)
    # Several parts per reader (Discord's have three since "Why this?" menus take a row).
    assert outcome.parts_expected == 20 * 3 + 20 * 3
    assert outcome.posts == outcome.parts_expected
    assert outcome.ledger_disagrees == []


async def test_ten_kills_mid_fanout_leave_every_reader_every_part_once(
    sqlite_db: Database, tmp_path: Path
) -> None:
    await _kill_and_check(sqlite_db, tmp_path, kills=10)


@pytest.mark.postgres
async def test_kills_mid_fanout_on_postgresql_leave_every_reader_every_part_once(
    postgres_db: Database, tmp_path: Path
) -> None:
    # Fewer kills than on SQLite: each restart costs seconds of imports on a busy machine.
    await _kill_and_check(postgres_db, tmp_path, kills=3)


# --- the look-up, one adapter at a time ---------------------------------------------------------


class Killed(Exception):
    """Stands for the process dying between a post and its record."""


def _recorder(recorded: list[str], *, die_at: int | None = None):  # type: ignore[no-untyped-def]
    """An ``on_sent`` that records ids and "dies" once ``die_at`` parts were posted."""

    async def on_sent(message_id: str) -> None:
        if die_at is not None and len(recorded) == die_at:
            raise Killed(message_id)
        recorded.append(message_id)

    return on_sent


@pytest.fixture
async def slack(sqlite_db: Database) -> AsyncIterator[tuple[SlackAPI, SlackAdapter]]:
    api = SlackAPI(real_ts=True)
    await api.start()
    settings = Settings(
        slack_mode="http",
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=api.base_url,
    )
    adapter = SlackAdapter(
        settings=settings,
        sessionmaker=sqlite_db.sessionmaker,
        clock=lambda: datetime.now(UTC),
        pacer=Pacer(per_destination=RateLimit(1000, 1)),
    )
    yield api, adapter
    await adapter.close()
    await api.stop()


@pytest.fixture
async def discord_env(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FakeDiscord, DiscordAdapter]]:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    # No nonce window: only the look-up can keep a part from going out twice.
    api = FakeDiscord(nonce_window=0.0)
    await api.start()
    settings = Settings(
        discord_token="test-token", discord_api_url=api.base_url, discord_channel_messages=100
    )
    adapter = DiscordAdapter(
        settings=settings,
        sessionmaker=sqlite_db.sessionmaker,
        clock=lambda: datetime.now(UTC),
        sync_state_path=tmp_path / "sync.json",
    )
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    yield api, adapter
    await adapter.close()
    await api.close()


async def test_slack_parts_carry_metadata_and_a_resume_skips_the_part_posted_unrecorded(
    slack: tuple[SlackAPI, SlackAdapter],
) -> None:
    api, adapter = slack
    dest = Destination("slack", TEAM_ID, "channel", "C1")
    briefing = long_briefing(60)
    started = datetime.now(UTC)
    recorded: list[str] = []
    with pytest.raises(Killed):
        await adapter.send_briefing(
            dest, briefing, idempotency_key="sb-7", on_sent=_recorder(recorded, die_at=1)
        )
    assert len(recorded) == 1 and len(api.messages["C1"]) == 2  # part 1 posted, not recorded
    payloads = [m["metadata"] for m in api.messages["C1"]]
    assert payloads == [
        {
            "event_type": "shiftbrief_digest_part",
            "event_payload": {"delivery_id": "sb-7", "part": n},
        }
        for n in (0, 1)
    ]

    ref = await adapter.send_briefing(
        dest,
        briefing,
        start_part=1,
        idempotency_key="sb-7",
        on_sent=_recorder(recorded),
        resume_since=started,
    )
    posted = api.messages["C1"]
    parts = [m["metadata"]["event_payload"]["part"] for m in posted]
    assert parts == list(range(len(parts))) and len(parts) >= 3  # every part, once
    assert recorded == [m["ts"] for m in posted]
    assert list(ref.message_ids) == recorded[1:]
    [history] = api.called("conversations.history")
    assert history.args["include_all_metadata"] in ("1", "true")
    assert float(history.args["oldest"]) <= float(posted[0]["ts"])


async def test_slack_without_history_scope_posts_the_unknown_part_again_and_says_so(
    slack: tuple[SlackAPI, SlackAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    api, adapter = slack
    dest = Destination("slack", TEAM_ID, "channel", "C1")
    briefing = long_briefing(60)
    started = datetime.now(UTC)
    with pytest.raises(Killed):
        await adapter.send_briefing(
            dest, briefing, idempotency_key="sb-8", on_sent=_recorder([], die_at=0)
        )
    api.fail("conversations.history", Failure(error="missing_scope"))
    await adapter.send_briefing(dest, briefing, idempotency_key="sb-8", resume_since=started)
    parts = [m["metadata"]["event_payload"]["part"] for m in api.messages["C1"]]
    assert parts[:2] == [0, 0]  # a duplicate rather than a lost digest
    assert "cannot read the history of Slack channel C1 (missing_scope)" in caplog.text


async def test_discord_resume_finds_the_part_posted_unrecorded_by_its_content(
    discord_env: tuple[FakeDiscord, DiscordAdapter],
) -> None:
    api, adapter = discord_env
    dest = Destination("discord", "900", "channel", "4242")
    briefing = long_briefing(60)
    started = datetime.now(UTC)
    recorded: list[str] = []
    with pytest.raises(Killed):
        await adapter.send_briefing(
            dest, briefing, idempotency_key="sb-9", on_sent=_recorder(recorded, die_at=1)
        )
    assert len(recorded) == 1 and len(api.messages["4242"]) == 2
    # The same content from before the claim, or from someone else, is not our part.
    api.messages["4242"].insert(0, dict(api.messages["4242"][1], id="1"))
    third = discord_render(briefing)[2]
    body = {"content": third.content, "embeds": [e.to_dict() for e in third.embeds]}
    api.messages["4242"].append(dict(api._message("4242", body), author=user_json("1234", "x")))

    ref = await adapter.send_briefing(
        dest,
        briefing,
        start_part=1,
        idempotency_key="sb-9",
        on_sent=_recorder(recorded),
        resume_since=started,
    )
    posted = [m for m in api.messages["4242"] if m["author"]["id"] == BOT_ID and m["id"] != "1"]
    contents = [json.dumps(m["embeds"], sort_keys=True) for m in posted]
    assert len(set(contents)) == len(contents) == len(recorded) >= 3  # every part, once
    assert recorded == [m["id"] for m in posted]
    assert list(ref.message_ids) == recorded[1:]
    assert api.requests("GET", "/channels/4242/messages")


async def test_discord_enforced_nonce_turns_a_retried_post_into_the_same_message(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    api = FakeDiscord()  # Discord's nonce window
    await api.start()
    adapter = DiscordAdapter(
        settings=Settings(discord_token="t", discord_api_url=api.base_url),
        sessionmaker=sqlite_db.sessionmaker,
        clock=lambda: NOW,
        sync_state_path=tmp_path / "sync.json",
    )
    await adapter.login(Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW))
    try:
        # The post lands but its reply is a 500; discord.py sends it again, same nonce.
        api.fail("/channels/4243/messages", 500, lost=True)
        ref = await adapter.send_briefing(
            Destination("discord", "900", "channel", "4243"),
            long_briefing(5),
            idempotency_key="sb-3",
        )
    finally:
        await adapter.close()
        await api.close()
    posts = api.requests("POST", "/channels/4243/messages")
    assert len(posts) == len(ref.message_ids) + 1
    assert {p.json["nonce"] for p in posts[:2]} == {"sb-3.0"}
    assert len(api.messages["4243"]) == len(ref.message_ids)


async def test_a_slack_post_whose_reply_was_lost_is_not_posted_again_on_retry(
    sqlite_db: Database, slack: tuple[SlackAPI, SlackAdapter]
) -> None:
    api, adapter = slack
    now = datetime.now(UTC)
    await seed_long_news(sqlite_db, now)
    [sid] = await add_subscribers(
        sqlite_db, 1, now=now, platform="slack", tenant=TEAM_ID, sectors=SECTORS
    )
    service = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker,
        adapters={"slack": adapter},
        clock=lambda: datetime.now(UTC),
        worker_id="w",
        retry=RetryPolicy(base=0.01, cap=0.01),
    )
    assert await service.open_digest(sid, now)
    # Part 0 lands, but Slack's answer is a 500: the worker cannot know it went out.
    api.fail("chat.postMessage", Failure(status=500, error="internal_error", lost=True))
    async with asyncio.timeout(30):
        await service.deliver_all()
    posted = api.messages["C0000"]
    parts = [m["metadata"]["event_payload"]["part"] for m in posted]
    assert parts == [0, 1, 2]
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert row.status == "sent" and row.attempts == 2
    assert row.message_ref is not None
    assert row.message_ref["message_ids"] == [m["ts"] for m in posted]
