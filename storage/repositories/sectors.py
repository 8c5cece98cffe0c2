"""Sectors, items' sector scores, and related-reading links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ItemSector, RelatedReading, Sector
from storage.scope import EVERY, Scope, visible


class SectorExistsError(Exception):
    """A sector with that key exists already."""


async def list_sectors(session: AsyncSession, scope: Scope = EVERY) -> list[Sector]:
    """The sectors ``scope`` sees: the built-in five first (in seeding order), then the
    others by creation."""
    query = select(Sector).where(visible(Sector.tenant_id, scope))
    rows = (await session.execute(query)).scalars().all()
    builtin_order = {k: i for i, k in enumerate(("green", "quantum", "ai", "mobility", "life"))}
    return sorted(rows, key=lambda s: (builtin_order.get(s.key, 99), s.created_at, s.key))


async def add_sector(
    session: AsyncSession,
    *,
    key: str,
    name_en: str,
    name_ja: str,
    keywords: Sequence[str],
    now: datetime,
    tenant_id: int | None = None,
) -> Sector:
    """A sector of ``tenant_id`` (None: the shared catalog). Keys are unique across tenants,
    since stored items carry their sector scores by key.

    Raises:
        SectorExistsError: the key is taken.
    """
    if await session.get(Sector, key) is not None:
        raise SectorExistsError(key)
    sector = Sector(
        key=key,
        name_en=name_en,
        name_ja=name_ja,
        keywords=list(keywords),
        builtin=False,
        created_at=now,
        tenant_id=tenant_id,
    )
    session.add(sector)
    await session.flush()
    return sector


async def set_item_sectors(
    session: AsyncSession, scores: Mapping[int, Iterable[tuple[str, float, Sequence[str]]]]
) -> None:
    """Replace the sector scores of the given items (item id -> (key, score, matched terms))."""
    if not scores:
        return
    ids = list(scores)
    # In slices: a large feed brings thousands of items, more ids than a statement may bind.
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        await session.execute(delete(ItemSector).where(ItemSector.item_id.in_(chunk)))
    rows = [
        {"item_id": item_id, "sector_key": key, "score": score, "matched": list(matched)}
        for item_id, item_rows in scores.items()
        for key, score, matched in item_rows
    ]
    if rows:
        # One Core executemany, as a loader would: no object or unit of work per row.
        await session.execute(insert(ItemSector.metadata.tables["item_sectors"]), rows)


async def item_sectors(
    session: AsyncSession, item_ids: Sequence[int]
) -> dict[int, list[ItemSector]]:
    found: dict[int, list[ItemSector]] = {i: [] for i in item_ids}
    for start in range(0, len(item_ids), 500):
        chunk = list(item_ids[start : start + 500])
        query = select(ItemSector).where(ItemSector.item_id.in_(chunk))
        for row in (await session.execute(query)).scalars():
            found[row.item_id].append(row)
    return found


async def list_reading(session: AsyncSession, scope: Scope = EVERY) -> list[RelatedReading]:
    """The related-reading links ``scope`` sees, oldest first."""
    query = (
        select(RelatedReading)
        .where(visible(RelatedReading.tenant_id, scope))
        .order_by(RelatedReading.id)
    )
    return list((await session.execute(query)).scalars())


async def add_reading(
    session: AsyncSession,
    *,
    url: str,
    title: str,
    sector_key: str | None,
    keyword: str | None,
    created_by: str | None,
    now: datetime,
    tenant_id: int | None = None,
) -> RelatedReading:
    link = RelatedReading(
        tenant_id=tenant_id,
        url=url,
        title=title,
        sector_key=sector_key,
        keyword=keyword,
        created_by=created_by,
        created_at=now,
    )
    session.add(link)
    await session.flush()
    return link
