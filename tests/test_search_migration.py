"""Migration 0015: items stored with the old search text are found after the upgrade."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_sessionmaker, upgrade
from storage.repositories.archive import search_items
from tests.test_tenants_migration import fresh_engine  # noqa: F401  (the fixture)

NOW = "2026-03-30 08:00:00+00:00"
TITLE = "JR東とKDDI、高輪GWシティで自動運転バスを無料運行"
OLD_TEXT = "jr東とkddi 高輪 gwシティで自動運転バスを無料運行"  # as the old tokenizer wrote it


async def test_old_search_text_is_rewritten_so_japanese_words_are_found(
    fresh_engine: AsyncEngine,  # noqa: F811
) -> None:
    await upgrade(fresh_engine, "0010_tenants")
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO feeds (url, weight, disabled, created_at) "
                f"VALUES ('https://watch.example/rss', 1.0, false, '{NOW}')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO items (feed_id, content_hash, title, summary, language, "
                "first_seen_at, is_backlog, search_text) VALUES "
                f"(1, 'h', :title, '', 'ja', '{NOW}', false, :old)"
            ).bindparams(title=TITLE, old=OLD_TEXT)
        )
    sessionmaker = make_sessionmaker(fresh_engine)
    async with sessionmaker() as session:
        assert await search_items(session, "自動運転バス") == []
    await upgrade(fresh_engine)
    async with sessionmaker() as session:
        assert [item.title for item, _ in await search_items(session, "自動運転バス")] == [TITLE]
