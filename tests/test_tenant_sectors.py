"""Sector keys and feed sector hints belong to the tenant (issue 19, item 6), on SQLite and
PostgreSQL, two tenants side by side.

Before, tenant B could not add ``robots`` because tenant A had it (and so learnt that A did);
B's sector hint for a URL A already followed was dropped, and B's feed list showed A's hint.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.briefing.edition import ItemClassifier
from bot.commands.dispatcher import Dispatcher, Reply
from bot.datacare import export_config, import_config
from bot.untrusted import plain
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Feed, FeedOwner, FeedState, Item, ItemSector, Sector
from tests.conftest import Database
from tests.test_tenants import A, B, ask
from tests.test_tenants_migration import fresh_engine

__all__ = ["fresh_engine"]  # the fixture

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STORED_NOW = "2026-11-28 08:00:00+00:00"


@pytest.fixture
def dispatcher(db: Database) -> Dispatcher:
    return Dispatcher(sessionmaker=db.sessionmaker, clock=lambda: NOW)


async def _news(db: Database, *titles: str) -> None:
    """Shared-catalog items published an hour ago, classified as ingest would."""
    async with db.sessionmaker.begin() as session:
        feed = Feed(url="https://wire.example/rss", title="Wire", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW, backlog_done=True)
        session.add(feed)
        await session.flush()
        session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=NOW))
        items = [
            Item(
                feed_id=feed.id,
                content_hash=f"h{n}",
                title=title,
                summary="",
                link=f"https://wire.example/{n}",
                language="en",
                published_at=NOW - timedelta(hours=1),
                first_seen_at=NOW - timedelta(hours=1),
            )
            for n, title in enumerate(titles)
        ]
        session.add_all(items)
        await session.flush()
        await ItemClassifier()(session, items)


def _titles(reply: Reply) -> list[str]:
    assert reply.briefing is not None, reply.text
    return [e.title for s in reply.briefing.sections for e in (s.lead, *s.more)]


async def test_two_tenants_each_have_their_own_robots_sector(
    db: Database, dispatcher: Dispatcher
) -> None:
    await _news(
        db,
        "Humanoid robot walks a factory floor for eight hours",
        "Autonomous excavator digs a tunnel without a driver",
    )
    added_a = await ask(dispatcher, A, "/brief admin sectors add robots Robots-A ロボA humanoid")
    assert "Added sector `robots`" in added_a.text
    added_b = await ask(dispatcher, B, "/brief admin sectors add robots Robots-B ロボB excavator")
    assert "Added sector `robots`" in added_b.text, added_b.text
    # Neither learns of the other's: each lists only its own.
    listed_a = plain((await ask(dispatcher, A, "/brief admin sectors list")).text)
    listed_b = plain((await ask(dispatcher, B, "/brief admin sectors list")).text)
    assert "Robots-A" in listed_a and "Robots-B" not in listed_a
    assert "Robots-B" in listed_b and "Robots-A" not in listed_b
    assert "@" not in listed_a + listed_b
    assert [d.name_en for d in await dispatcher.sector_defs(*B) if d.key == "robots"] == [
        "Robots-B"
    ]
    # A second robots in the same tenant is still refused.
    again = await ask(dispatcher, B, "/brief admin sectors add robots Again また excavator")
    assert again.error and "already exists" in again.text
    # Each tenant's readers get their own tenant's robots stories.
    for tenant, reader in ((A, "reader-a"), (B, "reader-b")):
        reply = await ask(
            dispatcher, tenant, "/brief subscribe robots", user=reader, is_admin=False
        )
        assert "Robots-" in plain(reply.text)
    today_a = await ask(dispatcher, A, "/brief sector robots", user="reader-a", is_admin=False)
    today_b = await ask(dispatcher, B, "/brief sector robots", user="reader-b", is_admin=False)
    assert any("Humanoid" in t for t in _titles(today_a))
    assert not any("excavator" in t for t in _titles(today_a))
    assert any("excavator" in t for t in _titles(today_b))
    assert not any("Humanoid" in t for t in _titles(today_b))
    # A related-reading link on B's robots goes to B's readers only.
    await ask(dispatcher, B, "/brief admin reading add robots https://learn-b.example/ex Diggers")
    b_again = await ask(dispatcher, B, "/brief sector robots", user="reader-b", is_admin=False)
    a_again = await ask(dispatcher, A, "/brief sector robots", user="reader-a", is_admin=False)
    assert b_again.briefing is not None and a_again.briefing is not None
    assert {r.url for s in b_again.briefing.sections for r in s.reading} == {
        "https://learn-b.example/ex"
    }
    assert not [r for s in a_again.briefing.sections for r in s.reading]


async def test_each_tenant_keeps_its_own_hint_for_a_url_both_follow(
    db: Database, dispatcher: Dispatcher
) -> None:
    await ask(dispatcher, A, "/brief admin sectors add robots Robots ロボ humanoid")
    url = "https://both.example/rss"
    assert "Added feed" in (await ask(dispatcher, A, f"/brief admin feeds add {url} robots")).text
    assert "Added feed" in (await ask(dispatcher, B, f"/brief admin feeds add {url} ai")).text
    listed_a = plain((await ask(dispatcher, A, "/brief admin feeds list")).text)
    listed_b = plain((await ask(dispatcher, B, "/brief admin feeds list")).text)
    assert "both.example" in listed_a and "[robots]" in listed_a and "[ai]" not in listed_a
    assert "both.example" in listed_b and "[ai]" in listed_b and "robots" not in listed_b
    # Ingest applies both: an item of the feed gets A's robots and B's ai hint.
    async with db.sessionmaker.begin() as session:
        feed = (await session.scalars(select(Feed).where(Feed.url == url))).one()
        item = Item(
            feed_id=feed.id,
            content_hash="x",
            title="Humanoid robot startup trains a language model on factory video",
            summary="",
            language="en",
            published_at=NOW,
            first_seen_at=NOW,
        )
        session.add(item)
        await session.flush()
        await ItemClassifier()(session, [item])
        scored = set(
            await session.scalars(
                select(ItemSector.sector_key).where(ItemSector.item_id == item.id)
            )
        )
    assert any(key.startswith("robots@") for key in scored)


async def test_an_export_moves_two_tenants_sectors_and_hints_apart(
    db: Database, dispatcher: Dispatcher, tmp_path: Path
) -> None:
    await ask(dispatcher, A, "/brief admin sectors add robots Robots-A ロボA humanoid")
    await ask(dispatcher, B, "/brief admin sectors add robots Robots-B ロボB excavator")
    url = "https://both.example/rss"
    await ask(dispatcher, A, f"/brief admin feeds add {url} robots")
    await ask(dispatcher, B, f"/brief admin feeds add {url} robots")
    async with db.sessionmaker() as session:
        document = await export_config(session, now=NOW)
    robots = [s for s in document["sectors"] if s["key"] == "robots"]
    assert sorted(s["name_en"] for s in robots) == ["Robots-A", "Robots-B"]
    [feed] = [f for f in document["feeds"] if f["url"] == url]
    assert feed["sector_hint"] is None and len(feed["hints"]) == 2
    # Into a fresh SQLite file: the same two sectors, each hint its tenant's.
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}")
    try:
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker.begin() as session:
            await import_config(session, document, now=NOW)
        async with sessionmaker() as session:
            keys = sorted(
                await session.scalars(select(Sector.key).where(Sector.key.like("robots%")))
            )
            hints = sorted(
                h for h in await session.scalars(select(FeedOwner.sector_hint)) if h is not None
            )
            again = await export_config(session, now=NOW)
    finally:
        await engine.dispose()
    assert len(keys) == 2 and all(k.startswith("robots@") for k in keys)
    assert hints == keys
    assert again["sectors"] == document["sectors"] and again["feeds"] == document["feeds"]


async def test_the_migration_gives_a_lone_tenants_sector_and_hints_to_it(
    fresh_engine: AsyncEngine,
) -> None:
    engine = fresh_engine
    await upgrade(engine, "0011_subscriber_ids")
    async with engine.begin() as conn:
        for statement in (
            "INSERT INTO tenants (platform, external_id, created_at) VALUES ('slack', 'T1', :now)",
            "INSERT INTO sectors (key, name_en, name_ja, keywords, builtin, created_at, tenant_id)"
            " VALUES ('space', 'Space', '宇宙', '[\"rocket\"]', false, :now, 1)",
            "INSERT INTO feeds (url, sector_hint, weight, disabled, created_at) "
            "VALUES ('https://a.example/rss', 'space', 1.0, false, :now)",
            "INSERT INTO feeds (url, sector_hint, weight, disabled, created_at) "
            "VALUES ('https://b.example/rss', 'ai', 1.0, false, :now)",
            "INSERT INTO feed_owners (feed_id, tenant_id, created_at) VALUES (1, 1, :now)",
            "INSERT INTO feed_owners (feed_id, tenant_id, created_at) VALUES (2, 1, :now)",
            "INSERT INTO feed_owners (feed_id, tenant_id, created_at) VALUES (2, NULL, :now)",
            "INSERT INTO items (feed_id, content_hash, title, summary, language, first_seen_at, "
            "is_backlog, search_text) VALUES (1, 'h', 'Rocket', '', 'en', :now, false, '')",
            "INSERT INTO item_sectors (item_id, sector_key, score, matched) "
            "VALUES (1, 'space', 0.5, '[]')",
            "INSERT INTO related_reading (sector_key, url, title, created_at, tenant_id) "
            "VALUES ('space', 'https://learn.example/space', 'Space 101', :now, 1)",
        ):
            # The time as a literal: both databases read it from text (asyncpg binds no str).
            await conn.execute(text(statement.replace(":now", f"'{STORED_NOW}'")))
    await upgrade(engine)

    async def rows(query: str) -> list[tuple[object, ...]]:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(query))).all()]

    assert await rows("SELECT key, tenant_id FROM sectors WHERE key LIKE 'space%'") == [
        ("space@1", 1)
    ]
    assert await rows("SELECT sector_key FROM item_sectors") == [("space@1",)]
    assert await rows("SELECT sector_key FROM related_reading") == [("space@1",)]
    assert await rows("SELECT url, sector_hint FROM feeds ORDER BY id") == [
        ("https://a.example/rss", None),
        ("https://b.example/rss", "ai"),  # the shared catalog follows it: its hint stays
    ]
    assert await rows(
        "SELECT feed_id, tenant_id, sector_hint FROM feed_owners ORDER BY feed_id, tenant_id"
    ) in (
        [(1, 1, "space@1"), (2, 1, "ai"), (2, None, None)],
        [(1, 1, "space@1"), (2, None, None), (2, 1, "ai")],  # NULLs first on PostgreSQL
    )
    # The tenant still names it "space".
    dispatcher = Dispatcher(sessionmaker=make_sessionmaker(engine), clock=lambda: NOW)
    listed = plain((await ask(dispatcher, ("slack", "T1"), "/brief admin sectors list")).text)
    assert "`space` Space" in listed
    feeds = plain((await ask(dispatcher, ("slack", "T1"), "/brief admin feeds list")).text)
    assert "[space]" in feeds
