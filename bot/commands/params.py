"""Parameter kinds shared by the declarations: each reads one kind of value, on every platform.

Like discord.py's transformers, a parameter kind carries both how a value is read (the value
parsers of ``bot.commands.values``) and what typed platforms need to offer it (option type,
choices, autocomplete, length limits). ``read`` gets what the user gave: a word, the list of
words left, the text as typed, or a typed option's value (already an ``int``, ``bool`` or
``ChannelRef`` there).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.commands.declare import Choice, Param
from bot.commands.model import ChannelRef, Weekday
from bot.commands.values import (
    MAX_ID,
    SECTOR_KEY_RE,
    fold,
    normalise_keyword,
    parse_channel,
    parse_day,
    parse_id,
    parse_language,
    parse_length,
    parse_time,
    parse_url,
    parse_zone,
)

if TYPE_CHECKING:
    from bot.commands.parse import ArgReader

DAY_CHOICES = (
    Choice("daily", "every day", "毎日"),
    Choice("mon-fri", "weekdays (mon-fri)", "平日（月〜金）"),
    Choice("sat,sun", "weekends (sat, sun)", "週末（土・日）"),
    Choice("mon,wed,fri", "mon, wed, fri", "月・水・金"),
    Choice("tue,thu", "tue, thu", "火・木"),
    *(
        Choice(name[:3], name, ja)
        for name, ja in (
            ("monday", "月曜日"),
            ("tuesday", "火曜日"),
            ("wednesday", "水曜日"),
            ("thursday", "木曜日"),
            ("friday", "金曜日"),
            ("saturday", "土曜日"),
            ("sunday", "日曜日"),
        )
    ),
)
LANGUAGE_CHOICES = (Choice("en", "English", "English"), Choice("ja", "日本語", "日本語"))
LENGTH_CHOICES = (Choice("short", "short", "短め"), Choice("full", "full", "詳しく"))
ALL_WORDS = ("all", "すべて", "全部")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def sector(name: str, help_en: str, help_ja: str, *, required: bool = True) -> Param:
    """One sector, by key, name or alias, in any case; read as its key."""
    return Param(
        name,
        lambda p, v: p.sector(_text(v)),
        help_en,
        help_ja,
        required=required,
        complete="sector",
        what="sector",
    )


def sectors(
    name: str,
    help_en: str,
    help_ja: str,
    *,
    required: bool = True,
    repeat: int = 3,
    offered: bool = True,
) -> Param:
    """Sectors as the rest of the words (``ai cloud``, ``ai,cloud``); read as their keys."""

    def read(p: ArgReader, words: list[str]) -> tuple[str, ...]:
        keys = p.sectors_list(words)
        if required and not keys:
            raise p.missing("sector")
        return keys

    return Param(
        name,
        read,
        help_en,
        help_ja,
        required=required,
        takes="rest",
        option="sector",
        repeat=repeat,
        complete="sector",
        what="sector",
        offered=offered,
    )


def sectors_or_all(name: str, help_en: str, help_ja: str) -> Param:
    """Sectors, or ``all``: read as their keys, or as the string ``"all"``."""

    def read(p: ArgReader, words: list[str]) -> tuple[str, ...] | str:
        if [fold(w).strip().lower() for w in words] in ([w] for w in ALL_WORDS):
            return "all"
        keys = p.sectors_list(words)
        if not keys:
            raise p.missing("sector")
        return keys

    return Param(
        name,
        read,
        help_en,
        help_ja,
        takes="rest",
        option="sector",
        repeat=3,
        complete="sector_or_all",
        what="sector",
    )


def time(name: str, help_en: str, help_ja: str, *, required: bool = True) -> Param:
    """A time of day (``08:30``, ``7:30pm``, ``8時半``)."""
    return Param(
        name,
        lambda p, v: p.checked(_text(v), parse_time),
        help_en,
        help_ja,
        required=required,
        what="time",
    )


def zone(name: str, help_en: str, help_ja: str, *, required: bool = True, **kw: Any) -> Param:
    """An IANA time zone (``Asia/Tokyo``; a unique city such as ``tokyo`` is enough)."""
    return Param(
        name,
        lambda p, v: p.checked(_text(v), parse_zone),
        help_en,
        help_ja,
        required=required,
        complete="zone",
        what="tz",
        **kw,
    )


def days(name: str, help_en: str, help_ja: str, *, required: bool = False, **kw: Any) -> Param:
    """A set of weekdays (``mon-fri``, ``weekdays``, ``sat,sun``, ``月-金``)."""

    def read(p: ArgReader, value: Any) -> tuple[Weekday, ...]:
        if isinstance(value, list):
            # Checked boxes; none checked means every day, stored as no days.
            return p.days_from(",".join(value)) if value else ()
        return p.days_from(_text(value))

    return Param(
        name, read, help_en, help_ja, required=required, choices=DAY_CHOICES, what="value", **kw
    )


def day(name: str, help_en: str, help_ja: str, *, required: bool = False) -> Param:
    """A date: ``YYYY-MM-DD``, ``today`` or ``yesterday``."""
    return Param(
        name, lambda p, v: p.checked(_text(v), parse_day), help_en, help_ja, required=required
    )


def url(name: str, help_en: str, help_ja: str, *, required: bool = True) -> Param:
    """An http(s) URL."""
    return Param(
        name,
        lambda p, v: p.checked(_text(v), parse_url),
        help_en,
        help_ja,
        required=required,
        what="url",
    )


def channel(name: str, help_en: str, help_ja: str) -> Param:
    """A channel: a mention (``<#C1|general>``, ``<#1>``), ``#name``, or a typed channel."""

    def read(p: ArgReader, value: Any) -> ChannelRef:
        return value if isinstance(value, ChannelRef) else p.checked(_text(value), parse_channel)

    return Param(name, read, help_en, help_ja, typed="channel", what="channel")


def ident(name: str, help_en: str, help_ja: str, *, option: str | None = None) -> Param:
    """A positive id from a list command."""

    def read(p: ArgReader, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
            return value
        return p.checked(_text(value), parse_id)

    return Param(name, read, help_en, help_ja, typed="integer", option=option, what="id")


def phrase(name: str, help_en: str, help_ja: str, *, limit: int, what: str | None = None) -> Param:
    """Every word left as one phrase (``follow large language models``), spaces collapsed."""

    def read(p: ArgReader, words: list[str] | str) -> str:
        tokens = [words] if isinstance(words, str) else words
        return p.free_text(tokens, what or name, limit)

    return Param(name, read, help_en, help_ja, takes="rest", max_length=limit, what=what or name)


def query(name: str, help_en: str, help_ja: str, *, limit: int, option: str | None = None) -> Param:
    """The rest of the text as typed: quotes stay, so search reads them as phrase markers."""

    def read(p: ArgReader, text: str) -> str:
        value = normalise_keyword(_text(text))
        if not value:
            raise p.missing("words")
        if len(value) > limit:
            raise p.fail("too_long", what=p.arg_name("query"), limit=str(limit))
        return value

    return Param(name, read, help_en, help_ja, takes="raw", option=option, max_length=limit)


def word(name: str, help_en: str, help_ja: str, *, limit: int, required: bool = True) -> Param:
    """One word or quoted phrase (a name), spaces collapsed."""
    return Param(
        name,
        lambda p, v: p.free_text([_text(v)], name, limit),
        help_en,
        help_ja,
        required=required,
        max_length=limit,
    )


def sector_key(name: str, help_en: str, help_ja: str) -> Param:
    """A new sector's key: up to 32 lowercase letters, digits, ``-`` or ``_``, not yet used."""

    def read(p: ArgReader, value: Any) -> str:
        raw = _text(value)
        key = fold(raw).strip().lower()
        if not SECTOR_KEY_RE.fullmatch(key):
            raise p.fail("bad_sector_key", value=raw)
        if p.sectors.find(key) is not None:
            raise p.fail("sector_exists", value=key)
        return key

    return Param(name, read, help_en, help_ja, max_length=32, what="key")


def terms(name: str, help_en: str, help_ja: str, *, limit: int) -> Param:
    """Extra terms, comma- or space-separated, each at most ``limit`` characters."""

    def read(p: ArgReader, words: list[str] | str) -> tuple[str, ...]:
        tokens = [words] if isinstance(words, str) else words
        found = tuple(
            dict.fromkeys(
                k
                for token in tokens
                for k in (normalise_keyword(w) for w in re.split(r"[,、]", token))
                if k
            )
        )
        for term in found:
            if len(term) > limit:
                raise p.fail("too_long", what=p.arg_name("keyword"), limit=str(limit))
        return found

    return Param(name, read, help_en, help_ja, required=False, takes="rest")


def sector_or_keyword(name: str, help_en: str, help_ja: str, *, limit: int) -> Param:
    """A sector (read as ``("sector", key)``) or else a keyword (``("keyword", text)``)."""

    def read(p: ArgReader, value: Any) -> tuple[str, str]:
        text = _text(value)
        if (key := p.sectors.find(text)) is not None:
            return ("sector", key)
        return ("keyword", p.free_text([text], "keyword", limit))

    return Param(name, read, help_en, help_ja, complete="sector", what="target")


def language(name: str, help_en: str, help_ja: str, **kw: Any) -> Param:
    """``en`` or ``ja`` (``English``, ``日本語`` too)."""
    return Param(
        name,
        lambda p, v: p.checked(_text(v), parse_language),
        help_en,
        help_ja,
        required=False,
        choices=LANGUAGE_CHOICES,
        **kw,
    )


def length(name: str, help_en: str, help_ja: str, **kw: Any) -> Param:
    """``short`` or ``full``."""
    return Param(
        name,
        lambda p, v: p.checked(_text(v), parse_length),
        help_en,
        help_ja,
        required=False,
        choices=LENGTH_CHOICES,
        **kw,
    )


def flag(name: str, words: tuple[str, ...], help_en: str, help_ja: str) -> Param:
    """An optional word that switches something on (``deliveries today``)."""

    def read(p: ArgReader, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if fold(_text(value)).strip().lower() in words:
            return True
        raise p.fail("extra_words", words=_text(value))

    return Param(name, read, help_en, help_ja, required=False, typed="boolean")


def keywords(name: str, help_en: str, help_ja: str, *, limit: int, **kw: Any) -> Param:
    """A whole list of keywords (an App Home field): each normalised, repeats dropped."""

    def read(p: ArgReader, words: list[str]) -> tuple[str, ...]:
        found = tuple(dict.fromkeys(k for k in (normalise_keyword(w) for w in words) if k))
        for word in found:
            if len(word) > limit:
                raise p.fail("too_long", what=p.arg_name("keyword"), limit=str(limit))
        return found

    return Param(name, read, help_en, help_ja, required=False, takes="rest", **kw)
