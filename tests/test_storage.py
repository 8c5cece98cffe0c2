"""Storage on both backends: migrations, aware UTC datetimes, the per-feed uniqueness of items."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.db import current_revision, make_engine, upgrade
from storage.models import Feed, FeedState, Item
from tests.conftest import Database

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


async def _feed(db: Database) -> int:
    async with db.sessionmaker.begin() as session:
        feed = Feed(url="https://example.org/feed.xml", title="Example", created_at=NOW)
        feed.state = FeedState(next_check_at=NOW)
        session.add(feed)
        await session.flush()
        return feed.id


async def test_migrations_reach_head_and_are_idempotent(db: Database) -> None:
    head = await current_revision(db.engine)
    assert head is not None
    await upgrade(db.engine)
    assert await current_revision(db.engine) == head


async def test_datetimes_come_back_aware_in_utc(db: Database) -> None:
    feed_id = await _feed(db)
    tokyo = timezone(timedelta(hours=9))
    async with db.sessionmaker.begin() as session:
        session.add(
            Item(
                feed_id=feed_id,
                content_hash="h1",
                title="t",
                summary="",
                published_at=datetime(2026, 11, 28, 18, 0, tzinfo=tokyo),
                first_seen_at=NOW,
            )
        )
    async with db.sessionmaker() as session:
        item = (await session.execute(select(Item))).scalar_one()
    assert item.published_at == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert item.published_at.tzinfo is not None


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with db.sessionmaker.begin() as session:
            session.add(Feed(url="https://x.example/f", created_at=datetime(2026, 1, 1)))


async def test_same_content_twice_in_one_feed_is_refused(db: Database) -> None:
    feed_id = await _feed(db)
    async with db.sessionmaker.begin() as session:
        session.add(Item(feed_id=feed_id, content_hash="same", title="a", first_seen_at=NOW))
    with pytest.raises(IntegrityError):
        async with db.sessionmaker.begin() as session:
            session.add(Item(feed_id=feed_id, content_hash="same", title="b", first_seen_at=NOW))


async def test_removing_a_feed_removes_its_state_and_items(db: Database) -> None:
    feed_id = await _feed(db)
    async with db.sessionmaker.begin() as session:
        session.add(Item(feed_id=feed_id, content_hash="x", title="a", first_seen_at=NOW))
    async with db.sessionmaker.begin() as session:
        feed = await session.get(Feed, feed_id)
        await session.delete(feed)
    async with db.sessionmaker() as session:
        assert (await session.execute(select(Item))).first() is None
        assert (await session.execute(select(FeedState))).first() is None


async def test_sqlite_database_folder_is_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "deep" / "er" / "shiftbrief.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    assert path.exists()


def _drift(connection) -> list[object]:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.migrations_filter import include_object
    from storage.models import Base

    context = MigrationContext.configure(connection, opts={"include_object": include_object})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(db: Database) -> None:
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_drift) == []


@pytest.mark.postgres
async def test_processes_starting_together_migrate_one_after_the_other(postgres) -> None:  # type: ignore[no-untyped-def]
    postgres.psql("CREATE DATABASE racing")
    engines = [make_engine(postgres.url("racing")) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        assert {await current_revision(engine) for engine in engines} == {
            await current_revision(engines[0])
        }
    finally:
        for engine in engines:
            await engine.dispose()
