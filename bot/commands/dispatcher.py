"""One dispatcher answers every platform's commands, behind one error boundary.

Adapters hand in a ``CommandRequest`` and get a ``Reply`` back: our own phrases in ``text``,
feed-derived content only inside ``briefing`` or ``results``, so each renderer can escape it the
way its platform needs. A ``CommandError`` is shown to the user as it is; anything else is logged
with its traceback and the user sees a short apology (errbot's split).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.briefing.compose import briefing_date
from bot.briefing.edition import (
    ItemClassifier,
    load_edition,
    load_sector_defs,
    profile_of,
    reclassify_since,
)
from bot.briefing.editor.base import Editor
from bot.commands import grammar as cmd
from bot.delivery.schedule import next_fire_after
from bot.i18n import Catalog, phrase
from bot.ingest.netguard import AddressPolicy, UnsafeURLError, validate_feed_url
from bot.metrics import Metrics
from bot.models import Briefing, Language, SectorDef, SourceRef, StoryEntry
from storage.models import Subscriber
from storage.repositories import archive
from storage.repositories import deliveries as delivery_repo
from storage.repositories import feeds as feed_repo
from storage.repositories import sectors as sector_repo
from storage.repositories import subscribers as sub_repo

log = logging.getLogger(__name__)

MESSAGES: Catalog = {
    "apology": {
        "en": "Sorry, something went wrong on our side. The team has been told; please try again.",
        "ja": "申し訳ありません。内部でエラーが発生しました。時間をおいて再度お試しください。",
    },
    "admins_only": {
        "en": "Sorry, `{command}` is for workspace admins. Ask an admin to run it for you.",
        "ja": "`{command}` は管理者専用のコマンドです。管理者に実行を依頼してください。",
    },
    "settings_title": {"en": "Your settings", "ja": "現在の設定"},
    "settings_line": {
        "en": "Sectors: {sectors}\nDigest: {time} {tz}, {days}\nLanguage: {lang}, length: {length}"
        "\nFollowing: {follow}\nMuted: {mute}",
        "ja": "セクター: {sectors}\n配信: {time} {tz}、{days}\n言語: {lang}、長さ: {length}"
        "\nフォロー: {follow}\nミュート: {mute}",
    },
    "all_sectors": {"en": "all (none chosen yet)", "ja": "すべて（未選択）"},
    "none": {"en": "none", "ja": "なし"},
    "every_day": {"en": "every day", "ja": "毎日"},
    "not_subscribed_tip": {
        "en": "Tip: choose sectors with `/brief subscribe ai green` to get a daily digest.",
        "ja": "ヒント: `/brief subscribe ai green` のようにセクターを選ぶと、"
        "毎日ダイジェストが届きます。",
    },
    "subscribed": {"en": "Subscribed to {sectors}.", "ja": "{sectors} を購読しました。"},
    "unsubscribed": {"en": "Unsubscribed from {sectors}.", "ja": "{sectors} の購読をやめました。"},
    "unsubscribed_all": {
        "en": "Unsubscribed from every sector; no more daily digests.",
        "ja": "すべての購読をやめました。毎日のダイジェストは届きません。",
    },
    "now_subscribed": {"en": "Now: {sectors}.", "ja": "現在: {sectors}"},
    "follow": {
        "en": "Following “{keyword}”: such stories rank higher.",
        "ja": "「{keyword}」をフォローしました。関連ニュースが上位に表示されます。",
    },
    "unfollow": {
        "en": "No longer following “{keyword}”.",
        "ja": "「{keyword}」のフォローを解除しました。",
    },
    "mute": {
        "en": "Muted “{keyword}”: such stories will not appear.",
        "ja": "「{keyword}」をミュートしました。該当ニュースは表示されません。",
    },
    "unmute": {"en": "Unmuted “{keyword}”.", "ja": "「{keyword}」のミュートを解除しました。"},
    "keyword_absent": {
        "en": "“{keyword}” was not in your list.",
        "ja": "「{keyword}」はリストにありませんでした。",
    },
    "settings_saved": {"en": "Settings saved.", "ja": "設定を保存しました。"},
    "search_none": {
        "en": "Nothing in the archive matches “{query}”.",
        "ja": "「{query}」に一致する記事はアーカイブにありません。",
    },
    "search_title": {"en": "Archive results for “{query}”:", "ja": "「{query}」の検索結果:"},
    "feed_added": {
        "en": "Added feed {id}: {url}. Its current items are kept as archive; "
        "news starts with its next post.",
        "ja": "フィード {id} を追加しました: {url}。既存の記事はアーカイブとして保存し、"
        "次の投稿からニュースとして扱います。",
    },
    "feed_exists": {"en": "That feed is followed already.", "ja": "このフィードは登録済みです。"},
    "feed_removed": {"en": "Removed feed {id}.", "ja": "フィード {id} を削除しました。"},
    "feed_unknown": {
        "en": "No feed with id {id}. See `/brief admin feeds list`.",
        "ja": "ID {id} のフィードはありません。`/brief admin feeds list` で確認できます。",
    },
    "feeds_none": {
        "en": "No feeds yet. Add one with `/brief admin feeds add <url>`.",
        "ja": "フィードがありません。`/brief admin feeds add <url>` で追加できます。",
    },
    "feeds_title": {"en": "Feeds:", "ja": "フィード一覧:"},
    "feeds_healthy": {"en": "Every feed is healthy.", "ja": "すべてのフィードは正常です。"},
    "feeds_failing": {"en": "Failing feeds:", "ja": "エラーのあるフィード:"},
    "feed_health_line": {
        "en": "{id} {url}: {errors} errors in a row, last: {error}; next try {next} UTC",
        "ja": "{id} {url}: 連続エラー {errors} 回、直近: {error}、次回 {next} UTC",
    },
    "sector_added": {
        "en": "Added sector `{key}` ({name_en} / {name_ja}); {count} recent items "
        "were classified again.",
        "ja": "セクター `{key}`（{name_en} / {name_ja}）を追加し、最近の記事 {count} "
        "件を再分類しました。",
    },
    "sector_exists": {
        "en": "A sector `{key}` exists already.",
        "ja": "セクター `{key}` はすでに存在します。",
    },
    "sectors_title": {"en": "Sectors:", "ja": "セクター一覧:"},
    "reading_added": {
        "en": "Added related reading for {target}: {title}",
        "ja": "{target} の関連記事を追加しました: {title}",
    },
    "no_scheduler": {
        "en": "Digests are sent by the running bot: start it with `shiftbrief run`.",
        "ja": "配信は `shiftbrief run` で起動したボットから行われます。",
    },
    "sending_now": {
        "en": "Posting the digest to {channel} now.",
        "ja": "{channel} にダイジェストを今すぐ投稿します。",
    },
    "schedule_saved": {
        "en": "Digest {id} for {channel}: {time} {tz}, {days}; sectors: {sectors}. Next: {next}.",
        "ja": "{channel} のダイジェスト（ID {id}）: {time} {tz}、{days}、セクター: {sectors}。"
        "次回: {next}",
    },
    "schedules_none": {
        "en": "No channel digests yet. Add one with `/brief admin schedule set`.",
        "ja": "チャンネル配信はまだありません。`/brief admin schedule set` で追加できます。",
    },
    "schedules_title": {"en": "Channel digests:", "ja": "チャンネル配信:"},
    "schedule_line": {
        "en": "{id} {channel}: {time} {tz}, {days}; {sectors}{state}",
        "ja": "{id} {channel}: {time} {tz}、{days}、{sectors}{state}",
    },
    "schedule_disabled": {"en": " (stopped: {reason})", "ja": "（停止中: {reason}）"},
    "schedule_removed": {
        "en": "Removed channel digest {id}.",
        "ja": "チャンネル配信 {id} を削除しました。",
    },
    "schedule_unknown": {
        "en": "No channel digest with id {id}. See `/brief admin schedule list`.",
        "ja": "ID {id} のチャンネル配信はありません。`/brief admin schedule list` で確認できます。",
    },
    "deliveries_none": {"en": "No digests in this period.", "ja": "この期間に配信はありません。"},
    "deliveries_title": {
        "en": "Digests since {since}: {counts}",
        "ja": "{since} 以降の配信: {counts}",
    },
    "delivery_line": {
        "en": "{when} {status}{late} → {kind} {dest}{error}",
        "ja": "{when} {status}{late} → {kind} {dest}{error}",
    },
    "late_mark": {"en": " (late)", "ja": "（遅延）"},
}


@dataclass(frozen=True, slots=True)
class Reply:
    """What the user sees. ``text`` holds only our phrases; feed text comes structured."""

    text: str = ""
    briefing: Briefing | None = None
    results: tuple[StoryEntry, ...] = ()
    ephemeral: bool = True


class Dispatcher:
    """Answers ``CommandRequest``s from every adapter with the same engine.

    Args:
        sessionmaker: where subscribers, feeds and items live.
        clock: returns the current aware UTC time.
        classifier: classifies items again when an admin adds a sector.
        schedules: the running scheduler and delivery worker, told about schedule changes and
            asked for send-now digests (None when nothing is scheduled, e.g. one-off CLI use).
        metrics: where command latency is recorded, if anywhere.
        address_policy: which feed addresses admins may add (private IP literals refused).
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        classifier: ItemClassifier | None = None,
        schedules: ScheduleControl | None = None,
        metrics: Metrics | None = None,
        address_policy: AddressPolicy | None = None,
        editor: Editor | None = None,
    ) -> None:
        self._metrics = metrics
        self._editor = editor
        self._address_policy = address_policy
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._classifier = classifier or ItemClassifier()
        self._schedules = schedules

    async def handle(self, request: cmd.CommandRequest) -> Reply:
        """Parse (if needed) and answer one request; never raises."""
        started = time.perf_counter()
        try:
            return await self._handle(request)
        finally:
            if self._metrics is not None:
                self._metrics.command_seconds.labels(request.invocation.platform).observe(
                    time.perf_counter() - started
                )

    async def _handle(self, request: cmd.CommandRequest) -> Reply:
        inv = request.invocation
        language = cmd.language_from_locale(inv.locale)
        effects = _Effects()
        try:
            async with self._sessionmaker.begin() as session:
                subscriber = await self._user(session, inv, default_language=language)
                language = "ja" if subscriber.language == "ja" else "en"
                sectors = await load_sector_defs(session)
                command = cmd.parse_request(request, known_sectors=sectors, language=language)
                if command.admin and not inv.is_admin:
                    log.info(
                        "refused admin command %r from %s/%s",
                        command.kind,
                        inv.platform,
                        inv.user_id,
                    )
                    return Reply(
                        text=phrase(
                            MESSAGES, "admins_only", language, command=f"/brief {command.kind}"
                        )
                    )
                reply = await self._route(
                    session, command, inv, subscriber, sectors, language, effects
                )
            # After the commit, so the scheduler and the delivery worker see the change.
            if self._schedules is not None:
                if effects.resync:
                    await self._schedules.changed()
                for subscriber_id in effects.send_now:
                    await self._schedules.send_now(subscriber_id)
            return reply
        except cmd.CommandError as exc:
            return Reply(text=exc.text)
        except Exception:
            log.exception(
                "command failed: platform=%s tenant=%s user=%s",
                inv.platform,
                inv.tenant_id,
                inv.user_id,
                extra={
                    "platform": inv.platform,
                    "tenant_id": inv.tenant_id,
                    "user_id": inv.user_id,
                },
            )
            return Reply(text=phrase(MESSAGES, "apology", language))

    async def _user(
        self, session: AsyncSession, inv: cmd.Invocation, *, default_language: Language
    ) -> Subscriber:
        now = self._clock()
        tenant = await sub_repo.get_or_create_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id, now=now
        )
        subscriber, _created = await sub_repo.get_or_create_subscriber(
            session,
            tenant_id=tenant.id,
            kind="user",
            external_id=inv.user_id,
            now=now,
            defaults={"language": default_language},
        )
        return subscriber

    async def _route(
        self,
        session: AsyncSession,
        command: cmd.Command,
        inv: cmd.Invocation,
        user: Subscriber,
        sectors: Sequence[SectorDef],
        lang: Language,
        effects: _Effects,
    ) -> Reply:
        now = self._clock()
        keys = [s.key for s in sectors]
        match command:
            case cmd.Overview():
                help_text = cmd.help_text(lang, include_admin=inv.is_admin)
                return Reply(text=f"{help_text}\n\n{self._settings_text(user, sectors, lang)}")
            case cmd.Help(topic=topic):
                return Reply(text=cmd.help_text(lang, topic, include_admin=inv.is_admin))
            case cmd.Today():
                edition = await load_edition(
                    session, now=now, editor=self._editor, languages=[lang]
                )
                briefing = edition.compose(profile_of(user, all_sectors=keys))
                tip = "" if user.sectors else phrase(MESSAGES, "not_subscribed_tip", lang)
                return Reply(text=tip, briefing=briefing)
            case cmd.SectorSummary(sector=sector, date=day):
                return Reply(briefing=await self._sector_summary(session, user, sector, day, now))
            case cmd.Search(query=query):
                return await self._search(session, query, lang)
            case cmd.Subscribe(sectors=chosen):
                effects.resync = True
                user.sectors = _merge(user.sectors, chosen)
                user.updated_at = now
                return Reply(
                    text=phrase(MESSAGES, "subscribed", lang, sectors=_names(chosen, sectors, lang))
                )
            case cmd.Unsubscribe(sectors=chosen, all=everything):
                effects.resync = True
                if everything:
                    user.sectors = []
                    user.updated_at = now
                    return Reply(text=phrase(MESSAGES, "unsubscribed_all", lang))
                user.sectors = [s for s in user.sectors if s not in chosen]
                user.updated_at = now
                text = phrase(MESSAGES, "unsubscribed", lang, sectors=_names(chosen, sectors, lang))
                current = _names(user.sectors, sectors, lang) or phrase(MESSAGES, "none", lang)
                return Reply(
                    text=f"{text} {phrase(MESSAGES, 'now_subscribed', lang, sectors=current)}"
                )
            case cmd.KeywordChange(action=action, keyword=keyword):
                return Reply(text=self._keyword(user, action, keyword, lang, now))
            case cmd.Settings():
                effects.resync = True
                return Reply(text=self._settings(user, command, sectors, now))
            case cmd.AdminFeedsAdd(url=url, sector=sector):
                return await self._feeds_add(session, inv, url, sector, lang, now)
            case cmd.AdminFeedsRemove(feed_id=feed_id):
                if not await feed_repo.remove_feed(session, feed_id):
                    return Reply(text=phrase(MESSAGES, "feed_unknown", lang, id=feed_id))
                await self._audit(session, inv, "feeds remove", {"feed_id": feed_id}, now)
                return Reply(text=phrase(MESSAGES, "feed_removed", lang, id=feed_id))
            case cmd.AdminFeedsList():
                return Reply(text=await self._feeds_list(session, lang))
            case cmd.AdminFeedsHealth():
                return Reply(text=await self._feeds_health(session, lang))
            case cmd.AdminSectorsAdd(key=key, name_en=name_en, name_ja=name_ja, keywords=words):
                return await self._sectors_add(
                    session, inv, key, name_en, name_ja, words, lang, now
                )
            case cmd.AdminSectorsList():
                lines = [
                    f"`{s.key}` {s.name(lang)}"
                    + (f" — {', '.join(s.keywords)}" if s.keywords else "")
                    for s in sectors
                ]
                return Reply(text="\n".join([phrase(MESSAGES, "sectors_title", lang), *lines]))
            case cmd.AdminReadingAdd(url=url, title=title, sector=sector, keyword=keyword):
                await sector_repo.add_reading(
                    session,
                    url=url,
                    title=title,
                    sector_key=sector,
                    keyword=keyword,
                    created_by=inv.user_id,
                    now=now,
                )
                await self._audit(
                    session,
                    inv,
                    "reading add",
                    {"url": url, "title": title, "sector": sector, "keyword": keyword},
                    now,
                )
                target = sector or keyword or ""
                return Reply(
                    text=phrase(MESSAGES, "reading_added", lang, target=target, title=title)
                )
            case cmd.AdminScheduleSet():
                effects.resync = True
                return await self._schedule_set(session, inv, command, sectors, lang, now)
            case cmd.AdminScheduleList():
                return Reply(text=await self._schedule_list(session, inv, sectors, lang, now))
            case cmd.AdminScheduleRemove(schedule_id=schedule_id):
                effects.resync = True
                return await self._schedule_remove(session, inv, schedule_id, lang, now)
            case cmd.AdminScheduleSendNow(channel=channel):
                if self._schedules is None:
                    return Reply(text=phrase(MESSAGES, "no_scheduler", lang))
                channel_row = await self._channel_subscriber(session, inv, channel, now)
                effects.send_now.append(channel_row.id)
                await self._audit(
                    session, inv, "schedule send-now", {"channel": channel_row.external_id}, now
                )
                return Reply(
                    text=phrase(MESSAGES, "sending_now", lang, channel=_channel_label(channel))
                )
            case cmd.AdminDeliveries(today=today):
                return Reply(text=await self._deliveries(session, inv, user, today, lang, now))
        raise AssertionError(f"unrouted command {command!r}")

    async def _sector_summary(
        self,
        session: AsyncSession,
        user: Subscriber,
        sector: str,
        day: cmd.DayRef,
        now: datetime,
    ) -> Briefing:
        zone = ZoneInfo(user.timezone)
        today = briefing_date(now, user.timezone)
        date = cmd.resolve_day(day, today=today)
        if date == today:
            since, until = now - timedelta(hours=24), None
        else:
            start = datetime.combine(date, day_time(0), tzinfo=zone).astimezone(UTC)
            since, until = start, start + timedelta(days=1)
        edition = await load_edition(session, now=until or now, since=since, until=until)
        sectors = [s.key for s in await load_sector_defs(session)]
        base = profile_of(user, all_sectors=sectors)
        profile = type(base)(
            sectors=(sector,),
            language=base.language,
            length=base.length,
            follow=base.follow,
            mute=base.mute,
            timezone=base.timezone,
        )
        return edition.compose(profile, date=date)

    async def _search(self, session: AsyncSession, query: str, lang: Language) -> Reply:
        rows = await archive.search_items(session, query, limit=10)
        if not rows:
            return Reply(text=phrase(MESSAGES, "search_none", lang, query=query))
        results = tuple(
            StoryEntry(
                story_key=f"item:{item.id}",
                title=item.title,
                summary="",
                link=item.link,
                sources=(SourceRef(name=feed.title or feed.url, url=item.link),),
                sectors=tuple(s.sector_key for s in item.sectors),
                published_at=item.published_at or item.first_seen_at,
            )
            for item, feed in rows
        )
        return Reply(text=phrase(MESSAGES, "search_title", lang, query=query), results=results)

    def _keyword(
        self, user: Subscriber, action: str, keyword: str, lang: Language, now: datetime
    ) -> str:
        field = "follow" if action in ("follow", "unfollow") else "mute"
        words: list[str] = list(getattr(user, field))
        folded = keyword.casefold()
        if action in ("follow", "mute"):
            if folded not in {w.casefold() for w in words}:
                words.append(keyword)
        else:
            kept = [w for w in words if w.casefold() != folded]
            if len(kept) == len(words):
                return phrase(MESSAGES, "keyword_absent", lang, keyword=keyword)
            words = kept
        setattr(user, field, words)
        user.updated_at = now
        return phrase(MESSAGES, action, lang, keyword=keyword)

    def _settings(
        self, user: Subscriber, change: cmd.Settings, sectors: Sequence[SectorDef], now: datetime
    ) -> str:
        changed = False
        if change.time is not None:
            user.delivery_time, changed = change.time.strftime("%H:%M"), True
        if change.tz is not None:
            user.timezone, changed = change.tz, True
        if change.days is not None:
            user.days, changed = list(change.days), True
        if change.lang is not None:
            user.language, changed = change.lang, True
        if change.length is not None:
            user.length, changed = change.length, True
        lang: Language = "ja" if user.language == "ja" else "en"
        text = self._settings_text(user, sectors, lang)
        if changed:
            user.updated_at = now
            return f"{phrase(MESSAGES, 'settings_saved', lang)}\n{text}"
        return text

    def _settings_text(self, user: Subscriber, sectors: Sequence[SectorDef], lang: Language) -> str:
        none = phrase(MESSAGES, "none", lang)
        body = phrase(
            MESSAGES,
            "settings_line",
            lang,
            sectors=_names(user.sectors, sectors, lang) or phrase(MESSAGES, "all_sectors", lang),
            time=user.delivery_time,
            tz=user.timezone,
            days=", ".join(user.days) if user.days else phrase(MESSAGES, "every_day", lang),
            lang=user.language,
            length=user.length,
            follow=", ".join(user.follow) or none,
            mute=", ".join(user.mute) or none,
        )
        return f"{phrase(MESSAGES, 'settings_title', lang)}\n{body}"

    async def _feeds_add(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        url: str,
        sector: str | None,
        lang: Language,
        now: datetime,
    ) -> Reply:
        try:
            url = validate_feed_url(url, self._address_policy)
        except UnsafeURLError as exc:
            raise cmd.CommandError(
                str(exc), cmd.usage("admin feeds add", lang), language=lang
            ) from None
        try:
            async with session.begin_nested():
                feed = await feed_repo.add_feed(session, url=url, sector_hint=sector, now=now)
        except feed_repo.FeedExistsError:
            return Reply(text=phrase(MESSAGES, "feed_exists", lang))
        await self._audit(session, inv, "feeds add", {"url": url, "sector": sector}, now)
        return Reply(text=phrase(MESSAGES, "feed_added", lang, id=feed.id, url=url))

    async def _feeds_list(self, session: AsyncSession, lang: Language) -> str:
        feeds = await feed_repo.list_feeds(session)
        if not feeds:
            return phrase(MESSAGES, "feeds_none", lang)
        lines = [
            f"{f.id} {f.title or '-'} <{f.url}>" + (f" [{f.sector_hint}]" if f.sector_hint else "")
            for f in feeds
        ]
        return "\n".join([phrase(MESSAGES, "feeds_title", lang), *lines])

    async def _feeds_health(self, session: AsyncSession, lang: Language) -> str:
        failing = [f for f in await feed_repo.list_feeds(session) if f.state.error_count]
        if not failing:
            return phrase(MESSAGES, "feeds_healthy", lang)
        lines = [
            phrase(
                MESSAGES,
                "feed_health_line",
                lang,
                id=f.id,
                url=f.url,
                errors=f.state.error_count,
                error=f.state.last_error or "?",
                next=f.state.next_check_at.strftime("%Y-%m-%d %H:%M"),
            )
            for f in sorted(failing, key=lambda f: -f.state.error_count)
        ]
        return "\n".join([phrase(MESSAGES, "feeds_failing", lang), *lines])

    async def _sectors_add(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        key: str,
        name_en: str,
        name_ja: str,
        keywords: Sequence[str],
        lang: Language,
        now: datetime,
    ) -> Reply:
        try:
            async with session.begin_nested():
                await sector_repo.add_sector(
                    session, key=key, name_en=name_en, name_ja=name_ja, keywords=keywords, now=now
                )
        except sector_repo.SectorExistsError:
            return Reply(text=phrase(MESSAGES, "sector_exists", lang, key=key))
        await self._audit(
            session,
            inv,
            "sectors add",
            {"key": key, "name_en": name_en, "name_ja": name_ja, "keywords": list(keywords)},
            now,
        )
        count = await reclassify_since(
            session, since=now - timedelta(days=7), classifier=self._classifier
        )
        return Reply(
            text=phrase(
                MESSAGES,
                "sector_added",
                lang,
                key=key,
                name_en=name_en,
                name_ja=name_ja,
                count=count,
            )
        )

    async def _channel_subscriber(
        self, session: AsyncSession, inv: cmd.Invocation, channel: cmd.ChannelRef, now: datetime
    ) -> Subscriber:
        tenant = await sub_repo.get_or_create_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id, now=now
        )
        external_id = channel.id or f"#{channel.name}"
        subscriber, _created = await sub_repo.get_or_create_subscriber(
            session,
            tenant_id=tenant.id,
            kind="channel",
            external_id=external_id,
            now=now,
            # A channel first named by send-now has no schedule until an admin sets one.
            defaults={"delivery_time": ""},
        )
        return subscriber

    async def _schedule_set(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        change: cmd.AdminScheduleSet,
        sectors: Sequence[SectorDef],
        lang: Language,
        now: datetime,
    ) -> Reply:
        target = await self._channel_subscriber(session, inv, change.channel, now)
        target.delivery_time = change.time.strftime("%H:%M")
        target.timezone = change.tz
        target.days = list(change.days or ())
        target.sectors = list(change.sectors)
        target.enabled, target.disabled_reason = True, None
        target.updated_at = now
        await session.flush()
        await self._audit(
            session,
            inv,
            "schedule set",
            {
                "schedule_id": target.id,
                "channel": target.external_id,
                "time": target.delivery_time,
                "tz": target.timezone,
                "days": target.days,
                "sectors": target.sectors,
            },
            now,
        )
        return Reply(
            text=self._schedule_text(
                "schedule_saved", target, sectors, lang, now, channel=_channel_label(change.channel)
            )
        )

    def _schedule_text(
        self,
        key: str,
        target: Subscriber,
        sectors: Sequence[SectorDef],
        lang: Language,
        now: datetime,
        *,
        channel: str,
        state: str = "",
    ) -> str:
        fire = next_fire_after(target, now)
        next_text = (
            fire.astimezone(ZoneInfo(target.timezone)).strftime("%Y-%m-%d %H:%M %Z")
            if fire is not None
            else "-"
        )
        return phrase(
            MESSAGES,
            key,
            lang,
            id=target.id,
            channel=channel,
            time=target.delivery_time,
            tz=target.timezone,
            days=", ".join(target.days) if target.days else phrase(MESSAGES, "every_day", lang),
            sectors=_names(target.sectors, sectors, lang) or phrase(MESSAGES, "all_sectors", lang),
            next=next_text,
            state=state,
        )

    async def _schedule_list(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        sectors: Sequence[SectorDef],
        lang: Language,
        now: datetime,
    ) -> str:
        tenant = await sub_repo.get_or_create_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id, now=now
        )
        channels = [
            s
            for s in await sub_repo.list_subscribers(
                session, tenant_id=tenant.id, enabled_only=False
            )
            if s.kind == "channel" and s.delivery_time
        ]
        if not channels:
            return phrase(MESSAGES, "schedules_none", lang)
        lines = [
            self._schedule_text(
                "schedule_line",
                c,
                sectors,
                lang,
                now,
                channel=_channel_label_of(c.external_id),
                state=""
                if c.enabled
                else phrase(MESSAGES, "schedule_disabled", lang, reason=c.disabled_reason or "?"),
            )
            for c in channels
        ]
        return "\n".join([phrase(MESSAGES, "schedules_title", lang), *lines])

    async def _schedule_remove(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        schedule_id: int,
        lang: Language,
        now: datetime,
    ) -> Reply:
        tenant = await sub_repo.get_or_create_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id, now=now
        )
        target = await session.get(Subscriber, schedule_id)
        if target is None or target.kind != "channel" or target.tenant_id != tenant.id:
            return Reply(text=phrase(MESSAGES, "schedule_unknown", lang, id=schedule_id))
        await self._audit(
            session,
            inv,
            "schedule remove",
            {"schedule_id": schedule_id, "channel": target.external_id},
            now,
        )
        await session.delete(target)
        return Reply(text=phrase(MESSAGES, "schedule_removed", lang, id=schedule_id))

    async def _deliveries(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        user: Subscriber,
        today: bool,
        lang: Language,
        now: datetime,
    ) -> str:
        zone = ZoneInfo(user.timezone)
        if today:
            since = datetime.combine(now.astimezone(zone).date(), day_time(0), tzinfo=zone)
        else:
            since = now - timedelta(days=7)
        tenant = await sub_repo.get_or_create_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id, now=now
        )
        rows = await delivery_repo.deliveries_since(
            session, since=since.astimezone(UTC), tenant_id=tenant.id
        )
        if not rows:
            return phrase(MESSAGES, "deliveries_none", lang)
        counts = Counter(d.status for d, _ in rows)
        late = sum(1 for d, _ in rows if d.late)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        if late:
            summary += f", {late} late"
        lines = [
            phrase(
                MESSAGES,
                "delivery_line",
                lang,
                when=d.scheduled_for.astimezone(zone).strftime("%m-%d %H:%M"),
                status=d.status,
                late=phrase(MESSAGES, "late_mark", lang) if d.late else "",
                kind=s.kind,
                dest=_channel_label_of(s.external_id) if s.kind == "channel" else s.external_id,
                error=f": {d.last_error}" if d.last_error and d.status != "sent" else "",
            )
            for d, s in rows[:50]
        ]
        title = phrase(
            MESSAGES,
            "deliveries_title",
            lang,
            since=since.strftime("%Y-%m-%d %H:%M %Z"),
            counts=summary,
        )
        return "\n".join([title, *lines])

    async def _audit(
        self,
        session: AsyncSession,
        inv: cmd.Invocation,
        action: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> None:
        tenant = await sub_repo.get_or_create_tenant(
            session, platform=inv.platform, external_id=inv.tenant_id, now=now
        )
        await sub_repo.audit(
            session,
            tenant_id=tenant.id,
            actor=f"{inv.platform}:{inv.user_id}",
            action=action,
            detail=detail,
            now=now,
        )


class ScheduleControl(Protocol):
    """The running scheduler and delivery worker, as the dispatcher needs them."""

    async def changed(self) -> None:
        """Subscriber or schedule rows changed: derive the jobs again."""

    async def send_now(self, subscriber_id: int) -> bool:
        """Deliver this subscriber's digest now, outside its schedule."""


@dataclass
class _Effects:
    """What a command asks of the scheduler, done after its transaction commits."""

    resync: bool = False
    send_now: list[int] = field(default_factory=list)


def _channel_label(channel: cmd.ChannelRef) -> str:
    return f"#{channel.name}" if channel.name else f"<#{channel.id}>"


def _channel_label_of(external_id: str) -> str:
    return external_id if external_id.startswith("#") else f"<#{external_id}>"


def _merge(current: Sequence[str], added: Sequence[str]) -> list[str]:
    return [*current, *(s for s in added if s not in current)]


def _names(keys: Sequence[str], sectors: Sequence[SectorDef], lang: Language) -> str:
    by_key = {s.key: s for s in sectors}
    return ", ".join(by_key[k].name(lang) if k in by_key else k for k in keys)
