"""Migration 0020: items keep their rows and their search; new items are indexed as before.

On a SQLite file and on PostgreSQL: a database at 0010 with an item, upgraded, then an item
inserted the way ingest inserts them (Core executemany); both are found by search, and the old
one has no raw hash (ingest gives it one the next time its feed changes). Downgraded and
upgraded again, an item stored in between is found too (a rebuilt SQLite table would have lost
its search triggers).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import (
    alembic_config,
    current_revision,
    make_sessionmaker,
    script_heads,
    upgrade,
)
from storage.repositories.archive import search_items
from storage.repositories.items import insert_items
from tests.migration_rows import add_old_feed, add_old_item
from tests.test_tenants_migration import fresh_engine

__all__ = ["fresh_engine"]  # the fixture: an empty database of either kind

NOW = "2026-11-28 08:00:00+00:00"


async def test_items_keep_rows_and_search_and_new_ones_are_indexed(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0010_tenants")
    async with fresh_engine.begin() as conn:
        await add_old_feed(conn, created_at=NOW)
        await add_old_item(conn, content_hash="h1", title="Grid battery opens", first_seen_at=NOW)
    await upgrade(fresh_engine)
    assert await current_revision(fresh_engine) in (script_heads() or ())

    sessionmaker = make_sessionmaker(fresh_engine)
    async with sessionmaker.begin() as session:
        await insert_items(
            session,
            [
                {
                    "feed_id": 1,
                    "content_hash": "h2",
                    "raw_hash": "r2",
                    "title": "Second grid battery contract",
                    "summary": "",
                    "language": "en",
                    "first_seen_at": datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
                    "is_backlog": False,
                }
            ],
        )
    async with sessionmaker() as session:
        found = await search_items(session, "grid battery")
        raw = dict((await session.execute(text("SELECT title, raw_hash FROM items"))).all())
    assert sorted(item.title for item, _feed in found) == [
        "Grid battery opens",
        "Second grid battery contract",
    ]
    assert raw == {"Grid battery opens": None, "Second grid battery contract": "r2"}

    async with fresh_engine.begin() as conn:
        await conn.run_sync(_downgrade, "0010_tenants")
    async with fresh_engine.begin() as conn:
        await add_old_item(conn, content_hash="h3", title="Third grid battery", first_seen_at=NOW)
    await upgrade(fresh_engine)  # and back up: the item stored in between is found too
    async with sessionmaker() as session:
        found = await search_items(session, "grid battery")
    assert len(found) == 3


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)
