"""Item queries for ingest: find what a feed already has, insert what is new."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Item

_CHUNK = 400
"""Keys per IN (...) query; well under SQLite's bound-parameter limit."""


@dataclass(frozen=True, slots=True)
class KnownItem:
    """The identity columns of a stored item, enough to match an incoming entry."""

    id: int
    guid: str | None
    link: str | None
    content_hash: str
    title: str
    summary: str
    published_at: datetime | None


@dataclass(slots=True)
class KnownItems:
    """A feed's stored items indexed the three ways an incoming entry is matched."""

    by_guid: dict[str, KnownItem]
    by_link: dict[str, KnownItem]
    by_hash: dict[str, KnownItem]


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def find_known_items(
    session: AsyncSession,
    *,
    feed_id: int,
    guids: Iterable[str],
    links: Iterable[str],
    hashes: Iterable[str],
) -> KnownItems:
    """Stored items of ``feed_id`` matching any of the given GUIDs, links or content hashes.

    Only the candidates are loaded (indexed lookups), never the whole feed's history.
    """
    columns = (
        Item.id,
        Item.guid,
        Item.link,
        Item.content_hash,
        Item.title,
        Item.summary,
        Item.published_at,
    )
    rows: dict[int, KnownItem] = {}
    for column, values in (
        (Item.guid, sorted(set(guids))),
        (Item.link, sorted(set(links))),
        (Item.content_hash, sorted(set(hashes))),
    ):
        for chunk in _chunks(values):
            result = await session.execute(
                select(*columns).where(Item.feed_id == feed_id, column.in_(chunk))
            )
            for row in result:
                rows[row.id] = KnownItem(*row)
    known = KnownItems(by_guid={}, by_link={}, by_hash={})
    # Oldest first, so when several stored items share a key the first one stored wins.
    for item in sorted(rows.values(), key=lambda k: k.id):
        if item.guid:
            known.by_guid.setdefault(item.guid, item)
        if item.link:
            known.by_link.setdefault(item.link, item)
        known.by_hash.setdefault(item.content_hash, item)
    return known


def add_items(session: AsyncSession, items: Sequence[Item]) -> None:
    """Stage new items; they are inserted on the caller's next flush, in one batch."""
    session.add_all(items)


async def update_item_text(
    session: AsyncSession,
    *,
    item_id: int,
    title: str,
    summary: str,
    content_hash: str,
    published_at: datetime | None,
) -> None:
    """Replace a stored item's text after its publisher edited it."""
    item = await session.get(Item, item_id)
    if item is None:
        return
    item.title = title
    item.summary = summary
    item.content_hash = content_hash
    if published_at is not None:
        item.published_at = published_at


async def count_items(session: AsyncSession, *, feed_id: int | None = None) -> int:
    """How many items are stored (for one feed, when given)."""
    query = select(func.count()).select_from(Item)
    if feed_id is not None:
        query = query.where(Item.feed_id == feed_id)
    return int((await session.execute(query)).scalar_one())


async def recent_published(
    session: AsyncSession, *, feed_id: int, limit: int = 20
) -> list[datetime]:
    """Publication times of a feed's newest dated items, newest first (its posting pace)."""
    result = await session.scalars(
        select(Item.published_at)
        .where(Item.feed_id == feed_id, Item.published_at.is_not(None))
        .order_by(Item.published_at.desc())
        .limit(limit)
    )
    return [when for when in result if when is not None]
