"""The read side of stored items: what came in, what a briefing draws from, archive search."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, FeedOwner, Item, ItemSector
from storage.repositories.sectors import key_in_scope
from storage.scope import EVERY, Scope, visible
from storage.search import search_terms


async def recent_items(
    session: AsyncSession, *, limit: int = 50, include_backlog: bool = True
) -> list[tuple[Item, str]]:
    """The newest items first (by publication, else first sight), with their feed's title."""
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    query = (
        select(Item, func.coalesce(Feed.title, Feed.url))
        .join(Feed, Feed.id == Item.feed_id)
        .order_by(when.desc(), Item.id.desc())
        .limit(limit)
    )
    if not include_backlog:
        query = query.where(Item.is_backlog.is_(False))
    rows = (await session.execute(query)).all()
    return [(item, str(title)) for item, title in rows]


async def news_since(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime | None = None,
    seen_before: datetime | None = None,
    include_archive: bool = False,
    scope: Scope = EVERY,
) -> list[tuple[Item, Feed]]:
    """Items that are news (not backlog) published or first seen in [since, until), and
    stored no later than ``seen_before`` when given; with ``include_archive``, backlog items
    of those dates too (a past day, as the archive has it)."""
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    conditions = [when >= since]
    if not include_archive:
        conditions.append(Item.is_backlog.is_(False))
    if until is not None:
        conditions.append(when < until)
    if seen_before is not None:
        conditions.append(Item.first_seen_at <= seen_before)
    if scope != EVERY:
        conditions.append(_in_scope(scope))
    query = (
        select(Item, Feed)
        .join(Feed, Feed.id == Item.feed_id)
        .where(and_(*conditions), Feed.disabled.is_(False))
        .order_by(when.desc())
    )
    return [(item, feed) for item, feed in (await session.execute(query)).all()]


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    """Items of the feeds ``scope`` follows."""
    owned = select(FeedOwner.feed_id).where(visible(FeedOwner.tenant_id, scope))
    return Item.feed_id.in_(owned)


async def archived_by_sector(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime | None = None,
    scope: Scope = EVERY,
) -> dict[str, int]:
    """How many archive items first seen in [since, until) each sector has.

    These are the back issues of feeds added in that time: stored, searchable, and kept out of
    briefings. A briefing that is empty because of them says so.
    """
    conditions = [Item.is_backlog.is_(True), Item.first_seen_at >= since]
    if until is not None:
        conditions.append(Item.first_seen_at < until)
    if scope != EVERY:
        conditions.append(_in_scope(scope))
    query = (
        select(ItemSector.sector_key, func.count())
        .join(Item, Item.id == ItemSector.item_id)
        .where(and_(*conditions))
        .group_by(ItemSector.sector_key)
    )
    counts: dict[str, int] = {}
    for stored, n in (await session.execute(query)).all():
        key = key_in_scope(str(stored), scope)
        if key is not None:
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def _search_query(session: AsyncSession, words: str) -> Select[Item, Feed] | None:
    phrases = [p for p in search_terms(words) if p]
    if not phrases:
        return None
    base = select(Item, Feed).join(Feed, Feed.id == Item.feed_id)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # FTS5: each phrase quoted (tokens in a row), phrases ANDed.
        match = " AND ".join('"' + " ".join(p).replace('"', "") + '"' for p in phrases)
        ids = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :q").bindparams(q=match)
        return base.where(Item.id.in_(ids.columns(literal_column("rowid"))))
    # PostgreSQL: the same phrases as tsquery phrase operators over the GIN-indexed tsvector.
    vector = func.to_tsvector(literal_column("'simple'"), Item.search_text)
    conditions = [
        vector.op("@@")(func.phraseto_tsquery(literal_column("'simple'"), " ".join(p)))
        for p in phrases
    ]
    return base.where(and_(*conditions))


async def search_items(
    session: AsyncSession, words: str, *, limit: int = 10, scope: Scope = EVERY
) -> list[tuple[Item, Feed]]:
    """Items matching every word or phrase of ``words`` (EN or JA), newest first, of the
    feeds ``scope`` follows."""
    query = _search_query(session, words)
    if query is None:
        return []
    if scope != EVERY:
        query = query.where(_in_scope(scope))
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    rows = (await session.execute(query.order_by(when.desc()).limit(limit))).all()
    return [(item, feed) for item, feed in rows]
