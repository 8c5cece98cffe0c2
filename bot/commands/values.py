"""Value parsers for what people type: times, zones, days, dates, URLs, channels, ids, sectors.

Every platform checks values with these, so all accept and refuse the same things. A parser
raises ``ValueProblem``, whose ``message(language)`` names the value and the form expected.
Platform markup (Slack's ``&lt;`` escaping and ``<url|label>`` links) is undone by the adapter
before text gets here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from bot.commands.messages import say
from bot.commands.model import WEEKDAYS, ChannelRef, DayRef, RelativeDay, Weekday
from bot.models import Language, Length, SectorDef

MAX_KEYWORD_CHARS = 100
MAX_QUERY_CHARS = 300
MAX_URL_CHARS = 2000
MAX_ID = 2**63 - 1
SECTOR_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def fold(text: str) -> str:
    """NFKC: full-width letters and digits become ASCII."""
    return unicodedata.normalize("NFKC", text)


class ValueProblem(ValueError):
    """A single value could not be read; ``message(language)`` says why, for the user."""

    def __init__(self, key: str, *, value: str, suggestions: Iterable[str] = ()) -> None:
        super().__init__(f"{key}: {value!r}")
        self.key = key
        self.value = value
        self.suggestions = tuple(suggestions)

    def message(self, language: Language) -> str:
        text = say(self.key, language, value=self.value)
        if self.suggestions:
            suggestions = ", ".join(self.suggestions)
            text += say("did_you_mean_any", language, suggestions=suggestions)
        return text


_TIME_24H = re.compile(r"(\d{1,2}):(\d{2})")
_TIME_12H = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?")
_TIME_JA = re.compile(r"(午前|午後)?(\d{1,2})時(?:(\d{1,2})分|(半))?")


def parse_time(value: str) -> dt.time:
    """``8:30``, ``08:30``, ``20:05``, ``8am``, ``7:30pm``, ``8時半``, ``午後7時`` -> a time.

    Raises:
        ValueProblem: not a time of day.
    """
    text = fold(value).replace(" ", "")
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
    text = fold(value).strip().replace(" ", "_")
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
    wanted = fold(prefix).strip().replace(" ", "_").lower()
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


def weekday_index(word: str) -> int | None:
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
    text = fold(value).strip().lower()
    chosen: set[int] = set()
    parts = [p.strip() for p in re.split(r"[,、・/]", text)]
    if not text or not all(parts):
        raise ValueProblem("bad_days", value=value)
    for part in parts:
        if part in _DAY_ALIASES:
            chosen.update(WEEKDAYS.index(d) for d in _DAY_ALIASES[part])
        elif (single := weekday_index(part)) is not None:
            chosen.add(single)
        elif m := _DAY_RANGE.fullmatch(part):
            first, last = weekday_index(m[1]), weekday_index(m[2])
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
    text = fold(value).strip().lower()
    if text in _RELATIVE_DAYS:
        return _RELATIVE_DAYS[text]
    if m := re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", text):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise ValueProblem("bad_date", value=value)


def parse_url(value: str) -> str:
    """An http(s) URL.

    Raises:
        ValueProblem: not an http or https URL.
    """
    text = value.strip()
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
    if m := _BARE_CHANNEL.fullmatch(fold(text)):
        return ChannelRef(name=m[1])
    raise ValueProblem("bad_channel", value=value)


def parse_id(value: str) -> int:
    """A positive whole number (an id from a list command).

    Raises:
        ValueProblem: not a positive number.
    """
    text = fold(value).strip().lstrip("#")
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


def parse_language(value: str) -> Language:
    """``en``, ``ja``, ``English``, ``日本語`` and the like -> a language code.

    Raises:
        ValueProblem: not a language we write in.
    """
    if (language := _LANGUAGES.get(fold(value).strip().lower())) is None:
        raise ValueProblem("bad_lang", value=value)
    return language


def parse_length(value: str) -> Length:
    """``short`` or ``full`` (``long`` too).

    Raises:
        ValueProblem: not a length.
    """
    if (length := _LENGTHS.get(fold(value).strip().lower())) is None:
        raise ValueProblem("bad_length", value=value)
    return length


def normalise_keyword(value: str) -> str:
    """A keyword as stored: NFKC (full-width letters to ASCII), one space between words."""
    return " ".join(fold(value).split())


_NAME_PARTS = re.compile(r"\s*(?:&|＆|・|/|,|、|\band\b|\s)\s*")


def name_parts(name: str) -> list[str]:
    """The words of a sector name that may stand for it: ``Robotics & Mobility`` gives
    ``robotics`` and ``mobility``, ``量子・先端技術`` gives ``量子`` and ``先端技術``."""
    parts = [fold(p).strip().lower() for p in _NAME_PARTS.split(name)]
    return [p for p in parts if len(p) >= 2]


class SectorIndex:
    """Sector lookup, in any case and width: by key, by English or Japanese name, or by a
    word of either name that only one sector has (``robotics``, ``量子``, ``green``).

    Args:
        sectors: sector keys, or ``SectorDef``s (whose names then match too).
    """

    def __init__(self, sectors: Iterable[str | SectorDef]) -> None:
        keys: list[str] = []
        names: dict[str, str] = {}
        parts: dict[str, set[str]] = {}
        self._defs: dict[str, SectorDef] = {}
        for sector in sectors:
            key = sector if isinstance(sector, str) else sector.key
            keys.append(key)
            if isinstance(sector, SectorDef):
                self._defs[key] = sector
                for name in (sector.name_en, sector.name_ja, *sector.aliases):
                    names.setdefault(fold(name).strip().lower(), key)
                    for part in name_parts(name):
                        parts.setdefault(part, set()).add(key)
        self.keys: tuple[str, ...] = tuple(sorted(set(keys)))
        # A word two sectors share ("tech") stands for neither; full names win over words,
        # and keys over everything.
        aliases = {part: next(iter(found)) for part, found in parts.items() if len(found) == 1}
        self._lookup: dict[str, str] = aliases | names | {fold(k).lower(): k for k in self.keys}

    def find(self, value: str) -> str | None:
        """The canonical key for ``value``, or None."""
        return self._lookup.get(fold(value).strip().lower())

    def suggest(self, value: str) -> str | None:
        close = difflib.get_close_matches(fold(value).lower(), self._lookup, n=1, cutoff=0.6)
        return self._lookup[close[0]] if close else None

    def shown(self, key: str, language: Language) -> str:
        """How a reader is told a sector: its key in English (what people type), its name in
        Japanese (Japanese names are typed as readily, and keys mean nothing there)."""
        sector = self._defs.get(key)
        return sector.name_ja if language == "ja" and sector is not None else key

    def longest_name(self, words: Sequence[str]) -> int:
        """How many of ``words`` (2 or more) together name a sector, the most that do; 0 when
        no run of them does (``Robotics & Mobility`` typed without quotes is three words)."""
        for count in range(min(len(words), 8), 1, -1):
            if self.find(" ".join(words[:count])) is not None:
                return count
        return 0
