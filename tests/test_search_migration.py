"""Migrations 0015-0018: search text rewritten, vector times indexed, the story tables, and
when a reader last reset what their votes taught."""

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
    # (Before the upgrade the search found nothing; it cannot be asked here any more: today's
    # models read columns later migrations add.)
    await upgrade(fresh_engine)
    async with sessionmaker() as session:
        assert [item.title for item, _ in await search_items(session, "自動運転バス")] == [TITLE]


async def test_the_vector_times_index_comes_and_goes_with_its_migration(
    fresh_engine: AsyncEngine,  # noqa: F811
) -> None:
    from sqlalchemy import inspect

    async def indexes() -> set[str]:
        async with fresh_engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {i["name"] for i in inspect(c).get_indexes("item_embeddings")}
            )

    await upgrade(fresh_engine, "0015_search_words")
    assert "ix_item_embeddings_created_at" not in await indexes()
    await upgrade(fresh_engine, "0016_embedding_times")
    assert "ix_item_embeddings_created_at" in await indexes()


async def test_the_story_tables_come_and_go_with_their_migration(
    fresh_engine: AsyncEngine,  # noqa: F811
) -> None:
    from alembic import command
    from sqlalchemy.engine import Connection

    from storage.db import alembic_config

    async def tables() -> set[str]:
        from sqlalchemy import inspect

        async with fresh_engine.connect() as conn:
            return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))

    await upgrade(fresh_engine, "0016_embedding_times")
    assert "stories" not in await tables()
    await upgrade(fresh_engine)
    assert {"stories", "story_items", "story_receipts"} <= await tables()

    def downgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0016_embedding_times")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(downgrade)
    assert not {"stories", "story_items", "story_receipts"} & await tables()


async def test_learning_since_is_added_to_subscribers_and_removed_again(
    fresh_engine: AsyncEngine,  # noqa: F811
) -> None:
    from alembic import command
    from sqlalchemy import inspect
    from sqlalchemy.engine import Connection

    from storage.db import alembic_config

    async def columns() -> set[str]:
        async with fresh_engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("subscribers")}
            )

    await upgrade(fresh_engine, "0017_stories")
    assert "learning_since" not in await columns()
    await upgrade(fresh_engine)
    assert "learning_since" in await columns()

    def downgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0017_stories")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(downgrade)
    assert "learning_since" not in await columns()
