"""One event from an English feed and a Japanese feed becomes one story with both sources.

Real HTTP on loopback (tests/feedserver.py), a real SQLite file, the real parser, the real
ingest service, the background embedding worker with the packaged model, and the briefing as a
reader gets it. The reports are real (Google DeepMind's post on SIMA 2 and GIGAZINE's report;
tests/data/cluster_events.jsonl), next to another Google story of that week.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.briefing.edition import ItemClassifier, load_edition
from bot.briefing.embed_worker import EmbeddingWorker
from bot.briefing.render_text import render_text
from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestService
from bot.models import Profile
from storage.repositories import feeds as feed_repo
from tests.feedserver import Entry, FeedServer, make_rss

NOW = datetime(2025, 11, 14, 12, 0, tzinfo=UTC)


def rfc822(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


OLD_EN = Entry(
    title="Mapping, modeling, and understanding nature with AI",
    summary="AI models can help map species, protect forests and listen to birds.",
    link="https://deepmind.google/blog/mapping-modeling-and-understanding-nature-with-ai/",
    guid="dm-nature",
    pub_date=rfc822(NOW - timedelta(days=9)),
)
OLD_JA = Entry(
    title="Googleが広告イメージ自動生成AIの「Pomelli」を発表",
    link="https://gigazine.net/news/20251029-google-pomelli/",
    guid="gz-pomelli",
    pub_date=rfc822(NOW - timedelta(days=16)),
)
SIMA_EN = Entry(
    title="SIMA 2: An Agent that Plays, Reasons, and Learns With You in Virtual 3D Worlds",
    summary="Introducing SIMA 2, a Gemini-powered AI agent that can think, understand, and take "
    "actions in interactive environments.",
    link="https://deepmind.google/blog/sima-2-an-agent-that-plays-reasons-and-learns-with-you/"
    "?utm_source=rss",
    guid="dm-sima2",
    pub_date=rfc822(NOW - timedelta(hours=21)),
)
SIMA_JA = Entry(
    title="Google DeepMindが3Dゲームを人間のようにプレイして学習するAIエージェント「SIMA 2」を発表",
    summary="Google DeepMindが、3D仮想世界で人間のように考え、理解し、行動するAIエージェント"
    "「SIMA 2」を発表しました。",
    link="https://gigazine.net/news/20251114-sima-2/",
    guid="gz-sima2",
    pub_date=rfc822(NOW - timedelta(hours=8)),
)
PHOTOS_JA = Entry(
    title="Googleの画像生成AI「Nano Banana」がGoogleフォトでも使用可能に",
    summary="Googleフォトの編集機能に画像生成AI「Nano Banana」が統合されました。",
    link="https://gigazine.net/news/20251112-google-photos-nano-banana/",
    guid="gz-photos",
    pub_date=rfc822(NOW - timedelta(hours=10)),
)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


async def test_english_and_japanese_reports_make_one_story_with_both_sources(
    sqlite_db: Any, server: FeedServer
) -> None:
    clock = [NOW - timedelta(days=2)]
    settings = Settings(
        database_url=sqlite_db.url,
        allowed_private_networks=("127.0.0.1/32",),
        fetch_timeout=5.0,
    )
    en = make_rss([OLD_EN], title="Google DeepMind", language="en")
    ja = make_rss([OLD_JA], title="GIGAZINE", language="ja")
    server.set("/deepmind.xml", body=en)
    server.set("/gigazine.xml", body=ja)
    async with sqlite_db.sessionmaker.begin() as session:
        for path in ("/deepmind.xml", "/gigazine.xml"):
            await feed_repo.add_feed(session, url=server.url(path), now=clock[0])

    async with FeedFetcher.from_settings(settings) as fetcher:
        service = IngestService(
            sessionmaker=sqlite_db.sessionmaker,
            fetcher=fetcher,
            clock=lambda: clock[0],
            settings=settings,
            after_store=ItemClassifier(),
            parse_processes=1,
        )
        try:
            await service.run_pass(all_feeds=True)  # what the feeds held when added: backlog
            server.set("/deepmind.xml", body=make_rss([SIMA_EN, OLD_EN], title="Google DeepMind"))
            server.set(
                "/gigazine.xml",
                body=make_rss([SIMA_JA, PHOTOS_JA, OLD_JA], title="GIGAZINE", language="ja"),
            )
            clock[0] = NOW
            report = await service.run_pass(all_feeds=True)
        finally:
            service.close()
    assert report.new_items == 3

    worker = EmbeddingWorker(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)
    while await worker.run_once():
        pass

    async with sqlite_db.sessionmaker() as session:
        edition = await load_edition(session, now=NOW)
    briefing = edition.compose(Profile(sectors=("ai",)), date=NOW.date())
    entries = [e for s in briefing.sections for e in (s.lead, *s.more)]
    sima = [e for e in entries if "SIMA 2" in e.title]
    assert len(sima) == 1, [e.title for e in entries]
    assert sima[0].source_count == 2
    assert {s.name for s in sima[0].sources} == {"Google DeepMind", "GIGAZINE"}
    # The other Google story of the week stays a story of its own (here, a key point marked
    # as Japanese for this English reader, after the English one).
    points = [p.text for p in briefing.key_points]
    assert any("Nano Banana" in t for t in [e.title for e in entries] + points)
    assert "Nano Banana" not in points[0]
    text = render_text(briefing)
    assert "Sources: Google DeepMind, GIGAZINE\n" in text
    section = text.split("[AI]", 1)[1]
    assert section.count("SIMA 2") == 2  # its headline and its summary, once each
