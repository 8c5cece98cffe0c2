"""Readers teach the ranking: votes move stories of that outlet, sector and subject up or down
in that reader's briefing only; muted subjects stay hidden; learning can be seen and reset."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.briefing.edition import load_edition, profile_of
from bot.commands.dispatcher import Dispatcher
from bot.commands.handlers.learning import listed
from bot.commands.model import CommandRequest, CommandText, Invocation, Vote
from bot.stories import digest
from storage.models import Subscriber
from tests.conftest import Database
from tests.week_replay import START, replay

pytestmark = pytest.mark.corpus

NOW = START + timedelta(days=6, hours=6)
VERGE = "AI | The Verge"


async def _briefing(db: Database, user: str) -> list[tuple[str, str, str]]:
    """(story key, outlet, title) of what the reader's digest shows, in the order they meet it."""
    async with db.sessionmaker.begin() as session:
        edition = await load_edition(session, now=NOW, track=True)
        reader = (
            await session.scalars(select(Subscriber).where(Subscriber.external_id == user))
        ).one()
        view = await digest.for_reader(
            session, reader.id, edition, profile_of(reader, all_sectors=list(edition.sectors))
        )
        briefing = edition.compose(view.profile)
    # As the reader meets them: the key points first, then the sections' other stories.
    shown = []
    for point in briefing.key_points:
        story = edition.stories[point.story_key]
        shown.append((point.story_key, story.lead.source, point.text))
    pointed = {key for key, _, _ in shown}
    shown.extend(
        (e.story_key, e.sources[0].name, e.title)
        for section in briefing.sections
        for e in (section.lead, *section.more)
        if e.story_key not in pointed
    )
    return shown


async def test_votes_move_one_readers_ranking_and_can_be_seen_and_reset(
    sqlite_db: Database, corpus: Path
) -> None:
    await replay(sqlite_db, corpus, days=6)
    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)

    async def say(user: str, text: str | Vote) -> str:
        invocation = Invocation(platform="console", tenant_id="t", user_id=user, locale="en")
        command = CommandText(text) if isinstance(text, str) else text
        return (await dispatcher.handle(CommandRequest(command, invocation))).text

    for user in ("voter", "quiet"):
        await say(user, "/brief subscribe ai")
    before = await _briefing(sqlite_db, "voter")
    assert await _briefing(sqlite_db, "quiet") == before
    assert "not taught your ranking anything yet" in await say("voter", "/brief settings learned")

    # More like TechCrunch's stories, less like The Verge's.
    for key, outlet, _title in before[1:]:
        await say("voter", Vote(key, -1 if outlet == VERGE else 1, "ai"))
    after = await _briefing(sqlite_db, "voter")
    verge = lambda shown: sum(1 for _, outlet, _ in shown if outlet == VERGE)  # noqa: E731
    # The stories met first (the key points) turn from The Verge to TechCrunch.
    assert verge(after[:3]) < verge(before[:3])
    assert [k for k, _, _ in after] != [k for k, _, _ in before]
    assert await _briefing(sqlite_db, "quiet") == before  # nobody else's briefing moved

    learned = await say("voter", "/brief settings learned")
    assert "\\" not in learned and "(?" not in learned  # no sector rule's pattern as a subject
    assert "More like:" in learned and "TechCrunch" in learned.split("Less like:")[0]
    assert "Less like:" in learned and VERGE in learned.split("Less like:")[1]

    await say("voter", "/brief mute Anthropic")
    muted = await _briefing(sqlite_db, "voter")
    assert muted and not any("Anthropic" in title for _, _, title in muted)

    await say("voter", "/brief unmute Anthropic")
    assert "Forgotten" in await say("voter", "/brief settings reset-learning")
    assert await _briefing(sqlite_db, "voter") == before


def test_a_sector_rules_pattern_is_never_listed_as_a_subject() -> None:
    # Seen in /brief settings learned: "\\d\\s?(?:[kmgt]wh?|[mg]wp)(?![a-za-z]) (subject, -0.3)".
    weights = {
        "subject:\\d\\s?(?:[kmgt]wh?|[mg]wp)(?![a-za-z])": -0.3,
        "subject:sodium-ion": 0.4,
        "outlet:Electrek": 0.2,
    }
    assert listed(weights) == {"subject:sodium-ion": 0.4, "outlet:Electrek": 0.2}
