"""Slack's briefing buttons end to end: a signed block_actions request in, answers and rows out."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

from sqlalchemy import select

from adapters.slack.render import MORE, VOTE_DOWN, VOTE_UP, WHY, render_briefing_messages
from bot.commands.dispatcher import Dispatcher
from bot.commands.model import CommandRequest, Invocation, WhyStory
from bot.models import Briefing, StoryEntry
from storage.models import Feedback
from tests import test_slack_adapter as base
from tests.conftest import Database
from tests.seed import seed_news
from tests.test_render_slack import long_briefing
from tests.test_slack_adapter import TEAM_ID, Slack, actions_body, add_item, all_text

slack = base.slack  # the fixture


def more_button(sector: str) -> dict[str, Any]:
    """The "More on <sector>" button of a rendered briefing."""
    for message in render_briefing_messages(long_briefing(10)):
        for block in message.blocks:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if (
                    element["action_id"].startswith(MORE)
                    and json.loads(element["value"]).get("sector") == sector
                ):
                    return dict(element)
    raise AssertionError(f"no More button for {sector}")


def press(
    slack: Slack, button: dict[str, Any], *, user: str = "U7", answer_to: str = "more"
) -> str:
    return actions_body(
        {
            "user": {"id": user, "team_id": TEAM_ID},
            "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": "1700.2", "channel_id": "C1"},
            "message": {"ts": "1700.2", "text": "briefing", "blocks": []},
            "response_url": slack.api.response_url(answer_to),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "value": button["value"],
                    "block_id": "b",
                    "action_ts": "1",
                }
            ],
        }
    )


async def test_more_answers_with_that_sectors_summary_and_is_stored(slack: Slack) -> None:
    await add_item(slack.sessionmaker, "Robot arm learns to fold laundry from video", "ai")
    await add_item(slack.sessionmaker, "Offshore wind farm doubles its output", "green")
    button = more_button("ai")
    assert (await slack.post(press(slack, button))).status == 200
    answers = await slack.answers("more")
    text = " ".join(all_text(a) for a in answers)
    assert "Robot arm learns to fold laundry" in text
    assert "Offshore wind farm" not in text
    assert all(a.get("response_type") == "ephemeral" for a in answers)
    async with slack.sessionmaker() as session:
        (row,) = (await session.execute(select(Feedback))).scalars()
    assert (row.user_id, row.kind, row.sector_key, row.tenant_id) == ("U7", "more", "ai", TEAM_ID)
    assert row.story_key == json.loads(button["value"])["story"]


def stored_keys(briefing: Briefing) -> Briefing:
    """``briefing`` with its stories keyed as stored stories are (``t<id>``)."""
    number = itertools.count(1)

    def rekey(entry: StoryEntry) -> StoryEntry:
        return dataclasses.replace(entry, story_key=f"t{next(number)}")

    sections = tuple(
        dataclasses.replace(s, lead=rekey(s.lead), more=tuple(rekey(e) for e in s.more))
        for s in briefing.sections
    )
    return dataclasses.replace(briefing, sections=sections)


def test_every_story_of_a_briefing_has_why_this_beside_its_votes() -> None:
    briefing = stored_keys(long_briefing(10))
    answers = [{"blocks": m.blocks} for m in render_briefing_messages(briefing)]
    votes, whys = buttons_of(answers, VOTE_UP), buttons_of(answers, WHY)
    stories = sum(1 + len(section.more) for section in briefing.sections)
    assert len(whys) == len(votes) == stories > 1
    for vote, why in zip(votes, whys, strict=True):
        assert json.loads(why["value"])["story"] == json.loads(vote["value"])["story"]


def buttons_of(answers: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The buttons whose action id starts with ``prefix``, in the order the messages show them."""
    return [
        element
        for answer in answers
        for block in answer.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].startswith(prefix)
    ]


async def test_why_this_answers_what_brief_why_answers_only_to_the_presser(slack: Slack) -> None:
    await add_item(slack.sessionmaker, "Robot arm learns to fold laundry from video", "ai")
    await slack.command("subscribe ai", user="U7", name="sub")
    await slack.answers("sub")
    await slack.command("today", user="U7", name="today")
    briefing = await slack.answers("today")
    why_buttons = buttons_of(briefing, WHY)
    assert len(why_buttons) == len(buttons_of(briefing, VOTE_UP)) == 1
    assert {b["text"]["text"] for b in why_buttons} == {"Why this?"}
    story = json.loads(why_buttons[0]["value"])["story"]

    assert (await slack.post(press(slack, why_buttons[0], answer_to="why"))).status == 200
    await slack.command(f"why {story}", user="U7", name="typed")
    [typed] = await slack.answers("typed")
    [answer] = await slack.answers("why")
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert all_text(answer) == all_text(typed)
    assert "Why “" in answer["text"] and "is in your briefing" in answer["text"]
    assert "Wire" in answer["text"]
    # Only the presser saw it: nothing was posted to the channel, no vote was stored.
    assert not slack.api.called("chat.postMessage")
    async with slack.sessionmaker() as session:
        kinds = [row.kind for row in (await session.execute(select(Feedback))).scalars()]
    assert "vote" not in kinds


async def test_more_and_less_like_this_teach_the_readers_ranking(
    slack: Slack, sqlite_db: Database
) -> None:
    await seed_news(sqlite_db, base.NOW)
    await slack.command("today", user="U7", name="today")
    briefing = await slack.answers("today", count=2)  # the tip to subscribe, then the briefing
    ups, downs = buttons_of(briefing, VOTE_UP), buttons_of(briefing, VOTE_DOWN)
    assert {b["text"]["text"] for b in ups} == {"👍 More like this"}
    assert {b["text"]["text"] for b in downs} == {"👎 Less like this"}
    await slack.command("settings learned", user="U7", name="before")
    assert "not taught your ranking anything yet" in (await slack.answers("before"))[0]["text"]

    # More like the first story, less like the second (another sector and outlet).
    for name, button in (("up", ups[0]), ("down", downs[1])):
        assert (await slack.post(press(slack, button, answer_to=name))).status == 200
        await slack.answers(name)
    await slack.command("settings learned", user="U7", name="after")
    learned = (await slack.answers("after"))[0]["text"]
    liked, _, disliked = learned.partition("Less like:")
    first, second = (json.loads(b["value"]).get("sector") for b in (ups[0], downs[1]))
    assert "More like:" in liked and first and first in liked.casefold()
    assert second and second in disliked.casefold()

    await slack.command("settings reset-learning", user="U7", name="reset")
    assert "Forgotten" in (await slack.answers("reset"))[0]["text"]
    await slack.command("settings learned", user="U7", name="again")
    assert "not taught your ranking anything yet" in (await slack.answers("again"))[0]["text"]


def test_the_buttons_read_in_japanese_for_a_japanese_reader() -> None:
    briefing = dataclasses.replace(stored_keys(long_briefing(10)), language="ja")
    answers = [{"blocks": m.blocks} for m in render_briefing_messages(briefing)]
    labels = {b["text"]["text"] for p in (VOTE_UP, VOTE_DOWN, WHY) for b in buttons_of(answers, p)}
    assert labels == {"👍 もっと見たい", "👎 あまり見たくない", "なぜこの記事？"}


def test_a_story_no_digest_stored_has_no_why_this() -> None:
    # "/brief sector" and "More on" compose from the archive without keeping the stories, so
    # /brief why could not answer for them: they keep their votes but get no "Why this?".
    answers = [{"blocks": m.blocks} for m in render_briefing_messages(long_briefing(10))]
    assert buttons_of(answers, VOTE_UP) and not buttons_of(answers, WHY)


async def test_why_this_answers_a_reader_who_got_the_story_through_someone_else(
    slack: Slack,
) -> None:
    # A channel digest is received by the channel's subscription, not by each reader in it.
    await add_item(slack.sessionmaker, "Robot arm learns to fold laundry from video", "ai")
    await slack.command("today", user="U7", name="today")
    [why] = buttons_of(await slack.answers("today", count=2), WHY)
    assert (await slack.post(press(slack, why, user="U8", answer_to="why"))).status == 200
    [answer] = await slack.answers("why")
    assert "Why “Robot arm learns to fold laundry from video” is in your briefing" in answer["text"]

    # Nobody in another workspace received it: the key alone tells them nothing.
    dispatcher = Dispatcher(sessionmaker=slack.sessionmaker, clock=lambda: base.NOW)
    elsewhere = Invocation(platform="slack", tenant_id="T0999", user_id="U1", locale="en")
    story = json.loads(why["value"])["story"]
    reply = await dispatcher.handle(CommandRequest(WhyStory(story), elsewhere))
    assert "None of the stories you received" in reply.text and "Robot arm" not in reply.text
