"""Reads for answering questions from the archive: ranked full-text candidates, items by id,
and stored vectors as they arrive (for an in-memory index)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, FeedOwner, Item, ItemEmbedding
from storage.scope import EVERY, Scope, visible


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    owned = select(FeedOwner.feed_id).where(visible(FeedOwner.tenant_id, scope))
    return Item.feed_id.in_(owned)


async def rank_any_terms(
    session: AsyncSession, terms: Sequence[str], *, limit: int = 50, scope: Scope = EVERY
) -> list[tuple[int, float]]:
    """Items holding any of ``terms`` (index tokens of ``storage.search``), best first.

    A question is not a search: few items hold every word of it, so any term counts and the
    full-text score (bm25 on SQLite, ts_rank_cd on PostgreSQL) ranks items that hold more of
    the rarer ones first.

    Returns:
        (item id, score) pairs, higher scores first.
    """
    terms = [t.replace('"', "") for t in dict.fromkeys(terms) if t.replace('"', "")]
    if not terms:
        return []
    if session.get_bind().dialect.name == "sqlite":
        fts = table("items_fts", column("rowid"), column("rank"))
        match = " OR ".join(f'"{t}"' for t in terms)
        query = (
            select(Item.id, -fts.c.rank)
            .join(fts, fts.c.rowid == Item.id)
            .where(text("items_fts MATCH :q").bindparams(q=match))
            .order_by(fts.c.rank)
        )
    else:
        vector = func.to_tsvector(literal_column("'simple'"), Item.search_text)
        combined: ColumnElement[Any] = func.plainto_tsquery(literal_column("'simple'"), terms[0])
        for term in terms[1:]:
            combined = combined.op("||")(func.plainto_tsquery(literal_column("'simple'"), term))
        score = func.ts_rank_cd(vector, combined)
        query = select(Item.id, score).where(vector.op("@@")(combined)).order_by(score.desc())
    query = query.join(Feed, Feed.id == Item.feed_id).where(Feed.disabled.is_(False))
    if scope != EVERY:
        query = query.where(_in_scope(scope))
    rows = (await session.execute(query.limit(limit))).all()
    return [(int(item_id), float(score or 0.0)) for item_id, score in rows]


async def items_by_ids(
    session: AsyncSession, ids: Sequence[int], *, scope: Scope = EVERY
) -> dict[int, tuple[Item, Feed]]:
    """The items of ``ids`` that still exist, of enabled feeds ``scope`` sees, with their feed."""
    if not ids:
        return {}
    query = (
        select(Item, Feed)
        .join(Feed, Feed.id == Item.feed_id)
        .where(Item.id.in_(list(ids)), Feed.disabled.is_(False))
    )
    if scope != EVERY:
        query = query.where(_in_scope(scope))
    return {item.id: (item, feed) for item, feed in (await session.execute(query)).all()}


async def vectors_since(
    session: AsyncSession, *, model: str, since: tuple[datetime, int] | None
) -> list[tuple[int, bytes, datetime]]:
    """Stored vectors of ``model`` after ``since`` (all when None), oldest first.

    ``since`` is the (created_at, item_id) of the last vector read: vectors stored in one
    instant (a batch) are told apart by item id, so none is lost and none read twice.
    """
    columns = (ItemEmbedding.item_id, ItemEmbedding.vector, ItemEmbedding.created_at)
    order = (ItemEmbedding.created_at, ItemEmbedding.item_id)
    if since is None:
        query = select(*columns).where(ItemEmbedding.model == model).order_by(*order)
        rows = (await session.execute(query)).all()
        return [(int(i), bytes(v), when) for i, v, when in rows]
    when, last_id = since
    # Two queries rather than one OR: each can use the index on created_at (an OR of the two
    # makes SQLite read every vector to find none new).
    same_instant = select(*columns).where(
        ItemEmbedding.model == model,
        ItemEmbedding.created_at == when,
        ItemEmbedding.item_id > last_id,
    )
    later = select(*columns).where(ItemEmbedding.model == model, ItemEmbedding.created_at > when)
    rows = [
        *(await session.execute(same_instant.order_by(*order))).all(),
        *(await session.execute(later.order_by(*order))).all(),
    ]
    return [(int(i), bytes(v), at) for i, v, at in rows]
