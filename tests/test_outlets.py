"""A story's sources are counted by outlet: one article carried by two feeds is one source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing.cluster import make_story
from bot.briefing.compose import compose_briefing
from bot.briefing.outlets import canonical_link, shown_link
from bot.models import Article, Profile, SectorDef, SectorScore
from tests.editor_feeds import ALL_SECTORS, articles_from
from tests.editor_feeds import SECTORS as ALL

NOW = datetime(2026, 8, 17, 12, 0, tzinfo=UTC)
SECTORS = {"ai": SectorDef(key="ai", name_en="AI", name_ja="AI")}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "https://techcrunch.com/2026/08/15/claude-watermarks/?utm_source=rss&utm_medium=feed",
            "https://techcrunch.com/2026/08/15/claude-watermarks/",
        ),
        (
            "http://www.example.com/a?b=2&id=7#comments",
            "https://example.com/a?id=7&b=2",
        ),
        (
            "https://news.yahoo.co.jp/articles/93f3ac49e79e?source=rss",
            "https://news.yahoo.co.jp/articles/93f3ac49e79e",
        ),
    ],
)
def test_one_page_whatever_the_tracking(first: str, second: str) -> None:
    assert canonical_link(first) == canonical_link(second) is not None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://example.com/a?id=7", "https://example.com/a?id=8"),
        ("https://example.com/a", "https://example.org/a"),
    ],
)
def test_different_pages_stay_different(first: str, second: str) -> None:
    assert canonical_link(first) != canonical_link(second)


@pytest.mark.parametrize("url", [None, "", "mailto:desk@example.com", "javascript:alert(1)"])
def test_no_web_link(url: str | None) -> None:
    assert canonical_link(url) is None


def article(item_id: int, feed_id: int, source: str, link: str) -> Article:
    when = NOW - timedelta(hours=item_id)
    return Article(
        item_id=item_id,
        feed_id=feed_id,
        source=source,
        title="Anthropic explains how Claude's invisible text watermarks will work",
        summary="The watermarks are meant to identify text written by Claude.",
        link=link,
        published_at=when,
        first_seen_at=when,
        language="en",
        sectors=(SectorScore("ai", 3.0, ("Claude",)),),
    )


def test_a_story_counts_outlets_not_feeds() -> None:
    tc = "https://techcrunch.com/2026/08/15/anthropic-shares-claude-watermarks"
    story = make_story(
        [
            article(1, 1, "TechCrunch", tc + "?utm_source=feedburner&utm_medium=feed"),
            article(2, 2, "TechCrunch AI", tc),  # the section feed carries the same article
            article(3, 3, "Hacker News", tc + "#comments"),  # an aggregator linking to it
            article(4, 4, "The Verge", "https://www.theverge.com/ai/claude-watermarks"),
        ]
    )
    assert story.source_count == 2
    briefing = compose_briefing([story], Profile(sectors=("ai",)), NOW, sectors=SECTORS)
    entry = briefing.sections[0].lead
    assert entry.source_count == 2
    # One link per outlet: the Verge's and one of the three carrying TechCrunch's article.
    assert {canonical_link(s.url) for s in entry.sources} == {
        "theverge.com/ai/claude-watermarks",
        "techcrunch.com/2026/08/15/anthropic-shares-claude-watermarks",
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (  # Medscape, STAT, NewsPicks, bioRxiv and heise as their feeds link them
            "https://www.medscape.com/viewarticle/bird-flu-2025a1000uhy?src=rss",
            "https://www.medscape.com/viewarticle/bird-flu-2025a1000uhy",
        ),
        (
            "https://www.statnews.com/2026/02/13/disc-medicine-fda-decision/?utm_campaign=rss",
            "https://www.statnews.com/2026/02/13/disc-medicine-fda-decision/",
        ),
        (
            "https://newspicks.com/news/9122948?ref=picked-news_9980",
            "https://newspicks.com/news/9122948",
        ),
        (
            "http://biorxiv.org/cgi/content/short/2023.12.16.571984v1?rss=1",
            "http://biorxiv.org/cgi/content/short/2023.12.16.571984v1",
        ),
        (
            "https://www.heise.de/news/Chips-9.html?wt_mc=rss.red.ho.ho.atom.beitrag.beitrag",
            "https://www.heise.de/news/Chips-9.html",
        ),
        # What chooses the page stays, and so does its form.
        ("https://example.com/a?id=7&utm_source=x#part", "https://example.com/a?id=7#part"),
        ("https://github.com/o/r/blob/f.py?ref=main", "https://github.com/o/r/blob/f.py?ref=main"),
        ("https://www.example.com/A?b=2&a=1", "https://www.example.com/A?b=2&a=1"),
    ],
)
def test_shown_links_lose_tracking_parameters_only(url: str, shown: str) -> None:
    assert shown_link(url) == shown


def test_a_briefings_links_carry_no_tracking(corpus: Path) -> None:
    names = (
        "statnews_scraped_2026-02__prospect-rss-feeds.xml",
        "medscape_family_medicine_rss__NetNewsWire.xml",
    )
    documents = [(n, (corpus / "realfeeds" / n).read_bytes()) for n in names]
    now = datetime(2026, 2, 14, tzinfo=UTC)
    briefing = compose_briefing(
        articles_from(documents, now), Profile(sectors=ALL_SECTORS), now, sectors=ALL
    )
    entries = [e for s in briefing.sections for e in (s.lead, *s.more)]
    links = [e.link for e in entries] + [s.url for e in entries for s in e.sources]
    links += [p.link for p in briefing.key_points]
    assert len(links) >= 8
    assert not any("utm_" in (u or "") or "src=rss" in (u or "") for u in links), links
