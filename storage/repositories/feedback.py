"""Readers' reactions to stories: the latest choice per user, story and kind counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feedback


async def record_feedback(
    session: AsyncSession,
    *,
    platform: str,
    tenant_id: str | None,
    user_id: str,
    story_key: str,
    kind: str,
    value: int,
    now: datetime,
    item_id: int | None = None,
    sector_key: str | None = None,
) -> Feedback:
    """Store a button press; pressing again replaces the earlier choice of the same kind."""
    query = select(Feedback).where(
        Feedback.platform == platform,
        Feedback.user_id == user_id,
        Feedback.story_key == story_key,
        Feedback.kind == kind,
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        row = Feedback(
            platform=platform,
            tenant_id=tenant_id,
            user_id=user_id,
            story_key=story_key,
            kind=kind,
            value=value,
            item_id=item_id,
            sector_key=sector_key,
            created_at=now,
        )
        session.add(row)
    else:
        row.value, row.created_at = value, now
    await session.flush()
    return row


async def withdraw_vote(
    session: AsyncSession, *, platform: str, user_id: str, story_key: str, value: int
) -> bool:
    """Take back a reader's ``value`` vote on a story (it counts 0 from now); False when their
    vote there is not ``value`` (none, or they have voted the other way since)."""
    query = select(Feedback).where(
        Feedback.platform == platform,
        Feedback.user_id == user_id,
        Feedback.story_key == story_key,
        Feedback.kind == "vote",
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None or row.value != value:
        return False
    row.value = 0
    await session.flush()
    return True


async def votes_since(
    session: AsyncSession, *, platform: str, user_id: str, since: datetime
) -> list[Feedback]:
    """A reader's votes (+1 / -1) since ``since``, newest first."""
    query = (
        select(Feedback)
        .where(
            Feedback.platform == platform,
            Feedback.user_id == user_id,
            Feedback.kind == "vote",
            Feedback.created_at >= since,
        )
        .order_by(Feedback.created_at.desc())
        .limit(500)
    )
    return list((await session.scalars(query)).all())
