"""Commands every reader has: help, briefings, search, sectors, keywords and settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

from bot.briefing.compose import briefing_date
from bot.briefing.edition import load_edition, profile_of
from bot.commands import params as P
from bot.commands.declare import Param, command
from bot.commands.handlers.base import COMMON, Context, Reply
from bot.commands.help import help_text, usage
from bot.commands.model import (
    Help,
    KeywordAction,
    KeywordChange,
    Overview,
    Search,
    SectorSummary,
    Settings,
    Subscribe,
    Today,
    Unsubscribe,
    resolve_day,
)
from bot.commands.parse import CommandError, help_topic
from bot.commands.values import MAX_KEYWORD_CHARS, MAX_QUERY_CHARS
from bot.i18n import Catalog, catalog
from bot.models import SourceRef, StoryEntry
from bot.stories import digest as stories_digest
from bot.untrusted import quote
from storage.repositories import archive
from storage.repositories import sectors as sector_repo

MESSAGES: Catalog = catalog("handlers.reader")
STORIES: Catalog = catalog("stories")


def settings_text(ctx: Context) -> str:
    """The reader's current settings, in their language."""
    user = ctx.user
    body = ctx.say(
        MESSAGES,
        "settings_line",
        sectors=ctx.sectors_text(user.sectors),
        time=user.delivery_time,
        tz=quote(user.timezone),
        days=ctx.days_text(user.days),
        lang=user.language,
        length=user.length,
        follow=", ".join(map(quote, user.follow)) or ctx.say(COMMON, "none"),
        mute=", ".join(map(quote, user.mute)) or ctx.say(COMMON, "none"),
    )
    return f"{ctx.say(MESSAGES, 'settings_title')}\n{body}"


@command("", Overview, help=("help and your current settings", "ヘルプと現在の設定"), typed=False)
async def overview(ctx: Context, command: Overview) -> Reply:
    text = help_text(ctx.language, include_admin=ctx.invocation.is_admin)
    return Reply(text=f"{text}\n\n{settings_text(ctx)}")


@command(
    "help",
    Help,
    usage=("[command]", "[コマンド]"),
    help=("how to use one command", "コマンドの使い方"),
    params=(
        Param(
            "topic",
            help_topic,
            "One command or group to explain",
            "説明を見たいコマンドまたはグループ",
            required=False,
            takes="rest",
            repeat=1,
        ),
    ),
    build=lambda topic=None: Help(topic),
    # On typed platforms "help" alone is the overview: commands and the reader's settings.
    build_typed=lambda topic=None: Help(topic) if topic else Overview(),
)
async def help_(ctx: Context, command: Help) -> Reply:
    return Reply(text=help_text(ctx.language, command.topic, include_admin=ctx.invocation.is_admin))


@command("today", Today, help=("your briefing, right now", "今すぐあなた向けの要約"))
async def today(ctx: Context, command: Today) -> Reply:
    edition = await load_edition(
        ctx.session,
        now=ctx.now,
        editor=ctx.services.editor,
        languages=[ctx.language],
        scope=ctx.tenant.id,
        track=True,
    )
    # After the morning digest: what arrived since, and updates to what the reader received.
    view = await stories_digest.for_reader(
        ctx.session,
        ctx.user.id,
        edition,
        profile_of(ctx.user, all_sectors=[s.key for s in ctx.sectors]),
    )
    briefing = edition.compose(view.profile)
    tip = "" if ctx.user.sectors else ctx.say(MESSAGES, "not_subscribed_tip")
    if briefing.is_empty and view.hidden:
        return Reply(text=ctx.say(STORIES, "nothing_new", n=view.hidden))
    await stories_digest.remember(ctx.session, ctx.user.id, briefing, edition)
    return Reply(text=tip, briefing=briefing)


@command(
    "sector",
    SectorSummary,
    usage=("<sector> [date]", "<セクター> [日付]"),
    help=(
        "one sector's summary (date: YYYY-MM-DD, today or yesterday)",
        "セクター別の要約(日付: YYYY-MM-DD、today、yesterday)",
    ),
    params=(
        P.sector("sector", "The sector", "セクター"),
        P.day(
            "date",
            "YYYY-MM-DD, today or yesterday",
            "YYYY-MM-DD、today（今日）または yesterday（昨日）",
        ),
    ),
)
async def sector(ctx: Context, command: SectorSummary) -> Reply:
    user, now = ctx.user, ctx.now
    zone = ZoneInfo(user.timezone)
    today = briefing_date(now, user.timezone)
    date = resolve_day(command.date, today=today)
    if date == today:
        since, until = now - timedelta(hours=24), None
    else:
        try:
            start = datetime.combine(date, day_time(0), tzinfo=zone).astimezone(UTC)
            since, until = start, start + timedelta(days=1)
        except OverflowError:  # 9999-12-31 ends past the last datetime Python has
            raise CommandError(
                ctx.say(MESSAGES, "date_out_of_range", date=date.isoformat()),
                usage(command.kind, ctx.language),
                language=ctx.language,
            ) from None
    # A past day as the archive has it (as `shiftbrief brief --date` shows it): feeds' back
    # issues of that day count too, and the reply says so.
    edition = await load_edition(
        ctx.session,
        now=until or now,
        since=since,
        until=until,
        include_archive=until is not None,
        editor=ctx.services.editor,
        languages=[ctx.language],
        scope=ctx.tenant.id,
    )
    origin = ""
    if until is not None:
        items, archived, feeds = await archive.day_origins(
            ctx.session, sector=command.sector, since=since, until=until, scope=ctx.tenant.id
        )
        origin = ctx.say(MESSAGES, "day_origin", n=items, feeds=feeds, archived=archived)
    base = profile_of(user, all_sectors=[s.key for s in ctx.sectors])
    profile = type(base)(
        sectors=(command.sector,),
        language=base.language,
        length=base.length,
        follow=base.follow,
        mute=base.mute,
        timezone=base.timezone,
    )
    return Reply(text=origin, briefing=edition.compose(profile, date=date))


@command(
    "search",
    Search,
    usage=("<words>", "<語句>"),
    help=("search past stories", "過去の記事を検索"),
    params=(
        P.query(
            "query",
            "Words to look for (quotes for a phrase)",
            "探す語（語句はクォートで囲む）",
            limit=MAX_QUERY_CHARS,
            option="words",
        ),
    ),
)
async def search(ctx: Context, command: Search) -> Reply:
    query = command.query
    rows = await archive.search_items(ctx.session, query, limit=10, scope=ctx.tenant.id)
    if not rows:
        return Reply(text=ctx.say(MESSAGES, "search_none", query=quote(query)))
    zone = ZoneInfo(ctx.user.timezone)  # a hit's day is the reader's day, not UTC's
    results = tuple(
        StoryEntry(
            story_key=f"item:{item.id}",
            title=item.title,
            summary="",
            link=item.link,
            sources=(SourceRef(name=feed.title or feed.url, url=item.link),),
            sectors=tuple(
                key
                for s in item.sectors
                if (key := sector_repo.key_in_scope(s.sector_key, ctx.tenant.id)) is not None
            ),
            published_at=(item.published_at or item.first_seen_at).astimezone(zone),
        )
        for item, feed in rows
    )
    return Reply(text=ctx.say(MESSAGES, "search_title", query=quote(query)), results=results)


@command(
    "subscribe",
    Subscribe,
    usage=("<sector...>", "<セクター...>"),
    help=("add sectors to your briefing", "要約にセクターを追加"),
    params=(P.sectors("sectors", "A sector", "セクター"),),
)
async def subscribe(ctx: Context, command: Subscribe) -> Reply:
    ctx.effects.resync = True
    user = ctx.user
    user.sectors = [*user.sectors, *(s for s in command.sectors if s not in user.sectors)]
    user.updated_at = ctx.now
    return Reply(text=ctx.say(MESSAGES, "subscribed", sectors=ctx.names(command.sectors)))


@command(
    "unsubscribe",
    Unsubscribe,
    usage=("<sector...|all>", "<セクター...|all>"),
    help=("drop sectors (all: stop the briefing)", "セクターを外す(all ですべて停止)"),
    params=(P.sectors_or_all("sectors", "A sector, or all", "セクター、または all"),),
    build=lambda sectors: Unsubscribe((), all=True) if sectors == "all" else Unsubscribe(sectors),
)
async def unsubscribe(ctx: Context, command: Unsubscribe) -> Reply:
    ctx.effects.resync = True
    user = ctx.user
    user.updated_at = ctx.now
    if command.all:
        user.sectors = []
        return Reply(text=ctx.say(MESSAGES, "unsubscribed_all"))
    user.sectors = [s for s in user.sectors if s not in command.sectors]
    text = ctx.say(MESSAGES, "unsubscribed", sectors=ctx.names(command.sectors))
    current = ctx.names(user.sectors) or ctx.say(COMMON, "none")
    return Reply(text=f"{text} {ctx.say(MESSAGES, 'now_subscribed', sectors=current)}")


async def keyword(ctx: Context, command: KeywordChange) -> Reply:
    user, action = ctx.user, command.action
    field = "follow" if action in ("follow", "unfollow") else "mute"
    words: list[str] = list(getattr(user, field))
    folded = command.keyword.casefold()
    if action in ("follow", "mute"):
        if folded not in {w.casefold() for w in words}:
            words.append(command.keyword)
    else:
        kept = [w for w in words if w.casefold() != folded]
        if len(kept) == len(words):
            return Reply(text=ctx.say(MESSAGES, "keyword_absent", keyword=quote(command.keyword)))
        words = kept
    setattr(user, field, words)
    user.updated_at = ctx.now
    return Reply(text=ctx.say(MESSAGES, action, keyword=quote(command.keyword)))


def _keyword_command(action: KeywordAction, help_en: str, help_ja: str) -> None:
    command(
        action,
        KeywordChange,
        usage=("<keyword>", "<キーワード>"),
        help=(help_en, help_ja),
        params=(
            P.phrase("keyword", "A word or phrase", "単語または語句", limit=MAX_KEYWORD_CHARS),
        ),
        build=lambda keyword: KeywordChange(action, keyword),
    )(keyword)


_keyword_command("follow", "rank stories with this keyword higher", "キーワードを含む記事を優先")
_keyword_command("unfollow", "stop following a keyword", "キーワードの優先を解除")
_keyword_command("mute", "hide stories with this keyword", "キーワードを含む記事を非表示")
_keyword_command("unmute", "show a muted keyword again", "非表示にしたキーワードを元に戻す")


@command(
    "settings",
    Settings,
    usage=(
        "[time HH:MM] [tz Area/City] [days mon-fri] [lang en|ja] [length short|full]",
        "[time 時:分] [tz 地域/都市] [days 曜日] [lang en|ja] [length short|full]",
    ),
    help=("when and how you get your briefing", "配信の時刻・タイムゾーン・曜日・言語・長さ"),
    named=True,
    params=(
        P.time(
            "time",
            "Delivery time, HH:MM (24-hour)",
            "配信時刻、HH:MM（24 時間表記）",
            required=False,
        ),
        P.zone(
            "tz",
            "Time zone, Area/City",
            "タイムゾーン、Area/City 形式（例: Asia/Tokyo）",
            required=False,
            aliases=("timezone", "zone"),
        ),
        P.days("days", "Which days", "配信する曜日", aliases=("day",)),
        P.language("lang", "Language", "言語", aliases=("language",)),
        P.length("length", "Short or full", "short（短め）または full（詳しく）"),
        # The whole lists, as Slack's App Home sets them (not typed: see subscribe, follow).
        P.sectors("sectors", "Sectors", "セクター", required=False, offered=False),
        P.keywords("follow", "Followed", "フォロー", limit=MAX_KEYWORD_CHARS, offered=False),
        P.keywords("mute", "Muted", "ミュート", limit=MAX_KEYWORD_CHARS, offered=False),
    ),
)
async def settings(ctx: Context, command: Settings) -> Reply:
    """Change the reader's settings: ``/brief settings``, Discord's options and Slack's App
    Home all arrive here, checked by the same value parsers, and resync the scheduler."""
    ctx.effects.resync = True
    user, changed = ctx.user, False
    if command.time is not None:
        user.delivery_time, changed = command.time.strftime("%H:%M"), True
    if command.tz is not None:
        user.timezone, changed = command.tz, True
    if command.days is not None:
        user.days, changed = list(command.days), True
    if command.lang is not None:
        user.language, changed = command.lang, True
        ctx.language = command.lang
    if command.length is not None:
        user.length, changed = command.length, True
    if command.sectors is not None:
        user.sectors, changed = list(command.sectors), True
    if command.follow is not None:
        user.follow, changed = list(command.follow), True
    if command.mute is not None:
        user.mute, changed = list(command.mute), True
    text = settings_text(ctx)
    if changed:
        user.updated_at = ctx.now
        return Reply(text=f"{ctx.say(MESSAGES, 'settings_saved')}\n{text}")
    return Reply(text=text)
