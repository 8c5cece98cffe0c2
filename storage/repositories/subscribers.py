"""Tenants (workspaces, guilds), subscribers and their preferences, and the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog, Subscriber, Tenant


def _insert(session: AsyncSession, table: type[Any]) -> Any:
    """``INSERT`` with ``ON CONFLICT`` for the session's database (SQLite or PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


async def get_or_create_tenant(
    session: AsyncSession,
    *,
    platform: str,
    external_id: str,
    now: datetime,
    name: str | None = None,
) -> Tenant:
    """The workspace or guild, created on first sight.

    An upsert (``INSERT ... ON CONFLICT DO NOTHING``, then a read), so several commands of a
    new workspace arriving at once all find the one row instead of racing to create it. A
    tenant seen before is only read: on SQLite even an INSERT that inserts nothing takes the
    write lock for the rest of the transaction.
    """
    found = await find_tenant(session, platform=platform, external_id=external_id)
    if found is not None:
        return found
    await session.execute(
        _insert(session, Tenant)
        .values(platform=platform, external_id=external_id, name=name, created_at=now)
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
    )
    query = select(Tenant).where(Tenant.platform == platform, Tenant.external_id == external_id)
    return (await session.execute(query)).scalar_one()


async def find_tenant(session: AsyncSession, *, platform: str, external_id: str) -> Tenant | None:
    """The workspace or guild, if it was ever seen."""
    query = select(Tenant).where(Tenant.platform == platform, Tenant.external_id == external_id)
    return (await session.execute(query)).scalar_one_or_none()


async def find_subscriber(
    session: AsyncSession, *, tenant_id: int, kind: str, external_id: str
) -> Subscriber | None:
    query = select(Subscriber).where(
        Subscriber.tenant_id == tenant_id,
        Subscriber.kind == kind,
        Subscriber.external_id == external_id,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def profiles_elsewhere(
    session: AsyncSession, *, platform: str, user_id: str, besides: str
) -> list[tuple[Subscriber, Tenant]]:
    """A user's own profiles in the platform's tenants other than ``besides`` (e.g. the guilds
    of someone typing in Discord DMs), the one their digest comes from first: enabled with
    sectors chosen, then the most recently changed, then the oldest row."""
    query = (
        select(Subscriber, Tenant)
        .join(Tenant, Tenant.id == Subscriber.tenant_id)
        .where(
            Tenant.platform == platform,
            Tenant.external_id != besides,
            Subscriber.kind == "user",
            Subscriber.external_id == user_id,
        )
    )
    rows = [(sub, tenant) for sub, tenant in (await session.execute(query)).all()]
    rows.sort(
        key=lambda row: (
            not (row[0].enabled and row[0].sectors),
            -row[0].updated_at.timestamp(),
            row[0].id,
        )
    )
    return rows


async def get_or_create_subscriber(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: str,
    external_id: str,
    now: datetime,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[Subscriber, bool]:
    """The subscriber, and whether it was created just now (with ``defaults``).

    An upsert like ``get_or_create_tenant``: one user's back-to-back commands (Slack runs
    them at the same time) both get the one row.
    """
    found = await find_subscriber(session, tenant_id=tenant_id, kind=kind, external_id=external_id)
    if found is not None:
        return found, False
    values: dict[str, Any] = {"sectors": [], "follow": [], "mute": [], "days": []}
    values.update(defaults or {})
    result = await session.execute(
        _insert(session, Subscriber)
        .values(
            tenant_id=tenant_id,
            kind=kind,
            external_id=external_id,
            created_at=now,
            updated_at=now,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "external_id"])
    )
    subscriber = await find_subscriber(
        session, tenant_id=tenant_id, kind=kind, external_id=external_id
    )
    assert subscriber is not None  # inserted now, or by the command that won the race
    return subscriber, bool(cast(CursorResult[Any], result).rowcount)


async def list_subscribers(
    session: AsyncSession, *, tenant_id: int | None = None, enabled_only: bool = True
) -> list[Subscriber]:
    query = select(Subscriber).order_by(Subscriber.id)
    if tenant_id is not None:
        query = query.where(Subscriber.tenant_id == tenant_id)
    if enabled_only:
        query = query.where(Subscriber.enabled.is_(True))
    return list((await session.execute(query)).scalars())


async def audit(
    session: AsyncSession,
    *,
    tenant_id: int | None,
    actor: str,
    action: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> None:
    """Record an admin action: who, what, when."""
    session.add(
        AuditLog(tenant_id=tenant_id, actor=actor, action=action, detail=dict(detail), at=now)
    )
    await session.flush()


async def recent_audit(session: AsyncSession, *, tenant_id: int, limit: int) -> list[AuditLog]:
    """The tenant's latest ``limit`` audit entries, newest first (never another tenant's)."""
    query = (
        select(AuditLog)
        .where(AuditLog.tenant_id == tenant_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
