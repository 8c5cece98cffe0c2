"""The CLI's ``--tenant PLATFORM:ID`` option: which tenant's catalog a command manages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        metavar="PLATFORM:ID",
        help="A workspace or server, e.g. slack:T0123 or discord:81234; "
        "without it, the shared catalog every tenant sees.",
    ),
]

PLATFORMS = ("slack", "discord", "console")


class TenantSpecError(ValueError):
    """A ``--tenant`` value that names no platform and id."""


def parse_tenant(spec: str) -> tuple[str, str]:
    """``"slack:T0123"`` as ``("slack", "T0123")``.

    Raises:
        TenantSpecError: not ``PLATFORM:ID`` with a known platform.
    """
    platform, _, external_id = spec.strip().partition(":")
    platform = platform.lower()
    if platform not in PLATFORMS or not external_id.strip():
        raise TenantSpecError(
            f"--tenant {spec!r}: expected PLATFORM:ID with PLATFORM one of "
            f"{', '.join(PLATFORMS)} (e.g. slack:T0123)"
        )
    return platform, external_id.strip()


async def tenant_id(
    session: AsyncSession, spec: str | None, *, now: datetime | None = None
) -> int | None:
    """The tenant row ``spec`` names, or None for the shared catalog. With ``now`` a tenant
    not seen yet is created (as its first chat command would); without, it raises.

    Raises:
        TenantSpecError: ``spec`` is malformed, or names an unknown tenant and ``now`` is None.
    """
    if spec is None:
        return None
    platform, external_id = parse_tenant(spec)
    from storage.repositories import subscribers as sub_repo

    if now is None:
        found = await sub_repo.find_tenant(session, platform=platform, external_id=external_id)
        if found is None:
            raise TenantSpecError(f"--tenant {spec}: no such workspace or server has used the bot")
        return found.id
    tenant = await sub_repo.get_or_create_tenant(
        session, platform=platform, external_id=external_id, now=now
    )
    return tenant.id
