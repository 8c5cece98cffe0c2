"""Dates in feed sentences, English and Japanese, resolved against the edition's day (pure).

Each language has its own patterns and only runs on text in that language: an English "March"
means nothing in a Japanese sentence, and a German "will" is not the English future. A date
found keeps its precision (a day, a month, a year, a Japanese fiscal year) so "by 2027" is shown
as "2027", not as an invented January 1st, and "来年度" as the fiscal year it is (April to March),
not as the calendar year; ``last_day`` is what "after the edition" is measured against.
"""

from __future__ import annotations

import calendar
import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Precision = Literal["day", "month", "quarter", "year", "fiscal_year"]

MONTH_NAMES: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
"""English month names and abbreviations, lower case, to their numbers (1 to 12)."""
_MONTH = r"(?P<month>" + "|".join(sorted(MONTH_NAMES, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>20\d\d)"

_EN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("iso", r"\b(?P<year>20\d\d)-(?P<mnum>[01]\d)-(?P<day>[0-3]\d)\b"),
        ("mdy", rf"\b{_MONTH} (?P<day>[0-3]?\d)(?:st|nd|rd|th)?,? {_YEAR}\b"),
        ("dmy", rf"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)? {_MONTH},? {_YEAR}\b"),
        ("my", rf"\b{_MONTH},? {_YEAR}\b"),
        (
            "dm",
            rf"\b(?:on|from|by|until|till|through|to|before|after) (?P<day>[0-3]?\d)"
            rf"(?:st|nd|rd|th)? {_MONTH}(?![\w-])",
        ),
        (
            "quarter",
            r"\b(?:Q(?P<q>[1-4])|(?P<qw>first|second|third|fourth) quarter(?: of)?) "
            r"(?P<year>20\d\d)\b",
        ),
        (
            "md",
            rf"\b(?:on|from|by|until|till|through|to|in|starting|before|after) {_MONTH} "
            r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b",
        ),
        (
            "m",
            rf"\b(?:in|from|by|until|starting|before|after|this|next|early|late|mid-) ?"
            rf"{_MONTH}\b(?! \d)",
        ),
        (
            "y",
            r"\b(?:in|by|from|until|before|after|during|for|of|early|mid-|late|end of) ?"
            r"(?P<year>20\d\d)\b",
        ),
        ("rel", r"\bnext (?P<unit>week|month|year|quarter)\b"),
        (
            "this_year",
            r"\b(?:later this year|by (?:the )?end of (?:this|the) year|by year-end"
            r"|(?:before|by) the year is out)\b",
        ),
    )
)
_QUARTER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4}

_JA_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("ymd", r"(?P<year>20\d\d)年(?P<mnum>1[0-2]|0?[1-9])月(?P<day>[0-3]?\d)日"),
        ("ym", r"(?P<year>20\d\d)年(?P<mnum>1[0-2]|0?[1-9])月"),
        ("md", r"(?<![\d年])(?P<mnum>1[0-2]|0?[1-9])月(?P<day>[0-3]?\d)日"),
        ("quarter", r"(?P<year>20\d\d)年(?:の)?第?(?P<q>[1-4])四半期"),
        ("fiscal", r"(?P<year>20\d\d)年度"),
        ("y", r"(?P<year>20\d\d)年(?![\d])"),
        ("rel", r"来(?P<unit>週|月|年度|年)"),
        ("this_year", r"年内|今年中|本年中|年末まで"),
        ("this_fiscal", r"(?:今|本)?年度(?:内|中|末)"),
        ("this_month", r"今月(?:中|末)|月内"),
    )
)
_JA_UNITS = {"週": "week", "月": "month", "年": "year", "年度": "fiscal_year"}


@dataclass(frozen=True, slots=True)
class FoundDate:
    """A date named in a sentence: its first day, precision and the text that named it."""

    day: date
    precision: Precision
    text: str
    end: FoundDate | None = None
    """The end of a range ("3月28日から5月10日まで"), whose start this date is."""

    @property
    def last_day(self) -> date:
        """The last day the date covers (the year's or month's end for coarse dates)."""
        return last_day(self.day, self.precision)


def last_day(day: date, precision: str) -> date:
    """The last day a date of ``precision`` beginning on ``day`` covers."""
    if precision == "year":
        return date(day.year, 12, 31)
    if precision == "fiscal_year":
        return date(day.year + 1, 3, 31)
    if precision in ("month", "quarter"):
        month = day.month + (2 if precision == "quarter" else 0)
        return date(day.year, month, calendar.monthrange(day.year, month)[1])
    return day


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


FISCAL_START_MONTH = 4
"""Japan's fiscal year ("年度") begins in April: 2027年度 runs from April 2027 to March 2028."""


def _fiscal_year(year: int, text: str) -> FoundDate:
    return FoundDate(date(year, FISCAL_START_MONTH, 1), "fiscal_year", text)


def _relative(unit: str, today: date, text: str) -> FoundDate:
    if unit == "fiscal_year":
        current = today.year - (today.month < FISCAL_START_MONTH)
        return _fiscal_year(current + 1, text)
    if unit == "week":
        return FoundDate(today + timedelta(days=7 - today.weekday()), "day", text)
    if unit == "month":
        return FoundDate(_next_month(today), "month", text)
    if unit == "quarter":
        month = ((today.month - 1) // 3 + 1) * 3 + 1
        year = today.year + (month > 12)
        return FoundDate(date(year, (month - 1) % 12 + 1, 1), "quarter", text)
    return FoundDate(date(today.year + 1, 1, 1), "year", text)


def _without_year(month: int, day: int, today: date) -> date | None:
    """A month (and day) without a year, as news uses it: the nearest such day.

    Up to six months ahead is this coming one ("from March", written in December: next year's);
    further ahead is the one just past ("in January", written in April: this year's, behind us).
    """
    ahead = (month - today.month) % 12
    year = today.year + (1 if today.month + ahead > 12 else 0) if ahead <= 6 else today.year
    if ahead > 6 and month > today.month:
        year -= 1
    return _safe(year, month, day)


def _this_period(kind: str, today: date, text: str) -> FoundDate | None:
    """The current year, fiscal year (to March) or month, for "年内", "年度内", "今月中"."""
    if kind == "this_year":
        return FoundDate(date(today.year, 12, 31), "year", text)
    if kind == "this_fiscal":
        return FoundDate(date(today.year + (today.month > 3), 3, 1), "month", text)
    if kind == "this_month":
        return FoundDate(date(today.year, today.month, 1), "month", text)
    return None


def _en_date(kind: str, match: re.Match[str], today: date) -> FoundDate | None:
    groups = match.groupdict()
    text = match.group(0)
    if kind.startswith("this_"):
        return _this_period(kind, today, text)
    if kind == "rel":
        return _relative(groups["unit"].lower(), today, text)
    if groups.get("month") and not groups["month"][0].isupper():
        return None  # "may" the verb, "mar" in a word: month names are capitalised
    month = (
        MONTH_NAMES[groups["month"].lower()]
        if groups.get("month")
        else int(groups["mnum"])
        if groups.get("mnum")
        else None
    )
    year = int(groups["year"]) if groups.get("year") else None
    if kind == "quarter":
        quarter = int(groups["q"]) if groups.get("q") else _QUARTER_WORDS[groups["qw"].lower()]
        return FoundDate(date(year or today.year, quarter * 3 - 2, 1), "quarter", text)
    if kind in ("iso", "mdy", "dmy") and year and month:
        found = _safe(year, month, int(groups["day"]))
        return FoundDate(found, "day", text) if found else None
    if kind == "my" and year and month:
        return FoundDate(date(year, month, 1), "month", text)
    if kind in ("md", "dm") and month:
        found = _without_year(month, int(groups["day"]), today)
        return FoundDate(found, "day", text) if found else None
    if kind == "m" and month:
        found = _without_year(month, 1, today)
        return FoundDate(found, "month", text) if found else None
    if kind == "y" and year:
        return FoundDate(date(year, 1, 1), "year", text)
    return None


def _ja_date(kind: str, match: re.Match[str], today: date) -> FoundDate | None:
    groups = match.groupdict()
    text = match.group(0)
    if kind.startswith("this_"):
        return _this_period(kind, today, text)
    if kind == "rel":
        return _relative(_JA_UNITS[groups["unit"]], today, text)
    year = int(groups["year"]) if groups.get("year") else None
    month = int(groups["mnum"]) if groups.get("mnum") else None
    if kind == "ymd" and year and month:
        found = _safe(year, month, int(groups["day"]))
        return FoundDate(found, "day", text) if found else None
    if kind == "ym" and year and month:
        return FoundDate(date(year, month, 1), "month", text)
    if kind == "md" and month:
        found = _without_year(month, int(groups["day"]), today)
        return FoundDate(found, "day", text) if found else None
    if kind == "fiscal" and year:
        return _fiscal_year(year, text)
    if kind == "quarter" and year:
        return FoundDate(date(year, int(groups["q"]) * 3 - 2, 1), "quarter", text)
    if kind == "y" and year:
        return FoundDate(date(year, 1, 1), "year", text)
    return None


def is_japanese(text: str) -> bool:
    """Whether ``text`` is written in Japanese (it has kana; kanji alone could be Chinese)."""
    return any("\u3040" <= ch <= "\u30ff" for ch in text)


_RANGE_JOINS = frozenset(["から", "より", "～", "〜", "~", "－", "-", "–", "—", "to", "and"])
"""What joins the two ends of a range: "3月28日から5月10日", "March 28 to May 10"."""
_RANGE_ENDS = ("to ", "until ", "till ", "through ", "thru ")
"""How the second date of a range can begin when its pattern took the word ("until May 10")."""


def _a_range(gap: str, second: str) -> bool:
    """Whether ``gap`` (the text between two dates) and the second date make them a range."""
    gap = gap.strip().lower()
    return gap in _RANGE_JOINS or (not gap and second.lower().startswith(_RANGE_ENDS))


def find_dates(sentence: str, language: str, today: date) -> list[FoundDate]:
    """Dates named in ``sentence`` (in ``language``: "en" or "ja"), most precise first.

    ``today`` is the day the sentence was written: "next month" and a date without a year
    count from it (an old article's "September 23" is not next September).

    Spans already claimed by a more precise pattern are not read again ("March 3, 2027" is one
    date, not also "March" and "2027"). Two dates joined as a range ("3月28日から5月10日まで",
    "from March 28 to May 10") are one date, its start, that knows its ``end``.
    """
    text = unicodedata.normalize("NFKC", sentence)
    patterns, read = (_JA_PATTERNS, _ja_date) if language == "ja" else (_EN_PATTERNS, _en_date)
    spans: list[tuple[int, int, FoundDate]] = []
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e, _ in spans):
                continue
            value = read(kind, match, today)
            if value is not None:
                spans.append((start, end, value))
    order = sorted(spans, key=lambda span: span[0])
    merged: dict[int, FoundDate] = {}
    ends: set[int] = set()
    for (_, end, first), (start, _, second) in itertools.pairwise(order):
        if _a_range(text[end:start], second.text) and second.last_day >= first.day:
            merged[id(first)] = FoundDate(first.day, first.precision, first.text, end=second)
            ends.add(id(second))
    return [merged.get(id(f), f) for _, _, f in spans if id(f) not in ends]
