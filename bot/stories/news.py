"""What a story says now that it did not when a reader received it: outlets, figures, languages.

A snapshot is kept per reader and story when a digest goes out. The next digest compares: a
story with nothing new is left out; one with new outlets, new numbers or dates, or a report in a
new language comes back as an update that says which.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.briefing.outlets import distinct_sources
from bot.i18n import Catalog, catalog, phrase
from bot.models import Language, Story

PHRASES: Catalog = catalog("stories")

_FIGURE = re.compile(
    r"\d+(?:[.,]\d+)*(?:\s?(?:%|[A-Za-z]{1,5}\b|万|億|兆|円|ドル|件|台|人|年|月|日))?"
)
_LANGUAGE_NAMES = {"en": ("English", "英語"), "ja": ("Japanese", "日本語")}
Snapshot = dict[str, list[str]]


def figures(text: str) -> list[str]:
    """Numbers and dates as written (with their unit), normalised for comparison."""
    norm = unicodedata.normalize("NFKC", text)
    return sorted({m.group(0).replace(" ", "") for m in _FIGURE.finditer(norm)})


def snapshot(story: Story) -> Snapshot:
    """What the story says now, as a reader would notice a change."""
    text = " ".join(f"{a.title} {a.summary or ''}" for a in story.articles)
    return {
        "outlets": sorted({a.source for a in distinct_sources(story.articles)}),
        "figures": figures(text),
        "languages": sorted({a.language for a in story.articles if a.language}),
    }


@dataclass(frozen=True, slots=True)
class News:
    outlets: tuple[str, ...]
    figures: tuple[str, ...]
    languages: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.outlets or self.figures or self.languages)


def news_since(before: Snapshot, now: Snapshot) -> News:
    """What ``now`` has that ``before`` had not."""

    def new(field: str) -> tuple[str, ...]:
        seen = set(before.get(field, []))
        return tuple(x for x in now.get(field, []) if x not in seen)

    return News(outlets=new("outlets"), figures=new("figures"), languages=new("languages"))


def update_note(news: News, language: Language) -> str:
    """One line that says what is new, in the reader's language."""
    parts = []
    if news.outlets:
        names = ", ".join(news.outlets) if language == "en" else "、".join(news.outlets)
        parts.append(phrase(PHRASES, "new_outlets", language, n=len(news.outlets), names=names))
    if news.figures:
        shown = ", ".join(news.figures[:4]) if language == "en" else "、".join(news.figures[:4])
        parts.append(phrase(PHRASES, "new_figures", language, figures=shown))
    if news.languages:
        index = 0 if language == "en" else 1
        names = ", ".join(_LANGUAGE_NAMES.get(x, (x, x))[index] for x in news.languages)
        parts.append(phrase(PHRASES, "new_languages", language, languages=names))
    separator = "; " if language == "en" else "。"
    return phrase(PHRASES, "update", language, news=separator.join(parts))
