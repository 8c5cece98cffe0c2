"""The delivery ledger: one row per subscriber and period, claimed before it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, Subscriber


async def open_delivery(
    session: AsyncSession,
    *,
    subscriber_id: int,
    period_key: str,
    platform: str,
    scheduled_for: datetime,
    now: datetime,
    late: bool = False,
    status: str = "pending",
    last_error: str | None = None,
) -> bool:
    """Create the ledger row for a subscriber's period; False when it exists already.

    The unique constraint decides, so two triggers racing for one period create one row.
    """
    values: dict[str, Any] = {
        "subscriber_id": subscriber_id,
        "period_key": period_key,
        "platform": platform,
        "status": status,
        "scheduled_for": scheduled_for,
        "late": late,
        "attempts": 0,
        "last_error": last_error,
        "created_at": now,
        "next_attempt_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Delivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "period_key"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claimable(
    session: AsyncSession, *, now: datetime, stale_before: datetime, limit: int
) -> list[int]:
    """Ids of deliveries to work on: pending and due, or "sending" by a worker that vanished.

    On PostgreSQL the rows are locked with SKIP LOCKED, so workers in other processes pass over
    them instead of queueing behind this transaction; claim them in the same transaction.
    """
    query = (
        select(Delivery.id)
        .where(
            or_(
                and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
                and_(Delivery.status == "sending", Delivery.claimed_at < stale_before),
            )
        )
        .order_by(Delivery.scheduled_for, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def claim(
    session: AsyncSession,
    delivery_ids: Sequence[int],
    *,
    worker: str,
    now: datetime,
    stale_before: datetime,
) -> list[int]:
    """Take deliveries for this worker (compare-and-set in one statement).

    Returns the ids this worker got; a row another worker claimed in the meantime is left out.
    The first claim of a row also stamps ``started_at``: no part of it can have been posted
    before then, which bounds the search for parts an interrupted worker posted unrecorded.
    """
    if not delivery_ids:
        return []
    statement = (
        update(Delivery)
        .where(
            Delivery.id.in_(list(delivery_ids)),
            or_(
                Delivery.status == "pending",
                and_(Delivery.status == "sending", Delivery.claimed_at < stale_before),
            ),
        )
        .values(
            status="sending",
            claimed_by=worker,
            claimed_at=now,
            started_at=func.coalesce(Delivery.started_at, literal(now, Delivery.started_at.type)),
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(statement)).scalars())


async def deliveries_since(
    session: AsyncSession, *, since: datetime, tenant_id: int | None = None, limit: int = 200
) -> list[tuple[Delivery, Subscriber]]:
    query = (
        select(Delivery, Subscriber)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.created_at >= since)
        .order_by(Delivery.scheduled_for.desc(), Delivery.id.desc())
        .limit(limit)
    )
    if tenant_id is not None:
        query = query.where(Subscriber.tenant_id == tenant_id)
    return [(d, s) for d, s in (await session.execute(query)).all()]
