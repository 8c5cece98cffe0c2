"""Written texts in the database: shared between processes, never clobbered, cleaned up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.briefing.editor.cache import DatabaseCache
from bot.retention import run_retention
from storage.db import make_engine, make_sessionmaker
from tests.conftest import Database

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def cache_of(
    db: Database, *, model: str = "m", version: str = "1", now: datetime = NOW
) -> DatabaseCache:
    return DatabaseCache(db.sessionmaker, model=model, prompt_version=version, clock=lambda: now)


async def test_a_text_one_process_wrote_is_read_by_another(db: Database) -> None:
    # Another process: its own engine and connections on the same database.
    engine = make_engine(db.url)
    other = Database(db.url, engine, make_sessionmaker(engine))
    try:
        story = {"headline": "Written once", "summary": "s", "why": "w"}
        await cache_of(db).put_many({("h1", "ja"): ("story", story)})
        assert await cache_of(other).get_many([("h1", "ja"), ("h1", "en")]) == {("h1", "ja"): story}
        # Another model or prompt version does not reuse it.
        assert await cache_of(other, model="bigger").get_many([("h1", "ja")]) == {}
        assert await cache_of(other, version="2").get_many([("h1", "ja")]) == {}
        # Two processes writing the same story at once: both succeed, the first copy stays.
        late = {"headline": "Second", "summary": "s", "why": "w"}
        await asyncio.gather(
            cache_of(db).put_many({("h2", "en"): ("story", story)}),
            cache_of(other).put_many(
                {("h2", "en"): ("story", late), ("h1", "ja"): ("story", late)}
            ),
        )
        found = await cache_of(db).get_many([("h1", "ja"), ("h2", "en")])
        assert found[("h1", "ja")] == story and found[("h2", "en")] in (story, late)
    finally:
        await engine.dispose()


async def test_retention_forgets_texts_as_old_as_the_items_it_deletes(db: Database) -> None:
    await cache_of(db, now=NOW - timedelta(days=200)).put_many({("old", "en"): ("story", {"a": 1})})
    await cache_of(db, now=NOW - timedelta(days=2)).put_many({("new", "en"): ("story", {"a": 2})})
    await run_retention(db.sessionmaker, now=NOW, items_days=180, deliveries_days=90)
    assert await cache_of(db).get_many([("old", "en"), ("new", "en")]) == {("new", "en"): {"a": 2}}
    await run_retention(
        db.sessionmaker, now=NOW + timedelta(days=400), items_days=0, deliveries_days=0
    )
    assert await cache_of(db).get_many([("new", "en")]) == {("new", "en"): {"a": 2}}
