"""The admin view of digests: what was sent, late, failed, and why."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

from bot.commands import params as P
from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply, channel_label_of
from bot.commands.model import AdminDeliveries
from bot.i18n import Catalog, catalog
from bot.untrusted import quote
from storage.repositories import deliveries as delivery_repo

MESSAGES: Catalog = catalog("handlers.deliveries")


@command(
    "admin deliveries",
    AdminDeliveries,
    admin=True,
    usage=("[today]", "[today]"),
    help=("digests sent, late and failed, and why", "配信済み・遅延・失敗したダイジェストと理由"),
    params=(
        P.flag(
            "today",
            ("today", "今日"),
            "Only today's (in your time zone)",
            "今日の分だけ（あなたのタイムゾーンで）",
        ),
    ),
)
async def deliveries(ctx: Context, command: AdminDeliveries) -> Reply:
    zone = ZoneInfo(ctx.user.timezone)
    if command.today:
        since = datetime.combine(ctx.now.astimezone(zone).date(), day_time(0), tzinfo=zone)
    else:
        since = ctx.now - timedelta(days=7)
    rows = await delivery_repo.deliveries_since(
        ctx.session, since=since.astimezone(UTC), tenant_id=ctx.tenant.id
    )
    if not rows:
        return Reply(text=ctx.say(MESSAGES, "deliveries_none"))
    counts = Counter(d.status for d, _ in rows)
    late = sum(1 for d, _ in rows if d.late)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    if late:
        summary += f", {late} late"
    lines = [
        ctx.say(
            MESSAGES,
            "delivery_line",
            when=d.scheduled_for.astimezone(zone).strftime("%m-%d %H:%M"),
            status=d.status,
            late=ctx.say(MESSAGES, "late_mark") if d.late else "",
            kind=s.kind,
            dest=channel_label_of(s.external_id) if s.kind == "channel" else s.external_id,
            error=f": {quote(d.last_error)}" if d.last_error and d.status != "sent" else "",
        )
        for d, s in rows[:50]
    ]
    title = ctx.say(
        MESSAGES, "deliveries_title", since=since.strftime("%Y-%m-%d %H:%M %Z"), counts=summary
    )
    return Reply(text="\n".join([title, *lines]))
