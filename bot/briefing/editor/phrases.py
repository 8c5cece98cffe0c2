"""The editor's fixed phrases in both languages, and the sentences built from them (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.briefing.editor.base import SynergyItem
from bot.briefing.editor.entities import story_entities
from bot.briefing.editor.extractive import day_theme
from bot.briefing.editor.text import cut
from bot.i18n import Catalog, catalog, phrase
from bot.models import Language, SectorDef, Story

PHRASES: Catalog = catalog("editor")


def join(items: Sequence[str], language: Language) -> str:
    """``items`` as a reader lists them: "a, b and c" or "a、bとc"."""
    if len(items) <= 1:
        return "".join(items)
    comma = phrase(PHRASES, "list_comma", language)
    return comma.join(items[:-1]) + phrase(PHRASES, "list_and", language) + items[-1]


def synergy_reason(item: SynergyItem, sectors: Mapping[str, SectorDef], language: Language) -> str:
    """Why the stories of ``item`` belong together, naming what they share, in ``language``."""
    names = [sectors[s].name(language) for s in dict.fromkeys(item.sectors)]
    entity = item.shared[0]
    return phrase(
        PHRASES,
        f"synergy_{entity.kind}",
        language,
        sectors=join(names, language),
        thing=entity.name(language),
    )


def theme_title(
    shown: Sequence[tuple[str, Story]],
    headline: str,
    date_text: str,
    sectors: Mapping[str, SectorDef],
    language: Language,
) -> str:
    """The title: the day's theme (what most shown stories share), else the top headline."""
    theme = day_theme(shown)
    if theme is None:
        return phrase(PHRASES, "title", language, date=date_text, headline=cut(headline, 90))
    name = theme.name(language)
    if language == "en" and theme.kind != "organisation":
        name = name[:1].upper() + name[1:]
    about = [key for key, story in shown if theme in story_entities(story)]
    names = [sectors[k].name(language) for k in dict.fromkeys(about)]
    return phrase(
        PHRASES,
        "title_about" if len(names) > 1 else "title_about_one",
        language,
        date=date_text,
        theme=name,
        sectors=join(names, language),
    )
