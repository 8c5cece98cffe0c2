"""Item queries for ingest: find what a feed already has, insert what is new.

New items go in as a database loader puts rows in: one Core INSERT executed for many rows (no
ORM unit of work, no object per row until the caller asks for them), in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers

from storage.models import Item
from storage.search import search_text

_ITEMS = Item.metadata.tables["items"]


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
    raw_hash: str | None = None
    """The raw hash of the text it was last stored from (None for items stored before it was
    kept); see ``bot.ingest.normalise``."""


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
        Item.raw_hash,
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
    return {feed_id: index_known(rows.values()) for feed_id, rows in by_feed.items()}


_MAX_KEYS_PER_QUERY = 3000
"""Bound key values per query: far below SQLite's (32766) and PostgreSQL's (32767) limits."""


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


def index_known(rows: Iterable[KnownItem]) -> KnownItems:
    """Stored items indexed by guid, link and content hash; the oldest wins a shared key."""
    known = KnownItems(by_guid={}, by_link={}, by_hash={})
    # Oldest first, so when several stored items share a key the first one stored wins.
    for item in sorted(rows, key=lambda k: k.id):
        if item.guid:
            known.by_guid.setdefault(item.guid, item)
        if item.link:
            known.by_link.setdefault(item.link, item)
        known.by_hash.setdefault(item.content_hash, item)
    return known


_TEXT_COLUMNS = (
    "title",
    "summary",
    "content_hash",
    "language",
    "raw_hash",
    "search_text",
    "categories",
)
_UPDATE_TEXT = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("item_id"))
    .values({column: bindparam(column) for column in _TEXT_COLUMNS})
)
_SET_RAW_HASH = (
    update(_ITEMS).where(_ITEMS.c.id == bindparam("item_id")).values(raw_hash=bindparam("raw_hash"))
)
_INSERT_COLUMNS = (
    "feed_id",
    "guid",
    "link",
    "content_hash",
    "raw_hash",
    "title",
    "summary",
    "author",
    "language",
    "published_at",
    "first_seen_at",
    "is_backlog",
    "search_text",
    "categories",
)


async def update_items_text(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace the text of edited items, with one executemany.

    Args:
        rows: ``id``, ``title``, ``summary``, ``content_hash``, ``language``, ``raw_hash``
            and ``categories`` of each item, and ``search_text`` where the caller made it
            (else it is made here, as the model's update event would).
    """
    if not rows:
        return
    values = [{"item_id": row["id"], **{c: row.get(c) for c in _TEXT_COLUMNS}} for row in rows]
    for value in values:
        if value["search_text"] is None:
            value["search_text"] = search_text(value["title"] or "", value["summary"] or "")
    await session.execute(_UPDATE_TEXT, values)


async def set_raw_hashes(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record the raw hash (``raw_hash``) of items (``id``) whose stored text did not change."""
    if rows:
        values = [{"item_id": row["id"], "raw_hash": row["raw_hash"]} for row in rows]
        await session.execute(_SET_RAW_HASH, values)


async def insert_items(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, returning: bool = True
) -> list[Item]:
    """Insert new items with one executemany; with ``returning``, also as objects with ids.

    Args:
        rows: column values of :class:`Item` (``search_text`` is made here where a row has
            none, as the model's insert event would).
        returning: also hand back the inserted rows as :class:`Item` objects (their ids from
            ``INSERT ... RETURNING``); without it the result is empty.

    The objects are built from the values inserted, not loaded back, and belong to no session:
    the caller reads them (to classify the new items), nothing more.
    """
    if not rows:
        return []
    values = [{c: row.get(c) for c in _INSERT_COLUMNS} for row in rows]
    for value in values:
        if value["search_text"] is None:
            value["search_text"] = search_text(value["title"] or "", value["summary"] or "")
    if not returning:
        await session.execute(insert(_ITEMS), values)
        return []
    # Each id comes back with the item's unique (feed, text) key rather than in the order of
    # the rows: asking for that order makes SQLite's driver insert the rows one at a time.
    statement = insert(_ITEMS).returning(_ITEMS.c.id, _ITEMS.c.feed_id, _ITEMS.c.content_hash)
    ids = {
        (feed_id, key): item_id
        for item_id, feed_id, key in await session.execute(statement, values)
    }
    configure_mappers()
    new_instance = Item.__mapper__.class_manager.new_instance
    inserted: list[Item] = []
    for value in values:
        # As the ORM builds an object from a loaded row: a new instance whose attributes go
        # straight into its dict (no events, no history), ten times cheaper than Item(**value).
        item: Item = new_instance()
        item.__dict__.update(value, id=ids[value["feed_id"], value["content_hash"]])
        inserted.append(item)
    return inserted
