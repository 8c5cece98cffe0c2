"""Real corpus feeds, served on loopback and ingested by the real service into a test database.

Everything the first pass stores is archive (back issues of new feeds), as on a real install.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.briefing.edition import ItemClassifier
from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestService
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.feedserver import FeedServer


async def ingest_corpus(db: Database, corpus: Path, names: Sequence[str], *, now: datetime) -> int:
    """Ingest the named ``realfeeds/`` files once; returns how many items were stored."""
    settings = Settings(database_url=db.url, allowed_private_networks=("127.0.0.1/32",))
    async with FeedServer() as server:
        async with db.sessionmaker.begin() as session:
            for name in names:
                body = (corpus / "realfeeds" / name).read_bytes()
                server.set(f"/{name}", body=body, content_type="application/xml")
                await feed_repo.add_feed(session, url=server.url(f"/{name}"), now=now)
        async with FeedFetcher.from_settings(settings) as fetcher:
            service = IngestService(
                sessionmaker=db.sessionmaker,
                fetcher=fetcher,
                clock=lambda: now,
                settings=settings,
                after_store=ItemClassifier(),
            )
            report = await service.run_pass()
    return report.new_items
