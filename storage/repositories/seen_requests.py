"""Signed requests already handled, so a replay of one within its window is refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SeenRequest


async def first_sighting(
    session: AsyncSession, key: str, *, expires_at: datetime, now: datetime
) -> bool:
    """Record ``key`` until ``expires_at``; False when it was recorded already and not expired.

    One ``INSERT … ON CONFLICT DO NOTHING``, so of two processes seeing the same key at once
    exactly one gets True. Expired keys are deleted first: a key can come back only after its
    request went stale, and then the signature check refuses it anyway.
    """
    await session.execute(delete(SeenRequest).where(SeenRequest.expires_at < now))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SeenRequest)
        .values(key=key, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
