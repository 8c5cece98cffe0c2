"""Numbers as values: every number a text states, in digits or in words, English or Japanese.

``find_numbers`` reads "2億5000万ドル" and "$250M" as 250,000,000, "九十八万七千六百五十四" and
"nine hundred eighty-seven thousand" as 987,654 and 987,000, "triple" and "3倍" as 3, "second
consecutive month" and "2カ月連続" as 2, "half" and "半数" as 0.5, "March" as 3, full-width
digits as digits, and each end of a range ("3〜5", "3-5") as a number of its own. A number next
to "about", "nearly", "over", "約", "近く", "以上"... is marked approximate. The value 1 ("one",
"a year", "first", "一部") is never held against a text: it is mostly an article, not a figure.

Libraries, chosen over hand-written parsers:

- English number words: ``text2num`` (``alpha2digit``), maintained (3.x, a Rust core with
  wheels), reads compound cardinals, ordinals and decimals in running text. ``word2number``
  (last release 2017) converts only a whole string of number words; ``number-parser`` (2023)
  is slower and less kept.
- Kanji numerals: ``kanjize`` (``kanji2number``, 1.6 in 2025) reads pure kanji
  ("九十八万七千六百五十四"), mixed forms ("2億5000万", "1万7954") and decimals ("1.5億").
  ``japanese-numbers-python`` has had no release since 2020.

Finding where a number is written (digit runs, scale suffixes such as "bn", 万/億/兆 groups,
multiplier and fraction words) stays here; the words are data (``numbers.toml``).
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from kanjize import kanji2number
from text_to_num import alpha2digit

from bot.briefing.editor.dates import MONTH_NAMES

_NUM = r"\d+(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:[.,]\d+)?"
_KANJI = "〇一二三四五六七八九十百千"
_ISO_DATE = re.compile(r"\b(20\d\d)-([01]\d)-([0-3]\d)\b")
_MONTHS_FULL = [m for m in MONTH_NAMES if len(m) > 4 or m in ("may", "june", "july")]
_MONTHS_SHORT = [m for m in MONTH_NAMES if m not in _MONTHS_FULL]
_MONTH = re.compile(
    r"\b(?:(" + "|".join(m.capitalize() for m in _MONTHS_FULL) + r")\b"
    r"|(" + "|".join(m.capitalize() for m in _MONTHS_SHORT) + r")\.?(?=\s+\d))"
)
_JA_NUMBER = re.compile(rf"(?:{_NUM}|[{_KANJI}]+)(?:[万億兆](?:{_NUM}|[{_KANJI}]+)?)+|[{_KANJI}]+")
_JA_TENTHS = re.compile(rf"({_NUM}|[{_KANJI}]+)割")
_JA_PARTS = re.compile(rf"({_NUM}|[{_KANJI}]+)分の({_NUM}|[{_KANJI}]+)")
_DIGITS = re.compile(_NUM)
_PERCENT = re.compile(r"\s*(?:%|percent\b|per\s+cent\b|パーセント|ポイント)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    """A number as written in a text, and the values it may mean."""

    text: str
    values: frozenset[float]
    approximate: bool = False
    percent: bool = False
    fraction: bool = False


@dataclass(frozen=True, slots=True)
class _Words:
    number_words: tuple[str, ...]
    scale_words: Mapping[str, float]
    scale_suffixes: Mapping[str, float]
    currency_only: Mapping[str, float]
    multipliers: Mapping[str, float]
    fractions: Mapping[str, float]
    ja_fractions: Mapping[str, float]
    ja_multipliers: Mapping[str, float]
    approximate: re.Pattern[str]
    not_numbers: re.Pattern[str]


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@functools.cache
def _words() -> _Words:
    text = resources.files("bot.briefing.editor").joinpath("numbers.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    en, ja = data["en"], data["ja"]
    en_markers = _alternation(m for m in en["approximate"] if m.isalpha() or " " in m)
    symbols = _alternation(m for m in en["approximate"] if not (m.isalpha() or " " in m))
    approximate = re.compile(
        rf"(?:\b(?:{en_markers})\b|{symbols}|{_alternation(ja['approximate'])})", re.IGNORECASE
    )
    en_stop = rf"\b(?:{_alternation(en['not_numbers'])})\b"
    return _Words(
        number_words=tuple(en["number_words"]),
        scale_words=en["scale_words"],
        scale_suffixes=en["scale_suffixes"],
        currency_only=en["currency_only_suffixes"],
        multipliers=en["multipliers"],
        fractions=en["fractions"],
        ja_fractions=ja["fractions"],
        ja_multipliers=ja["multipliers"],
        approximate=approximate,
        not_numbers=re.compile(rf"{en_stop}|{_alternation(ja['not_numbers'])}", re.IGNORECASE),
    )


def _plain(token: str) -> float:
    """A digit token's value, English style: "17,954" is 17954, "1,5" (a decimal comma) 1.5."""
    if re.fullmatch(r"\d+(?:,\d{3})+(?:\.\d+)?", token):
        return float(token.replace(",", ""))
    return float(token.replace(",", "."))


def _readings(token: str, source: bool) -> set[float]:
    """The value of a digit token; in a source, every value it may mean ("1,500" may be German
    for 1.5): a translation may read it either way, a written text is read English style."""
    values = {_plain(token)}
    if not source:
        return values
    if re.fullmatch(r"\d{1,3}(?:,\d{3})", token):
        values.add(float(token.replace(",", ".")))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", token):
        values.add(float(token.replace(".", "")))
    return values


def _kanji(token: str) -> float | None:
    try:
        return float(kanji2number(token.replace(",", "")))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _kanji_or_unread(token: str) -> list[float]:
    """A kanji numeral's value; NaN for one kanjize cannot read (held to the sources' text)."""
    value = _kanji(token)
    return [math.nan if value is None else value]


def _english_words(span: str) -> set[float]:
    converted = str(alpha2digit(span, "en", threshold=0))
    return {float(t) for t in re.findall(r"\d+(?:\.\d+)?", converted)}


class _Reader:
    """One pass over a text: each rule takes what it reads and blanks it for the next."""

    def __init__(self, text: str) -> None:
        self.original = unicodedata.normalize("NFKC", text)
        self.text = self.original
        self.found: list[Found] = []

    def take(
        self,
        pattern: re.Pattern[str],
        values: Callable[[re.Match[str]], Iterable[float] | None],
        **flags: bool,
    ) -> None:
        def replace(match: re.Match[str]) -> str:
            read = values(match)
            if read is None:
                return match.group(0)
            if read := frozenset(read):
                self.found.append(self._found(match, read, **flags))
            return " " * len(match.group(0))

        self.text = pattern.sub(replace, self.text)

    def _found(self, match: re.Match[str], values: frozenset[float], **flags: bool) -> Found:
        start, end = match.span()
        before = self.original[max(0, start - 14) : start]
        after = self.original[end : end + 6]
        approximate = _approximate(before, after)
        percent = flags.get("percent", False) or bool(_PERCENT.match(self.original[end:]))
        return Found(
            match.group(0).strip(),
            values,
            approximate=approximate,
            percent=percent,
            fraction=flags.get("fraction", False),
        )


def _approximate(before: str, after: str) -> bool:
    """Whether a marker ends just before the number ("nearly $", "約") or follows it, a counter
    word apart at most ("10万台近く", "1万台以上", "10,000+")."""
    markers = _words().approximate
    end = len(before.rstrip())
    if any(m.end() >= end - 2 for m in markers.finditer(before)):
        return True
    return any(m.start() <= 2 for m in markers.finditer(after))


def _scaled(match: re.Match[str], source: bool) -> list[float] | None:
    words = _words()
    currency, number, scale = match.group(1), match.group(2), match.group(3)
    factor = words.scale_words.get(scale.lower()) or words.scale_suffixes.get(scale)
    if factor is None and currency:
        factor = words.currency_only.get(scale)
    if factor is None:
        return None
    return [v * factor for v in _readings(number, source)]


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    words = _words()
    suffixes = {*words.scale_suffixes, *words.currency_only, *words.scale_words}
    word = f"(?:{_alternation(words.number_words)})"
    after_a = rf"(?:a\s+(?=(?:{_alternation(words.scale_words)}|hundred)\b))"
    return {
        "words": re.compile(
            rf"\b{after_a}?{word}(?:(?:\s+and)?(?:\s+|-){word}|\s+point\s+{word})*\b",
            re.IGNORECASE,
        ),
        "scaled": re.compile(
            rf"([$€£¥]\s?)?({_NUM})\s?({_alternation(suffixes)})(?![A-Za-z0-9])",
            re.IGNORECASE,
        ),
        "multiplier": re.compile(rf"\b(?:{_alternation(words.multipliers)})\b", re.IGNORECASE),
        "fraction": re.compile(rf"\b(?:{_alternation(words.fractions)})\b", re.IGNORECASE),
        "ja_fraction": re.compile(_alternation({**words.ja_fractions, **words.ja_multipliers})),
    }


def _ja_tenths(match: re.Match[str]) -> list[float] | None:
    value = _kanji(match.group(1))
    return None if value is None else [value / 10]


def _ja_parts(match: re.Match[str]) -> list[float] | None:
    whole, part = _kanji(match.group(1)), _kanji(match.group(2))
    return None if not whole or part is None else [part / whole]


def find_numbers(text: str, *, source: bool = False) -> list[Found]:
    """Every number ``text`` states, with its possible values (all readings for a source)."""
    words = _words()
    patterns = _patterns()
    reader = _Reader(text)
    reader.take(words.not_numbers, lambda m: ())
    reader.take(_ISO_DATE, lambda m: [float(g) for g in m.groups()])
    reader.take(patterns["scaled"], lambda m: _scaled(m, source))
    reader.take(
        patterns["fraction"],
        lambda m: [float(words.fractions[m.group(0).lower()])],
        fraction=True,
    )
    reader.take(patterns["multiplier"], lambda m: [float(words.multipliers[m.group(0).lower()])])
    reader.take(patterns["words"], lambda m: _english_words(m.group(0)))
    reader.take(
        _MONTH,
        lambda m: [float(MONTH_NAMES[(m.group(1) or m.group(2)).lower()])],
    )
    every_ja = {**words.ja_fractions, **words.ja_multipliers}
    reader.take(
        patterns["ja_fraction"],
        lambda m: [float(every_ja[m.group(0)])],
        fraction=True,
    )
    reader.take(_JA_TENTHS, _ja_tenths, fraction=True)
    reader.take(_JA_PARTS, _ja_parts, fraction=True)
    reader.take(_JA_NUMBER, lambda m: _kanji_or_unread(m.group(0)))
    reader.take(_DIGITS, lambda m: _readings(m.group(0), source))
    return reader.found


@dataclass(frozen=True, slots=True)
class Stated:
    """What some source texts state: their numbers' values, and the tokens as written."""

    values: frozenset[float]
    tokens: frozenset[str]


def stated(texts: Iterable[str]) -> Stated:
    """The values ``texts`` state; a percentage also states its fraction, and back."""
    values: set[float] = set()
    tokens: set[str] = set()
    for text in texts:
        for found in find_numbers(text, source=True):
            tokens.add(found.text)
            values |= found.values
            if found.percent:
                values |= {v / 100 for v in found.values}
            if found.fraction:
                values |= {v * 100 for v in found.values}
    return Stated(frozenset(values), frozenset(tokens))


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _rounded(value: float, stated_value: float) -> bool:
    """Whether ``value`` is ``stated_value`` rounded to ``value``'s precision (within 10%)."""
    if value <= 0 or abs(value - stated_value) > 0.1 * value:
        return False
    digits = Decimal(repr(value)).normalize().as_tuple()
    step = 10.0 ** int(digits.exponent)  # 18000 -> 1000, 6.5 -> 0.1
    return _same(round(stated_value / step) * step, value)


def is_grounded(found: Found, sources: Stated) -> bool:
    """Whether ``found`` states a value of ``sources`` (or rounds one, when approximate)."""
    values = {v for v in found.values if not math.isnan(v)}
    if not values:
        return found.text in sources.tokens
    if all(_same(v, 1.0) for v in values):
        return True
    for value in values:
        if any(_same(value, s) for s in sources.values):
            return True
        if found.approximate and any(_rounded(value, s) for s in sources.values):
            return True
    return False


__all__ = ["Found", "Stated", "find_numbers", "is_grounded", "stated"]
