"""A recorded week of real corpus feeds, replayed one digest at a time.

The feeds of ``WEEK`` are served on loopback as they stood each morning and early afternoon
(their entries published by then) and ingested by the real service; one reader's digest (07:00)
and their ``/brief today`` (13:00) are composed the way the delivery worker composes a digest
(``load_edition(track=True)``, ``bot.stories.digest.for_reader``, ``compose``, ``remember``).
Used by ``tests/test_continuity.py`` and ``bench/continuity.py``.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from bot.briefing.edition import ItemClassifier, load_edition, profile_of
from bot.briefing.embed_worker import embed_everything
from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestService
from bot.models import Briefing, StoryEntry
from bot.stories import digest
from storage.models import Subscriber, Tenant
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.feedserver import Entry, FeedServer, make_rss

WEEK = (
    "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml",
    "theverge_ai_atom_2026-08__EienMosu-ai-news.xml",
    "google_deepmind_blog_2026-08__EienMosu-ai-news.xml",
    "interconnects_ai_substack__personal-news-feed.xml",
)
START = datetime(2026, 8, 11, 7, 0, tzinfo=UTC)
"""The feeds are added this morning: what they published before is archive."""


@dataclass(frozen=True)
class Recorded:
    title: str
    entries: tuple[tuple[datetime, Entry], ...]

    def as_of(self, moment: datetime) -> bytes:
        shown = [e for when, e in self.entries if when <= moment]
        return make_rss(shown, title=self.title)


def record(path: Path) -> Recorded:
    parsed = feedparser.parse(path.read_bytes())
    entries = []
    for e in parsed.entries:
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        if stamp is None:
            continue
        when = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
        entries.append(
            (
                when,
                Entry(
                    title=e.get("title", ""),
                    summary=e.get("summary", ""),
                    link=e.get("link"),
                    guid=e.get("id") or e.get("link"),
                    pub_date=when.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                ),
            )
        )
    return Recorded(parsed.feed.get("title", path.stem), tuple(entries))


@dataclass
class Day:
    morning: datetime
    briefing: Briefing
    hidden: int

    @property
    def entries(self) -> list[StoryEntry]:
        return [e for s in self.briefing.sections for e in (s.lead, *s.more)]


@dataclass
class Week:
    days: list[Day] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Stories shown again with no update, and updates that name nothing new."""
        seen: set[str] = set()
        found = []
        for day in self.days:
            for entry in day.entries:
                if entry.story_key in seen and not entry.update:
                    found.append(f"{day.morning:%m-%d}: {entry.title} again, with nothing new")
                if entry.update and not any(ch.isalnum() for ch in entry.update.split(":", 1)[-1]):
                    found.append(f"{day.morning:%m-%d}: update without its news: {entry.title}")
                seen.add(entry.story_key)
        return found


async def replay(
    db: Database, corpus: Path, *, days: int = 7, feeds: Sequence[str] = WEEK, embed: bool = False
) -> Week:
    recorded = {name: record(corpus / "realfeeds" / name) for name in feeds}
    settings = Settings(database_url=db.url, allowed_private_networks=("127.0.0.1/32",))
    async with db.sessionmaker.begin() as session:
        tenant = Tenant(platform="console", external_id="week", created_at=START)
        session.add(tenant)
        await session.flush()
        reader = Subscriber(
            tenant_id=tenant.id,
            kind="user",
            external_id="reader",
            sectors=[],
            created_at=START,
            updated_at=START,
        )
        session.add(reader)
        await session.flush()
        reader_id = reader.id
    week = Week()
    async with FeedServer() as server:
        moment = START
        for name, feed in recorded.items():
            server.set(f"/{name}", body=feed.as_of(moment), content_type="application/xml")
        async with db.sessionmaker.begin() as session:
            for name in recorded:
                await feed_repo.add_feed(session, url=server.url(f"/{name}"), now=moment)
        async with FeedFetcher.from_settings(settings) as fetcher:
            # Each day: the 07:00 digest, and the reader asking again at 13:00 (/brief today).
            moments = [START] + [
                START + timedelta(days=day, hours=hours)
                for day in range(1, days + 1)
                for hours in (0, 6)
            ]
            for moment in moments:
                for name, feed in recorded.items():
                    server.set(f"/{name}", body=feed.as_of(moment), content_type="application/xml")
                service = IngestService(
                    sessionmaker=db.sessionmaker,
                    fetcher=fetcher,
                    clock=lambda moment=moment: moment,  # type: ignore[misc]
                    settings=settings,
                    after_store=ItemClassifier(),
                )
                await service.run_pass(all_feeds=True)
                if embed:
                    await embed_everything(db.sessionmaker, lambda moment=moment: moment)  # type: ignore[misc]
                if moment == START:
                    continue  # the morning the feeds were added: no digest yet
                week.days.append(await morning_digest(db, reader_id, moment))
    return week


async def morning_digest(db: Database, reader_id: int, moment: datetime) -> Day:
    """One digest, composed and remembered the way the delivery worker does it."""
    async with db.sessionmaker.begin() as session:
        edition = await load_edition(session, now=moment, track=True)
    async with db.sessionmaker.begin() as session:
        reader = await session.get(Subscriber, reader_id)
        assert reader is not None
        view = await digest.for_reader(
            session, reader_id, edition, profile_of(reader, all_sectors=list(edition.sectors))
        )
        briefing = edition.compose(view.profile)
        await digest.remember(session, reader_id, briefing, edition)
    return Day(moment, briefing, view.hidden)
