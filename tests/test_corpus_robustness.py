"""Every real and pathological feed is either ingested or recorded as failed; nothing escapes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.parse import ParseError, parse_feed
from bot.ingest.service import IngestService
from storage.models import FeedState, Item
from storage.repositories import feeds as feed_repo
from tests.feedserver import FeedServer

pytestmark = pytest.mark.corpus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_real_feeds_go_through_the_whole_service(corpus: Path, sqlite_db: Any) -> None:
    files = sorted((corpus / "realfeeds").glob("*.xml"))
    assert files, "no real feeds in the corpus"
    settings = Settings(database_url=sqlite_db.url, allowed_private_networks=("127.0.0.1/32",))
    async with FeedServer() as server:
        async with sqlite_db.sessionmaker.begin() as session:
            for path in files:
                server.set(f"/{path.name}", body=path.read_bytes(), content_type="application/xml")
                await feed_repo.add_feed(session, url=server.url(f"/{path.name}"), now=NOW)
        async with FeedFetcher.from_settings(settings) as fetcher:
            service = IngestService(
                sessionmaker=sqlite_db.sessionmaker,
                fetcher=fetcher,
                clock=lambda: NOW,
                settings=settings,
            )
            report = await service.run_pass()

    assert report.feeds == len(files)
    assert report.ok + report.failed == len(files)
    failures = {r.url.rsplit("/", 1)[-1]: r.error for r in report.results if r.status != "ok"}
    assert not failures, failures  # these are real, working feeds
    async with sqlite_db.sessionmaker() as session:
        stored = await session.scalar(select(func.count()).select_from(Item))
        undated = await session.scalar(
            select(func.count()).select_from(Item).where(Item.published_at.is_(None))
        )
        states = (await session.scalars(select(FeedState))).all()
        languages = dict(
            (
                await session.execute(select(Item.language, func.count()).group_by(Item.language))
            ).all()
        )
    # Duplicates inside a snapshot collapse, so fewer rows than entries, but most survive.
    assert report.new_items == stored
    assert stored is not None and stored > 5000
    assert undated is not None and undated < stored // 10
    assert all(s.backlog_done and s.error_count == 0 for s in states)
    assert languages.get("ja", 0) > 3000  # GIGAZINE, ITmedia, Impress Watch, Ledge.ai ...
    assert languages.get("en", 0) > 2000


def test_feedparser_test_suite_never_escapes_an_exception(corpus: Path) -> None:
    files = sorted((corpus / "feedparser-tests" / "tests").rglob("*.xml"))
    assert len(files) > 1000
    parsed = refused = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), url=f"http://127.0.0.1/{path.name}")
        except ParseError as exc:
            assert str(exc)  # every refusal says why
            refused += 1
            continue
        parsed += 1
        for item in feed.items:
            assert item.title or item.summary
            assert len(item.content_hash) == 64
            assert item.published_at is None or item.published_at.tzinfo is UTC
    assert parsed + refused == len(files)
    assert parsed > refused  # the suite is mostly valid feeds
