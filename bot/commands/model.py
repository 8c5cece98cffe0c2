"""What a command is once read: typed values, who asked, and the request adapters hand in.

Each command is a small frozen dataclass; its name (``kind``) and admin flag come from its one
declaration (``bot.commands.declare``), not from the class. Adapters build a ``CommandRequest``
from text (``CommandText``: Slack, the console), from typed options (``CommandOptions``:
Discord), or from a ready command (a button press).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias, get_args

from bot.models import Language, Length

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)

RelativeDay = Literal["today", "yesterday"]
DayRef: TypeAlias = dt.date | RelativeDay
"""A calendar date, or a day relative to the reader's own time zone (resolved by the caller)."""

KeywordAction = Literal["follow", "unfollow", "mute", "unmute"]


class CommandBase:
    """Base of every command value; ``kind`` and ``admin`` are set by its declaration."""

    __slots__ = ()
    kind: ClassVar[str] = ""
    admin: ClassVar[bool] = False


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
class Overview(CommandBase):
    """Bare ``/brief``: the command list and the user's current settings."""


@dataclass(frozen=True, slots=True)
class Help(CommandBase):
    """``help [command]``; ``topic`` is a usage kind or group such as ``"sector"``, ``"admin"``."""

    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Today(CommandBase):
    """The user's personalised briefing, now."""


@dataclass(frozen=True, slots=True)
class SectorSummary(CommandBase):
    """A summary of one sector for one day (``"today"`` when the user gave no date)."""

    sector: str
    date: DayRef = "today"


@dataclass(frozen=True, slots=True)
class Search(CommandBase):
    """Archive search; ``query`` is the user's text as typed (quotes kept for phrase search)."""

    query: str


@dataclass(frozen=True, slots=True)
class Ask(CommandBase):
    """A question for the archive, as typed."""

    question: str


@dataclass(frozen=True, slots=True)
class WhyStory(CommandBase):
    """Which story the reader asks about: words of its title, or its key (from a button)."""

    story: str


@dataclass(frozen=True, slots=True)
class LearnedView(CommandBase):
    """What the reader's votes taught the ranking."""


@dataclass(frozen=True, slots=True)
class LearningReset(CommandBase):
    """Forget what the reader's votes taught."""


@dataclass(frozen=True, slots=True)
class Subscribe(CommandBase):
    sectors: tuple[str, ...]
    """Canonical sector keys, in the order given, without repeats."""


@dataclass(frozen=True, slots=True)
class Unsubscribe(CommandBase):
    sectors: tuple[str, ...] = ()
    all: bool = False
    """True for ``unsubscribe all``; ``sectors`` is then empty."""


@dataclass(frozen=True, slots=True)
class KeywordChange(CommandBase):
    """``follow``, ``unfollow``, ``mute`` or ``unmute`` one keyword or phrase."""

    action: KeywordAction
    keyword: str
    """NFKC-normalised (full-width letters become ASCII), whitespace collapsed, case kept."""

    # One value class for four declared commands: its kind is its action.
    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.action


@dataclass(frozen=True, slots=True)
class Settings(CommandBase):
    """``settings``; None means "leave as it is". All None: show the current settings."""

    time: dt.time | None = None
    tz: str | None = None
    days: tuple[Weekday, ...] | None = None
    lang: Language | None = None
    length: Length | None = None
    sectors: tuple[str, ...] | None = None
    """The whole sector list (App Home); typed commands use subscribe and unsubscribe."""
    follow: tuple[str, ...] | None = None
    mute: tuple[str, ...] | None = None

    @property
    def is_empty(self) -> bool:
        return all(
            v is None
            for v in (
                self.time,
                self.tz,
                self.days,
                self.lang,
                self.length,
                self.sectors,
                self.follow,
                self.mute,
            )
        )


@dataclass(frozen=True, slots=True)
class AdminFeedsAdd(CommandBase):
    url: str
    sector: str | None = None


@dataclass(frozen=True, slots=True)
class AdminFeedsRemove(CommandBase):
    feed_id: int


@dataclass(frozen=True, slots=True)
class AdminFeedsList(CommandBase):
    """No arguments."""


@dataclass(frozen=True, slots=True)
class AdminFeedsHealth(CommandBase):
    """No arguments."""


@dataclass(frozen=True, slots=True)
class AdminDeliveries(CommandBase):
    """What was sent, late, failed and why; only today's (in the admin's zone) with ``today``."""

    today: bool = False


@dataclass(frozen=True, slots=True)
class AdminScheduleSet(CommandBase):
    """A channel digest. ``days`` None: the dispatcher's default; ``sectors`` empty: all."""

    channel: ChannelRef
    time: dt.time
    tz: str
    days: tuple[Weekday, ...] | None = None
    sectors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AdminScheduleList(CommandBase):
    """No arguments."""


@dataclass(frozen=True, slots=True)
class AdminScheduleRemove(CommandBase):
    schedule_id: int


@dataclass(frozen=True, slots=True)
class AdminScheduleSendNow(CommandBase):
    channel: ChannelRef


@dataclass(frozen=True, slots=True)
class AdminSectorsAdd(CommandBase):
    key: str
    name_en: str
    name_ja: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AdminSectorsList(CommandBase):
    """No arguments."""


@dataclass(frozen=True, slots=True)
class AdminReadingAdd(CommandBase):
    """An explainer link for a sector (``sector`` set) or a keyword (``keyword`` set)."""

    url: str
    title: str
    sector: str | None = None
    keyword: str | None = None


@dataclass(frozen=True, slots=True)
class ReaderView(CommandBase):
    """The reader's settings, the sectors and today's briefing (Slack's App Home)."""


@dataclass(frozen=True, slots=True)
class Vote(CommandBase):
    """A 👍 (``value`` 1) or 👎 (-1) on one story of a briefing; with ``withdraw``, that 👍 or
    👎 taken back (a removed reaction): the story's vote no longer counts if it is still that."""

    story_key: str
    value: int
    sector: str | None = None
    withdraw: bool = False


@dataclass(frozen=True, slots=True)
class MoreOn(CommandBase):
    """ "More on <sector>" pressed under a story: noted, and answered with that sector."""

    sector: str
    story_key: str


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
"""The built-in commands; any declared command is a ``CommandBase``."""


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
class CommandOptions:
    """Typed options by name, as platforms with typed commands (Discord) deliver them.

    ``values`` hold what the platform gave: strings as typed, integers, booleans, and
    ``ChannelRef``s for channels; the engine checks them with the same value parsers as text.
    """

    kind: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """What every adapter hands the dispatcher."""

    command: CommandBase | CommandText | CommandOptions
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
