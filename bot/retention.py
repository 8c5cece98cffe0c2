"""Retention: items and delivery records older than the configured days are deleted."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import editor_texts, transfer

log = logging.getLogger(__name__)

LEDGER_MIN_DAYS = 8
"""Ledger rows younger than this are kept whatever the setting: catch-up looks back to each
subscriber's last fire time (up to a week for a weekly digest), and the row for that period is
what stops it being sent twice."""


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one retention pass removed, and the cutoffs it used (None: kept forever)."""

    items_deleted: int
    items_kept_for_feedback: int
    deliveries_deleted: int
    items_before: datetime | None
    deliveries_before: datetime | None


async def apply_retention(
    session: AsyncSession,
    *,
    now: datetime,
    items_days: int,
    deliveries_days: int,
    items_limit: int | None = None,
) -> RetentionReport:
    """Delete items first seen more than ``items_days`` ago and finished delivery ledger rows
    created more than ``deliveries_days`` ago (0 keeps them forever), in the caller's
    transaction, one bulk statement per table.

    Items that a reader's feedback points to are kept (their text is what the feedback is
    about). Pending and sending deliveries are never deleted, and ledger rows younger than
    ``LEDGER_MIN_DAYS`` are kept so catch-up cannot send a recent period twice.
    ``items_limit`` deletes at most that many items (one batch of ``run_retention``).

    Raises:
        ValueError: a negative number of days.
    """
    if items_days < 0 or deliveries_days < 0:
        raise ValueError("retention days must be 0 (keep forever) or more")
    items_before = now - timedelta(days=items_days) if items_days else None
    deliveries_before = (
        now - timedelta(days=max(deliveries_days, LEDGER_MIN_DAYS)) if deliveries_days else None
    )
    items_deleted = kept = deliveries_deleted = 0
    if items_before is not None:
        items_deleted = await transfer.delete_items_seen_before(
            session, before=items_before, limit=items_limit
        )
        kept = await transfer.count_items_kept_for_feedback(session, before=items_before)
    if deliveries_before is not None:
        deliveries_deleted = await transfer.delete_deliveries_created_before(
            session, before=deliveries_before
        )
    return RetentionReport(
        items_deleted=items_deleted,
        items_kept_for_feedback=kept,
        deliveries_deleted=deliveries_deleted,
        items_before=items_before,
        deliveries_before=deliveries_before,
    )


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    items_days: int,
    deliveries_days: int,
    batch_size: int = 5000,
) -> RetentionReport:
    """One retention pass for the periodic job: items deleted in transactions of at most
    ``batch_size`` rows, so ingest is not kept waiting on SQLite's single writer lock (a
    50,000-item delete holds it about 3 s), then the ledger in one statement; logged.
    """
    last = RetentionReport(0, 0, 0, None, None)
    deleted = 0
    if items_days:
        while True:
            async with sessionmaker.begin() as session:
                last = await apply_retention(
                    session,
                    now=now,
                    items_days=items_days,
                    deliveries_days=0,
                    items_limit=batch_size,
                )
            deleted += last.items_deleted
            if last.items_deleted < batch_size:
                break
    async with sessionmaker.begin() as session:
        ledger = await apply_retention(
            session, now=now, items_days=0, deliveries_days=deliveries_days
        )
    report = RetentionReport(
        items_deleted=deleted,
        items_kept_for_feedback=last.items_kept_for_feedback,
        deliveries_deleted=ledger.deliveries_deleted,
        items_before=last.items_before,
        deliveries_before=ledger.deliveries_before,
    )
    log.info(
        "retention: deleted %d items (kept %d with feedback) and %d deliveries",
        report.items_deleted,
        report.items_kept_for_feedback,
        report.deliveries_deleted,
    )
    if items_days:
        # What a model wrote about items is kept no longer than the items themselves.
        async with sessionmaker.begin() as session:
            texts = await editor_texts.delete_before(session, now - timedelta(days=items_days))
        if texts:
            log.info("retention: deleted %d written texts", texts)
    return report
