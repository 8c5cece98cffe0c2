"""The editor's fixed phrases in both languages, and the sentences built from them (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.briefing.editor.base import SynergyItem
from bot.briefing.editor.entities import story_entities
from bot.briefing.editor.extractive import day_theme
from bot.briefing.editor.text import cut
from bot.i18n import Catalog, phrase
from bot.models import Language, SectorDef, Story

PHRASES: Catalog = {
    "title": {"en": "Briefing for {date}: {headline}", "ja": "{date}のブリーフィング：{headline}"},
    "title_theme": {"en": "Briefing for {date}: {theme}", "ja": "{date}のブリーフィング：{theme}"},
    "title_about": {
        "en": "Briefing for {date}: {theme} across {sectors}",
        "ja": "{date}のブリーフィング：{sectors}にまたがる{theme}",
    },
    "title_about_one": {
        "en": "Briefing for {date}: {theme} in {sectors}",
        "ja": "{date}のブリーフィング：{sectors}の{theme}",
    },
    "synergy_organisation": {
        "en": "{thing} appears in news from {sectors}: the same company is behind both moves.",
        "ja": "{sectors}のニュースにいずれも{thing}が登場します。"
        "同じ企業が複数の分野で動いています。",
    },
    "synergy_material": {
        "en": "News from {sectors} turns on the same material, {thing}.",
        "ja": "{sectors}のニュースが、同じ素材である{thing}を軸にしています。",
    },
    "synergy_technology": {
        "en": "News from {sectors} involves the same technology, {thing}.",
        "ja": "{sectors}のニュースが、いずれも{thing}という同じ技術に関わっています。",
    },
    "synergy_place": {
        "en": "News from {sectors} comes from the same place, {thing}.",
        "ja": "{sectors}のニュースが、いずれも{thing}での動きです。",
    },
    "machine": {
        "en": "Summaries written by a language model from the linked sources",
        "ja": "要約は言語モデルがリンク先の情報源をもとに作成しました",
    },
    "machine_short": {"en": "AI summary", "ja": "AI要約"},
    "signal_deadline": {"en": "Deadline", "ja": "期限"},
    "signal_decision": {"en": "Decision due", "ja": "判断・決定待ち"},
    "signal_announcement": {"en": "Announcement due", "ja": "発表予定"},
    "signal_launch": {"en": "Launch or start", "ja": "開始・投入"},
    "signal_plan": {"en": "Plan", "ja": "計画"},
    "signal_outlook": {"en": "Outlook", "ja": "見通し"},
    "signal_upcoming": {"en": "Coming up", "ja": "今後の予定"},
    "list_and": {"en": " and ", "ja": "と"},
    "list_comma": {"en": ", ", "ja": "、"},
}


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
