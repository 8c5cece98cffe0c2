"""A section's order for its reader: what they can read first, one feed's overflow last."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from bot.briefing.spread import Ranked, spread_over_feeds
from bot.models import Article, Story

NOW = datetime(2026, 3, 24, 12, 0, tzinfo=UTC)


def _story(key: str, feed: int, language: str) -> Story:
    article = Article(
        item_id=len(key),
        feed_id=feed,
        source=f"Feed {feed}",
        title=key,
        summary="Some text.",
        link=None,
        published_at=NOW,
        first_seen_at=NOW,
        language=language,
    )
    return Story(key=key, articles=(article,), sectors=())


def test_readable_stories_go_first_and_a_feeds_overflow_stays_last() -> None:
    # As ranked on 2026-03-24 for an English reader of AI: a Japanese outlet's three stories
    # score highest, a journal's three papers after; each feed has two places of its own.
    ranked = [
        (0.90, _story("sora", 22, "ja")),
        (0.47, _story("copilot", 22, "ja")),
        (0.45, _story("claude", 22, "ja")),
        (0.31, _story("survey", 21, "en")),
        (0.31, _story("omniparser", 21, "en")),
        (0.22, _story("projectors", 21, "en")),
    ]

    def select(k: int, allow: object) -> Ranked:
        return [p for p in ranked if allow(p[1])][:k]  # type: ignore[operator]

    top = spread_over_feeds(select, 7, Counter(), lambda s: s.lead.language == "en")
    # The journal's third paper does not jump ahead of the other outlet's stories for being
    # readable: it is there only because no third feed had news.
    assert [s.key for _, s in top] == [
        "survey",
        "omniparser",
        "sora",
        "copilot",
        "claude",
        "projectors",
    ]
    # Without a reader's language, the order is the ranking within the feeds' shares.
    plain = spread_over_feeds(select, 7, Counter())
    assert [s.key for _, s in plain][:4] == ["sora", "copilot", "survey", "omniparser"]
