"""Grounded, or not shown: checks on every piece of machine-written text (pure).

A number, amount, percentage or date in generated text must appear in the sources of the story
it is about; text that carries a link or a mention is refused whatever it says. Numbers are
compared after normalising digits (full-width included), thousands separators and trailing
zeros, and month names count as their numbers, so a Japanese "3月" is grounded by an English
"March" and a translated "410 MWh" by "410MWh".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.briefing.editor.dates import MONTH_NAMES

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MONTHS = MONTH_NAMES
_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b")
_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100,
    "dozen": 12, "half": 50, "twice": 2, "double": 2,
}  # fmt: skip
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b")
_KANJI = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_UNSAFE = re.compile(
    r"https?:|www\.|\]\(|<[!@#]|@(?:everyone|here|channel)\b|@\w|\b[\w-]+\.(?:com|net|org|io|"
    r"example|jp|co)\b",
    re.IGNORECASE,
)


def _canonical(token: str) -> str:
    token = token.replace(",", "")
    if "." in token:
        token = token.rstrip("0").rstrip(".")
    return token.lstrip("0") or "0"


def numbers(text: str, *, source: bool = False) -> set[str]:
    """The numbers ``text`` states, normalised; month names count as their month number.

    Sources also count their number words ("two months", "十年") so a translation may write
    them as digits; generated text is held to digits and month names.
    """
    norm = unicodedata.normalize("NFKC", text).casefold()
    found = {_canonical(t) for t in _NUMBER.findall(norm)}
    # "1.5" also grounds "1,5" (European decimals) and vice versa: compare digit runs too.
    found |= {_canonical(t) for t in re.findall(r"\d+", norm)}
    found |= {str(_MONTHS[m]) for m in _MONTH_WORD.findall(norm)}
    if source:
        found |= {str(_WORDS[w]) for w in _NUMBER_WORD.findall(norm)}
        found |= {str(v) for k, v in _KANJI.items() if k in norm}
    return found


def ungrounded(generated: str, sources: Iterable[str]) -> set[str]:
    """Numbers and months in ``generated`` that none of ``sources`` states."""
    stated: set[str] = set()
    for text in sources:
        stated |= numbers(text, source=True)
    norm = unicodedata.normalize("NFKC", generated).casefold()
    wanted = {_canonical(t) for t in _NUMBER.findall(norm)}
    wanted |= {str(_MONTHS[m]) for m in _MONTH_WORD.findall(norm)}
    missing = set()
    for token in wanted:
        if token in stated:
            continue
        # "1,000" or "3.5" written by the model: accept if each digit run is stated.
        if all(_canonical(part) in stated for part in re.findall(r"\d+", token)):
            continue
        missing.add(token)
    return missing


def unsafe(generated: str) -> bool:
    """Whether ``generated`` carries a link, a domain or a mention (never shown, whatever)."""
    return bool(_UNSAFE.search(unicodedata.normalize("NFKC", generated)))


def check(pieces: Iterable[str], sources: Iterable[str]) -> str | None:
    """Why ``pieces`` of generated text may not be shown (None: they may).

    Returns:
        "unsafe" for a link or mention, "ungrounded" for a number or date not in ``sources``.
    """
    texts = list(sources)
    for piece in pieces:
        if unsafe(piece):
            return "unsafe"
        if ungrounded(piece, texts):
            return "ungrounded"
    return None
