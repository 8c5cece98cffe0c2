"""Large and dirty feeds ingest: real HTTP on loopback, SQLite and PostgreSQL, the real parser.

A feed of 100,000 entries, a NUL byte in one entry, a document served without Content-Type, and
a database that refuses a row: each is something a real feed or server does, and none may cost
the feed (or the log) more than that entry.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from adapters.console import ConsoleAdapter
from bot.briefing.edition import ItemClassifier
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestReport, IngestService
from storage.models import FeedState, Item, ItemSector
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.feedserver import Entry, FeedServer, make_rss

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RFC822 = "%a, %d %b %Y %H:%M:%S +0000"


def _settings(db: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db.url,
        "allowed_private_networks": ("127.0.0.1/32",),
        "fetch_timeout": 120.0,
        "max_feed_bytes": 64 * 1024 * 1024,
        "min_check_interval": 60,
        "max_check_interval": 3600,
    }
    values.update(overrides)
    return Settings(**values)


async def _add_feed(db: Database, url: str) -> int:
    async with db.sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url=url, now=NOW)
        return feed.id


async def _ingest(db: Database, settings: Settings, *, classify: bool = False) -> IngestReport:
    async with FeedFetcher.from_settings(settings, clock=lambda: NOW) as fetcher:
        service = IngestService(
            sessionmaker=db.sessionmaker,
            fetcher=fetcher,
            clock=lambda: NOW,
            settings=settings,
            after_store=ItemClassifier() if classify else None,
        )
        return await service.run_pass(all_feeds=True)


async def _count(db: Database, feed_id: int) -> int:
    async with db.sessionmaker() as session:
        query = select(func.count()).select_from(Item).where(Item.feed_id == feed_id)
        return int((await session.execute(query)).scalar_one())


async def _state(db: Database, feed_id: int) -> FeedState:
    async with db.sessionmaker() as session:
        state = await session.get(FeedState, feed_id)
        assert state is not None
        return state


def _entries(count: int, *, start: int = 0) -> list[Entry]:
    """Entry ``i`` was published ``i`` minutes before NOW, so lower numbers are newer."""
    return [
        Entry(
            title=f"Battery storage story {i}",
            link=f"https://news.example/{i}",
            guid=f"story-{i}",
            pub_date=(NOW - timedelta(minutes=i)).strftime(RFC822),
        )
        for i in range(start, start + count)
    ]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as feeds:
        yield feeds


async def test_a_feed_of_100000_entries_is_stored_when_the_operator_allows_it(
    db: Database, server: FeedServer
) -> None:
    # 300,000 keys to look up and 100,000 rows to insert and classify: ten times what one
    # statement may bind on either database.
    server.set("/archive.xml", body=make_rss(_entries(100_000)))
    feed_id = await _add_feed(db, server.url("/archive.xml"))
    settings = _settings(db, max_items_per_feed=100_000)

    report = await _ingest(db, settings, classify=True)

    assert (report.ok, report.failed, report.new_items) == (1, 0, 100_000), report.results
    assert await _count(db, feed_id) == 100_000
    async with db.sessionmaker() as session:
        classified = await session.execute(select(func.count(func.distinct(ItemSector.item_id))))
        assert classified.scalar_one() > 0  # battery stories have sectors
    state = await _state(db, feed_id)
    assert (state.error_count, state.last_error, state.note) == (0, None, None)


async def test_a_large_feed_stores_only_its_new_entry_on_the_next_pass(
    db: Database, server: FeedServer
) -> None:
    server.set("/big.xml", body=make_rss(_entries(12_000, start=1)))
    feed_id = await _add_feed(db, server.url("/big.xml"))
    settings = _settings(db, max_items_per_feed=20_000)
    assert (await _ingest(db, settings)).new_items == 12_000

    server.set("/big.xml", body=make_rss(_entries(12_001)))  # one new entry on top
    report = await _ingest(db, settings)

    assert (report.ok, report.new_items) == (1, 1), report.results
    assert await _count(db, feed_id) == 12_001


async def test_an_oversized_feed_keeps_its_newest_entries_and_says_so_in_health(
    db: Database, server: FeedServer
) -> None:
    entries = _entries(300)
    random.Random(7).shuffle(entries)  # newest first is a custom, not a rule
    server.set("/dump.xml", body=make_rss(entries))
    feed_id = await _add_feed(db, server.url("/dump.xml"))

    report = await _ingest(db, _settings(db, max_items_per_feed=100))

    assert (report.ok, report.new_items) == (1, 100)
    async with db.sessionmaker() as session:
        guids = set((await session.execute(select(Item.guid))).scalars())
    assert guids == {f"story-{i}" for i in range(100)}
    dispatcher = Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)
    admin = ConsoleAdapter(stdout=io.StringIO(), user_id="boss", is_admin=True)
    reply = await admin.ask(dispatcher, "/brief admin feeds health")
    assert server.url("/dump.xml") in reply.text
    assert "300" in reply.text and "100" in reply.text
    assert (await _state(db, feed_id)).error_count == 0


NUL_FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    "<title>Dirty\x00 feed</title><link>https://dirty.example/</link>"
    "<item><title>Clean story about solar</title><guid>clean-1</guid>"
    "<link>https://dirty.example/1</link><description>Fine.</description></item>"
    "<item><title>Grid\x00 story</title><guid>nul\x00-2</guid>"
    "<link>https://dirty.example/2\x00</link><author>ed\x00@dirty.example (Ed)</author>"
    "<description>Power\x00 lines &#xD800;and more</description></item>"
    "<item><title>Another clean story</title><guid>clean-3</guid>"
    "<description>Also fine.</description></item>"
    "</channel></rss>"
)


async def test_a_nul_byte_in_one_entry_costs_nothing_but_the_nul(
    db: Database, server: FeedServer
) -> None:
    server.set("/dirty.xml", body=NUL_FEED.encode("utf-8"))
    feed_id = await _add_feed(db, server.url("/dirty.xml"))

    report = await _ingest(db, _settings(db))

    assert (report.ok, report.failed, report.new_items) == (1, 0, 3), report.results
    async with db.sessionmaker() as session:
        items = (await session.execute(select(Item).order_by(Item.id))).scalars().all()
    dirty = next(i for i in items if "Grid" in i.title)
    assert dirty.title == "Grid story"
    assert dirty.guid is not None and dirty.guid.endswith("nul-2")
    assert dirty.link == "https://dirty.example/2"
    assert dirty.author is not None and dirty.author.startswith("ed@dirty.example")
    assert dirty.summary.startswith("Power lines")
    for item in items:
        for value in (item.title, item.summary, item.guid, item.link, item.author):
            assert "\x00" not in (value or "")

    # The next pass matches the cleaned entry instead of storing it again.
    server.set("/dirty.xml", body=NUL_FEED.replace("Also fine.", "Also fine, edited.").encode())
    again = await _ingest(db, _settings(db))
    assert (again.ok, again.new_items) == (1, 0), again.results
    assert await _count(db, feed_id) == 3


async def _serve_without_content_type(body: bytes) -> tuple[asyncio.Server, str]:
    """A loopback HTTP/1.1 server whose response has no Content-Type at all (aiohttp's server
    always adds one), like a misconfigured static host."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode("ascii") + body)
        await writer.drain()
        writer.close()

    raw = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    return raw, f"http://127.0.0.1:{port}/gigazine.xml"


async def test_a_feed_without_content_type_is_decoded_by_its_own_declaration(
    sqlite_db: Database, corpus: Path
) -> None:
    path = corpus / "realfeeds" / "gigazine_ai_keyword_filtered_large__makeRSS_GIGAZINE.xml"
    body = path.read_bytes()
    # What the document says, read by the standard library's XML parser (UTF-8 by default);
    # the publisher escapes its character references twice ("GPT&amp;#45;4").
    expected = {html.unescape(t.text.strip()) for t in ET.fromstring(body).iter("title") if t.text}
    raw, url = await _serve_without_content_type(body)
    try:
        feed_id = await _add_feed(sqlite_db, url)
        report = await _ingest(sqlite_db, _settings(sqlite_db))
    finally:
        raw.close()
        await raw.wait_closed()

    assert report.ok == 1, report.results
    async with sqlite_db.sessionmaker() as session:
        titles = list((await session.execute(select(Item.title))).scalars())
    assert len(titles) > 1000
    assert set(titles) <= expected
    assert not [t for t in titles if "ã" in t or "â" in t]  # UTF-8 read as ISO-8859-1
    assert await _count(sqlite_db, feed_id) == len(titles)


async def test_a_refused_row_fails_its_feed_with_a_reason_not_a_payload(
    postgres_db: Database, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A database-side refusal of one entry: the feed fails with the server's reason, the other
    # feed of the same pass is stored, and the log does not carry the thousands of values.
    async with postgres_db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                "IF NEW.title LIKE 'Poison%' THEN RAISE EXCEPTION 'poison refused by policy'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON items "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
        )
    poisoned = [*_entries(2000), Entry(title="Poison story", guid="poison")]
    server.set("/poisoned.xml", body=make_rss(poisoned))
    server.set("/fine.xml", body=make_rss(_entries(5, start=5000)))
    bad = await _add_feed(postgres_db, server.url("/poisoned.xml"))
    good = await _add_feed(postgres_db, server.url("/fine.xml"))

    with caplog.at_level(logging.INFO):
        report = await _ingest(postgres_db, _settings(postgres_db))

    assert (report.ok, report.failed) == (1, 1)
    assert await _count(postgres_db, good) == 5
    assert await _count(postgres_db, bad) == 0
    state = await _state(postgres_db, bad)
    assert state.error_count == 1
    assert state.last_error is not None and "poison refused by policy" in state.last_error
    assert len(state.last_error) < 500
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "poison refused by policy" in logged
    assert "Battery storage story" not in logged
    assert len(logged) < 10_000
