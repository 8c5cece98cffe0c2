"""Stories across editions: which story a report belongs to, and what a subscriber received."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StoryItem, StoryReceipt, StoryRow, Subscriber


async def stories_of_items(session: AsyncSession, item_ids: Iterable[int]) -> dict[int, int]:
    """item id -> story id, for the items that already belong to a story."""
    ids = list(item_ids)
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(StoryItem.item_id, StoryItem.story_id).where(StoryItem.item_id.in_(chunk))
        out.update({int(i): int(s) for i, s in (await session.execute(query)).all()})
    return out


async def recent_stories(
    session: AsyncSession, *, since: datetime, excluding: Iterable[int] = ()
) -> dict[int, list[int]]:
    """story id -> its item ids, for stories a report joined since ``since``."""
    skip = set(excluding)
    query = (
        select(StoryItem.story_id, StoryItem.item_id)
        .join(StoryRow, StoryRow.id == StoryItem.story_id)
        .where(StoryRow.last_changed_at >= since)
        .order_by(StoryItem.story_id, StoryItem.item_id)
    )
    out: dict[int, list[int]] = {}
    for story_id, item_id in (await session.execute(query)).all():
        if story_id not in skip:
            out.setdefault(int(story_id), []).append(int(item_id))
    return out


async def items_of(session: AsyncSession, story_id: int) -> list[int]:
    """The reports of a story, oldest first."""
    query = (
        select(StoryItem.item_id)
        .where(StoryItem.story_id == story_id)
        .order_by(StoryItem.added_at, StoryItem.item_id)
    )
    return [int(i) for i in (await session.scalars(query)).all()]


async def get_story(session: AsyncSession, story_id: int) -> StoryRow | None:
    return await session.get(StoryRow, story_id)


async def new_story(session: AsyncSession, *, now: datetime) -> int:
    row = StoryRow(first_seen_at=now, last_changed_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def add_items(
    session: AsyncSession, story_id: int, item_ids: Sequence[int], *, now: datetime
) -> dict[int, int]:
    """Join reports to a story and mark it changed; returns item id -> the story it is in.

    A report another process placed meanwhile (two workers preparing the same edition) keeps
    that story: the insert skips it, and the answer says where it is.
    """
    if not item_ids:
        return {}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [{"item_id": i, "story_id": story_id, "added_at": now} for i in item_ids]
    await session.execute(
        insert(StoryItem).values(rows).on_conflict_do_nothing(index_elements=["item_id"])
    )
    story = await session.get(StoryRow, story_id)
    if story is not None:
        story.last_changed_at = max(story.last_changed_at, now)
    await session.flush()
    return await stories_of_items(session, item_ids)


async def receipts(
    session: AsyncSession, subscriber_id: int, story_ids: Iterable[int]
) -> dict[int, StoryReceipt]:
    """story id -> what the subscriber received of it, for the stories they received."""
    ids = list(story_ids)
    if not ids:
        return {}
    query = select(StoryReceipt).where(
        StoryReceipt.subscriber_id == subscriber_id, StoryReceipt.story_id.in_(ids)
    )
    return {r.story_id: r for r in (await session.scalars(query)).all()}


async def record_receipts(
    session: AsyncSession,
    subscriber_id: int,
    snapshots: Mapping[int, dict[str, list[str]]],
    *,
    now: datetime,
) -> None:
    """Remember what the subscriber received of each story (replacing the earlier snapshot)."""
    known = await receipts(session, subscriber_id, snapshots)
    for story_id, snapshot in snapshots.items():
        row = known.get(story_id)
        if row is None:
            session.add(
                StoryReceipt(
                    subscriber_id=subscriber_id,
                    story_id=story_id,
                    received_at=now,
                    snapshot=snapshot,
                )
            )
        else:
            row.received_at, row.snapshot = now, snapshot
    await session.flush()


async def last_received_at(session: AsyncSession, subscriber_id: int) -> datetime | None:
    """When the subscriber last received any story (their last digest)."""
    query = (
        select(StoryReceipt.received_at)
        .where(StoryReceipt.subscriber_id == subscriber_id)
        .order_by(StoryReceipt.received_at.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def receipts_of(
    session: AsyncSession, subscriber_id: int, *, limit: int = 200
) -> list[StoryReceipt]:
    """What the subscriber received, most recent first."""
    query = (
        select(StoryReceipt)
        .where(StoryReceipt.subscriber_id == subscriber_id)
        .order_by(StoryReceipt.received_at.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def received_in_tenant(
    session: AsyncSession, tenant_id: int, story_id: int
) -> datetime | None:
    """When a subscriber of the tenant (a channel's digest, say) last received the story, or
    None when nobody in that tenant did."""
    query = (
        select(func.max(StoryReceipt.received_at))
        .join(Subscriber, Subscriber.id == StoryReceipt.subscriber_id)
        .where(Subscriber.tenant_id == tenant_id, StoryReceipt.story_id == story_id)
    )
    found: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return found
