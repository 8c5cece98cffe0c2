"""Feed documents to engine Articles for the editor tests: the real parser and classifier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.briefing.classify import Classifier
from bot.briefing.sectors import default_sectors
from bot.ingest.parse import parse_feed
from bot.models import Article, SectorDef, SectorScore

SECTORS: dict[str, SectorDef] = {s.key: s for s in default_sectors()}
ALL_SECTORS = tuple(SECTORS)


def articles_from(documents: Iterable[tuple[str, bytes]], now: datetime) -> list[Article]:
    """Parse each (name, body) feed and classify its items as ingest would."""
    classifier = Classifier(sectors=default_sectors())
    articles = []
    for feed_id, (name, body) in enumerate(documents, 1):
        feed = parse_feed(body, url=f"https://feeds.example/{name}")
        for n, item in enumerate(feed.items):
            scores = tuple(
                SectorScore(s.key, s.score, tuple(s.matched))
                for s in classifier.classify(item.title, item.summary)
            )
            articles.append(
                Article(
                    item_id=feed_id * 100_000 + n,
                    feed_id=feed_id,
                    source=feed.title or name,
                    title=item.title,
                    summary=item.summary,
                    link=item.link,
                    published_at=item.published_at,
                    first_seen_at=now,
                    language=item.language,
                    sectors=scores,
                )
            )
    return articles
