"""The Discord adapter (discord.py 2.x): ``/brief`` app commands, embed digests, feedback buttons.

Named ``discord_bot`` so that ``import discord`` keeps meaning the library. Typed options become
typed ``Command``s (values checked with the same ``parse_*`` helpers as every platform), one
``Dispatcher`` answers them, and ``render_discord`` turns the ``Reply`` into embeds. Every
interaction is deferred first (Discord wants an answer within 3 s; a briefing may take longer),
ephemerally, because the answers are personal.

Commands are synced with Discord only on demand (``sync_commands``) or at start when the tree's
payload hash differs from the last one synced: Discord allows 200 command creates a day per
guild, and a reconnect must not spend them. Feedback buttons are ``DynamicItem``s registered on
the client, so a press on a briefing sent before a restart still reaches us.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import discord
import platformdirs
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.discord import delivery as discord_delivery
from adapters.discord.render import (
    DiscordMessage,
    FeedbackRow,
    defuse_mentions,
    render_briefing_messages,
    render_reply,
    truncate,
)
from bot.briefing.edition import load_sector_defs
from bot.commands import grammar as cmd
from bot.commands.dispatcher import Dispatcher, Reply
from bot.config import Settings
from bot.delivery.pacing import Pacer, RateLimit
from bot.i18n import Catalog, phrase
from bot.models import Briefing, Language, SectorDef
from bot.platform import (
    DeliveryError,
    Destination,
    MessageRef,
    OnSent,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from storage.repositories.feedback import record_feedback

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
CUSTOM_ID_LIMIT = 100
MAX_OPTION_INT = 2**53 - 1
"""Discord integer options stop here (JavaScript's safe integers)."""

MESSAGES: Catalog = {
    "unknown_sector": {
        "en": "There is no sector “{value}”. Sectors: {valid}.",
        "ja": "「{value}」というセクターはありません。セクター: {valid}。",
    },
    "missing_sector": {
        "en": "Choose at least one sector. Sectors: {valid}.",
        "ja": "セクターを 1 つ以上選んでください。セクター: {valid}。",
    },
    "missing_text": {"en": "Please type {what}.", "ja": "{what}を入力してください。"},
    "usage": {"en": "Usage", "ja": "使い方"},
    "thanks_up": {"en": "Thanks, noted 👍", "ja": "ありがとうございます 👍"},
    "thanks_down": {"en": "Thanks, noted 👎", "ja": "ありがとうございます 👎"},
    "thanks_more": {
        "en": "Noted: you want more on this sector.",
        "ja": "このセクターの記事を増やします。",
    },
}

# Discord error codes about the destination, and why each is permanent, for the ledger and the
# admins; these disable the subscription.
_PERMANENT_REASONS = {
    50007: "cannot send to this user: their DMs are closed or they share no server with the bot",
    10003: "the channel no longer exists (unknown channel)",
    50001: "the bot lost access to the channel (missing access)",
    50013: "the bot lacks permission to post in the channel (missing permissions)",
    10013: "the user no longer exists (unknown user)",
    10004: "the bot is no longer in this server (unknown guild)",
    50008: "the channel is not a text channel (cannot send messages in a non-text channel)",
    160005: "the thread is locked",
}
_DESTINATION_STATUSES = {
    403: "the bot may not post there (forbidden)",
    404: "the channel or user was not found",
}
"""Statuses that are about the destination (or the bot's access) whatever their code."""

JA_DESCRIPTIONS: dict[str, str] = {
    # The group and its admin subgroup.
    "Your daily tech briefing": "毎日のテックニュースまとめ",
    "Server admin: feeds, schedules, sectors": "サーバー管理: フィード、配信予定、セクター",
    # Subcommands.
    "Commands, and your current settings": "コマンドの一覧と、いまの設定",
    "Your personalised briefing, now (only you see it)": (
        "あなた向けのまとめを今すぐ表示（本人にだけ表示）"
    ),
    "One sector's summary": "ひとつのセクターのまとめ",
    "Search past stories": "過去の記事を検索",
    "Add sectors to your briefing": "まとめに入れるセクターを追加",
    "Drop sectors (all: stop the briefing)": "セクターを外す（all で配信を止める）",
    "Rank stories with this keyword higher": "このキーワードを含む記事を上位に表示",
    "Stop following a keyword": "キーワードのフォローをやめる",
    "Hide stories with this keyword": "このキーワードを含む記事を表示しない",
    "Show a muted keyword again": "ミュートしたキーワードを元に戻す",
    "When and how you get your briefing": "まとめを受け取る時刻と形式",
    "Add a feed": "フィードを追加",
    "Remove a feed": "フィードを削除",
    "List feeds and their ids": "フィードと ID の一覧",
    "Feeds that fail or went quiet": "エラーが続く、または更新の止まったフィード",
    "Post a digest to a channel": "チャンネルへの定期配信を設定",
    "List channel digests": "チャンネル配信の一覧",
    "Stop a channel digest": "チャンネル配信を止める",
    "Post a channel's digest now": "チャンネルのまとめを今すぐ投稿",
    "Create a sector": "セクターを作成",
    "List sectors": "セクターの一覧",
    "Attach an explainer link": "解説リンクを登録",
    # Options.
    "One command or group to explain": "説明を見たいコマンドまたはグループ",
    "The sector": "セクター",
    "YYYY-MM-DD, today or yesterday": "YYYY-MM-DD、today（今日）または yesterday（昨日）",
    "Words to look for (quotes for a phrase)": "探す語（語句はクォートで囲む）",
    "A sector": "セクター",
    "Another sector": "別のセクター",
    "A sector, or all": "セクター、または all",
    "A word or phrase": "単語または語句",
    "Delivery time, HH:MM (24-hour)": "配信時刻、HH:MM（24 時間表記）",
    "Time zone, Area/City": "タイムゾーン、Area/City 形式（例: Asia/Tokyo）",
    "Which days": "配信する曜日",
    "Language": "言語",
    "Short or full": "short（短め）または full（詳しく）",
    "The feed's http(s) address": "フィードの http(s) アドレス",
    "Sector hint": "想定するセクター",
    "The feed id from feeds-list": "feeds-list に表示されるフィード ID",
    "Where to post": "投稿先",
    "HH:MM (24-hour)": "HH:MM（24 時間表記）",
    "Only this sector (default: all)": "このセクターだけ（省略時はすべて）",
    "The schedule id from schedule-list": "schedule-list に表示される配信 ID",
    "The channel": "チャンネル",
    "Up to 32 lowercase letters, digits, - or _": "英小文字・数字・- または _ で 32 文字まで",
    "English name": "英語の名前",
    "Japanese name": "日本語の名前",
    "Extra terms, comma-separated": "追加の語（カンマ区切り）",
    "A sector key, or a keyword": "セクターのキー、またはキーワード",
    "The link": "リンク",
    "What the link is": "リンクの内容",
}
"""Japanese descriptions for the /brief tree, by their English text (what discord.py hands the
translator). Every description must have one: a test checks the synced payload."""


class BriefTranslator(app_commands.Translator):
    """Gives Japanese Discord clients (locale ``ja``) Japanese descriptions and choice labels.

    Command and option names stay English on purpose: the grammar is the same on every platform
    and in every language, so help texts and the Slack command read alike. Choice labels are
    only what the reader picks from (their values are the grammar's), so they are translated.
    """

    DESCRIPTIONS: ClassVar[frozenset[app_commands.TranslationContextLocation]] = frozenset(
        {
            app_commands.TranslationContextLocation.command_description,
            app_commands.TranslationContextLocation.group_description,
            app_commands.TranslationContextLocation.parameter_description,
        }
    )

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is not discord.Locale.japanese:
            return None
        if context.location is app_commands.TranslationContextLocation.choice_name:
            return JA_CHOICES.get(string.message)
        if context.location not in self.DESCRIPTIONS:
            return None
        return JA_DESCRIPTIONS.get(string.message)


JA_CHOICES: dict[str, str] = {
    "every day": "毎日",
    "weekdays (mon-fri)": "平日（月〜金）",
    "weekends (sat, sun)": "週末（土・日）",
    "mon, wed, fri": "月・水・金",
    "tue, thu": "火・木",
    "monday": "月曜日",
    "tuesday": "火曜日",
    "wednesday": "水曜日",
    "thursday": "木曜日",
    "friday": "金曜日",
    "saturday": "土曜日",
    "sunday": "日曜日",
    "short": "短め",
    "full": "詳しく",
}
"""Japanese labels of the fixed choices (days and length); languages are named in their own."""


DAY_CHOICES = [
    app_commands.Choice(name=app_commands.locale_str("every day"), value="daily"),
    app_commands.Choice(name=app_commands.locale_str("weekdays (mon-fri)"), value="mon-fri"),
    app_commands.Choice(name=app_commands.locale_str("weekends (sat, sun)"), value="sat,sun"),
    app_commands.Choice(name=app_commands.locale_str("mon, wed, fri"), value="mon,wed,fri"),
    app_commands.Choice(name=app_commands.locale_str("tue, thu"), value="tue,thu"),
    *(
        app_commands.Choice(name=app_commands.locale_str(name), value=name[:3])
        for name in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    ),
]
LANG_CHOICES = [
    app_commands.Choice(name="English", value="en"),
    app_commands.Choice(name="日本語", value="ja"),
]
LENGTH_CHOICES = [
    app_commands.Choice(name=app_commands.locale_str("short"), value="short"),
    app_commands.Choice(name=app_commands.locale_str("full"), value="full"),
]
HELP_TOPICS = [
    "today",
    "sector",
    "search",
    "subscribe",
    "unsubscribe",
    "follow",
    "mute",
    "settings",
    "admin",
    "admin feeds",
    "admin schedule",
    "admin sectors",
    "admin reading",
]


class OptionError(Exception):
    """A typed option the user got wrong; ``text`` is shown to them (ephemeral)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# --------------------------------------------------------------------------------------------
# Feedback buttons
# --------------------------------------------------------------------------------------------


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:v:(?P<value>up|down):(?P<story>[A-Za-z0-9:_.-]{1,64})",
):
    """👍 or 👎 on one story; the custom id carries the story, so it works after a restart."""

    def __init__(self, story_key: str, value: int, *, row: int | None = None) -> None:
        word = "up" if value > 0 else "down"
        super().__init__(
            discord.ui.Button(
                emoji="👍" if value > 0 else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"sb:v:{word}:{story_key}",
            ),
            row=row,
        )
        self.story_key = story_key
        self.value = value

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VoteButton:
        return cls(match["story"], 1 if match["value"] == "up" else -1)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.record_press(
            interaction, story_key=self.story_key, kind="vote", value=self.value
        )


class MoreButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sb:m:(?P<sector>[a-z0-9_-]{1,32}):(?P<story>[A-Za-z0-9:_.-]{1,64})",
):
    """ "More on <sector>" under a sector's lead story."""

    def __init__(
        self, sector_key: str, story_key: str, *, label: str = "More", row: int | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=truncate(label, 80),
                style=discord.ButtonStyle.primary,
                custom_id=f"sb:m:{sector_key}:{story_key}",
            ),
            row=row,
        )
        self.sector_key = sector_key
        self.story_key = story_key

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> MoreButton:
        return cls(match["sector"], match["story"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.record_press(
            interaction, story_key=self.story_key, kind="more", value=1, sector=self.sector_key
        )


def feedback_view(rows: Sequence[FeedbackRow]) -> discord.ui.View | None:
    """The buttons of one message (a row per story), or None when there are none."""
    view = discord.ui.View(timeout=None)
    for index, row in enumerate(rows[:5]):
        if len(f"sb:m:{row.sector_key}:{row.story_key}") > CUSTOM_ID_LIMIT:
            continue
        view.add_item(VoteButton(row.story_key, 1, row=index))
        view.add_item(VoteButton(row.story_key, -1, row=index))
        view.add_item(MoreButton(row.sector_key, row.story_key, label=row.more_label, row=index))
    return view if view.children else None


def _marked_view(message: discord.Message, pressed: str) -> discord.ui.View:
    """The message's buttons again, with the one pressed shown as chosen (green) and its
    opposite vote reset, so a reader sees their latest choice."""
    view = discord.ui.View(timeout=None)
    opposite = (
        pressed.replace(":up:", ":down:")
        if ":up:" in pressed
        else pressed.replace(":down:", ":up:")
    )
    for action_row, components in enumerate(message.components):
        for component in getattr(components, "children", []):
            if not isinstance(component, discord.Button) or component.custom_id is None:
                continue
            style = component.style
            if component.custom_id == pressed:
                style = discord.ButtonStyle.success
            elif component.custom_id == opposite:
                style = discord.ButtonStyle.secondary
            view.add_item(
                discord.ui.Button(
                    label=component.label,
                    emoji=component.emoji,
                    style=style,
                    custom_id=component.custom_id,
                    row=action_row,
                )
            )
    return view


# --------------------------------------------------------------------------------------------
# Client, command tree and sync
# --------------------------------------------------------------------------------------------


class ShiftBriefClient(discord.AutoShardedClient):
    """The discord.py client: guilds intent only (no privileged message content)."""

    def __init__(
        self,
        *,
        adapter: DiscordAdapter,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        # Several processes split the shards between them (past 2,500 guilds one process cannot
        # hold them all); unset, discord.py asks Discord how many shards to run here.
        sharding: dict[str, Any] = {}
        if shard_count is not None:
            sharding["shard_count"] = shard_count
        if shard_ids:
            sharding["shard_ids"] = list(shard_ids)
        super().__init__(
            intents=intents,
            allowed_mentions=NONE,
            **sharding,
            # Rate limits longer than this raise RateLimited (-> TransientDeliveryError) instead of
            # holding a delivery worker asleep.
            max_ratelimit_timeout=60.0,
        )
        self.adapter = adapter
        self.tree: app_commands.CommandTree[ShiftBriefClient] = app_commands.CommandTree(self)
        self.tree.add_command(build_brief_group(adapter))

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton, MoreButton)
        await use_translator(self)
        # With shards split over processes, the one running shard 0 syncs for all of them.
        if self.shard_ids is None or 0 in self.shard_ids:
            await sync_if_changed(self)


async def use_translator(client: ShiftBriefClient) -> None:
    """Set the tree's translator (Japanese descriptions), unless one is set already."""
    if client.tree.translator is None:
        await client.tree.set_translator(BriefTranslator())


async def command_payload(client: ShiftBriefClient) -> list[dict[str, Any]]:
    """The command definitions as Discord receives them on sync, localisations included."""
    await use_translator(client)
    translator = client.tree.translator
    assert translator is not None
    return [
        await c.get_translated_payload(client.tree, translator) for c in client.tree.get_commands()
    ]


async def command_hash(client: ShiftBriefClient) -> str:
    """A hash of the synced payload: a changed translation is a change worth a sync."""
    text = json.dumps(await command_payload(client), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _sync_key(client: ShiftBriefClient, guild_id: int | None) -> str:
    return f"{client.application_id}:{guild_id or 'global'}"


def _read_sync_state(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


async def sync_commands(client: ShiftBriefClient, guild_id: int | None = None) -> list[str]:
    """Register the command tree with Discord (globally, or in one guild for quick testing) and
    remember its hash; for ``shiftbrief discord sync [--guild ID]``.

    Returns:
        The names of the commands Discord now has.
    """
    # The tree syncs what its translator gives; without one Discord would get no Japanese.
    await use_translator(client)
    if guild_id is not None:
        guild = discord.Object(id=guild_id)
        client.tree.copy_global_to(guild=guild)
        synced = await client.tree.sync(guild=guild)
    else:
        synced = await client.tree.sync()
    path = client.adapter.sync_state_path
    state = _read_sync_state(path)
    state[_sync_key(client, guild_id)] = await command_hash(client)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    log.info("synced %d Discord commands (guild=%s)", len(synced), guild_id or "global")
    return [c.name for c in synced]


async def sync_if_changed(client: ShiftBriefClient) -> bool:
    """Sync the global commands only when their definition changed since the last sync."""
    state = _read_sync_state(client.adapter.sync_state_path)
    if state.get(_sync_key(client, None)) == await command_hash(client):
        return False
    await sync_commands(client)
    return True


class _Context:
    """What option checks need: the user's language and, lazily, the sector list."""

    def __init__(self, adapter: DiscordAdapter, language: Language) -> None:
        self.adapter = adapter
        self.language: Language = language
        self._sectors: cmd.SectorIndex | None = None

    async def sectors(self) -> cmd.SectorIndex:
        if self._sectors is None:
            self._sectors = cmd.SectorIndex(await self.adapter.sector_defs())
        return self._sectors

    def fail(self, message: str, kind: str) -> OptionError:
        usage = cmd.usage(kind, self.language)
        return OptionError(f"{message}\n{phrase(MESSAGES, 'usage', self.language)}: {usage}")

    def value(self, read: Callable[[str], Any], text: str, kind: str) -> Any:
        try:
            return read(text)
        except cmd.ValueProblem as problem:
            raise self.fail(problem.message(self.language), kind) from None

    async def sector(self, value: str, kind: str) -> str:
        index = await self.sectors()
        key = index.find(value)
        if key is None:
            valid = ", ".join(index.keys) or "-"
            raise self.fail(
                phrase(MESSAGES, "unknown_sector", self.language, value=value[:60], valid=valid),
                kind,
            )
        return key

    async def sector_list(self, values: Sequence[str | None], kind: str) -> tuple[str, ...]:
        keys = [await self.sector(v, kind) for v in values if v]
        if not keys:
            valid = ", ".join((await self.sectors()).keys) or "-"
            raise self.fail(phrase(MESSAGES, "missing_sector", self.language, valid=valid), kind)
        return tuple(dict.fromkeys(keys))

    def text(self, value: str, what: str, kind: str) -> str:
        text = cmd.normalise_keyword(value)
        if not text:
            raise self.fail(phrase(MESSAGES, "missing_text", self.language, what=what), kind)
        return text


def build_brief_group(adapter: DiscordAdapter) -> app_commands.Group:
    """The ``/brief`` command group, mirroring the engine's grammar with typed options.

    Discord nests at most two levels under a command, so ``admin feeds add`` becomes
    ``/brief admin feeds-add``.
    """
    run = adapter.run_command
    brief = app_commands.Group(name="brief", description="Your daily tech briefing")
    admin = app_commands.Group(
        name="admin", description="Server admin: feeds, schedules, sectors", parent=brief
    )

    async def sector_choices(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await adapter.sector_choices(interaction, current)

    async def unsubscribe_choices(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        choices = await adapter.sector_choices(interaction, current)
        return [app_commands.Choice(name="all", value="all"), *choices][:25]

    async def zone_choices(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in cmd.zone_choices(current, limit=25)]

    @brief.command(name="help", description="Commands, and your current settings")
    @app_commands.describe(topic="One command or group to explain")
    @app_commands.choices(topic=[app_commands.Choice(name=t, value=t) for t in HELP_TOPICS])
    async def help_(interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.Help(topic) if topic else cmd.Overview()

        await run(interaction, build)

    @brief.command(name="today", description="Your personalised briefing, now (only you see it)")
    async def today(interaction: discord.Interaction[Any]) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.Today()

        await run(interaction, build)

    @brief.command(name="sector", description="One sector's summary")
    @app_commands.describe(sector="The sector", date="YYYY-MM-DD, today or yesterday")
    @app_commands.autocomplete(sector=sector_choices)
    async def sector(
        interaction: discord.Interaction[Any], sector: str, date: str | None = None
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            key = await ctx.sector(sector, "sector")
            day: cmd.DayRef = ctx.value(cmd.parse_day, date, "sector") if date else "today"
            return cmd.SectorSummary(key, day)

        await run(interaction, build)

    @brief.command(name="search", description="Search past stories")
    @app_commands.describe(words="Words to look for (quotes for a phrase)")
    async def search(
        interaction: discord.Interaction[Any],
        words: app_commands.Range[str, 1, cmd.MAX_QUERY_CHARS],
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.Search(ctx.text(words, "words", "search"))

        await run(interaction, build)

    @brief.command(name="subscribe", description="Add sectors to your briefing")
    @app_commands.describe(sector="A sector", sector_2="Another sector", sector_3="Another sector")
    @app_commands.autocomplete(
        sector=sector_choices, sector_2=sector_choices, sector_3=sector_choices
    )
    async def subscribe(
        interaction: discord.Interaction[Any],
        sector: str,
        sector_2: str | None = None,
        sector_3: str | None = None,
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.Subscribe(await ctx.sector_list([sector, sector_2, sector_3], "subscribe"))

        await run(interaction, build)

    @brief.command(name="unsubscribe", description="Drop sectors (all: stop the briefing)")
    @app_commands.describe(
        sector="A sector, or all", sector_2="Another sector", sector_3="Another sector"
    )
    @app_commands.autocomplete(
        sector=unsubscribe_choices, sector_2=sector_choices, sector_3=sector_choices
    )
    async def unsubscribe(
        interaction: discord.Interaction[Any],
        sector: str,
        sector_2: str | None = None,
        sector_3: str | None = None,
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            if sector.strip().lower() == "all":
                return cmd.Unsubscribe((), all=True)
            return cmd.Unsubscribe(
                await ctx.sector_list([sector, sector_2, sector_3], "unsubscribe")
            )

        await run(interaction, build)

    def keyword_command(action: cmd.KeywordAction, description: str) -> None:
        @brief.command(name=action, description=description)
        @app_commands.describe(keyword="A word or phrase")
        async def change(
            interaction: discord.Interaction[Any],
            keyword: app_commands.Range[str, 1, cmd.MAX_KEYWORD_CHARS],
        ) -> None:
            async def build(ctx: _Context) -> cmd.Command:
                return cmd.KeywordChange(action, ctx.text(keyword, "keyword", action))

            await run(interaction, build)

    keyword_command("follow", "Rank stories with this keyword higher")
    keyword_command("unfollow", "Stop following a keyword")
    keyword_command("mute", "Hide stories with this keyword")
    keyword_command("unmute", "Show a muted keyword again")

    @brief.command(name="settings", description="When and how you get your briefing")
    @app_commands.describe(
        time="Delivery time, HH:MM (24-hour)",
        tz="Time zone, Area/City",
        days="Which days",
        lang="Language",
        length="Short or full",
    )
    @app_commands.autocomplete(tz=zone_choices)
    @app_commands.choices(days=DAY_CHOICES, lang=LANG_CHOICES, length=LENGTH_CHOICES)
    async def settings(
        interaction: discord.Interaction[Any],
        time: str | None = None,
        tz: str | None = None,
        days: str | None = None,
        lang: str | None = None,
        length: str | None = None,
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.Settings(
                time=ctx.value(cmd.parse_time, time, "settings") if time else None,
                tz=ctx.value(cmd.parse_zone, tz, "settings") if tz else None,
                days=ctx.value(cmd.parse_days, days, "settings") if days else None,
                lang="ja" if lang == "ja" else "en" if lang == "en" else None,
                length="short" if length == "short" else "full" if length == "full" else None,
            )

        await run(interaction, build)

    @admin.command(name="feeds-add", description="Add a feed")
    @app_commands.describe(url="The feed's http(s) address", sector="Sector hint")
    @app_commands.autocomplete(sector=sector_choices)
    async def feeds_add(
        interaction: discord.Interaction[Any], url: str, sector: str | None = None
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            kind = "admin feeds add"
            key = await ctx.sector(sector, kind) if sector else None
            return cmd.AdminFeedsAdd(ctx.value(cmd.parse_url, url, kind), key)

        await run(interaction, build)

    @admin.command(name="feeds-remove", description="Remove a feed")
    @app_commands.describe(id="The feed id from feeds-list")
    async def feeds_remove(
        interaction: discord.Interaction[Any], id: app_commands.Range[int, 1, MAX_OPTION_INT]
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminFeedsRemove(id)

        await run(interaction, build)

    @admin.command(name="feeds-list", description="List feeds and their ids")
    async def feeds_list(interaction: discord.Interaction[Any]) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminFeedsList()

        await run(interaction, build)

    @admin.command(name="feeds-health", description="Feeds that fail or went quiet")
    async def feeds_health(interaction: discord.Interaction[Any]) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminFeedsHealth()

        await run(interaction, build)

    @admin.command(name="schedule-set", description="Post a digest to a channel")
    @app_commands.describe(
        channel="Where to post",
        time="HH:MM (24-hour)",
        tz="Time zone, Area/City",
        days="Which days",
        sector="Only this sector (default: all)",
    )
    @app_commands.autocomplete(tz=zone_choices, sector=sector_choices)
    @app_commands.choices(days=DAY_CHOICES)
    async def schedule_set(
        interaction: discord.Interaction[Any],
        channel: discord.TextChannel,
        time: str,
        tz: str,
        days: str | None = None,
        sector: str | None = None,
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            kind = "admin schedule set"
            return cmd.AdminScheduleSet(
                cmd.ChannelRef(id=str(channel.id), name=channel.name),
                ctx.value(cmd.parse_time, time, kind),
                ctx.value(cmd.parse_zone, tz, kind),
                ctx.value(cmd.parse_days, days, kind) if days else None,
                (await ctx.sector(sector, kind),) if sector else (),
            )

        await run(interaction, build)

    @admin.command(name="schedule-list", description="List channel digests")
    async def schedule_list(interaction: discord.Interaction[Any]) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminScheduleList()

        await run(interaction, build)

    @admin.command(name="schedule-remove", description="Stop a channel digest")
    @app_commands.describe(id="The schedule id from schedule-list")
    async def schedule_remove(
        interaction: discord.Interaction[Any], id: app_commands.Range[int, 1, MAX_OPTION_INT]
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminScheduleRemove(id)

        await run(interaction, build)

    @admin.command(name="schedule-send-now", description="Post a channel's digest now")
    @app_commands.describe(channel="The channel")
    async def schedule_send_now(
        interaction: discord.Interaction[Any], channel: discord.TextChannel
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminScheduleSendNow(cmd.ChannelRef(id=str(channel.id), name=channel.name))

        await run(interaction, build)

    @admin.command(name="sectors-add", description="Create a sector")
    @app_commands.describe(
        key="Up to 32 lowercase letters, digits, - or _",
        name_en="English name",
        name_ja="Japanese name",
        keywords="Extra terms, comma-separated",
    )
    async def sectors_add(
        interaction: discord.Interaction[Any],
        key: app_commands.Range[str, 1, 32],
        name_en: app_commands.Range[str, 1, 64],
        name_ja: app_commands.Range[str, 1, 64],
        keywords: str | None = None,
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            kind = "admin sectors add"
            folded = cmd.normalise_keyword(key).lower()
            if not cmd.SECTOR_KEY_RE.fullmatch(folded):
                raise ctx.fail(
                    cmd.ValueProblem("bad_sector_key", value=key).message(ctx.language), kind
                )
            words = [cmd.normalise_keyword(w) for w in re.split(r"[,、]", keywords or "")]
            return cmd.AdminSectorsAdd(
                folded,
                ctx.text(name_en, "name_en", kind),
                ctx.text(name_ja, "name_ja", kind),
                tuple(dict.fromkeys(w[: cmd.MAX_KEYWORD_CHARS] for w in words if w)),
            )

        await run(interaction, build)

    @admin.command(name="sectors-list", description="List sectors")
    async def sectors_list(interaction: discord.Interaction[Any]) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            return cmd.AdminSectorsList()

        await run(interaction, build)

    @admin.command(name="reading-add", description="Attach an explainer link")
    @app_commands.describe(
        target="A sector key, or a keyword", url="The link", title="What the link is"
    )
    @app_commands.autocomplete(target=sector_choices)
    async def reading_add(
        interaction: discord.Interaction[Any],
        target: str,
        url: str,
        title: app_commands.Range[str, 1, 200],
    ) -> None:
        async def build(ctx: _Context) -> cmd.Command:
            kind = "admin reading add"
            link = ctx.value(cmd.parse_url, url, kind)
            name = ctx.text(title, "title", kind)
            if (key := (await ctx.sectors()).find(target)) is not None:
                return cmd.AdminReadingAdd(link, name, sector=key)
            return cmd.AdminReadingAdd(link, name, keyword=ctx.text(target, "keyword", kind))

        await run(interaction, build)

    return brief


# --------------------------------------------------------------------------------------------
# The adapter
# --------------------------------------------------------------------------------------------


def default_sync_state_path() -> Path:
    """Where the hash of the last command sync is kept (next to the default database)."""
    return Path(platformdirs.user_data_dir("shiftbrief", appauthor=False)) / "discord-commands.json"


class DiscordAdapter:
    """ShiftBrief on Discord: commands in, digests out (channels and DMs).

    Args:
        settings: token, admin role and ids, REST base URL (tests) and pacing.
        sessionmaker: for sectors (autocomplete) and feedback buttons.
        clock: returns the current aware UTC time.
        pacer: paces sends; built from the Discord settings when None.
        sync_state_path: JSON file holding the hash of the last command sync.
    """

    platform: ClassVar[str] = "discord"

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        pacer: Pacer | None = None,
        sync_state_path: Path | None = None,
    ) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._pacer = pacer or Pacer(
            per_destination=RateLimit(
                settings.discord_channel_messages, settings.discord_channel_window
            ),
            overall=RateLimit(settings.discord_requests_per_second, 1),
        )
        self.sync_state_path = sync_state_path or default_sync_state_path()
        self._dispatcher: Dispatcher | None = None
        self._dm_channels: dict[str, int] = {}
        self._pending: dict[cmd.Invocation, discord.Interaction[Any]] = {}
        self._gateway: asyncio.Task[None] | None = None
        if settings.discord_api_url:
            # discord.py builds every REST URL (interaction callbacks and webhooks included)
            # from this class attribute; tests point it at a local server.
            discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
        self.client = ShiftBriefClient(
            adapter=self,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    async def login(self, dispatcher: Dispatcher) -> None:
        """Log in over REST, register the buttons and sync commands if their definition changed;
        no gateway connection yet (``start`` opens it)."""
        if self._settings.discord_token is None:
            raise RuntimeError("DISCORD_TOKEN is not set")
        self._dispatcher = dispatcher
        await self.client.login(self._settings.discord_token.get_secret_value())

    @property
    def ready(self) -> bool:
        """Connected to the gateway with every shard of this process ready."""
        return self.client.is_ready()

    async def start(self, dispatcher: Dispatcher) -> None:
        """Log in, then keep the (auto-sharded) gateway connection in a background task."""
        await self.login(dispatcher)
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True), name="discord")

    async def close(self) -> None:
        await self.client.close()
        if self._gateway is not None:
            try:
                await self._gateway
            except Exception:
                log.exception("Discord gateway task ended with an error")
            self._gateway = None

    # --- commands ------------------------------------------------------------------------------

    async def sector_defs(self) -> list[SectorDef]:
        async with self._sessionmaker() as session:
            return await load_sector_defs(session)

    async def sector_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Sectors whose key or name contains what was typed, named in the user's language."""
        language = cmd.language_from_locale(str(interaction.locale))
        wanted = current.strip().casefold()
        found = [
            d
            for d in await self.sector_defs()
            if wanted in d.key or wanted in d.name_en.casefold() or wanted in d.name_ja
        ]
        return [
            app_commands.Choice(name=truncate(f"{d.name(language)} ({d.key})", 100), value=d.key)
            for d in found[:25]
        ]

    async def is_admin(self, interaction: discord.Interaction[Any]) -> bool:
        """Manage Server, the configured role, or a configured admin user id."""
        if str(interaction.user.id) in self._settings.admin_user_ids:
            return True
        if interaction.guild_id is None:
            return False
        if interaction.permissions.manage_guild or interaction.permissions.administrator:
            return True
        role_name = self._settings.discord_admin_role
        member = interaction.user
        if not role_name or not isinstance(member, discord.Member):
            return False
        role_ids = {r.id for r in member.roles}
        if not role_ids:
            # Roles are resolved from the guild cache; without it, ask Discord for the names.
            role_ids = {int(r) for r in member._roles}
        if not role_ids:
            return False
        roles = await self.client.http.get_roles(interaction.guild_id)
        return any(int(r["id"]) in role_ids and r["name"] == role_name for r in roles)

    def invocation_of(
        self, interaction: discord.Interaction[Any], *, is_admin: bool
    ) -> cmd.Invocation:
        return cmd.Invocation(
            platform=self.platform,
            tenant_id=str(interaction.guild_id) if interaction.guild_id else "dm",
            user_id=str(interaction.user.id),
            channel_id=str(interaction.channel_id) if interaction.channel_id else None,
            is_admin=is_admin,
            locale=str(interaction.locale),
        )

    async def run_command(
        self,
        interaction: discord.Interaction[Any],
        build: Callable[[_Context], Awaitable[cmd.Command]],
    ) -> None:
        """Defer at once (ephemeral), check the options, ask the dispatcher, answer."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        language = cmd.language_from_locale(str(interaction.locale))
        try:
            command = await build(_Context(self, language))
        except OptionError as problem:
            await self._send_followups(interaction, render_reply(Reply(text=problem.text)))
            return
        invocation = self.invocation_of(interaction, is_admin=await self.is_admin(interaction))
        if self._dispatcher is None:
            raise RuntimeError("the Discord adapter was not started")
        reply = await self._dispatcher.handle(cmd.CommandRequest(command, invocation))
        self._pending[invocation] = interaction
        try:
            await self.reply(invocation, reply)
        finally:
            self._pending.pop(invocation, None)

    async def reply(self, invocation: cmd.Invocation, reply: Reply) -> None:
        """Answer a command: through its interaction while one is open, else in its channel."""
        messages = render_reply(reply)
        interaction = self._pending.get(invocation)
        if interaction is not None:
            await self._send_followups(interaction, messages, ephemeral=reply.ephemeral)
        elif invocation.channel_id:
            channel = self.client.get_partial_messageable(int(invocation.channel_id))
            for message in messages:
                await self._send(channel, message)

    async def _send_followups(
        self,
        interaction: discord.Interaction[Any],
        messages: Sequence[DiscordMessage],
        *,
        ephemeral: bool = True,
    ) -> None:
        for message in messages:
            view = feedback_view(message.feedback)
            await interaction.followup.send(
                content=message.content or discord.utils.MISSING,
                embeds=message.embeds or discord.utils.MISSING,
                view=view or discord.utils.MISSING,
                ephemeral=ephemeral,
                allowed_mentions=NONE,
            )
            if view is not None:
                # The DynamicItems answer presses; a stored copy of the view would answer twice.
                view.stop()

    async def record_press(
        self,
        interaction: discord.Interaction[Any],
        *,
        story_key: str,
        kind: str,
        value: int,
        sector: str | None = None,
    ) -> None:
        """Store a feedback press and show it: the message's buttons change in DMs; in a shared
        channel message only the presser sees an acknowledgement. "More on <sector>" answers
        with the sector's summary, for the presser only."""
        async with self._sessionmaker.begin() as session:
            await record_feedback(
                session,
                platform=self.platform,
                tenant_id=str(interaction.guild_id) if interaction.guild_id else "dm",
                user_id=str(interaction.user.id),
                story_key=story_key,
                kind=kind,
                value=value,
                now=self._clock(),
                sector_key=sector,
            )
        if kind == "more" and sector:
            # "More on <sector>" answers with that sector's summary, only for the presser.
            async def summary(_context: _Context) -> cmd.Command:
                return cmd.SectorSummary(sector=sector)

            await self.run_command(interaction, summary)
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if interaction.guild_id is None and interaction.message is not None:
            view = _marked_view(interaction.message, custom_id)
            await interaction.response.edit_message(view=view, allowed_mentions=NONE)
            view.stop()
            return
        language = cmd.language_from_locale(str(interaction.locale))
        key = "thanks_more" if kind == "more" else "thanks_up" if value > 0 else "thanks_down"
        await interaction.response.send_message(
            phrase(MESSAGES, key, language), ephemeral=True, allowed_mentions=NONE
        )

    # --- deliveries ----------------------------------------------------------------------------

    async def _channel_id(self, dest: Destination) -> int:
        if dest.kind == "channel":
            return int(dest.external_id)
        if dest.kind != "user":
            raise PermanentDeliveryError(f"unknown destination kind {dest.kind!r}")
        if dest.external_id not in self._dm_channels:
            try:
                data = await self.client.http.start_private_message(int(dest.external_id))
            except Exception as exc:
                raise _delivery_error(exc, ()) from exc
            self._dm_channels[dest.external_id] = int(data["id"])
        return self._dm_channels[dest.external_id]

    async def _send(
        self, channel: discord.abc.Messageable, message: DiscordMessage, *, nonce: str | None = None
    ) -> discord.Message:
        view = feedback_view(message.feedback)
        sent = await channel.send(
            content=message.content or None,
            embeds=message.embeds,
            view=view or discord.utils.MISSING,
            allowed_mentions=NONE,
            # With a nonce discord.py asks Discord to enforce it: a retry after a lost reply
            # returns the message already posted instead of posting it again.
            nonce=nonce if nonce is not None else discord.utils.MISSING,
        )
        if view is not None:
            view.stop()
        return sent

    async def send_briefing(
        self,
        dest: Destination,
        briefing: Briefing,
        *,
        start_part: int = 0,
        idempotency_key: str | None = None,
        on_sent: OnSent | None = None,
        resume_since: datetime | None = None,
    ) -> MessageRef:
        """Post the briefing's messages in order from ``start_part``, paced per channel.

        ``on_sent(message_id)`` is awaited after each part is posted, before the next one.
        With ``idempotency_key`` each part carries an enforced nonce; with ``resume_since``
        too, the parts already in the channel since then are found (``adapters.discord.
        delivery``), reported through ``on_sent`` and not posted again.

        Raises:
            PermanentDeliveryError: closed DMs, unknown or inaccessible channel (these disable
                the subscription); a message Discord refused, such as an invalid form body
                (``disable_subscription=False``: the destination is fine).
            TransientDeliveryError: rate limited too long, Discord's 5xx after its own retries,
                timeouts; ``sent_message_ids`` holds the parts posted by this call.
        """
        channel_id = await self._channel_id(dest)
        channel = self.client.get_partial_messageable(channel_id)
        sent: list[str] = []
        messages = render_briefing_messages(briefing)
        found: dict[int, str] = {}
        if resume_since is not None and idempotency_key:
            try:
                found = (
                    await discord_delivery.posted_parts(
                        self.client,
                        channel_id,
                        messages,
                        start_part=start_part,
                        key=idempotency_key,
                        since=resume_since,
                    )
                    or {}
                )
            except Exception as exc:
                raise _delivery_error(exc, ()) from exc
        for number, message in enumerate(messages[start_part:], start=start_part):
            message_id = found.get(number)
            if message_id is not None:
                log.info(
                    "part %d of %s is in channel %s already (message %s); not posting it again",
                    number,
                    idempotency_key,
                    channel_id,
                    message_id,
                )
            else:
                message_id = str(
                    (
                        await self._post_part(dest, channel, message, number, idempotency_key, sent)
                    ).id
                )
            sent.append(message_id)
            # Outside the try: an error of the engine's own recording is not Discord's.
            if on_sent is not None:
                await on_sent(message_id)
        return MessageRef(self.platform, str(channel_id), tuple(sent))

    async def _post_part(
        self,
        dest: Destination,
        channel: discord.PartialMessageable,
        message: DiscordMessage,
        number: int,
        key: str | None,
        sent: list[str],
    ) -> discord.Message:
        """Post one part (paced), turning a failure into the engine's delivery errors."""
        await self._pacer.wait(str(channel.id))
        nonce = discord_delivery.part_nonce(key, number) if key else None
        try:
            return await self._send(channel, message, nonce=nonce)
        except Exception as exc:
            error = _delivery_error(exc, tuple(sent))
            log.warning(
                "Discord delivery to %s %s failed: %s",
                dest.kind,
                dest.external_id,
                error.reason,
            )
            if (
                dest.kind == "user"
                and isinstance(error, PermanentDeliveryError)
                and error.disable_subscription
            ):
                self._dm_channels.pop(dest.external_id, None)
            raise error from exc


def _delivery_error(exc: BaseException, sent: tuple[str, ...]) -> DeliveryError:
    """Discord's and the network's errors as the engine's two kinds."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        return TransientDeliveryError(
            f"rate limited for {exc.retry_after:.0f} s",
            retry_after=exc.retry_after,
            sent_message_ids=sent,
        )
    if isinstance(exc, discord.DiscordServerError):
        return TransientDeliveryError(f"Discord server error {exc.status}", sent_message_ids=sent)
    if isinstance(exc, discord.HTTPException):
        if exc.code in _PERMANENT_REASONS:
            return PermanentDeliveryError(_PERMANENT_REASONS[exc.code], sent_message_ids=sent)
        detail = f"({exc.status}, code {exc.code}): {exc.text[:200]}"
        if exc.status == 401:
            # The bot's own token: every destination fails alike, so disable none of them.
            return PermanentDeliveryError(
                f"Discord refused the bot token {detail}",
                sent_message_ids=sent,
                disable_subscription=False,
            )
        if exc.status in _DESTINATION_STATUSES:
            return PermanentDeliveryError(
                f"{_DESTINATION_STATUSES[exc.status]} {detail}", sent_message_ids=sent
            )
        # Any other 4xx (400 "invalid form body" 50035, 413 too large, ...) refuses this one
        # message; sending it again cannot help, but tomorrow's digest may well go through.
        return PermanentDeliveryError(
            f"Discord refused the message {detail}",
            sent_message_ids=sent,
            disable_subscription=False,
        )
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ClientError, OSError)):
        return TransientDeliveryError(f"network error: {exc!r}"[:300], sent_message_ids=sent)
    return TransientDeliveryError(f"unexpected error: {exc!r}"[:300], sent_message_ids=sent)


__all__ = [
    "JA_DESCRIPTIONS",
    "BriefTranslator",
    "DiscordAdapter",
    "MoreButton",
    "ShiftBriefClient",
    "VoteButton",
    "command_hash",
    "command_payload",
    "defuse_mentions",
    "feedback_view",
    "sync_commands",
    "sync_if_changed",
    "use_translator",
]
