"""Items' sentence vectors: which items still need one, storing them, reading them back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, Item, ItemEmbedding, ItemSector


async def pending(
    session: AsyncSession,
    *,
    model: str,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int = 32,
) -> list[Item]:
    """Items without a vector of ``model``, newest first (by publication, else first sight).

    Args:
        session: The session.
        model: The embedding model's name.
        since: Only items published (or first seen) at or after this time.
        before: Only items published (or first seen) before this time.
        limit: At most this many.
    """
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    done = select(ItemEmbedding.item_id).where(
        ItemEmbedding.item_id == Item.id, ItemEmbedding.model == model
    )
    conditions = [~done.exists(), Feed.disabled.is_(False)]
    if since is not None:
        conditions.append(when >= since)
    if before is not None:
        conditions.append(when < before)
    query = (
        select(Item)
        .join(Feed, Feed.id == Item.feed_id)
        .where(and_(*conditions))
        .order_by(when.desc(), Item.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars().all())


async def count_pending(session: AsyncSession, *, model: str) -> int:
    """How many items of enabled feeds have no vector of ``model`` yet."""
    done = select(ItemEmbedding.item_id).where(
        ItemEmbedding.item_id == Item.id, ItemEmbedding.model == model
    )
    query = (
        select(func.count())
        .select_from(Item)
        .join(Feed, Feed.id == Item.feed_id)
        .where(~done.exists(), Feed.disabled.is_(False))
    )
    return int(await session.scalar(query) or 0)


async def store(
    session: AsyncSession, *, model: str, vectors: Mapping[int, bytes], now: datetime
) -> None:
    """Save vectors (item id -> float32 blob), replacing those of another model.

    An item deleted meanwhile (retention) is skipped: its row would have no item to belong to.
    """
    if not vectors:
        return
    existing = set(
        (await session.execute(select(Item.id).where(Item.id.in_(list(vectors))))).scalars()
    )
    rows = [
        {"item_id": i, "model": model, "vector": v, "created_at": now}
        for i, v in vectors.items()
        if i in existing
    ]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ItemEmbedding).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[ItemEmbedding.item_id],
        set_={
            "model": statement.excluded.model,
            "vector": statement.excluded.vector,
            "created_at": statement.excluded.created_at,
        },
    )
    await session.execute(statement)


async def vectors_for(
    session: AsyncSession, item_ids: Sequence[int], *, model: str
) -> dict[int, bytes]:
    """The stored vectors of ``model`` for these items (items without one are left out)."""
    if not item_ids:
        return {}
    out: dict[int, bytes] = {}
    for start in range(0, len(item_ids), 500):  # stay under bound-parameter limits
        chunk = list(item_ids[start : start + 500])
        query = select(ItemEmbedding.item_id, ItemEmbedding.vector).where(
            ItemEmbedding.item_id.in_(chunk), ItemEmbedding.model == model
        )
        out.update({item_id: bytes(vector) for item_id, vector in await session.execute(query)})
    return out


async def keyword_matched_vectors(
    session: AsyncSession, sector_key: str, *, model: str, limit: int = 200
) -> list[bytes]:
    """Vectors of ``model`` of the newest items a keyword term placed in ``sector_key``.

    Items the vector rescue placed there (no matched term) are left out, so a sector's
    prototype is never made from its own guesses.
    """
    query = (
        select(ItemSector.matched, ItemEmbedding.vector)
        .join(ItemEmbedding, ItemEmbedding.item_id == ItemSector.item_id)
        .where(ItemSector.sector_key == sector_key, ItemEmbedding.model == model)
        .order_by(ItemSector.item_id.desc())
        # Rescued rows are a minority (items in languages the rules cannot read): five times
        # the limit leaves room for them without reading the sector's whole history.
        .limit(limit * 5)
    )
    found: list[bytes] = []
    for matched, vector in await session.execute(query):
        if matched:
            found.append(bytes(vector))
            if len(found) >= limit:
                break
    return found
