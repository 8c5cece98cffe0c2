"""Feed documents to engine Articles for the editor tests: the real parser and classifier."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.briefing.classify import Classifier
from bot.briefing.compose import BriefingContext
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


def corpus_articles(corpus: Path, names: Iterable[str] | None = None) -> list[Article]:
    """Every item of the corpus feeds (or of the feeds ``names``), parsed and classified."""
    folder = corpus / "realfeeds"
    paths = sorted(folder.glob("*.xml")) if names is None else [folder / n for n in names]
    return articles_from(
        ((p.name, p.read_bytes()) for p in paths), datetime(2030, 1, 1, tzinfo=UTC)
    )


def day_edition(articles: Iterable[Article], day: date) -> BriefingContext:
    """The edition ``shiftbrief brief --date DAY`` reads: items published that UTC day, at the
    midnight after it."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    items = [a for a in articles if a.published_at is not None and start <= a.published_at < end]
    return BriefingContext.prepare(items, SECTORS, (), end)
