"""The read side of stored items: what came in, what a briefing draws from, archive search."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, FeedOwner, Item, ItemSector
from storage.repositories.sectors import key_in_scope
from storage.scope import EVERY, Scope, visible
from storage.search import query_words, search_terms


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


CANDIDATES = 200
"""How many best full-text matches are ranked further (title hits, then recency)."""


async def day_origins(
    session: AsyncSession,
    *,
    sector: str,
    since: datetime,
    until: datetime,
    scope: Scope = EVERY,
) -> tuple[int, int, int]:
    """Where a past day's items of ``sector`` came from: (items, of which archive, feeds).

    Archive items are feeds' back issues, stored when the feed was added rather than as news.
    """
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    conditions = [when >= since, when < until, ItemSector.sector_key == sector]
    if scope != EVERY:
        conditions.append(_in_scope(scope))
    query = (
        select(
            func.count(Item.id.distinct()),
            func.count(Item.id.distinct()).filter(Item.is_backlog.is_(True)),
            func.count(Item.feed_id.distinct()),
        )
        .join(ItemSector, ItemSector.item_id == Item.id)
        .join(Feed, Feed.id == Item.feed_id)
        .where(and_(*conditions), Feed.disabled.is_(False))
    )
    items, archived, feeds = (await session.execute(query)).one()
    return int(items), int(archived), int(feeds)


def _search_query(session: AsyncSession, words: str) -> Select[Item, Feed, float] | None:
    """Items matching every phrase of ``words``, with a relevance score (higher is better)."""
    phrases = [p for p in search_terms(words) if p]
    if not phrases:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # FTS5: each phrase quoted (tokens in a row), phrases ANDed; bm25 is lower when better.
        match = " AND ".join('"' + " ".join(p).replace('"', "") + '"' for p in phrases)
        fts = table("items_fts", column("rowid"), column("rank"))
        score = (-fts.c.rank).label("score")
        return (
            select(Item, Feed, score)
            .join(fts, fts.c.rowid == Item.id)
            .join(Feed, Feed.id == Item.feed_id)
            .where(text("items_fts MATCH :q").bindparams(q=match))
            .order_by(fts.c.rank)
        )
    # PostgreSQL: the same phrases as tsquery phrase operators over the GIN-indexed tsvector.
    vector = func.to_tsvector(literal_column("'simple'"), Item.search_text)
    queries = [func.phraseto_tsquery(literal_column("'simple'"), " ".join(p)) for p in phrases]
    combined: ColumnElement[Any] = queries[0]
    for query in queries[1:]:
        combined = combined.op("&&")(query)
    score = func.ts_rank_cd(vector, combined).label("score")
    return (
        select(Item, Feed, score)
        .join(Feed, Feed.id == Item.feed_id)
        .where(and_(*(vector.op("@@")(q) for q in queries)))
        .order_by(score.desc())
    )


def _title_hits(title: str, words: Sequence[str]) -> int:
    folded = unicodedata.normalize("NFKC", title).lower()
    return sum(1 for w in words if w in folded)


async def search_items(
    session: AsyncSession, words: str, *, limit: int = 10, scope: Scope = EVERY
) -> list[tuple[Item, Feed]]:
    """Items matching every word or phrase of ``words`` (EN or JA) of the feeds ``scope``
    follows, most relevant first: headlines that contain the words, then the full-text score,
    then the newest."""
    query = _search_query(session, words)
    if query is None:
        return []
    if scope != EVERY:
        query = query.where(_in_scope(scope))
    rows = (await session.execute(query.limit(max(CANDIDATES, limit)))).all()
    wanted = query_words(words)

    def relevance(row: Row[Item, Feed, float]) -> tuple[int, float, float]:
        item, _feed, score = row
        when = item.published_at or item.first_seen_at
        return (-_title_hits(item.title, wanted), -float(score or 0.0), -when.timestamp())

    return [(item, feed) for item, feed, _score in sorted(rows, key=relevance)[:limit]]
