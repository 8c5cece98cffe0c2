"""The editor's fixed phrases in both languages, and the sentences built from them (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.briefing.editor.base import SynergyItem
from bot.briefing.editor.dates import is_japanese
from bot.briefing.editor.extractive import day_theme, shown_article
from bot.briefing.editor.text import cut
from bot.i18n import Catalog, catalog, phrase
from bot.models import Language, Story

PHRASES: Catalog = catalog("editor")


def join(items: Sequence[str], language: Language) -> str:
    """``items`` as a reader lists them: "a, b and c" or "a、bとc"."""
    if len(items) <= 1:
        return "".join(items)
    comma = phrase(PHRASES, "list_comma", language)
    return comma.join(items[:-1]) + phrase(PHRASES, "list_and", language) + items[-1]


def synergy_reason(item: SynergyItem, language: Language) -> str:
    """What the stories of ``item`` share, in ``language``: a fact, never a cause."""
    return phrase(
        PHRASES,
        "synergy_two" if len(item.story_keys) == 2 else "synergy_many",
        language,
        thing=item.shared[0].name(language),
        n=len(item.story_keys),
    )


def theme_title(
    shown: Sequence[tuple[str, Story]], headline: str, date_text: str, language: Language
) -> str:
    """The title: the day's most covered story or subject, else the first key point's headline
    when it is in the reader's language, else the date alone.

    Args:
        shown: (sector, story) for every story the reader's sections show.
        headline: The first key point's headline (the fallback).
        date_text: The briefing's date as the reader reads it.
        language: The reader's language.
    """
    theme = day_theme(shown, language)
    if theme is not None and theme.subject is not None:
        return phrase(
            PHRASES,
            "title_subject",
            language,
            date=date_text,
            theme=theme.subject.name(language),
        )
    if theme is not None and theme.story is not None:
        headline = shown_article(theme.story, language).title
    if is_japanese(headline) != (language == "ja"):
        # A headline in the other language is no title for this reader: the date alone says
        # less and nothing foreign.
        return phrase(PHRASES, "title_date", language, date=date_text)
    return phrase(PHRASES, "title", language, date=date_text, headline=cut(headline, 120))
