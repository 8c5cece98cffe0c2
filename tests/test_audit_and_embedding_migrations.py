"""Migration 0030: the audit log is read per tenant, newest first; rows already logged stay, on a
SQLite file and on PostgreSQL."""

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

