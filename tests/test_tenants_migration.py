"""Migration 0010: existing feeds, sectors and reading go to a lone tenant, else to the shared
catalog; on a SQLite file and on PostgreSQL, with one tenant and with two."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine, upgrade

_names = itertools.count()
NOW = "2026-11-28 08:00:00+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An empty database (not the migrated template), so the test can stop at 0008."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield engine
        await engine.dispose()
        return
    cluster = request.getfixturevalue("postgres")
    name = f"mig_{next(_names)}_{id(tmp_path) % 100000}"
    await asyncio.to_thread(cluster.psql, f"CREATE DATABASE {name}")
    engine = make_engine(cluster.url(name))
    yield engine
    await engine.dispose()
    await asyncio.to_thread(cluster.psql, f"DROP DATABASE {name}")


async def _old_install(engine: AsyncEngine, tenants: int) -> None:
    """A database at 0008 with two feeds, an admin's sector and a reading link."""
    await upgrade(engine, "0009_embed")
    async with engine.begin() as conn:
        for n in range(tenants):
            await conn.execute(
                text(
                    "INSERT INTO tenants (platform, external_id, created_at) "
                    f"VALUES ('slack', 'T{n}', '{NOW}')"
                )
            )
        for url in ("https://a.example/feed", "https://b.example/feed"):
            await conn.execute(
                text(
                    "INSERT INTO feeds (url, weight, disabled, created_at) "
                    f"VALUES ('{url}', 1.0, false, '{NOW}')"
                )
            )
        await conn.execute(
            text(
                "INSERT INTO sectors (key, name_en, name_ja, keywords, builtin, created_at) "
                f"VALUES ('space', 'Space', '宇宙', '[]', false, '{NOW}')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO related_reading (sector_key, url, title, created_at) "
                f"VALUES ('ai', 'https://learn.example/ai', 'AI 101', '{NOW}')"
            )
        )
    await upgrade(engine, "0010_tenants")


async def _owners(engine: AsyncEngine, query: str) -> list[object]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(query))).scalars())


async def test_a_lone_tenant_keeps_managing_its_rows(fresh_engine: AsyncEngine) -> None:
    await _old_install(fresh_engine, tenants=1)
    (tenant,) = await _owners(fresh_engine, "SELECT id FROM tenants")
    feeds = await _owners(fresh_engine, "SELECT tenant_id FROM feed_owners ORDER BY feed_id")
    assert feeds == [tenant, tenant]
    assert await _owners(fresh_engine, "SELECT tenant_id FROM sectors WHERE key = 'space'") == [
        tenant
    ]
    # The built-in sectors stay in the shared catalog.
    assert await _owners(
        fresh_engine, "SELECT DISTINCT tenant_id FROM sectors WHERE builtin = true"
    ) == [None]
    assert await _owners(fresh_engine, "SELECT tenant_id FROM related_reading") == [tenant]


@pytest.mark.parametrize("tenants", [0, 2])
async def test_several_tenants_or_none_make_a_shared_catalog(
    fresh_engine: AsyncEngine, tenants: int
) -> None:
    await _old_install(fresh_engine, tenants=tenants)
    assert await _owners(fresh_engine, "SELECT tenant_id FROM feed_owners") == [None, None]
    assert await _owners(fresh_engine, "SELECT DISTINCT tenant_id FROM sectors") == [None]
    assert await _owners(fresh_engine, "SELECT tenant_id FROM related_reading") == [None]
