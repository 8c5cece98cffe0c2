"""The admin view of who changed what in the tenant: ``/brief admin audit``."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply
from bot.commands.model import CommandBase
from bot.i18n import Catalog, catalog
from bot.untrusted import quote
from storage.models import AuditLog
from storage.repositories import subscribers as sub_repo

MESSAGES: Catalog = catalog("handlers.audit")
SHOWN = 30
"""Entries shown, newest first."""


@dataclass(frozen=True, slots=True)
class AdminAudit(CommandBase):
    """The tenant's latest admin changes."""


@command(
    "admin audit",
    AdminAudit,
    admin=True,
    help=("who changed what, newest first", "誰が何を変更したか（新しい順）"),
)
async def audit(ctx: Context, command: AdminAudit) -> Reply:
    rows = await sub_repo.recent_audit(ctx.session, tenant_id=ctx.tenant.id, limit=SHOWN)
    if not rows:
        return Reply(text=ctx.say(MESSAGES, "audit_none"))
    zone = ZoneInfo(ctx.user.timezone)
    lines = [
        ctx.say(
            MESSAGES,
            "audit_line",
            when=row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            who=quote(_who(row)),
            action=quote(row.action),
            detail=_detail(row),
        )
        for row in rows
    ]
    return Reply(text="\n".join([ctx.say(MESSAGES, "audit_title", zone=zone.key), *lines]))


def _who(row: AuditLog) -> str:
    """The admin's platform user id ("slack:U123" is stored), or "shiftbrief" itself."""
    return row.actor.split(":", 1)[-1]


def _detail(row: AuditLog) -> str:
    """``key=value`` pairs, each value quoted: admins typed them (URLs, names, keywords)."""
    pairs = []
    for key, value in row.detail.items():
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else value
        pairs.append(f"{key}={quote('' if shown is None else shown)}")
    return " ".join(pairs)
