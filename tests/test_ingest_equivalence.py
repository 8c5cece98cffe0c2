"""Ingest stores exactly what its plain definition says, on the real corpus, on both databases.

The definition is the one ingest has always had, run here in memory, one feed at a time: parse
the whole document (``parse_storable``), plan its keys, match every entry against all the feed's
stored rows (``merge_entries``), insert the new rows and apply the edits. The service does the
same work another way (worker processes, batches of feeds, Core statements, text work only for
entries not stored yet); after every pass its rows must equal the definition's, column by
column, in the order they were stored.

Each real snapshot is served as one feed and changes over four passes: a first fetch of an
older version (two entries missing, one title different), the current version (two new
entries, one edit, the rest already stored), the same entries in a changed body, and the same
body again.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.limits import parse_storable
from bot.ingest.matching import merge_entries, plan_keys
from bot.ingest.parse import ParseError
from bot.ingest.service import IngestService
from storage.models import Item
from storage.repositories import feeds as feed_repo
from storage.repositories.items import KnownItem, KnownItems, index_known
from storage.search import search_text
from tests.conftest import Database
from tests.feedserver import FeedServer, Route

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX_ITEMS = 1000
"""Below the largest snapshots' entry counts, so the cap on entries per document is exercised."""
CONTENT_TYPE = "application/xml"
COLUMNS = (
    "guid",
    "link",
    "content_hash",
    "title",
    "summary",
    "author",
    "language",
    "published_at",
    "first_seen_at",
    "is_backlog",
    "search_text",
)
_BLOCK = re.compile(rb"<(item|entry)\b[^>]*>.*?</\1\s*>", re.DOTALL)
_TITLE = re.compile(rb"<title\b[^>]*>")


def older_version(body: bytes) -> bytes:
    """The document as it was earlier: its first two entries not yet there, a title different."""
    blocks = list(_BLOCK.finditer(body))
    if len(blocks) < 3:
        return body
    edited = blocks[4] if len(blocks) > 5 else None
    parts = [body[: blocks[0].start()]]
    position = blocks[2].start()
    if edited is not None:
        title = _TITLE.search(body, edited.start(), edited.end())
        if title is not None:
            parts.append(body[position : title.end()])
            parts.append(b"Draft: ")
            position = title.end()
    parts.append(body[position:])
    return b"".join(parts)


def same_entries_other_body(body: bytes) -> bytes:
    return body + b"\n<!-- refreshed -->\n"


@dataclass
class Definition:
    """Ingest as defined: every feed on its own, every entry parsed and matched."""

    rows: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    body_hash: dict[int, str] = field(default_factory=dict)
    fetched_once: set[int] = field(default_factory=set)
    _ids: int = 0

    def ingest(self, feed_id: int, body: bytes, *, url: str, now: datetime) -> None:
        digest = hashlib.sha256(body).hexdigest()
        if self.body_hash.get(feed_id) == digest:
            return
        try:
            parsed, _note = parse_storable(
                body, url=url, content_type=CONTENT_TYPE, content_language=None, max_items=MAX_ITEMS
            )
        except ParseError:
            return
        self.body_hash[feed_id] = digest
        stored = self.rows.setdefault(feed_id, [])
        merged = merge_entries(
            _known(stored),
            parsed.items,
            plan_keys(parsed.items),
            feed_id=feed_id,
            first_fetch=feed_id not in self.fetched_once,
            now=now,
        )
        self.fetched_once.add(feed_id)
        by_id = {row["id"]: row for row in stored}
        for edit in merged.edits:
            row = by_id[edit["id"]]
            row.update({k: v for k, v in edit.items() if k != "id"})
            row["search_text"] = search_text(row["title"], row["summary"])
        for values in merged.new_rows:
            self._ids += 1
            stored.append(
                {
                    **values,
                    "id": self._ids,
                    "search_text": search_text(values["title"], values["summary"]),
                }
            )

    def visible(self, feed_id: int) -> list[tuple[Any, ...]]:
        return [tuple(row[c] for c in COLUMNS) for row in self.rows.get(feed_id, [])]


def _known(rows: list[dict[str, Any]]) -> KnownItems:
    return index_known(
        KnownItem(
            id=row["id"],
            guid=row["guid"],
            link=row["link"],
            content_hash=row["content_hash"],
            title=row["title"],
            summary=row["summary"],
            published_at=row["published_at"],
        )
        for row in rows
    )


async def _stored(db: Database, feed_id: int) -> list[tuple[Any, ...]]:
    columns = [getattr(Item, c) for c in COLUMNS]
    async with db.sessionmaker() as session:
        result = await session.execute(
            select(*columns).where(Item.feed_id == feed_id).order_by(Item.id)
        )
        return [tuple(row) for row in result]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as feeds:
        yield feeds


async def _check_against_definition(
    db: Database, server: FeedServer, corpus: Path, *, processes: int
) -> None:
    snapshots = sorted((corpus / "realfeeds").glob("*.xml"))
    assert len(snapshots) >= 40
    settings = Settings(
        database_url=db.url,
        allowed_private_networks=("127.0.0.1/32",),
        per_host_concurrency=8,
        max_items_per_feed=MAX_ITEMS,
        min_check_interval=60,
        max_check_interval=3600,
    )
    feeds: dict[int, tuple[str, bytes]] = {}
    async with db.sessionmaker.begin() as session:
        for n, snapshot in enumerate(snapshots):
            path = f"/{n}/{snapshot.name}"
            feed = await feed_repo.add_feed(session, url=server.url(path), now=START)
            feeds[feed.id] = (path, snapshot.read_bytes())
    definition = Definition()
    versions = (older_version, lambda body: body, same_entries_other_body, same_entries_other_body)
    now = START
    for version in versions:
        now += timedelta(hours=1)
        for feed_id, (path, body) in feeds.items():
            server.set(path, Route(body=version(body), content_type=CONTENT_TYPE))
            definition.ingest(feed_id, version(body), url=server.url(path), now=now)
        clock = functools.partial(lambda when: when, now)
        async with FeedFetcher.from_settings(settings, clock=clock) as fetcher:
            service = IngestService(
                sessionmaker=db.sessionmaker,
                fetcher=fetcher,
                clock=clock,
                settings=settings,
                parse_processes=processes,
            )
            try:
                await service.run_pass(all_feeds=True)
            finally:
                service.close()
        for feed_id, (path, _body) in feeds.items():
            assert await _stored(db, feed_id) == definition.visible(feed_id), (
                f"{path} after the pass of {version.__name__}"
            )
    assert sum(len(rows) for rows in definition.rows.values()) > 3000


async def test_stored_rows_equal_the_definition_on_the_real_corpus(
    db: Database, server: FeedServer, corpus: Path
) -> None:
    await _check_against_definition(db, server, corpus, processes=2)
