"""The one command grammar of ShiftBrief, parsed once, for every platform.

Slack hands us the text after ``/brief``; the console adapter reads whole lines; Discord builds
the same values from typed app-command options (and can validate them with the ``parse_*``
helpers here, so every platform accepts and refuses the same things). All end up as a
``CommandRequest`` holding one ``Command`` dataclass.

``parse_command`` raises ``CommandError`` for anything it cannot understand. Its message is
short, in the user's language, names the problem, and comes with the usage line to follow; the
dispatcher shows it as plain text (escaped for the platform's markup).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import shlex
import unicodedata
import zoneinfo
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import ClassVar, Literal, TypeAlias, TypeVar, get_args
from urllib.parse import urlsplit

from bot.i18n import Catalog, phrase
from bot.models import Language, Length, SectorDef

T = TypeVar("T")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)

RelativeDay = Literal["today", "yesterday"]
DayRef: TypeAlias = dt.date | RelativeDay
"""A calendar date, or a day relative to the reader's own time zone (resolved by the caller)."""

KeywordAction = Literal["follow", "unfollow", "mute", "unmute"]

MAX_KEYWORD_CHARS = 100
MAX_QUERY_CHARS = 300
MAX_URL_CHARS = 2000
MAX_ID = 2**63 - 1
SECTOR_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel as the user named it: a platform id from a mention, or a bare ``#name``.

    Slack's ``<#C123|general>`` gives both; Discord's ``<#123>`` only the id; typed ``#general``
    (Slack without escaping, the console) only the name, which the adapter resolves.
    """

    id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.id and not self.name:
            raise ValueError("a ChannelRef needs an id or a name")


@dataclass(frozen=True, slots=True)
class Overview:
    """Bare ``/brief``: the command list and the user's current settings."""

    kind: ClassVar[str] = ""
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Help:
    """``help [command]``; ``topic`` is a usage kind or group such as ``"sector"``, ``"admin"``."""

    topic: str | None = None
    kind: ClassVar[str] = "help"
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Today:
    """The user's personalised briefing, now."""

    kind: ClassVar[str] = "today"
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class SectorSummary:
    """A summary of one sector for one day (``"today"`` when the user gave no date)."""

    sector: str
    date: DayRef = "today"
    kind: ClassVar[str] = "sector"
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Search:
    """Archive search; ``query`` is the user's text as typed (quotes kept for phrase search)."""

    query: str
    kind: ClassVar[str] = "search"
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Subscribe:
    sectors: tuple[str, ...]
    """Canonical sector keys, in the order given, without repeats."""
    kind: ClassVar[str] = "subscribe"
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    sectors: tuple[str, ...] = ()
    all: bool = False
    """True for ``unsubscribe all``; ``sectors`` is then empty."""
    kind: ClassVar[str] = "unsubscribe"
    admin: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class KeywordChange:
    """``follow``, ``unfollow``, ``mute`` or ``unmute`` one keyword or phrase."""

    action: KeywordAction
    keyword: str
    """NFKC-normalised (full-width letters become ASCII), whitespace collapsed, case kept."""
    admin: ClassVar[bool] = False

    @property
    def kind(self) -> str:
        return self.action


@dataclass(frozen=True, slots=True)
class Settings:
    """``settings``; None means "leave as it is". All None: show the current settings."""

    time: dt.time | None = None
    tz: str | None = None
    days: tuple[Weekday, ...] | None = None
    lang: Language | None = None
    length: Length | None = None
    kind: ClassVar[str] = "settings"
    admin: ClassVar[bool] = False

    @property
    def is_empty(self) -> bool:
        return all(v is None for v in (self.time, self.tz, self.days, self.lang, self.length))


@dataclass(frozen=True, slots=True)
class AdminFeedsAdd:
    url: str
    sector: str | None = None
    kind: ClassVar[str] = "admin feeds add"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminFeedsRemove:
    feed_id: int
    kind: ClassVar[str] = "admin feeds remove"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminFeedsList:
    kind: ClassVar[str] = "admin feeds list"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminFeedsHealth:
    kind: ClassVar[str] = "admin feeds health"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminDeliveries:
    """What was sent, late, failed and why; only today's (in the admin's zone) with ``today``."""

    today: bool = False
    kind: ClassVar[str] = "admin deliveries"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminScheduleSet:
    """A channel digest. ``days`` None: the dispatcher's default; ``sectors`` empty: all."""

    channel: ChannelRef
    time: dt.time
    tz: str
    days: tuple[Weekday, ...] | None = None
    sectors: tuple[str, ...] = ()
    kind: ClassVar[str] = "admin schedule set"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminScheduleList:
    kind: ClassVar[str] = "admin schedule list"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminScheduleRemove:
    schedule_id: int
    kind: ClassVar[str] = "admin schedule remove"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminScheduleSendNow:
    channel: ChannelRef
    kind: ClassVar[str] = "admin schedule send-now"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminSectorsAdd:
    key: str
    name_en: str
    name_ja: str
    keywords: tuple[str, ...] = ()
    kind: ClassVar[str] = "admin sectors add"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminSectorsList:
    kind: ClassVar[str] = "admin sectors list"
    admin: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class AdminReadingAdd:
    """An explainer link for a sector (``sector`` set) or a keyword (``keyword`` set)."""

    url: str
    title: str
    sector: str | None = None
    keyword: str | None = None
    kind: ClassVar[str] = "admin reading add"
    admin: ClassVar[bool] = True


Command: TypeAlias = (
    Overview
    | Help
    | Today
    | SectorSummary
    | Search
    | Subscribe
    | Unsubscribe
    | KeywordChange
    | Settings
    | AdminFeedsAdd
    | AdminFeedsRemove
    | AdminFeedsList
    | AdminFeedsHealth
    | AdminDeliveries
    | AdminScheduleSet
    | AdminScheduleList
    | AdminScheduleRemove
    | AdminScheduleSendNow
    | AdminSectorsAdd
    | AdminSectorsList
    | AdminReadingAdd
)


@dataclass(frozen=True, slots=True)
class Invocation:
    """Who asked, where. ``is_admin`` is what the adapter claims (workspace/guild admin)."""

    platform: str
    tenant_id: str
    user_id: str
    channel_id: str | None = None
    is_admin: bool = False
    locale: str | None = None
    """The platform's locale hint (Discord ``ja``, Slack ``ja-JP``), if any."""


@dataclass(frozen=True, slots=True)
class CommandText:
    """Text still to be parsed, for adapters that cannot know the sector list (Slack, console)."""

    text: str


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """What every adapter hands the dispatcher."""

    command: Command | CommandText
    invocation: Invocation


def language_from_locale(locale: str | None, default: Language = "en") -> Language:
    """``"ja"`` for any Japanese locale (``ja``, ``ja-JP``, ``ja_JP``), else ``default``."""
    if locale and re.match(r"ja(?:[-_]|$)", locale.strip().lower()):
        return "ja"
    if locale and re.match(r"en(?:[-_]|$)", locale.strip().lower()):
        return "en"
    return default


def resolve_day(day: DayRef, *, today: dt.date) -> dt.date:
    """The calendar date ``day`` means, given today's date in the reader's zone."""
    if day == "today":
        return today
    if day == "yesterday":
        return today - dt.timedelta(days=1)
    return day


# --------------------------------------------------------------------------------------------
# Usage lines, help and messages
# --------------------------------------------------------------------------------------------

# kind -> (usage en, usage ja, description en, description ja). Order is the help order.
_COMMAND_LINES: Mapping[str, tuple[str, str, str, str]] = {
    "": ("/brief", "/brief", "help and your current settings", "ヘルプと現在の設定"),
    "help": (
        "/brief help [command]",
        "/brief help [コマンド]",
        "how to use one command",
        "コマンドの使い方",
    ),
    "today": ("/brief today", "/brief today", "your briefing, right now", "今すぐあなた向けの要約"),
    "sector": (
        "/brief sector <sector> [date]",
        "/brief sector <セクター> [日付]",
        "one sector's summary (date: YYYY-MM-DD, today or yesterday)",
        "セクター別の要約(日付: YYYY-MM-DD、today、yesterday)",
    ),
    "search": (
        "/brief search <words>",
        "/brief search <語句>",
        "search past stories",
        "過去の記事を検索",
    ),
    "subscribe": (
        "/brief subscribe <sector...>",
        "/brief subscribe <セクター...>",
        "add sectors to your briefing",
        "要約にセクターを追加",
    ),
    "unsubscribe": (
        "/brief unsubscribe <sector...|all>",
        "/brief unsubscribe <セクター...|all>",
        "drop sectors (all: stop the briefing)",
        "セクターを外す(all ですべて停止)",
    ),
    "follow": (
        "/brief follow <keyword>",
        "/brief follow <キーワード>",
        "rank stories with this keyword higher",
        "キーワードを含む記事を優先",
    ),
    "unfollow": (
        "/brief unfollow <keyword>",
        "/brief unfollow <キーワード>",
        "stop following a keyword",
        "キーワードの優先を解除",
    ),
    "mute": (
        "/brief mute <keyword>",
        "/brief mute <キーワード>",
        "hide stories with this keyword",
        "キーワードを含む記事を非表示",
    ),
    "unmute": (
        "/brief unmute <keyword>",
        "/brief unmute <キーワード>",
        "show a muted keyword again",
        "非表示にしたキーワードを元に戻す",
    ),
    "settings": (
        "/brief settings [time HH:MM] [tz Area/City] [days mon-fri] [lang en|ja] "
        "[length short|full]",
        "/brief settings [time 時:分] [tz 地域/都市] [days 曜日] [lang en|ja] [length short|full]",
        "when and how you get your briefing",
        "配信の時刻・タイムゾーン・曜日・言語・長さ",
    ),
    "admin feeds add": (
        "/brief admin feeds add <url> [sector]",
        "/brief admin feeds add <URL> [セクター]",
        "add a feed",
        "フィードを追加",
    ),
    "admin feeds remove": (
        "/brief admin feeds remove <id>",
        "/brief admin feeds remove <ID>",
        "remove a feed",
        "フィードを削除",
    ),
    "admin feeds list": (
        "/brief admin feeds list",
        "/brief admin feeds list",
        "list feeds and their ids",
        "フィードと ID の一覧",
    ),
    "admin feeds health": (
        "/brief admin feeds health",
        "/brief admin feeds health",
        "feeds that fail or went quiet",
        "エラーや更新停止中のフィード",
    ),
    "admin deliveries": (
        "/brief admin deliveries [today]",
        "/brief admin deliveries [today]",
        "digests sent, late and failed, and why",
        "配信済み・遅延・失敗したダイジェストと理由",
    ),
    "admin schedule set": (
        "/brief admin schedule set <#channel> <HH:MM> <tz> [days] [sectors...]",
        "/brief admin schedule set <#チャンネル> <時:分> <タイムゾーン> [曜日] [セクター...]",
        "post a digest to a channel",
        "チャンネルへの定期配信を設定",
    ),
    "admin schedule list": (
        "/brief admin schedule list",
        "/brief admin schedule list",
        "list channel digests",
        "チャンネル配信の一覧",
    ),
    "admin schedule remove": (
        "/brief admin schedule remove <id>",
        "/brief admin schedule remove <ID>",
        "stop a channel digest",
        "チャンネル配信を削除",
    ),
    "admin schedule send-now": (
        "/brief admin schedule send-now <#channel>",
        "/brief admin schedule send-now <#チャンネル>",
        "post a channel's digest now",
        "チャンネル配信を今すぐ送信",
    ),
    "admin sectors add": (
        "/brief admin sectors add <key> <name_en> <name_ja> [keywords...]",
        "/brief admin sectors add <キー> <英語名> <日本語名> [キーワード...]",
        "create a sector",
        "セクターを作成",
    ),
    "admin sectors list": (
        "/brief admin sectors list",
        "/brief admin sectors list",
        "list sectors",
        "セクターの一覧",
    ),
    "admin reading add": (
        "/brief admin reading add <sector|keyword> <url> <title...>",
        "/brief admin reading add <セクター|キーワード> <URL> <タイトル...>",
        "attach an explainer link",
        "解説リンクを登録",
    ),
}

_MESSAGES: Catalog = {
    "usage_label": {"en": "Usage", "ja": "使い方"},
    "help_title": {"en": "ShiftBrief commands", "ja": "ShiftBrief のコマンド"},
    "unknown_command": {
        "en": "There is no command “{word}”.",
        "ja": "「{word}」というコマンドはありません。",
    },
    "did_you_mean": {"en": " Did you mean “{suggestion}”?", "ja": "「{suggestion}」のことですか?"},
    "did_you_mean_any": {
        "en": " Did you mean {suggestions}?",
        "ja": "候補: {suggestions}",
    },
    "missing_subcommand": {
        "en": "Say which one: {choices}.",
        "ja": "次のどれかを指定してください: {choices}",
    },
    "missing": {"en": "Missing {what}.", "ja": "{what}を指定してください。"},
    "extra_words": {
        "en": "Unexpected extra words: {words}.",
        "ja": "余分な語句があります: {words}",
    },
    "unbalanced_quotes": {
        "en": "A quotation mark is not closed. Close it, or leave the quotes out.",
        "ja": "引用符が閉じていません。閉じるか、引用符を外してください。",
    },
    "unknown_sector": {
        "en": "There is no sector “{value}”. Sectors: {valid}.",
        "ja": "「{value}」というセクターはありません。セクター: {valid}。",
    },
    "valid_sectors": {"en": " Sectors: {valid}.", "ja": "セクター: {valid}。"},
    "no_sectors": {"en": "(none yet)", "ja": "(まだありません)"},
    "bad_time": {
        "en": "“{value}” is not a time. Use 24-hour HH:MM such as 08:30 (7:30pm also works).",
        "ja": (
            "「{value}」は時刻として読めません。"
            "08:30 のように 24 時間制の 時:分 で指定してください。"
        ),
    },
    "bad_zone": {
        "en": "“{value}” is not a time zone. Use Area/City such as Asia/Tokyo or Europe/London.",
        "ja": (
            "「{value}」はタイムゾーンとして読めません。"
            "Asia/Tokyo のように 地域/都市 で指定してください。"
        ),
    },
    "bad_days": {
        "en": (
            "“{value}” is not a set of days. Try mon-fri, weekdays, daily, sat,sun or mon,wed,fri."
        ),
        "ja": (
            "「{value}」は曜日として読めません。"
            "mon-fri、weekdays、daily、sat,sun、月-金 などで指定してください。"
        ),
    },
    "bad_date": {
        "en": "“{value}” is not a date. Use YYYY-MM-DD, today or yesterday.",
        "ja": (
            "「{value}」は日付として読めません。"
            "YYYY-MM-DD、today、yesterday のどれかで指定してください。"
        ),
    },
    "bad_url": {
        "en": "“{value}” is not a web address. Give a full http:// or https:// URL.",
        "ja": (
            "「{value}」は URL として読めません。"
            "http:// か https:// で始まる URL を指定してください。"
        ),
    },
    "bad_url_scheme": {
        "en": "“{value}” is not a web address. Did you mean https://{value}?",
        "ja": "「{value}」は URL として読めません。https://{value} のことですか?",
    },
    "bad_id": {
        "en": "“{value}” is not an id. Use the number shown by the list command.",
        "ja": "「{value}」は ID として読めません。一覧コマンドで表示される番号を指定してください。",
    },
    "bad_channel": {
        "en": "“{value}” is not a channel. Mention it with #, such as #general.",
        "ja": (
            "「{value}」はチャンネルとして読めません。"
            "#general のように # を付けて指定してください。"
        ),
    },
    "bad_lang": {
        "en": "“{value}” is not a language I speak. Use en or ja.",
        "ja": "「{value}」には対応していません。en か ja を指定してください。",
    },
    "bad_length": {
        "en": "“{value}” is not a length. Use short or full.",
        "ja": "「{value}」は長さとして指定できません。short か full を指定してください。",
    },
    "unknown_setting": {
        "en": "There is no setting “{value}”. Settings: time, tz, days, lang, length.",
        "ja": "「{value}」という設定はありません。設定: time、tz、days、lang、length",
    },
    "repeated_setting": {
        "en": "“{value}” is given twice.",
        "ja": "「{value}」が 2 回指定されています。",
    },
    "bad_sector_key": {
        "en": "“{value}” cannot be a sector key. Use up to 32 lowercase letters, digits, - or _.",
        "ja": (
            "「{value}」はセクターのキーに使えません。"
            "小文字英数字と - _ で 32 文字以内にしてください。"
        ),
    },
    "sector_exists": {
        "en": "The sector “{value}” already exists.",
        "ja": "セクター「{value}」はすでにあります。",
    },
    "too_long": {
        "en": "That {what} is too long (at most {limit} characters).",
        "ja": "{what}が長すぎます({limit} 文字まで)。",
    },
    "unknown_help_topic": {
        "en": "There is no help on “{value}”.",
        "ja": "「{value}」のヘルプはありません。",
    },
    # Names of arguments, for "missing ..." and "too long".
    "arg_command": {"en": "command", "ja": "コマンド"},
    "arg_sector": {"en": "a sector", "ja": "セクター"},
    "arg_words": {"en": "the words to search for", "ja": "検索する語句"},
    "arg_keyword": {"en": "a keyword", "ja": "キーワード"},
    "arg_url": {"en": "a URL", "ja": "URL"},
    "arg_id": {"en": "an id", "ja": "ID"},
    "arg_channel": {"en": "a #channel", "ja": "#チャンネル"},
    "arg_time": {"en": "a time (HH:MM)", "ja": "時刻(時:分)"},
    "arg_tz": {"en": "a time zone (Area/City)", "ja": "タイムゾーン(地域/都市)"},
    "arg_value": {"en": "a value for “{setting}”", "ja": "「{setting}」の値"},
    "arg_key": {"en": "a sector key", "ja": "セクターのキー"},
    "arg_name_en": {"en": "the English name", "ja": "英語名"},
    "arg_name_ja": {"en": "the Japanese name", "ja": "日本語名"},
    "arg_target": {"en": "a sector or keyword", "ja": "セクターかキーワード"},
    "arg_title": {"en": "a title", "ja": "タイトル"},
    "arg_query": {"en": "search", "ja": "検索語句"},
}


MAX_TEXT_CHARS = 4000
"""Longer command text is refused before parsing (Slack's own limit is lower)."""
_ECHO_CHARS = 60
_ECHOED = ("value", "word", "words")


def _say(key: str, language: Language, /, **values: str) -> str:
    """A catalog phrase; the user's own text is shortened so a reply stays readable."""
    for name in _ECHOED:
        if name in values and len(values[name]) > _ECHO_CHARS:
            values[name] = values[name][: _ECHO_CHARS - 1] + "…"
    return phrase(_MESSAGES, key, language, **values)


def usage(kind: str, language: Language = "en") -> str:
    """The usage line of ``kind`` (``"sector"``, ``"admin feeds add"``), or of every command
    in a group (``"admin"``, ``"admin feeds"``), one per line.

    Raises:
        KeyError: ``kind`` is neither a command nor a group.
    """
    kinds = _kinds_in(kind)
    if not kinds:
        raise KeyError(kind)
    column = 1 if language == "ja" else 0
    return "\n".join(_COMMAND_LINES[k][column] for k in kinds)


def help_text(
    language: Language = "en", topic: str | None = None, *, include_admin: bool = True
) -> str:
    """Command lines with a short description each; only ``topic``'s when given.

    Raises:
        KeyError: ``topic`` is neither a command nor a group.
    """
    if topic is None:
        kinds = [k for k in _COMMAND_LINES if include_admin or not k.startswith("admin")]
        heading = _say("help_title", language)
    else:
        kinds = _kinds_in(topic)
        if not kinds:
            raise KeyError(topic)
        heading = None
    usage_col, desc_col = (1, 3) if language == "ja" else (0, 2)
    lines = [f"{_COMMAND_LINES[k][usage_col]} — {_COMMAND_LINES[k][desc_col]}" for k in kinds]
    return "\n".join([f"{heading}:", *lines] if heading else lines)


def _kinds_in(topic: str) -> list[str]:
    topic = " ".join(topic.lower().split())
    if topic in _COMMAND_LINES:
        return [topic]
    return [k for k in _COMMAND_LINES if topic and k.startswith(topic + " ")]


_HELP_TOPICS: tuple[str, ...] = tuple(
    sorted({" ".join(k.split()[:n]) for k in _COMMAND_LINES if k for n in (1, 2, 3)})
)


class CommandError(Exception):
    """A command the user got wrong; ``message`` and ``usage`` are meant for that user.

    Both are plain text that quotes what the user typed and contains ``<`` and ``>`` (usage
    placeholders), so adapters must escape them for their markup (Slack mrkdwn reads
    ``<#channel>`` and ``<!here>`` as links and pings).
    """

    def __init__(self, message: str, usage: str, *, language: Language = "en") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.language: Language = language

    @property
    def text(self) -> str:
        """Message and usage, ready to send."""
        return f"{self.message}\n{_say('usage_label', self.language)}: {self.usage}"

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------------------------
# Values (also for adapters that receive typed options)
# --------------------------------------------------------------------------------------------


class ValueProblem(ValueError):
    """A single value could not be read; ``message(language)`` says why, for the user."""

    def __init__(self, key: str, *, value: str, suggestions: Iterable[str] = ()) -> None:
        super().__init__(f"{key}: {value!r}")
        self.key = key
        self.value = value
        self.suggestions = tuple(suggestions)

    def message(self, language: Language) -> str:
        text = _say(self.key, language, value=self.value)
        if self.suggestions:
            suggestions = ", ".join(self.suggestions)
            text += _say("did_you_mean_any", language, suggestions=suggestions)
        return text


_TIME_24H = re.compile(r"(\d{1,2}):(\d{2})")
_TIME_12H = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?")
_TIME_JA = re.compile(r"(午前|午後)?(\d{1,2})時(?:(\d{1,2})分|(半))?")


def parse_time(value: str) -> dt.time:
    """``8:30``, ``08:30``, ``20:05``, ``8am``, ``7:30pm``, ``8時半``, ``午後7時`` -> a time.

    Raises:
        ValueProblem: not a time of day.
    """
    text = _fold(value).replace(" ", "")
    hour: int | None = None
    minute = 0
    if m := _TIME_24H.fullmatch(text):
        hour, minute = int(m[1]), int(m[2])
    elif m := _TIME_12H.fullmatch(text):
        hour12, minute = int(m[1]), int(m[2] or 0)
        if 1 <= hour12 <= 12:
            hour = hour12 % 12 + (12 if m[3] == "p" else 0)
    elif m := _TIME_JA.fullmatch(text):
        hour, minute = int(m[2]), 30 if m[4] else int(m[3] or 0)
        if m[1] and hour > 12:
            hour = None
        elif m[1] == "午後" and hour < 12:
            hour += 12
    if hour is None or not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueProblem("bad_time", value=value)
    return dt.time(hour, minute)


@functools.cache
def _zone_names() -> frozenset[str]:
    # Listing the zone database reads hundreds of files (~0.2 s); the list never changes while
    # we run, so read it once.
    return frozenset(zoneinfo.available_timezones())


_ZONE_ALIASES: Mapping[str, str] = {"jst": "Asia/Tokyo", "z": "UTC", "utc": "UTC", "gmt": "UTC"}


def parse_zone(value: str) -> str:
    """An IANA zone name, matched case-insensitively; a unique city (``tokyo``) is enough.

    Raises:
        ValueProblem: no such zone; the message suggests close names.
    """
    text = _fold(value).strip().replace(" ", "_")
    names = _zone_names()
    if text in names:
        return text
    lower = {name.lower(): name for name in names}
    wanted = text.lower()
    if wanted in lower:
        return lower[wanted]
    if wanted in _ZONE_ALIASES:
        return _ZONE_ALIASES[wanted]
    by_city: dict[str, list[str]] = {}
    for name in names:
        if "/" in name:
            by_city.setdefault(name.rsplit("/", 1)[1].lower(), []).append(name)
    if len(by_city.get(wanted, ())) == 1:
        return by_city[wanted][0]
    close = difflib.get_close_matches(wanted, lower, n=3, cutoff=0.75)
    close += [
        name
        for city in difflib.get_close_matches(wanted, by_city, n=3, cutoff=0.75)
        for name in by_city[city]
    ]
    suggestions = list(dict.fromkeys(lower.get(c, c) for c in close))[:3]
    raise ValueProblem("bad_zone", value=value, suggestions=suggestions)


def zone_choices(prefix: str, *, limit: int = 25) -> list[str]:
    """Zone names for autocomplete (Discord allows 25): those containing ``prefix``, shortest
    first."""
    wanted = _fold(prefix).strip().replace(" ", "_").lower()
    found = [name for name in _zone_names() if wanted in name.lower()]
    return sorted(found, key=lambda n: (not n.lower().startswith(wanted), len(n), n))[:limit]


_DAY_ALIASES: Mapping[str, tuple[Weekday, ...]] = {
    "weekdays": WEEKDAYS[:5],
    "weekday": WEEKDAYS[:5],
    "workdays": WEEKDAYS[:5],
    "平日": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
    "weekend": WEEKDAYS[5:],
    "週末": WEEKDAYS[5:],
    "土日": WEEKDAYS[5:],
    "daily": WEEKDAYS,
    "everyday": WEEKDAYS,
    "all": WEEKDAYS,
    "毎日": WEEKDAYS,
}
_DAY_FULL_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_JA = "月火水木金土日"
_DAY_RANGE = re.compile(r"(.+?)\s*[-~〜–—]\s*(.+)")


def _weekday_index(word: str) -> int | None:
    word = word.strip().lower()
    if len(word) >= 2:
        for i, full in enumerate(_DAY_FULL_EN):
            if full.startswith(word):
                return i
    if m := re.fullmatch(r"([月火水木金土日])(?:曜日?)?", word):
        return _DAY_JA.index(m[1])
    return None


def parse_days(value: str) -> tuple[Weekday, ...]:
    """``mon-fri``, ``weekdays``, ``daily``, ``sat,sun``, ``mon,wed,fri``, ``fri-mon``,
    ``月-金``, ``平日`` -> the days, in week order.

    Raises:
        ValueProblem: not a set of days.
    """
    text = _fold(value).strip().lower()
    chosen: set[int] = set()
    parts = [p.strip() for p in re.split(r"[,、・/]", text)]
    if not text or not all(parts):
        raise ValueProblem("bad_days", value=value)
    for part in parts:
        if part in _DAY_ALIASES:
            chosen.update(WEEKDAYS.index(d) for d in _DAY_ALIASES[part])
        elif (single := _weekday_index(part)) is not None:
            chosen.add(single)
        elif m := _DAY_RANGE.fullmatch(part):
            first, last = _weekday_index(m[1]), _weekday_index(m[2])
            if first is None or last is None:
                raise ValueProblem("bad_days", value=value)
            # A range may wrap past Sunday ("fri-mon").
            span = (last - first) % 7
            chosen.update((first + i) % 7 for i in range(span + 1))
        else:
            raise ValueProblem("bad_days", value=value)
    return tuple(WEEKDAYS[i] for i in sorted(chosen))


_RELATIVE_DAYS: Mapping[str, RelativeDay] = {
    "today": "today",
    "今日": "today",
    "きょう": "today",
    "yesterday": "yesterday",
    "昨日": "yesterday",
    "きのう": "yesterday",
}


def parse_day(value: str) -> DayRef:
    """``2024-05-01`` (or ``2024/05/01``), ``today``, ``yesterday``, ``今日``, ``昨日``.

    Raises:
        ValueProblem: not a date.
    """
    text = _fold(value).strip().lower()
    if text in _RELATIVE_DAYS:
        return _RELATIVE_DAYS[text]
    if m := re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", text):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise ValueProblem("bad_date", value=value)


_SLACK_LINK = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")


def parse_url(value: str) -> str:
    """An http(s) URL; Slack's auto-linked ``<https://x|x>`` becomes ``https://x``.

    Raises:
        ValueProblem: not an http or https URL.
    """
    text = value.strip()
    if m := _SLACK_LINK.fullmatch(text):
        text = m[1]
    text = _unescape_slack(text)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueProblem("bad_url", value=value) from None
    if (
        parts.scheme.lower() in ("http", "https")
        and host
        and len(text) <= MAX_URL_CHARS
        and not re.search(r"\s", text)
    ):
        return text
    if not parts.scheme and re.fullmatch(r"[\w.-]+\.[a-z]{2,}(?:[/:?#]\S*)?", text, re.I):
        raise ValueProblem("bad_url_scheme", value=text)
    raise ValueProblem("bad_url", value=value)


_SLACK_CHANNEL = re.compile(r"<#([A-Za-z0-9]+)(?:\|([^<>|]*))?>")
_BARE_CHANNEL = re.compile(r"#([^\s#<>@]+)")


def parse_channel(value: str) -> ChannelRef:
    """``<#C123|name>`` (Slack), ``<#123>`` (Discord), ``#name`` -> a ``ChannelRef``.

    Raises:
        ValueProblem: not a channel mention.
    """
    text = value.strip()
    if m := _SLACK_CHANNEL.fullmatch(text):
        return ChannelRef(id=m[1], name=m[2] or None)
    if m := _BARE_CHANNEL.fullmatch(_fold(text)):
        return ChannelRef(name=m[1])
    raise ValueProblem("bad_channel", value=value)


def parse_id(value: str) -> int:
    """A positive whole number (an id from a list command).

    Raises:
        ValueProblem: not a positive number.
    """
    text = _fold(value).strip().lstrip("#")
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    raise ValueProblem("bad_id", value=value)


_LANGUAGES: Mapping[str, Language] = {
    "en": "en",
    "english": "en",
    "英語": "en",
    "ja": "ja",
    "jp": "ja",
    "japanese": "ja",
    "日本語": "ja",
}
_LENGTHS: Mapping[str, Length] = {"short": "short", "full": "full", "long": "full"}


def normalise_keyword(value: str) -> str:
    """A keyword as stored: NFKC (full-width letters to ASCII), one space between words."""
    return " ".join(_fold(_unescape_slack(value)).split())


class SectorIndex:
    """Sector lookup by key (any case) or by English or Japanese name.

    Args:
        sectors: sector keys, or ``SectorDef``s (whose names then match too).
    """

    def __init__(self, sectors: Iterable[str | SectorDef]) -> None:
        self.keys: tuple[str, ...] = ()
        self._lookup: dict[str, str] = {}
        keys: list[str] = []
        names: dict[str, str] = {}
        for sector in sectors:
            key = sector if isinstance(sector, str) else sector.key
            keys.append(key)
            if isinstance(sector, SectorDef):
                for name in (sector.name_en, sector.name_ja):
                    names.setdefault(_fold(name).strip().lower(), key)
        self.keys = tuple(sorted(set(keys)))
        # Keys win over names when the two collide.
        self._lookup = names | {_fold(k).lower(): k for k in self.keys}

    def find(self, value: str) -> str | None:
        """The canonical key for ``value``, or None."""
        return self._lookup.get(_fold(value).strip().lower())

    def suggest(self, value: str) -> str | None:
        close = difflib.get_close_matches(_fold(value).lower(), self._lookup, n=1, cutoff=0.6)
        return self._lookup[close[0]] if close else None


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

# Slack and phones turn quotes into typographic ones; full-width spaces come from Japanese IMEs.
_QUOTE_MAP = str.maketrans({"“": '"', "”": '"', "„": '"', "＂": '"', "‘": "'", "’": "'", "＇": "'"})
_SPACES = re.compile(r"[\s\u3000\u00a0\u2000-\u200b\u202f\u205f\ufeff]+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _unescape_slack(text: str) -> str:
    # Slack escapes these three in command text so that < > can only come from its own markup.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _normalise_text(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_QUOTE_MAP)).strip()


def _split_word(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    return _fold(head).lower(), rest.strip()


def _tokenise(text: str) -> list[str] | None:
    """Shell-like words; None when quotes are unbalanced."""
    # A lone apostrophe (O'Reilly, don't) is text, not a quote: retry without single quotes.
    for quotes in ("\"'", '"'):
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""  # '#' starts channels and "C#", not comments
        lexer.escape = ""  # chat users do not expect backslashes to vanish
        lexer.quotes = quotes
        try:
            return list(lexer)
        except ValueError:
            continue
    return None


_TOP_COMMANDS = (
    "help",
    "today",
    "sector",
    "search",
    "subscribe",
    "unsubscribe",
    "follow",
    "unfollow",
    "mute",
    "unmute",
    "settings",
    "admin",
)
_ADMIN_GROUPS: Mapping[str, tuple[str, ...]] = {
    "deliveries": ("today",),
    "feeds": ("add", "remove", "list", "health"),
    "schedule": ("set", "list", "remove", "send-now"),
    "sectors": ("add", "list"),
    "reading": ("add",),
}
_SETTING_NAMES: Mapping[str, str] = {
    "time": "time",
    "tz": "tz",
    "timezone": "tz",
    "zone": "tz",
    "days": "days",
    "day": "days",
    "lang": "lang",
    "language": "lang",
    "length": "length",
}


class _Parser:
    """Reads the arguments of one command; every problem becomes a ``CommandError``."""

    def __init__(self, kind: str, args: list[str], language: Language, sectors: SectorIndex):
        self.kind = kind
        self.args = args
        self.pos = 0
        self.language: Language = language
        self.sectors = sectors

    def fail(self, key: str, **values: str) -> CommandError:
        return self.fail_with(_say(key, self.language, **values))

    def fail_with(self, message: str) -> CommandError:
        return CommandError(message, usage(self.kind, self.language), language=self.language)

    def value(self, problem: ValueProblem) -> CommandError:
        return self.fail_with(problem.message(self.language))

    def arg_name(self, what: str, **values: str) -> str:
        return _say(f"arg_{what}", self.language, **values)

    def missing(self, what: str, **values: str) -> CommandError:
        if what == "sector":
            return self.fail_with(
                _say("missing", self.language, what=self.arg_name("sector"))
                + self.valid_sectors_sentence()
            )
        return self.fail("missing", what=self.arg_name(what, **values))

    def valid_sectors_sentence(self) -> str:
        valid = ", ".join(self.sectors.keys) or _say("no_sectors", self.language)
        return _say("valid_sectors", self.language, valid=valid)

    def peek(self) -> str | None:
        return self.args[self.pos] if self.pos < len(self.args) else None

    def take(self, what: str) -> str:
        token = self.peek()
        if token is None:
            raise self.missing(what)
        self.pos += 1
        return token

    def take_optional(self) -> str | None:
        token = self.peek()
        if token is not None:
            self.pos += 1
        return token

    def rest(self) -> list[str]:
        rest, self.pos = self.args[self.pos :], len(self.args)
        return rest

    def done(self) -> None:
        if self.pos < len(self.args):
            extra = " ".join(self.args[self.pos :])
            raise self.fail("extra_words", words=extra)

    def sector(self, token: str) -> str:
        key = self.sectors.find(token)
        if key is not None:
            return key
        message = _say(
            "unknown_sector",
            self.language,
            value=token,
            valid=", ".join(self.sectors.keys) or _say("no_sectors", self.language),
        )
        if suggestion := self.sectors.suggest(token):
            message += _say("did_you_mean", self.language, suggestion=suggestion)
        raise self.fail_with(message)

    def sectors_list(self, tokens: Iterable[str]) -> tuple[str, ...]:
        # "ai, cloud" and "ai,cloud" read the same as "ai cloud".
        words = [w for token in tokens for w in re.split(r"[,、]", token) if w.strip()]
        return tuple(dict.fromkeys(self.sector(w) for w in words))

    def checked(self, token: str, read: Callable[[str], T]) -> T:
        try:
            return read(token)
        except ValueProblem as problem:
            raise self.value(problem) from None

    def free_text(self, tokens: list[str], what: str, limit: int) -> str:
        text = normalise_keyword(" ".join(tokens))
        if not text:
            raise self.missing(what)
        if len(text) > limit:
            raise self.fail("too_long", what=self.arg_name(what), limit=str(limit))
        return text

    def days_from(self, first: str) -> tuple[Weekday, ...]:
        # "mon, wed, fri" arrives as three words; glue words joined by a comma back together.
        text = first
        while (nxt := self.peek()) is not None and (text.endswith(",") or nxt.startswith(",")):
            text += self.take("value")
        return self.checked(text, parse_days)


def parse_command(
    text: str,
    *,
    known_sectors: Collection[str | SectorDef],
    language: Language = "en",
) -> Command:
    """Parse what the user typed after ``/brief`` (a leading ``/brief`` is ignored too).

    Args:
        text: the command text, as the platform delivered it (Slack escaping and mention forms
            are understood).
        known_sectors: sector keys (or ``SectorDef``s, whose English and Japanese names are
            then accepted as well); keys are matched case-insensitively.
        language: the language of error messages.

    Returns:
        One ``Command``; sector names come back as canonical keys.

    Raises:
        CommandError: the text is not a valid command; the message says why, in ``language``.
    """
    sectors = SectorIndex(known_sectors)
    if len(text) > MAX_TEXT_CHARS:
        raise CommandError(
            _say(
                "too_long", language, what=_say("arg_command", language), limit=str(MAX_TEXT_CHARS)
            ),
            usage("help", language),
            language=language,
        )
    text = _normalise_text(text)
    head, rest = _split_word(text)
    if head in ("/brief", "brief"):
        head, rest = _split_word(rest)
    if not head:
        return Overview()
    if head not in _TOP_COMMANDS:
        raise _unknown(head, _TOP_COMMANDS, "", language, prefix="")
    kind = head
    if head == "search":
        # The query is kept as typed so that the search layer sees quotes as phrase markers.
        query = normalise_keyword(rest)
        p = _Parser(kind, [], language, sectors)
        if not query:
            raise p.missing("words")
        if len(query) > MAX_QUERY_CHARS:
            raise p.fail("too_long", what=p.arg_name("query"), limit=str(MAX_QUERY_CHARS))
        return Search(query)
    if head == "admin":
        group, rest = _split_word(rest)
        if group == "deliveries":
            p = _Parser("admin deliveries", [], language, sectors)
            p.args = _tokenise(rest) or []
            today = p.peek() is not None and p.peek() in ("today", "今日")
            if today:
                p.take("value")
            p.done()
            return AdminDeliveries(today=today)
        if group not in _ADMIN_GROUPS:
            raise _unknown(group, tuple(_ADMIN_GROUPS), "admin", language, prefix="admin ")
        action, rest = _split_word(rest)
        if action not in _ADMIN_GROUPS[group]:
            group_kind = f"admin {group}"
            raise _unknown(
                action, _ADMIN_GROUPS[group], group_kind, language, prefix=f"{group_kind} "
            )
        kind = f"admin {group} {action}"
    tokens = _tokenise(rest)
    p = _Parser(kind, [], language, sectors)
    if tokens is None:
        raise p.fail("unbalanced_quotes")
    p.args = [_unescape_slack(t) for t in tokens]
    command = _PARSERS[kind](p)
    p.done()
    return command


def names_admin_command(text: str) -> bool:
    """Whether ``text`` (what the user typed after ``/brief``) asks for an ``admin`` command.

    Decided the way ``parse_command`` reads its first word (spaces and full-width forms
    normalised, case folded, a leading ``brief`` or ``/brief`` skipped), so an adapter that
    checks admin rights only for admin commands checks them for every spelling the parser
    accepts, even when the rest of the command is wrong.
    """
    head, rest = _split_word(_normalise_text(text))
    if head in ("/brief", "brief"):
        head, _ = _split_word(rest)
    return head == "admin"


def parse_request(
    request: CommandRequest,
    *,
    known_sectors: Collection[str | SectorDef],
    language: Language = "en",
) -> Command:
    """The request's command, parsing it first when the adapter passed text.

    Raises:
        CommandError: as ``parse_command``.
    """
    if isinstance(request.command, CommandText):
        return parse_command(request.command.text, known_sectors=known_sectors, language=language)
    return request.command


def _unknown(
    word: str, choices: tuple[str, ...], group: str, language: Language, *, prefix: str
) -> CommandError:
    """A command word that is missing or not one of ``choices`` (within ``group``)."""
    column = 1 if language == "ja" else 0
    if group:
        usage_text = usage(group, language)
    else:
        # Everything a user may type; admins find theirs with "help admin".
        usage_text = "\n".join(v[column] for k, v in _COMMAND_LINES.items() if "admin" not in k)
    if not word:
        message = _say("missing_subcommand", language, choices=", ".join(choices))
        return CommandError(message, usage_text, language=language)
    message = _say("unknown_command", language, word=f"{prefix}{word}")
    if close := difflib.get_close_matches(word, choices, n=1, cutoff=0.5):
        suggestion = f"{prefix}{close[0]}"
        message += _say("did_you_mean", language, suggestion=suggestion)
        usage_text = usage(f"{group} {close[0]}".strip(), language)
    return CommandError(message, usage_text, language=language)


def _parse_help(p: _Parser) -> Command:
    words = p.rest()
    if not words:
        return Help(None)
    topic = " ".join(w.lower().removeprefix("/") for w in words)
    topic = topic.removeprefix("brief ").strip()
    if _kinds_in(topic):
        return Help(topic)
    message = _say("unknown_help_topic", p.language, value=topic)
    if close := difflib.get_close_matches(topic, _HELP_TOPICS, n=1, cutoff=0.5):
        message += _say("did_you_mean", p.language, suggestion=close[0])
    raise p.fail_with(message)


def _parse_today(p: _Parser) -> Command:
    return Today()


def _parse_sector(p: _Parser) -> Command:
    sector = p.sector(p.take("sector"))
    day = p.take_optional()
    return SectorSummary(sector, p.checked(day, parse_day) if day is not None else "today")


def _parse_subscribe(p: _Parser) -> Command:
    sectors = p.sectors_list(p.rest())
    if not sectors:
        raise p.missing("sector")
    return Subscribe(sectors)


def _parse_unsubscribe(p: _Parser) -> Command:
    words = p.rest()
    if [w.lower() for w in words] in (["all"], ["すべて"], ["全部"]):
        return Unsubscribe((), all=True)
    sectors = p.sectors_list(words)
    if not sectors:
        raise p.missing("sector")
    return Unsubscribe(sectors)


def _keyword_parser(action: KeywordAction) -> Callable[[_Parser], Command]:
    def parse(p: _Parser) -> Command:
        # Unquoted words form one phrase: "follow large language models" follows the phrase.
        return KeywordChange(action, p.free_text(p.rest(), "keyword", MAX_KEYWORD_CHARS))

    return parse


def _parse_settings(p: _Parser) -> Command:
    settings = Settings()
    seen: set[str] = set()
    while (token := p.take_optional()) is not None:
        # "time 08:00" and "time=08:00" both work.
        name_text, eq, value = token.partition("=")
        name_word = _fold(name_text).lower()
        name = _SETTING_NAMES.get(name_word)
        if name is None:
            message = _say("unknown_setting", p.language, value=name_text)
            close = difflib.get_close_matches(name_word, _SETTING_NAMES, n=1, cutoff=0.5)
            if close:
                suggestion = _SETTING_NAMES[close[0]]
                message += _say("did_you_mean", p.language, suggestion=suggestion)
            raise p.fail_with(message)
        if name in seen:
            raise p.fail("repeated_setting", value=name)
        seen.add(name)
        if not (eq and value):
            if p.peek() is None:
                raise p.missing("value", setting=name)
            value = p.take("value")
        if name == "time":
            settings = replace(settings, time=p.checked(value, parse_time))
        elif name == "tz":
            settings = replace(settings, tz=p.checked(value, parse_zone))
        elif name == "days":
            settings = replace(settings, days=p.days_from(value))
        elif name == "lang":
            if (lang := _LANGUAGES.get(_fold(value).lower())) is None:
                raise p.fail("bad_lang", value=value)
            settings = replace(settings, lang=lang)
        else:
            if (length := _LENGTHS.get(_fold(value).lower())) is None:
                raise p.fail("bad_length", value=value)
            settings = replace(settings, length=length)
    return settings


def _parse_feeds_add(p: _Parser) -> Command:
    url = p.checked(p.take("url"), parse_url)
    sector = p.take_optional()
    return AdminFeedsAdd(url, p.sector(sector) if sector is not None else None)


def _parse_feeds_remove(p: _Parser) -> Command:
    return AdminFeedsRemove(p.checked(p.take("id"), parse_id))


def _parse_schedule_set(p: _Parser) -> Command:
    channel = p.checked(p.take("channel"), parse_channel)
    time = p.checked(p.take("time"), parse_time)
    tz = p.checked(p.take("tz"), parse_zone)
    days: tuple[Weekday, ...] | None = None
    token = p.peek()
    if token is not None and p.sectors.find(token.rstrip(",")) is None:
        p.pos += 1
        try:
            days = p.days_from(token)
        except CommandError:
            # Not days: report it as what it more likely is, a mistyped day set or sector.
            if re.search(r"[-,~〜、]", token) or _weekday_index(token[:3]) is not None:
                raise
            p.sector(token)
    sectors = p.sectors_list(p.rest())
    return AdminScheduleSet(channel, time, tz, days, sectors)


def _parse_schedule_remove(p: _Parser) -> Command:
    return AdminScheduleRemove(p.checked(p.take("id"), parse_id))


def _parse_schedule_send_now(p: _Parser) -> Command:
    return AdminScheduleSendNow(p.checked(p.take("channel"), parse_channel))


def _parse_sectors_add(p: _Parser) -> Command:
    raw_key = p.take("key")
    key = _fold(raw_key).lower()
    if not SECTOR_KEY_RE.fullmatch(key):
        raise p.fail("bad_sector_key", value=raw_key)
    if p.sectors.find(key) is not None:
        raise p.fail("sector_exists", value=key)
    name_en = p.free_text([p.take("name_en")], "name_en", 64)
    name_ja = p.free_text([p.take("name_ja")], "name_ja", 64)
    keywords = tuple(
        dict.fromkeys(
            k
            for token in p.rest()
            for k in (normalise_keyword(w) for w in re.split(r"[,、]", token))
            if k
        )
    )
    for keyword in keywords:
        if len(keyword) > MAX_KEYWORD_CHARS:
            raise p.fail("too_long", what=p.arg_name("keyword"), limit=str(MAX_KEYWORD_CHARS))
    return AdminSectorsAdd(key, name_en, name_ja, keywords)


def _parse_reading_add(p: _Parser) -> Command:
    target = p.take("target")
    url = p.checked(p.take("url"), parse_url)
    title = p.free_text(p.rest(), "title", 200)
    if (sector := p.sectors.find(target)) is not None:
        return AdminReadingAdd(url, title, sector=sector)
    return AdminReadingAdd(url, title, keyword=p.free_text([target], "keyword", MAX_KEYWORD_CHARS))


_PARSERS: Mapping[str, Callable[[_Parser], Command]] = {
    "help": _parse_help,
    "today": _parse_today,
    "sector": _parse_sector,
    "subscribe": _parse_subscribe,
    "unsubscribe": _parse_unsubscribe,
    "follow": _keyword_parser("follow"),
    "unfollow": _keyword_parser("unfollow"),
    "mute": _keyword_parser("mute"),
    "unmute": _keyword_parser("unmute"),
    "settings": _parse_settings,
    "admin feeds add": _parse_feeds_add,
    "admin feeds remove": _parse_feeds_remove,
    "admin feeds list": lambda p: AdminFeedsList(),
    "admin feeds health": lambda p: AdminFeedsHealth(),
    "admin schedule set": _parse_schedule_set,
    "admin schedule list": lambda p: AdminScheduleList(),
    "admin schedule remove": _parse_schedule_remove,
    "admin schedule send-now": _parse_schedule_send_now,
    "admin sectors add": _parse_sectors_add,
    "admin sectors list": lambda p: AdminSectorsList(),
    "admin reading add": _parse_reading_add,
}
