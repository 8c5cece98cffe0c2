"""👍 / 👎 reactions on a briefing in Slack: a signed reaction_added event in, a vote stored.

The reaction counts for the story the reacted message leads, through the same Vote a "More
like this" button sends, so it teaches the reader's ranking as a press does.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from adapters.slack.render import VOTE_UP, render_briefing_messages
from bot.commands.dispatcher import Dispatcher
from bot.commands.grammar import CommandRequest, CommandText, Invocation
from bot.delivery.deliver import DeliveryService
from bot.delivery.schedule import DigestScheduler
from bot.platform import Destination
from shiftbrief.runner import Schedules
from storage.models import Feedback
from tests import test_slack_adapter as base
from tests.conftest import Database
from tests.seed import seed_news
from tests.slack_api import BOT_USER
from tests.test_render_slack import long_briefing
from tests.test_slack_adapter import ADMIN, NOW, TEAM_ID, Slack

slack = base.slack  # the fixture
_events = itertools.count(1)


def reaction(
    name: str,
    channel: str,
    ts: str,
    *,
    user: str = "U7",
    item_user: str = BOT_USER,
    kind: str = "reaction_added",
) -> str:
    """A reaction_added (or reaction_removed) event as Slack's Events API sends it."""
    return json.dumps(
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"EvR{next(_events)}",
            "event_time": int(NOW.timestamp()),
            "event": {
                "type": kind,
                "user": user,
                "reaction": name,
                "item_user": item_user,
                "item": {"type": "message", "channel": channel, "ts": ts},
                "event_ts": "1700000100.000100",
            },
        }
    )


async def react(slack: Slack, *args: Any, **kw: Any) -> None:
    assert (await slack.post(reaction(*args, **kw))).status == 200
    await slack.settle()


def lead_story(message: dict[str, Any]) -> tuple[str, str | None]:
    """The story (and sector) of the first "More like this" button of a posted message."""
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"].startswith(VOTE_UP):
                value = json.loads(element["value"])
                return value["story"], value.get("sector")
    raise AssertionError("no vote button")


async def votes(slack: Slack) -> list[tuple[str, str, int, str | None]]:
    async with slack.sessionmaker() as session:
        rows = (await session.execute(select(Feedback).order_by(Feedback.id))).scalars()
        return [(r.user_id, r.story_key, r.value, r.sector_key) for r in rows if r.kind == "vote"]


async def send_digest_to_channel(
    slack: Slack, channel: str, sector: str = "ai"
) -> list[dict[str, Any]]:
    """A digest of ``sector`` sent now to ``channel`` through the ledger; what it posted there."""
    deliveries = DeliveryService(
        sessionmaker=slack.sessionmaker,
        adapters={"slack": slack.adapter},
        clock=lambda: NOW,
        worker_id="test",
    )
    scheduler = DigestScheduler(
        sessionmaker=slack.sessionmaker,
        sink=deliveries,
        clock=lambda: NOW,
        grace=timedelta(hours=1),
        name="slack-reactions",
    )
    dispatcher = Dispatcher(
        sessionmaker=slack.sessionmaker,
        clock=lambda: NOW,
        schedules=Schedules(scheduler=scheduler, deliveries=deliveries),
        channels={"slack": slack.adapter},
    )
    admin = Invocation("slack", TEAM_ID, ADMIN, "C1", True)
    for text in (f"set <#{channel}|news> 08:00 UTC {sector}", f"send-now <#{channel}|news>"):
        request = CommandRequest(CommandText(f"admin schedule {text}"), admin)
        reply = await dispatcher.handle(request)
        assert not reply.error, reply.text
    await deliveries.deliver_all()
    return list(slack.api.messages[channel])


async def test_a_thumbs_up_on_a_digest_teaches_the_readers_ranking(
    slack: Slack, sqlite_db: Database
) -> None:
    await seed_news(sqlite_db, NOW)
    [ai] = await send_digest_to_channel(slack, "C42", "ai")
    [green] = await send_digest_to_channel(slack, "C43", "green")
    (ai_story, ai_sector), (green_story, green_sector) = lead_story(ai), lead_story(green)
    # Stored stories, each shown under its sector.
    assert (ai_sector, green_sector) == ("ai", "green") and ai_story != green_story
    await slack.command("settings learned", user="U7", name="before")
    assert "not taught your ranking anything yet" in (await slack.answers("before"))[0]["text"]

    await react(slack, "+1", "C42", ai["ts"])
    await react(slack, "thumbsdown::skin-tone-3", "C43", green["ts"])  # any skin tone
    assert await votes(slack) == [("U7", ai_story, 1, "ai"), ("U7", green_story, -1, "green")]
    await slack.command("settings learned", user="U7", name="learned")
    learned = (await slack.answers("learned"))[0]["text"]
    liked, _, disliked = learned.partition("Less like:")
    assert "More like: AI (sector" in liked and "Green Tech" not in liked
    assert "Green Tech (sector" in disliked
    assert "👍 / 👎 reaction on a briefing message" in disliked  # the reader is told they count
    # Nothing is posted back: the reaction itself shows the vote.
    assert len(slack.api.called("chat.postMessage")) == 2

    # Taking the 👎 back leaves the 👍 alone, which says nothing against other sectors.
    await react(slack, "thumbsdown::skin-tone-3", "C43", green["ts"], kind="reaction_removed")
    assert await votes(slack) == [("U7", ai_story, 1, "ai"), ("U7", green_story, 0, "green")]
    await slack.command("settings learned", user="U7", name="after")
    assert "not taught your ranking anything yet" in (await slack.answers("after"))[0]["text"]


async def test_removing_a_reaction_takes_back_only_the_vote_it_made(
    slack: Slack, sqlite_db: Database
) -> None:
    await seed_news(sqlite_db, NOW)
    [part] = await send_digest_to_channel(slack, "C42")
    story, _ = lead_story(part)
    await react(slack, "+1", "C42", part["ts"])
    # The other thumb replaces the vote, as pressing the other button does ...
    await react(slack, "-1", "C42", part["ts"])
    assert [v[2] for v in await votes(slack)] == [-1]
    # ... so removing the 👍 now takes nothing back; removing the 👎 does.
    await react(slack, "+1", "C42", part["ts"], kind="reaction_removed")
    assert [v[2] for v in await votes(slack)] == [-1]
    await react(slack, "-1", "C42", part["ts"], kind="reaction_removed")
    assert await votes(slack) == [("U7", story, 0, "ai")]


async def test_other_emoji_and_other_peoples_messages_are_not_votes(
    slack: Slack, sqlite_db: Database
) -> None:
    await seed_news(sqlite_db, NOW)
    [part] = await send_digest_to_channel(slack, "C42")
    await react(slack, "tada", "C42", part["ts"])
    await react(slack, "+1", "C42", part["ts"], item_user="U8")  # a reader's own message
    await react(slack, "+1", "C42", "1699999999.000001")  # no such message
    await react(slack, "+1", "C42", part["ts"], user=BOT_USER)  # the bot's own reaction
    assert await votes(slack) == []
    # Only the message the bot may have posted was looked up.
    assert len(slack.api.called("conversations.history")) == 1


async def test_a_reaction_on_a_later_part_votes_for_the_story_that_part_leads(
    slack: Slack,
) -> None:
    brief = long_briefing(60)
    rendered = render_briefing_messages(brief)
    assert len(rendered) >= 3
    dest = Destination("slack", TEAM_ID, "channel", "C42")
    await slack.adapter.send_briefing(dest, brief)
    posted = slack.api.messages["C42"]
    second = posted[1]
    expected, sector = lead_story({"blocks": rendered[1].blocks})
    assert expected != lead_story(posted[0])[0]

    await react(slack, "-1", "C42", second["ts"])
    assert await votes(slack) == [("U7", expected, -1, sector)]
