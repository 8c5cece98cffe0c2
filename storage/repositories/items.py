"""Item queries for ingest: find what a feed already has, insert what is new."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Item
from storage.search import search_text


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


async def find_known_items_of_feeds(
    session: AsyncSession,
    wanted: Mapping[int, tuple[Sequence[str], Sequence[str], Sequence[str]]],
) -> dict[int, KnownItems]:
    """Stored items of each feed matching any of its entries' GUIDs, links or content hashes,
    for several feeds in as few (indexed) queries as the key counts allow; never a feed's whole
    history.

    Args:
        wanted: per feed id, the (GUIDs, links, content hashes) of its incoming entries.

    Returns:
        Per feed id, its stored items matching any of the keys. A stored item may also be
        returned for a key that only another feed of the same query sent; it is a real item of
        its own feed, so matching stays correct.
    """
    columns = (
        Item.feed_id,
        Item.id,
        Item.guid,
        Item.link,
        Item.content_hash,
        Item.title,
        Item.summary,
        Item.published_at,
    )
    by_feed: dict[int, dict[int, KnownItem]] = {feed_id: {} for feed_id in wanted}
    for group in _key_groups(wanted):
        guids = sorted({g for f in group for g in wanted[f][0]})
        links = sorted({u for f in group for u in wanted[f][1]})
        hashes = sorted({h for f in group for h in wanted[f][2]})
        conditions = [
            column.in_(values)
            for column, values in (
                (Item.guid, guids),
                (Item.link, links),
                (Item.content_hash, hashes),
            )
            if values
        ]
        if not conditions:
            continue
        result = await session.execute(
            select(*columns).where(Item.feed_id.in_(group), or_(*conditions))
        )
        for row in result:
            by_feed[row.feed_id][row.id] = KnownItem(*row[1:])
    return {feed_id: _index(rows.values()) for feed_id, rows in by_feed.items()}


_MAX_KEYS_PER_QUERY = 3000
"""Bound parameters per query: far below SQLite's (32766) and PostgreSQL's (32767) limits."""


def _key_groups(
    wanted: Mapping[int, tuple[Sequence[str], Sequence[str], Sequence[str]]],
) -> Iterable[list[int]]:
    group: list[int] = []
    size = 0
    for feed_id, (guids, links, hashes) in wanted.items():
        keys = len(guids) + len(links) + len(hashes)
        if group and size + keys > _MAX_KEYS_PER_QUERY:
            yield group
            group, size = [], 0
        group.append(feed_id)
        size += keys
        if size > _MAX_KEYS_PER_QUERY:
            # One feed with thousands of entries: its own query, whose IN lists the database
            # still accepts (a few thousand keys per list).
            yield group
            group, size = [], 0
    if group:
        yield group


def _index(rows: Iterable[KnownItem]) -> KnownItems:
    known = KnownItems(by_guid={}, by_link={}, by_hash={})
    # Oldest first, so when several stored items share a key the first one stored wins.
    for item in sorted(rows, key=lambda k: k.id):
        if item.guid:
            known.by_guid.setdefault(item.guid, item)
        if item.link:
            known.by_link.setdefault(item.link, item)
        known.by_hash.setdefault(item.content_hash, item)
    return known


async def update_items_text(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace the text of edited items in one batched statement.

    Args:
        rows: ``id``, ``title``, ``summary``, ``content_hash`` and ``language`` of each item;
            ``search_text`` is filled in here, as the model's update event would.
    """
    if not rows:
        return
    values = [
        {
            **row,
            "search_text": search_text(str(row.get("title") or ""), str(row.get("summary") or "")),
        }
        for row in rows
    ]
    await session.execute(update(Item), values)


async def insert_items(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, returning: bool = True
) -> list[Item]:
    """Insert new items in one batched statement and return them as ORM objects with ids.

    Args:
        rows: column values of :class:`Item`; ``search_text`` is filled in here.
        returning: load the inserted rows back as objects; without it (nobody needs them) a
            plain executemany is cheaper and the result is empty.

    A bulk INSERT ... RETURNING: adding objects one by one costs one round trip per row
    through the async driver (40 ms for 50 items on SQLite) and the ORM's insert events do
    not run for bulk statements, so the search text is computed here the way the model's
    event would.
    """
    if not rows:
        return []
    values = [
        {
            **row,
            "search_text": search_text(str(row.get("title") or ""), str(row.get("summary") or "")),
        }
        for row in rows
    ]
    if not returning:
        await session.execute(insert(Item), values)
        return []
    result = await session.scalars(insert(Item).returning(Item), values)
    return list(result)
