"""Sentences as readers see them: splitting and trimming (pure); dates are in ``bot.i18n``."""

from __future__ import annotations

import re

from bot.briefing.editor.dates import MONTH_NAMES

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "jr",
        "sr",
        "st",
        "no",
        "fig",
        "approx",
        "est",
        "dept",
        "gov",
    ]
)
_MONTHS = frozenset(MONTH_NAMES)
"""A month ends no sentence before its day: "effective from November. 10", "Jan. 5"."""
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_JA_ENDS = "。！？"
_EN_ENDS = ".!?"
_CLOSERS = "」』）)]\"'”’"


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: Japanese ends at 。！？, English at .!? before a space or the end.

    "U.S.", "Dr." and "3.5" do not end an English sentence; quotes and brackets that close a
    sentence stay with it.
    """
    sentences: list[str] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        char = text[i]
        if char in _JA_ENDS or char in _EN_ENDS:
            j = i + 1
            while j < n and (text[j] in _JA_ENDS or text[j] in _EN_ENDS or text[j] in _CLOSERS):
                j += 1
            if char in _EN_ENDS and j < n and not text[j].isspace():
                i = j
                continue
            if char == ".":
                before = text[start:i].split()
                word = before[-1] if before else ""
                if (
                    word.lower() in _ABBREVIATIONS
                    or _INITIALS.fullmatch(word)
                    or (len(word) == 1 and word.isupper())
                    or (word.lower() in _MONTHS and text[j + 1 : j + 2].isdigit())
                ):
                    i = j
                    continue
            sentence = text[start:j].strip()
            if sentence:
                sentences.append(sentence)
            start = i = j
            continue
        i += 1
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_sentence(sentence: str) -> bool:
    return sentence.rstrip(_CLOSERS)[-1:] in _JA_ENDS + _EN_ENDS


def cut(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary (any character for Japanese) with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:、") + "…"


def trim_summary(text: str, *, max_sentences: int, max_chars: int) -> str:
    """At most ``max_sentences`` whole sentences of ``text`` within ``max_chars``.

    An unfinished trailing fragment (a feed that cut its summary mid-sentence) is dropped when
    a whole sentence precedes it; a first sentence longer than ``max_chars`` is cut at a word
    with an ellipsis rather than shown whole.
    """
    if max_sentences <= 0 or max_chars <= 0:
        return ""
    sentences = split_sentences(" ".join(text.split()))
    if not sentences:
        return ""
    if len(sentences) > 1 and not _ends_sentence(sentences[-1]):
        sentences.pop()
    kept: list[str] = []
    length = 0
    for sentence in sentences[:max_sentences]:
        joined = length + len(sentence) + (1 if kept else 0)
        if joined > max_chars:
            break
        kept.append(sentence)
        length = joined
    if not kept:
        return cut(sentences[0], max_chars)
    spaced = " ".join(kept)
    # Japanese sentences follow each other without a space.
    return re.sub(r"(?<=[。！？」』）]) (?=\S)", "", spaced)
