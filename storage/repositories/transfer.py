"""Data care queries: bulk retention deletes, and configuration rows read and written by their
natural keys (sector key, feed URL, platform and external id ...) so a configuration moves
between databases whose ids differ.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Delivery,
    Feed,
    Feedback,
    FeedOwner,
    FeedState,
    Item,
    RelatedReading,
    Sector,
    Subscriber,
    Tenant,
)

ACTIVE_DELIVERY_STATUSES = ("pending", "sending")
"""Ledger rows still being worked on: never removed by retention, whatever their age."""


@dataclass(slots=True)
class SyncCounts:
    """What writing one table's rows did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_items_seen_before(
    session: AsyncSession, *, before: datetime, limit: int | None = None
) -> int:
    """Delete items first seen before ``before``, except those a reader's feedback points to.

    One statement: item_sectors go by ON DELETE CASCADE, and on SQLite the FTS index by its
    delete trigger. Items with feedback are kept because the feedback row's meaning (what the
    reader liked or disliked) lives in the item's text and sectors.

    Args:
        session: the caller's session.
        before: the cutoff on ``first_seen_at``.
        limit: delete at most this many (the oldest ids first), so a caller can commit between
            batches and not hold SQLite's single writer lock for long.

    Returns:
        The number of items deleted.
    """
    has_feedback = exists().where(Feedback.item_id == Item.id)
    condition = and_(Item.first_seen_at < before, ~has_feedback)
    if limit is not None:
        batch = select(Item.id).where(condition).order_by(Item.id).limit(limit)
        condition = Item.id.in_(batch.scalar_subquery())
    statement = delete(Item).where(condition).execution_options(synchronize_session=False)
    return _rowcount(await session.execute(statement))


async def count_items_kept_for_feedback(session: AsyncSession, *, before: datetime) -> int:
    """Items older than ``before`` that retention keeps because feedback points to them."""
    query = (
        select(Item.id)
        .where(Item.first_seen_at < before, exists().where(Feedback.item_id == Item.id))
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(query))).scalar_one())


async def delete_deliveries_created_before(session: AsyncSession, *, before: datetime) -> int:
    """Delete finished ledger rows (sent, failed, skipped) created before ``before``.

    Returns:
        The number of rows deleted.
    """
    statement = (
        delete(Delivery)
        .where(
            Delivery.created_at < before,
            Delivery.status.not_in(ACTIVE_DELIVERY_STATUSES),
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await session.execute(statement))


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    """Every tenant, by platform and external id."""
    query = select(Tenant).order_by(Tenant.platform, Tenant.external_id)
    return list((await session.execute(query)).scalars())


def _assign(row: Any, values: Mapping[str, Any]) -> bool:
    """Set the attributes that differ; whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def sync_sectors(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> SyncCounts:
    """Create or update sectors by key (``key``, ``name_en``, ``name_ja``, ``keywords``,
    ``builtin``). An existing sector keeps its own ``builtin`` flag: the migration decides that.
    """
    counts = SyncCounts()
    existing = {s.key: s for s in (await session.execute(select(Sector))).scalars()}
    for row in rows:
        found = existing.get(row["key"])
        values = {k: row[k] for k in ("name_en", "name_ja", "keywords")}
        if found is None:
            owner = row.get("tenant_id")
            session.add(
                Sector(
                    key=row["key"],
                    builtin=row["builtin"],
                    created_at=now,
                    tenant_id=owner,
                    **values,
                )
            )
            counts.created += 1
        elif _assign(found, values):
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts


FEED_FIELDS = ("title", "site_url", "sector_hint", "weight", "disabled")


async def sync_feeds(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> SyncCounts:
    """Create or update feeds by URL. A new feed is due at once and its first fetch is stored
    as backlog, as when an admin adds it; an existing feed keeps what fetching learned. Each
    row's ``owner_ids`` (tenant ids, None for the shared catalog; default: shared) are added to
    the feed's owners; none is taken away. ``owner_hints`` (tenant id -> stored sector key)
    set those followers' own hints.
    """
    counts = SyncCounts()
    existing = {f.url: f for f in (await session.execute(select(Feed))).scalars()}
    added: list[tuple[Feed, Sequence[int | None], Mapping[int, str]]] = []
    known = {(o.feed_id, o.tenant_id): o for o in (await session.scalars(select(FeedOwner)))}
    for row in rows:
        found = existing.get(row["url"])
        owner_ids: Sequence[int | None] = row.get("owner_ids", [None])
        hints: Mapping[int, str] = row.get("owner_hints", {})
        values = {k: row[k] for k in FEED_FIELDS}
        if found is None:
            feed = Feed(url=row["url"], created_at=now, **values)
            feed.state = FeedState(next_check_at=now, error_count=0, backlog_done=False)
            session.add(feed)
            added.append((feed, owner_ids, hints))
            counts.created += 1
            continue
        new_owners = [t for t in owner_ids if (found.id, t) not in known]
        added.append((found, new_owners, hints))
        rehinted = [
            _assign(follow, {"sector_hint": hint})
            for t, hint in hints.items()
            if (follow := known.get((found.id, t))) is not None
        ]
        if _assign(found, values) or new_owners or any(rehinted):
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    session.add_all(
        FeedOwner(
            feed_id=f.id,
            tenant_id=t,
            sector_hint=None if t is None else hints.get(t),
            created_at=now,
        )
        for f, owners, hints in added
        for t in dict.fromkeys(owners)
    )
    await session.flush()
    return counts


async def sync_tenants(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> tuple[SyncCounts, dict[tuple[str, str], int]]:
    """Create or update tenants by (``platform``, ``external_id``); sets ``name``.

    Returns:
        The counts, and every tenant's id by (platform, external id), old and new.
    """
    counts = SyncCounts()
    existing = {(t.platform, t.external_id): t for t in await list_tenants(session)}
    for row in rows:
        key = (row["platform"], row["external_id"])
        found = existing.get(key)
        if found is None:
            tenant = Tenant(platform=key[0], external_id=key[1], name=row["name"], created_at=now)
            session.add(tenant)
            existing[key] = tenant
            counts.created += 1
        elif _assign(found, {"name": row["name"]}):
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts, {key: tenant.id for key, tenant in existing.items()}


SUBSCRIBER_FIELDS = (
    "sectors",
    "follow",
    "mute",
    "language",
    "length",
    "delivery_time",
    "timezone",
    "days",
    "enabled",
    "disabled_reason",
)


async def sync_subscribers(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> SyncCounts:
    """Create or update subscribers by (``tenant_id``, ``kind``, ``external_id``).

    ``updated_at`` moves only when a preference changed, so importing twice changes nothing.
    """
    counts = SyncCounts()
    tenant_ids = sorted({int(row["tenant_id"]) for row in rows})
    existing: dict[tuple[int, str, str], Subscriber] = {}
    for start in range(0, len(tenant_ids), 500):
        query = select(Subscriber).where(Subscriber.tenant_id.in_(tenant_ids[start : start + 500]))
        for s in (await session.execute(query)).scalars():
            existing[(s.tenant_id, s.kind, s.external_id)] = s
    for row in rows:
        key = (int(row["tenant_id"]), row["kind"], row["external_id"])
        found = existing.get(key)
        values = {k: row[k] for k in SUBSCRIBER_FIELDS}
        if found is None:
            session.add(
                Subscriber(
                    tenant_id=key[0],
                    kind=key[1],
                    external_id=key[2],
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            counts.created += 1
        elif _assign(found, values):
            found.updated_at = now
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts


async def sync_reading(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> SyncCounts:
    """Create or update related-reading links by (``sector_key``, ``keyword``, ``url``); sets
    ``title`` and ``created_by``.
    """
    counts = SyncCounts()
    existing: dict[tuple[str | None, str | None, str], RelatedReading] = {}
    for link in (
        await session.execute(select(RelatedReading).order_by(RelatedReading.id))
    ).scalars():
        existing.setdefault((link.sector_key, link.keyword, link.url), link)
    for row in rows:
        key = (row["sector_key"], row["keyword"], row["url"])
        found = existing.get(key)
        values = {"title": row["title"], "created_by": row["created_by"]}
        if found is None:
            link = RelatedReading(
                sector_key=key[0],
                keyword=key[1],
                url=key[2],
                created_at=now,
                tenant_id=row.get("tenant_id"),
                **values,
            )
            session.add(link)
            existing[key] = link
            counts.created += 1
        elif _assign(found, values):
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts


async def feed_owner_ids(session: AsyncSession) -> dict[int, list[int | None]]:
    """Each feed's owners: tenant ids, None for the shared catalog."""
    query = select(FeedOwner.feed_id, FeedOwner.tenant_id).order_by(FeedOwner.id)
    found: dict[int, list[int | None]] = {}
    for feed_id, tenant_id in (await session.execute(query)).all():
        found.setdefault(feed_id, []).append(tenant_id)
    return found


async def feed_owner_hints(session: AsyncSession) -> dict[int, list[tuple[int, str]]]:
    """Each feed's followers' own sector hints: (tenant id, stored key)."""
    query = (
        select(FeedOwner.feed_id, FeedOwner.tenant_id, FeedOwner.sector_hint)
        .where(FeedOwner.tenant_id.is_not(None), FeedOwner.sector_hint.is_not(None))
        .order_by(FeedOwner.id)
    )
    found: dict[int, list[tuple[int, str]]] = {}
    for feed_id, tenant_id, hint in (await session.execute(query)).all():
        if tenant_id is not None and hint is not None:
            found.setdefault(feed_id, []).append((tenant_id, hint))
    return found


async def existing_sector_keys(session: AsyncSession) -> Collection[str]:
    """The stored keys of every sector (``key@tenant`` for a tenant's own)."""
    return set((await session.execute(select(Sector.key))).scalars())
