"""👍 / 👎 reactions on a briefing in Discord: a MESSAGE_REACTION_ADD in, a vote stored.

The local REST stand-in (tests/discord_api.py) serves the posted messages but plays no gateway,
so the event is the JSON Discord sends on the gateway, handed to discord.py's own connection
state as the gateway reader does (as the interaction tests do); the client's
``on_raw_reaction_add`` then reads the message back over REST from the stand-in.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot import untrusted
from bot.commands.dispatcher import Dispatcher
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.delivery.deliver import DeliveryService
from bot.delivery.schedule import DigestScheduler
from bot.platform import Destination
from shiftbrief.runner import Schedules
from storage.models import Feedback
from tests import test_discord_adapter as base
from tests.discord_api import BOT_ID, user_json
from tests.seed import seed_news
from tests.test_discord_adapter import GUILD, NOW, USER, Env, briefing, custom_ids

api, env = base.api, base.env  # the fixtures
OTHER_CHANNEL = "1000000000000000012"


def reaction(
    emoji: str,
    channel: str,
    message: str,
    *,
    user: str = USER,
    author: str = BOT_ID,
    emoji_id: str | None = None,
) -> dict[str, Any]:
    """A MESSAGE_REACTION_ADD payload as Discord's gateway sends it in a server."""
    return {
        "user_id": user,
        "type": 0,
        "message_id": message,
        "message_author_id": author,
        "member": {
            "user": user_json(user),
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        },
        "emoji": {"id": emoji_id, "name": emoji},
        "channel_id": channel,
        "guild_id": GUILD,
        "burst": False,
        "burst_colors": [],
    }


def removal(emoji: str, channel: str, message: str, *, user: str = USER) -> dict[str, Any]:
    """A MESSAGE_REACTION_REMOVE payload (it names neither the member nor the author)."""
    return {
        "user_id": user,
        "type": 0,
        "message_id": message,
        "emoji": {"id": None, "name": emoji},
        "channel_id": channel,
        "guild_id": GUILD,
        "burst": False,
    }


async def react(env: Env, *args: Any, removed: bool = False, **kw: Any) -> None:
    """Hand the reaction (or its removal) to discord.py as the gateway would; wait for it."""
    state = env.adapter.client._connection
    if removed:
        state.parse_message_reaction_remove(removal(*args, **kw))  # type: ignore[arg-type]
    else:
        state.parse_message_reaction_add(reaction(*args, **kw))  # type: ignore[arg-type]
    event = "on_raw_reaction_remove" if removed else "on_raw_reaction_add"
    handlers = [t for t in asyncio.all_tasks() if event in t.get_name()]
    assert handlers, f"the client does not listen for {event}"
    await asyncio.wait_for(asyncio.gather(*handlers), 30)


async def votes(env: Env) -> list[tuple[str, str, int]]:
    async with env.db.sessionmaker() as session:
        rows = (await session.execute(select(Feedback).order_by(Feedback.id))).scalars()
        return [(r.user_id, r.story_key, r.value) for r in rows if r.kind == "vote"]


def lead(message: dict[str, Any]) -> str:
    return next(i for i in custom_ids(message) if i.startswith("sb:v:up:")).split(":", 3)[3]


async def send_digest(env: Env, channel: str, sector: str) -> list[dict[str, Any]]:
    """A digest of ``sector`` sent now to ``channel`` through the ledger; what it posted."""
    deliveries = DeliveryService(
        sessionmaker=env.db.sessionmaker,
        adapters={"discord": env.adapter},
        clock=lambda: NOW,
        worker_id="test",
    )
    scheduler = DigestScheduler(
        sessionmaker=env.db.sessionmaker,
        sink=deliveries,
        clock=lambda: NOW,
        grace=timedelta(hours=1),
        name="discord-reactions",
    )
    dispatcher = Dispatcher(
        sessionmaker=env.db.sessionmaker,
        clock=lambda: NOW,
        schedules=Schedules(scheduler=scheduler, deliveries=deliveries),
    )
    admin = Invocation("discord", GUILD, "9", None, True)
    for text in (f"set <#{channel}> 08:00 UTC {sector}", f"send-now <#{channel}>"):
        request = CommandRequest(CommandText(f"admin schedule {text}"), admin)
        reply = await dispatcher.handle(request)
        assert not reply.error, reply.text
    await deliveries.deliver_all()
    return list(env.api.messages[channel])


def test_the_client_asks_for_reactions_and_no_privileged_intent(env: Env) -> None:
    intents = env.adapter.client.intents
    assert intents.guild_reactions and intents.dm_reactions
    assert not (intents.message_content or intents.members or intents.presences)


async def test_a_thumbs_up_on_a_digest_teaches_the_readers_ranking(env: Env) -> None:
    await seed_news(env.db, NOW)
    ai = [m for m in await send_digest(env, base.CHANNEL, "ai") if custom_ids(m)]
    green = [m for m in await send_digest(env, OTHER_CHANNEL, "green") if custom_ids(m)]
    ai_story, green_story = lead(ai[0]), lead(green[0])
    assert ai_story.startswith("t") and green_story.startswith("t") and ai_story != green_story
    posts = len(env.api.requests("POST"))

    await react(env, "👍", base.CHANNEL, ai[0]["id"])
    await react(env, "👎🏽", OTHER_CHANNEL, green[0]["id"])  # any skin tone
    assert await votes(env) == [(USER, ai_story, 1), (USER, green_story, -1)]
    assert len(env.api.requests("POST")) == posts  # nothing posted back: the reaction shows

    dispatcher = Dispatcher(sessionmaker=env.db.sessionmaker, clock=lambda: NOW)
    reader = Invocation("discord", GUILD, USER, None, False, "en-US")
    learned = await dispatcher.handle(CommandRequest(CommandText("settings learned"), reader))
    liked, _, disliked = untrusted.plain(learned.text).partition("Less like:")
    assert "More like: AI (sector" in liked and "Green Tech" not in liked
    assert "Green Tech (sector" in disliked

    # The other thumb replaces the vote, as pressing the other button does, so removing the
    # 👍 then takes nothing back; removing the 👎 does.
    await react(env, "👎", base.CHANNEL, ai[0]["id"])
    assert (await votes(env))[0] == (USER, ai_story, -1)
    await react(env, "👍", base.CHANNEL, ai[0]["id"], removed=True)
    assert (await votes(env))[0] == (USER, ai_story, -1)
    await react(env, "👎", base.CHANNEL, ai[0]["id"], removed=True)
    assert (await votes(env))[0] == (USER, ai_story, 0)


async def test_a_reaction_on_a_later_message_votes_for_the_story_it_leads(env: Env) -> None:
    ref = await env.adapter.send_briefing(
        Destination("discord", GUILD, "channel", base.CHANNEL),
        briefing(sections=8),
        idempotency_key="sb-9",
    )
    posted = [m for m in env.api.messages[base.CHANNEL] if custom_ids(m)]
    assert len(ref.message_ids) >= 2 and len(posted) >= 2
    assert lead(posted[1]) != lead(posted[0])
    await react(env, "👍", base.CHANNEL, posted[1]["id"])
    assert await votes(env) == [(USER, lead(posted[1]), 1)]


async def test_other_emoji_and_other_messages_are_not_votes(env: Env) -> None:
    await env.adapter.send_briefing(
        Destination("discord", GUILD, "channel", base.CHANNEL), briefing()
    )
    [message] = env.api.messages[base.CHANNEL]
    await react(env, "🎉", base.CHANNEL, message["id"])
    await react(env, "thumbsup", base.CHANNEL, message["id"], emoji_id="1234567890")  # custom
    await react(env, "👍", base.CHANNEL, message["id"], author=USER)  # a reader's message
    await react(env, "👍", base.CHANNEL, message["id"], user=BOT_ID)  # the bot's own
    await react(env, "👍", base.CHANNEL, "1300000000000000999")  # gone
    assert await votes(env) == []
    # Only the messages the bot may have posted were read back.
    reads = [c for c in env.api.requests("GET") if "/messages/" in c.path]
    assert len(reads) == 1
