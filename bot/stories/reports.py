"""Stored items as the engine's Articles, by id, with their vectors (for grouping them)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.briefing import embed
from bot.briefing.edition import article_of
from bot.models import Article
from storage.models import Feed, Item
from storage.repositories import embeddings as embedding_repo
from storage.repositories import retrieval


async def as_articles(session: AsyncSession, rows: Sequence[tuple[Item, Feed]]) -> list[Article]:
    """The items as Articles, with their stored vectors (sectors are not loaded)."""
    vectors = await embedding_repo.vectors_for(
        session, [item.id for item, _ in rows], model=embed.model_name()
    )
    return [article_of(item, feed, embedding=vectors.get(item.id)) for item, feed in rows]


async def articles_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Article]:
    """The items of ``ids`` that still exist, as Articles by id."""
    rows = await retrieval.items_by_ids(session, ids)
    return {a.item_id: a for a in await as_articles(session, list(rows.values()))}
