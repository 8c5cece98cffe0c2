"""Tenants (workspaces, guilds), subscribers and their preferences, and the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog, Subscriber, Tenant


async def get_or_create_tenant(
    session: AsyncSession,
    *,
    platform: str,
    external_id: str,
    now: datetime,
    name: str | None = None,
) -> Tenant:
    query = select(Tenant).where(Tenant.platform == platform, Tenant.external_id == external_id)
    tenant = (await session.execute(query)).scalar_one_or_none()
    if tenant is None:
        tenant = Tenant(platform=platform, external_id=external_id, name=name, created_at=now)
        session.add(tenant)
        await session.flush()
    return tenant


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
    """The subscriber, and whether it was created just now (with ``defaults``)."""
    found = await find_subscriber(session, tenant_id=tenant_id, kind=kind, external_id=external_id)
    if found is not None:
        return found, False
    values: dict[str, Any] = {"sectors": [], "follow": [], "mute": [], "days": []}
    values.update(defaults or {})
    subscriber = Subscriber(
        tenant_id=tenant_id,
        kind=kind,
        external_id=external_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(subscriber)
    await session.flush()
    return subscriber, True


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
