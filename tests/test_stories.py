"""Stories that last across editions: a report that arrives days later joins its story, which
comes back to a reader as an update naming its news; ``/brief why`` explains it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from bot.briefing import embed
from bot.briefing.edition import ItemClassifier, load_edition, profile_of
from bot.briefing.embed_worker import embed_everything
from bot.commands.dispatcher import Dispatcher
from bot.commands.model import CommandRequest, CommandText, Invocation
from bot.stories import digest
from storage.models import Feed, FeedOwner, Item, Subscriber
from tests.conftest import Database

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not embed.available(), reason="embedding model not installed"),
]

FIRST = datetime(2026, 8, 15, 9, 0, tzinfo=UTC)
LATE = FIRST + timedelta(days=2)
REPORTS = (  # the same announcement, from two outlets two days apart (real feed entries)
    ("techcrunch_ai_category_2026-08__EienMosu-ai-news.xml", "Anthropic shares more", FIRST),
    ("theverge_ai_atom_2026-08__EienMosu-ai-news.xml", "Anthropic explains how Claude", LATE),
)


async def _store_report(db: Database, corpus: Path, n: int) -> None:
    """Report ``n`` arrives: stored, classified and embedded as ingest and the worker do."""
    async with db.sessionmaker.begin() as session:
        stored = []
        for name, start, when in REPORTS[n : n + 1]:
            parsed = feedparser.parse((corpus / "realfeeds" / name).read_bytes())
            entry = next(e for e in parsed.entries if e.title.startswith(start))
            feed = Feed(url=f"https://{name}", title=parsed.feed.title, created_at=FIRST)
            session.add(feed)
            await session.flush()
            session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=FIRST))
            item = Item(
                feed_id=feed.id,
                content_hash=hashlib.sha256(entry.title.encode()).hexdigest(),
                title=entry.title,
                summary=entry.get("summary", ""),
                link=entry.link,
                language="en",
                published_at=when,
                first_seen_at=when,
            )
            session.add(item)
            stored.append(item)
        await session.flush()
        await ItemClassifier()(session, stored)
    await embed_everything(db.sessionmaker, lambda: REPORTS[n][2])


async def _digest(db: Database, subscriber_id: int, now: datetime):  # type: ignore[no-untyped-def]
    async with db.sessionmaker.begin() as session:
        edition = await load_edition(session, now=now, track=True)
        reader = await session.get(Subscriber, subscriber_id)
        assert reader is not None
        view = await digest.for_reader(
            session, subscriber_id, edition, profile_of(reader, all_sectors=list(edition.sectors))
        )
        briefing = edition.compose(view.profile)
        await digest.remember(session, subscriber_id, briefing, edition)
    return [e for s in briefing.sections for e in (s.lead, *s.more)]


async def test_a_late_report_joins_its_story_and_comes_back_as_an_update(
    sqlite_db: Database, corpus: Path
) -> None:
    await _store_report(sqlite_db, corpus, 0)
    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: LATE)
    invocation = Invocation(platform="console", tenant_id="t", user_id="u1", locale="en")
    await dispatcher.handle(CommandRequest(CommandText("/brief subscribe ai"), invocation))
    async with sqlite_db.sessionmaker() as session:
        reader_id = (await session.scalars(select(Subscriber.id))).one()

    first = await _digest(sqlite_db, reader_id, FIRST + timedelta(hours=1))
    assert len(first) == 1 and first[0].title.startswith(REPORTS[0][1])
    assert not first[0].update

    await _store_report(sqlite_db, corpus, 1)
    later = await _digest(sqlite_db, reader_id, LATE + timedelta(hours=1))
    assert [e.story_key for e in later] == [first[0].story_key]  # the same story
    assert later[0].title.startswith("Update: ")
    assert "new sources (+1): AI | The Verge" in later[0].update

    why = await dispatcher.handle(
        CommandRequest(CommandText("/brief why Claude watermarks"), invocation)
    )
    assert "Why “" in why.text and "2 outlets" in why.text
    assert "The Verge" in why.text and "TechCrunch" in why.text
    assert "Update since your last briefing" in why.text
