"""Rules for real-world input, each shown on a real feed from ../shared/corpus/realfeeds/.

Feeds are served over loopback HTTP and stored in a real SQLite file by the real ingest pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestService
from bot.ingest.timeline import CLOCK_SKEW, NEWS_WINDOW
from storage.models import Item
from storage.repositories import feeds as feed_repo
from tests.feedserver import Entry, FeedServer, make_rss

pytestmark = pytest.mark.corpus


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Ingest:
    """Feeds on a loopback server, ingested into a SQLite file with a hand-set clock."""

    def __init__(self, server: FeedServer, db: Any, clock: Clock) -> None:
        self.server = server
        self.db = db
        self.clock = clock
        self.settings = Settings(
            database_url=db.url,
            allowed_private_networks=("127.0.0.1/32",),
            fetch_timeout=5.0,
            min_check_interval=60,
            max_check_interval=3600,
        )

    async def add(self, path: str, body: bytes) -> int:
        self.server.set(path, body=body)
        async with self.db.sessionmaker.begin() as session:
            feed = await feed_repo.add_feed(session, url=self.server.url(path), now=self.clock())
            return feed.id

    async def run(self) -> None:
        async with FeedFetcher.from_settings(self.settings, clock=self.clock) as fetcher:
            service = IngestService(
                sessionmaker=self.db.sessionmaker,
                fetcher=fetcher,
                clock=self.clock,
                settings=self.settings,
            )
            await service.run_pass(all_feeds=True)

    async def items(self, feed_id: int) -> list[Item]:
        async with self.db.sessionmaker() as session:
            rows = await session.scalars(
                select(Item).where(Item.feed_id == feed_id).order_by(Item.id)
            )
            return list(rows)


def _feed(corpus: Path, name: str) -> bytes:
    return (corpus / "realfeeds" / name).read_bytes()


@pytest.fixture
async def ingest(sqlite_db: Any) -> AsyncIterator[Ingest]:
    async with FeedServer() as server:
        yield Ingest(server, sqlite_db, Clock(datetime(2026, 8, 18, 6, 0, tzinfo=UTC)))


# --- dates in the future ------------------------------------------------------------------


async def test_items_dated_2035_count_as_published_when_first_seen(
    ingest: Ingest, corpus: Path
) -> None:
    # heise online's snapshot dates its entries August 2035. Added as a new feed they are
    # archive (a future date tells nothing); once the feed is known, a new such entry is news
    # published when we saw it, not eight years ahead of every real story.
    heise = _feed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    feed_id = await ingest.add("/heise.xml", make_rss([]))
    await ingest.run()
    ingest.server.set("/heise.xml", body=heise)
    ingest.clock.now += timedelta(hours=1)
    await ingest.run()
    items = await ingest.items(feed_id)
    assert len(items) == 150
    assert {i.published_at for i in items} == {ingest.clock.now}
    assert not any(i.is_backlog for i in items)


async def test_a_new_feed_dated_in_the_future_goes_to_the_archive(
    ingest: Ingest, corpus: Path
) -> None:
    feed_id = await ingest.add(
        "/heise.xml", _feed(corpus, "heise_online_atom_150items__nextcloud-news.xml")
    )
    await ingest.run()
    items = await ingest.items(feed_id)
    assert len(items) == 150
    assert all(i.is_backlog and i.published_at == ingest.clock.now for i in items)


async def test_a_publisher_clock_a_few_minutes_ahead_keeps_its_date(ingest: Ingest) -> None:
    ahead = ingest.clock.now + CLOCK_SKEW - timedelta(minutes=1)
    entry = Entry(
        title="Battery plant opens",
        link="https://example.com/a",
        pub_date=ahead.strftime("%a, %d %b %Y %H:%M:%S +0000"),
    )
    feed_id = await ingest.add("/ahead.xml", make_rss([entry]))
    await ingest.run()
    (item,) = await ingest.items(feed_id)
    assert item.published_at == ahead
    assert not item.is_backlog


# --- what a new feed carries: news inside the window, archive before it --------------------


async def test_a_new_feeds_recent_posts_are_news_and_older_ones_archive(
    ingest: Ingest, corpus: Path
) -> None:
    # TechCrunch's AI feed: posts from 13 to 17 August 2026. Added early on the 18th, the six
    # posts of the last day are news at once; the older ones are archive.
    feed_id = await ingest.add(
        "/tc.xml", _feed(corpus, "techcrunch_ai_category_2026-08__EienMosu-ai-news.xml")
    )
    await ingest.run()
    items = await ingest.items(feed_id)
    cutoff = ingest.clock.now - NEWS_WINDOW
    news = [i for i in items if not i.is_backlog]
    archive = [i for i in items if i.is_backlog]
    assert len(news) == 6 and len(archive) == 14
    assert all(i.published_at is not None and i.published_at >= cutoff for i in news)
    assert all(i.published_at is not None and i.published_at < cutoff for i in archive)


async def test_undated_entries_of_a_new_feed_are_archive(ingest: Ingest) -> None:
    feed_id = await ingest.add(
        "/undated.xml", make_rss([Entry(title="Undated note", link="https://example.com/u")])
    )
    await ingest.run()
    (item,) = await ingest.items(feed_id)
    assert item.is_backlog and item.published_at is None
