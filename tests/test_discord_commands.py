"""Every /brief subcommand on Discord, end to end: an interaction in, the answer and the rows out.

Uses the local Discord REST stand-in and the interaction builders of ``test_discord_adapter``;
each test runs one subcommand that a user can pick in Discord's command menu.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage.models import Feed, FeedOwner, RelatedReading, Sector, Subscriber
from tests import test_discord_adapter as base
from tests.seed import seed_news
from tests.test_discord_adapter import (
    CHANNEL,
    GUILD,
    MANAGE_GUILD,
    NOW,
    USER,
    Env,
    answered,
    interaction,
)

api, env = base.api, base.env  # the fixtures


def opt(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


def admin(sub: str, options: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return interaction(sub, options, group="admin", permissions=MANAGE_GUILD, **kw)


def with_channel(payload: dict[str, Any]) -> dict[str, Any]:
    """The interaction with CHANNEL among its resolved data, as Discord sends a channel option."""
    payload["data"]["resolved"] = {
        "channels": {
            CHANNEL: {
                "id": CHANNEL,
                "type": 0,
                "name": "general",
                "permissions": "562949953421311",
                "guild_id": GUILD,
                "parent_id": None,
            }
        }
    }
    return payload


def in_guild_cache(env: Env) -> None:
    """Let the client know the guild and its channel, as the gateway's GUILD_CREATE would."""
    env.adapter.client._connection.parse_guild_create(  # type: ignore[attr-defined]
        {
            "id": GUILD,
            "name": "Test server",
            "owner_id": USER,
            "channels": [
                {
                    "id": CHANNEL,
                    "type": 0,
                    "name": "general",
                    "position": 0,
                    "permission_overwrites": [],
                }
            ],
            "roles": [{"id": GUILD, "name": "@everyone", "permissions": "0", "position": 0}],
            "members": [],
            "features": [],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "member_count": 1,
            "unavailable": False,
        }
    )


async def subscriber(env: Env, external_id: str = USER) -> Subscriber:
    async with env.db.sessionmaker() as session:
        query = select(Subscriber).where(Subscriber.external_id == external_id)
        return (await session.execute(query)).scalar_one()


async def test_help_without_a_topic_lists_commands_and_the_readers_settings(env: Env) -> None:
    env.receive(interaction("help"))
    [answer] = await answered(env)
    assert "/brief today" in answer["content"]
    assert "Your settings" in answer["content"]


async def test_help_on_a_topic_in_japanese(env: Env) -> None:
    env.receive(interaction("help", [opt("topic", "admin feeds")], locale="ja"))
    [answer] = await answered(env)
    assert "/brief admin feeds add" in answer["content"]
    assert "フィードを追加" in answer["content"]
    assert "/brief today" not in answer["content"]


async def test_sector_shows_that_sectors_stories(env: Env) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("sector", [opt("sector", "ai"), opt("date", "today")]))
    answers = await answered(env)
    dumped = json.dumps(answers, ensure_ascii=False)
    assert "Open large language model matches" in dumped
    assert "Sodium-ion battery" not in dumped


async def test_sector_with_a_bad_date_names_it_and_the_form(env: Env) -> None:
    env.receive(interaction("sector", [opt("sector", "ai"), opt("date", "2024-13-45")]))
    [answer] = await answered(env)
    assert "2024-13-45" in answer["content"] and "YYYY-MM-DD" in answer["content"]


async def test_search_finds_archived_stories(env: Env) -> None:
    await seed_news(env.db, NOW)
    env.receive(interaction("search", [opt("words", "qubits")]))
    answers = await answered(env)
    assert "quantum computer reaches 1,000 qubits" in json.dumps(answers, ensure_ascii=False)


async def test_unsubscribe_drops_a_sector_then_all(env: Env) -> None:
    env.receive(interaction("subscribe", [opt("sector", "ai"), opt("sector_2", "green")]))
    await answered(env)
    env.receive(interaction("unsubscribe", [opt("sector", "ai")]))
    answers = await answered(env, 2)
    assert "Unsubscribed" in answers[1]["content"]
    assert (await subscriber(env)).sectors == ["green"]
    env.receive(interaction("unsubscribe", [opt("sector", "all")]))
    await answered(env, 3)
    assert (await subscriber(env)).sectors == []


async def test_admin_feeds_add_stores_the_feed(env: Env) -> None:
    options = [opt("url", "https://feeds.example/rss.xml"), opt("sector", "ai")]
    env.receive(admin("feeds-add", options))
    [answer] = await answered(env)
    assert "Added feed" in answer["content"]
    async with env.db.sessionmaker() as session:
        feed = (await session.execute(select(Feed))).scalar_one()
        follow = (await session.execute(select(FeedOwner))).scalar_one()
    # The hint is the server's own, kept with its follow of the feed.
    assert (feed.url, follow.sector_hint) == ("https://feeds.example/rss.xml", "ai")


async def test_admin_feeds_add_refuses_what_is_not_a_url(env: Env) -> None:
    env.receive(admin("feeds-add", [opt("url", "not a url")]))
    [answer] = await answered(env)
    assert "not a url" in answer["content"] and "https://" in answer["content"]
    async with env.db.sessionmaker() as session:
        assert (await session.execute(select(Feed))).first() is None


async def test_admin_schedule_set_saves_a_channel_digest(env: Env) -> None:
    in_guild_cache(env)
    options = [
        opt("channel", CHANNEL, 7),
        opt("time", "08:30"),
        opt("tz", "Asia/Tokyo"),
        opt("days", "mon-fri"),
        opt("sector", "ai"),
    ]
    env.receive(with_channel(admin("schedule-set", options)))
    [answer] = await answered(env)
    assert "08:30 Asia/Tokyo" in answer["content"]
    channel = await subscriber(env, CHANNEL)
    assert channel.kind == "channel"
    assert (channel.delivery_time, channel.timezone) == ("08:30", "Asia/Tokyo")
    assert channel.days == ["mon", "tue", "wed", "thu", "fri"] and channel.sectors == ["ai"]


async def test_admin_sectors_add_creates_the_sector(env: Env) -> None:
    options = [
        opt("key", "robots"),
        opt("name_en", "Robotics"),
        opt("name_ja", "ロボット"),
        opt("keywords", "humanoid, cobot"),
    ]
    env.receive(admin("sectors-add", options))
    [answer] = await answered(env)
    assert "robots" in answer["content"]
    async with env.db.sessionmaker() as session:
        # Stored as the server's own key (another server may have a "robots" too).
        query = select(Sector).where(Sector.key.startswith("robots@"))
        sector = (await session.execute(query)).scalar_one()
    assert (sector.name_en, sector.name_ja) == ("Robotics", "ロボット")
    assert {"humanoid", "cobot"} <= set(sector.keywords)


async def test_admin_reading_add_attaches_a_link_to_a_sector(env: Env) -> None:
    options = [
        opt("target", "ai"),
        opt("url", "https://explain.example/llm"),
        opt("title", "What is an LLM?"),
    ]
    env.receive(admin("reading-add", options))
    [answer] = await answered(env)
    assert "What is an LLM?" in answer["content"]
    async with env.db.sessionmaker() as session:
        reading = (await session.execute(select(RelatedReading))).scalar_one()
    assert (reading.sector_key, reading.url) == ("ai", "https://explain.example/llm")
