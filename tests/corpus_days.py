"""Real corpus days: one day of the shared corpus's real feeds as the engine reads it.

A corpus day D is every entry of ``../shared/corpus/realfeeds/`` published during D (UTC),
parsed by the real parser and classified by the real keyword classifier
(``tests/editor_feeds.py``), as the edition of D at 23:59 UTC would see it (the 24-hour news
window). The days below are the ones issue 17 measured briefings on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.models import Article
from tests.editor_feeds import SECTORS, articles_from

DAYS = ("2026-02-14", "2026-03-24", "2026-08-14")
"""The days whose model requests and answers are kept in ``tests/data/editor_answers/``."""


def edition_time(day: str) -> datetime:
    """When the edition of ``day`` is made: the day's last minute, UTC."""
    return datetime.combine(date.fromisoformat(day), time(23, 59), tzinfo=UTC)


def corpus_day(corpus: Path, day: str) -> list[Article]:
    """The articles of ``day`` among the corpus's real feeds (``corpus`` holds ``realfeeds/``)."""
    now = edition_time(day)
    start = now - timedelta(days=1)
    folder = corpus / "realfeeds"
    documents = [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.xml"))]
    return [
        a
        for a in articles_from(documents, now)
        if a.published_at is not None and start < a.published_at <= now
    ]


__all__ = ["DAYS", "SECTORS", "corpus_day", "edition_time"]
