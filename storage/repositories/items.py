"""Item queries for ingest: find what a feed already has, insert what is new."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
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
        lists = [
            (column, sorted({key for f in group for key in wanted[f][kind]}))
            for kind, column in enumerate((Item.guid, Item.link, Item.content_hash))
        ]
        lists = [(column, values) for column, values in lists if values]
        if sum(len(values) for _c, values in lists) <= _MAX_KEYS_PER_QUERY:
            conditions = [[column.in_(values) for column, values in lists]]
        else:
            # One feed with thousands of entries: each key list in slices, so no statement
            # binds more values than the database accepts (SQLite 32766, PostgreSQL 32767).
            conditions = [
                [column.in_(values[start : start + _MAX_KEYS_PER_QUERY])]
                for column, values in lists
                for start in range(0, len(values), _MAX_KEYS_PER_QUERY)
            ]
        for condition in conditions:
            if not condition:
                continue
            result = await session.execute(
                select(*columns).where(Item.feed_id.in_(group), or_(*condition))
            )
            for row in result:
                by_feed[row.feed_id][row.id] = KnownItem(*row[1:])
    return {feed_id: _index(rows.values()) for feed_id, rows in by_feed.items()}


_MAX_KEYS_PER_QUERY = 3000
"""Bound key values per query: far below SQLite's (32766) and PostgreSQL's (32767) limits."""
ROWS_PER_STATEMENT = 500
"""Rows per multi-row INSERT or UPDATE: with an item's dozen columns, about 6,000 values."""


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
            # One feed with thousands of entries: its own queries (see above).
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
    """Replace the text of edited items, in batched statements of bounded size.

    Args:
        rows: ``id``, ``title``, ``summary``, ``content_hash`` and ``language`` of each item;
            ``search_text`` is filled in here, as the model's update event would.
    """
    if not rows:
        return
    for chunk in _chunks(rows):
        await session.execute(update(Item), _with_search_text(chunk))


async def insert_items(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, returning: bool = True
) -> list[Item]:
    """Insert new items in batched statements and return them as ORM objects with ids.

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
    inserted: list[Item] = []
    # In slices: every row binds a dozen values, and a feed may bring thousands of rows.
    for chunk in _chunks(rows):
        values = _with_search_text(chunk)
        if returning:
            inserted.extend(await session.scalars(insert(Item).returning(Item), values))
        else:
            await session.execute(insert(Item), values)
    return inserted


def _chunks(rows: Sequence[Mapping[str, Any]]) -> Iterator[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def _with_search_text(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "search_text": search_text(str(row.get("title") or ""), str(row.get("summary") or "")),
        }
        for row in rows
    ]
