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
    new workspace arriving at once all find the one row instead of racing to create it.
    """
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
