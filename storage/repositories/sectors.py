"""Sectors, items' sector scores, and related-reading links.

Sector keys belong to their tenant: a tenant's own sector is stored under ``key@tenant_id``
(``stored_key``), a shared one under its key, so two tenants can each have ``robots`` and
neither learns of the other's. Items carry scores by stored key (they are classified once, for
every tenant); a tenant's view (``key_in_scope``) names its own sectors and the shared ones by
the keys its admins typed and sees no other tenant's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ItemSector, RelatedReading, Sector
from storage.scope import EVERY, Scope, visible

OWNER_MARK = "@"


class SectorExistsError(Exception):
    """A sector with that key exists already."""


def stored_key(key: str, tenant_id: int | None) -> str:
    """The key a sector of ``tenant_id`` (None: the shared catalog) is stored under."""
    return key if tenant_id is None else f"{key}{OWNER_MARK}{tenant_id}"


def public_key(stored: str) -> str:
    """The key a stored sector's own tenant (or everyone, for a shared one) knows it by."""
    return stored.partition(OWNER_MARK)[0]


def key_in_scope(stored: str, scope: Scope) -> str | None:
    """``stored`` as ``scope`` names it, or None when ``scope`` does not see that sector.

    ``EVERY`` (ingest, classification, the operator) sees every sector by its stored key; a
    tenant sees the shared ones and its own by their plain keys; None sees the shared ones.
    """
    if scope == EVERY:
        return stored
    key, mark, owner = stored.partition(OWNER_MARK)
    if not mark:
        return key
    return key if scope is not None and owner == str(scope) else None


async def resolve_key(session: AsyncSession, key: str, tenant_id: int | None) -> str | None:
    """The stored key of the sector ``key`` names in ``tenant_id``'s view (its own first)."""
    for candidate in dict.fromkeys((stored_key(key, tenant_id), key)):
        if await session.get(Sector, candidate) is not None:
            return candidate
    return None


async def list_sectors(session: AsyncSession, scope: Scope = EVERY) -> list[Sector]:
    """The sectors ``scope`` sees: the built-in five first (in seeding order), then the
    others by creation. Their ``key`` is the stored one (see ``key_in_scope``)."""
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
    """A sector of ``tenant_id`` (None: the shared catalog), stored under ``stored_key``.

    Raises:
        SectorExistsError: the key is taken where it would be seen: by a shared sector or
            the tenant's own; for a shared sector, by any tenant's too (it would see two).
    """
    taken: ColumnElement[bool]
    if tenant_id is not None:
        taken = Sector.key.in_([key, stored_key(key, tenant_id)])
    else:
        taken = or_(Sector.key == key, Sector.key.startswith(f"{key}{OWNER_MARK}"))
    if (await session.scalars(select(Sector.key).where(taken))).first() is not None:
        raise SectorExistsError(key)
    sector = Sector(
        key=stored_key(key, tenant_id),
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


@dataclass(frozen=True, slots=True)
class ScoredSector:
    """An item's score for one sector, by the key the scope knows it by."""

    sector_key: str
    score: float
    matched: Sequence[str]


async def item_sectors(
    session: AsyncSession, item_ids: Sequence[int], scope: Scope = EVERY
) -> dict[int, list[ScoredSector]]:
    """The sector scores of the items, of the sectors ``scope`` sees (``key_in_scope``)."""
    found: dict[int, list[ScoredSector]] = {i: [] for i in item_ids}
    for start in range(0, len(item_ids), 500):
        chunk = list(item_ids[start : start + 500])
        query = select(ItemSector).where(ItemSector.item_id.in_(chunk))
        for row in (await session.execute(query)).scalars():
            key = key_in_scope(row.sector_key, scope)
            if key is not None:
                found[row.item_id].append(ScoredSector(key, row.score, tuple(row.matched)))
    return found


async def list_reading(session: AsyncSession, scope: Scope = EVERY) -> list[RelatedReading]:
    """The related-reading links ``scope`` sees, oldest first (``sector_key`` stored)."""
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
    """A reading link of ``tenant_id`` (None: shared), attached to ``sector_key`` as that
    tenant names it, or to ``keyword``."""
    stored = None if sector_key is None else await resolve_key(session, sector_key, tenant_id)
    link = RelatedReading(
        tenant_id=tenant_id,
        url=url,
        title=title,
        sector_key=stored or sector_key,
        keyword=keyword,
        created_by=created_by,
        created_at=now,
    )
    session.add(link)
    await session.flush()
    return link
