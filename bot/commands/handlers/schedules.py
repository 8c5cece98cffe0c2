"""Admin commands for channel digests: set, list, remove, send now."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.commands import params as P
from bot.commands.declare import command
from bot.commands.handlers.base import Context, Reply, channel_label, channel_label_of
from bot.commands.model import (
    AdminScheduleList,
    AdminScheduleRemove,
    AdminScheduleSendNow,
    AdminScheduleSet,
    ChannelRef,
    CommandBase,
    Weekday,
)
from bot.commands.parse import ArgReader, CommandError
from bot.commands.values import weekday_index
from bot.delivery.schedule import next_fire_after
from bot.i18n import Catalog, catalog
from bot.untrusted import quote
from storage.models import Subscriber
from storage.repositories import subscribers as sub_repo

MESSAGES: Catalog = catalog("handlers.schedules")

_CHANNEL = P.channel("channel", "Where to post", "投稿先")
_TIME = P.time("time", "HH:MM (24-hour)", "HH:MM（24 時間表記）")
_ZONE = P.zone("tz", "Time zone, Area/City", "タイムゾーン、Area/City 形式（例: Asia/Tokyo）")
_DAYS = P.days("days", "Which days", "配信する曜日")
_SECTORS = P.sectors(
    "sectors",
    "Only this sector (default: all)",
    "このセクターだけ（省略時はすべて）",
    required=False,
    repeat=1,
)


def _parse_schedule_set(p: ArgReader) -> CommandBase:
    """``<#channel> <HH:MM> <tz> [days] [sectors...]``: a word after the zone is days unless
    it names a sector."""
    values = p.positional((_CHANNEL, _TIME, _ZONE))
    days: tuple[Weekday, ...] | None = None
    token = p.peek()
    if token is not None and p.sectors.find(token.rstrip(",")) is None:
        p.pos += 1
        try:
            days = p.days_from(token)
        except CommandError:
            # Not days: report it as what it more likely is, a mistyped day set or sector.
            if re.search(r"[-,~〜、]", token) or weekday_index(token[:3]) is not None:
                raise
            p.sector(token)
    return AdminScheduleSet(days=days, sectors=p.sectors_list(p.rest()), **values)


async def channel_subscriber(ctx: Context, channel: ChannelRef) -> Subscriber:
    """The channel's subscriber row in the admin's tenant, created on first mention."""
    subscriber, _created = await sub_repo.get_or_create_subscriber(
        ctx.session,
        tenant_id=ctx.tenant.id,
        kind="channel",
        external_id=channel.id or f"#{channel.name}",
        now=ctx.now,
        # A channel first named by send-now has no schedule until an admin sets one.
        defaults={"delivery_time": ""},
    )
    return subscriber


async def joined(ctx: Context, channel: ChannelRef) -> Reply | None:
    """Have the bot join ``channel`` where its platform wants that (Slack: to read back its
    own digests after a crash); the refusal, with its fix, when it cannot."""
    access = ctx.services.channels.get(ctx.invocation.platform)
    if access is None or not channel.id:
        return None
    refusal = await access.join_channel(ctx.tenant.external_id, channel.id)
    if refusal is None:
        return None
    text = ctx.say(MESSAGES, f"join_{refusal}", channel=channel_label(channel))
    return Reply(text=text, error=True)


def schedule_text(
    ctx: Context, key: str, target: Subscriber, *, channel: str, state: str = ""
) -> str:
    fire = next_fire_after(target, ctx.now)
    next_text = (
        fire.astimezone(ZoneInfo(target.timezone)).strftime("%Y-%m-%d %H:%M %Z")
        if fire is not None
        else "-"
    )
    return ctx.say(
        MESSAGES,
        key,
        id=target.id,
        channel=channel,
        time=target.delivery_time,
        tz=target.timezone,
        days=ctx.days_text(target.days),
        sectors=ctx.sectors_text(target.sectors),
        next=next_text,
        state=state,
    )


@command(
    "admin schedule set",
    AdminScheduleSet,
    admin=True,
    usage=(
        "<#channel> <HH:MM> <tz> [days] [sectors...]",
        "<#チャンネル> <時:分> <タイムゾーン> [曜日] [セクター...]",
    ),
    help=("post a digest to a channel", "チャンネルへの定期配信を設定"),
    params=(_CHANNEL, _TIME, _ZONE, _DAYS, _SECTORS),
    parse_text=_parse_schedule_set,
)
async def schedule_set(ctx: Context, command: AdminScheduleSet) -> Reply:
    if (refused := await joined(ctx, command.channel)) is not None:
        return refused
    ctx.effects.resync = True
    target = await channel_subscriber(ctx, command.channel)
    target.delivery_time = command.time.strftime("%H:%M")
    target.timezone = command.tz
    target.days = list(command.days or ())
    target.sectors = list(command.sectors)
    target.enabled, target.disabled_reason = True, None
    target.updated_at = ctx.now
    await ctx.session.flush()
    await ctx.audit(
        "schedule set",
        {
            "schedule_id": target.id,
            "channel": target.external_id,
            "time": target.delivery_time,
            "tz": target.timezone,
            "days": target.days,
            "sectors": target.sectors,
        },
    )
    label = channel_label(command.channel)
    return Reply(text=schedule_text(ctx, "schedule_saved", target, channel=label))


@command(
    "admin schedule list",
    AdminScheduleList,
    admin=True,
    help=("list channel digests", "チャンネル配信の一覧"),
)
async def schedule_list(ctx: Context, command: AdminScheduleList) -> Reply:
    rows = await sub_repo.list_subscribers(ctx.session, tenant_id=ctx.tenant.id, enabled_only=False)
    channels = [s for s in rows if s.kind == "channel" and s.delivery_time]
    if not channels:
        return Reply(text=ctx.say(MESSAGES, "schedules_none"))
    lines = [
        schedule_text(
            ctx,
            "schedule_line",
            c,
            channel=channel_label_of(c.external_id),
            state=""
            if c.enabled
            else ctx.say(MESSAGES, "schedule_disabled", reason=quote(c.disabled_reason or "?")),
        )
        for c in channels
    ]
    return Reply(text="\n".join([ctx.say(MESSAGES, "schedules_title"), *lines]))


@command(
    "admin schedule remove",
    AdminScheduleRemove,
    admin=True,
    usage=("<id>", "<ID>"),
    help=("stop a channel digest", "チャンネル配信を削除"),
    params=(
        P.ident(
            "schedule_id",
            "The schedule id from schedule-list",
            "schedule-list に表示される配信 ID",
            option="id",
        ),
    ),
)
async def schedule_remove(ctx: Context, command: AdminScheduleRemove) -> Reply:
    ctx.effects.resync = True
    schedule_id = command.schedule_id
    target = await ctx.session.get(Subscriber, schedule_id)
    if target is None or target.kind != "channel" or target.tenant_id != ctx.tenant.id:
        return Reply(text=ctx.say(MESSAGES, "schedule_unknown", id=schedule_id))
    detail = {"schedule_id": schedule_id, "channel": target.external_id}
    await ctx.audit("schedule remove", detail)
    await ctx.session.delete(target)
    return Reply(text=ctx.say(MESSAGES, "schedule_removed", id=schedule_id))


@command(
    "admin schedule send-now",
    AdminScheduleSendNow,
    admin=True,
    usage=("<#channel>", "<#チャンネル>"),
    help=("post a channel's digest now", "チャンネル配信を今すぐ送信"),
    params=(P.channel("channel", "The channel", "チャンネル"),),
)
async def schedule_send_now(ctx: Context, command: AdminScheduleSendNow) -> Reply:
    if ctx.services.schedules is None:
        return Reply(text=ctx.say(MESSAGES, "no_scheduler"))
    if (refused := await joined(ctx, command.channel)) is not None:
        return refused
    row = await channel_subscriber(ctx, command.channel)
    ctx.effects.send_now.append(row.id)
    await ctx.audit("schedule send-now", {"channel": row.external_id})
    return Reply(text=ctx.say(MESSAGES, "sending_now", channel=channel_label(command.channel)))
