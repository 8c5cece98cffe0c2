"""The App Home tab: a reader's settings as inputs that save on change, and today's top stories.

Pure: ``render_home`` turns plain values into a ``views.publish`` view; ``read_home_action``
turns a ``block_actions`` payload back into the one setting that changed. The Slack adapter
does the I/O around both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    ExternalDataSelectElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from adapters.slack.render import escape_mrkdwn, mrkdwn, mrkdwn_link, sources_line
from bot import untrusted
from bot.commands.grammar import WEEKDAYS
from bot.i18n import Catalog, catalog, phrase
from bot.models import Briefing, Language, SectorDef, StoryEntry

HOME_BLOCKS = 100
"""Slack's block limit for App Home views."""
CHECKBOX_OPTIONS = 10
TOP_STORIES = 8

# Action ids of the settings inputs; the adapter routes every ``home_*`` action here.
SECTORS = "home_sectors"
TIME = "home_time"
ZONE = "home_zone"
DAYS = "home_days"
LANGUAGE = "home_language"
LENGTH = "home_length"
FOLLOW = "home_follow"
MUTE = "home_mute"

PHRASES: Catalog = catalog("slack.home")

LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}


@dataclass(frozen=True, slots=True)
class HomeSettings:
    """A reader's saved preferences, as the Home tab shows them."""

    sectors: tuple[str, ...] = ()
    delivery_time: str = "08:00"
    timezone: str = "UTC"
    days: tuple[str, ...] = ()
    language: Language = "en"
    length: str = "full"
    follow: tuple[str, ...] = ()
    mute: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HomeChange:
    """One setting changed on the Home tab: the ``settings`` parameter and its new value."""

    field: str
    value: Any


def _plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text[:150], emoji=True)


def _option(text: str, value: str) -> Option:
    return Option(text=_plain(text), value=value)


def _sector_picker(settings: HomeSettings, sectors: Sequence[SectorDef]) -> Any:
    lang = settings.language
    options = [_option(s.name(lang)[:75], s.key) for s in sectors]
    chosen = [o for o in options if o.value in settings.sectors] or None
    # Checkboxes hold 10 options at most; a longer sector list gets a multi-select.
    if len(options) <= CHECKBOX_OPTIONS:
        return CheckboxesElement(action_id=SECTORS, options=options, initial_options=chosen)
    return StaticMultiSelectElement(
        action_id=SECTORS,
        placeholder=_plain(phrase(PHRASES, "sectors", lang)),
        options=options[:100],
        initial_options=chosen,
    )


def _select(action_id: str, choices: Mapping[str, str], current: str) -> StaticSelectElement:
    options = [_option(text, value) for value, text in choices.items()]
    initial = next((o for o in options if o.value == current), None)
    return StaticSelectElement(action_id=action_id, options=options, initial_option=initial)


def _keywords_input(action_id: str, label: str, words: Sequence[str]) -> InputBlock:
    return InputBlock(
        block_id=action_id,
        label=_plain(label),
        dispatch_action=True,
        optional=True,
        element=PlainTextInputElement(
            action_id=action_id,
            initial_value=", ".join(words)[:3000] or None,
            dispatch_action_config={"trigger_actions_on": ["on_enter_pressed"]},
        ),
    )


def _story_blocks(entry: StoryEntry, labels: Mapping[str, str]) -> list[Block]:
    return [
        SectionBlock(text=mrkdwn(f"*{mrkdwn_link(entry.title, entry.link)}*")),
        ContextBlock(elements=[mrkdwn(sources_line(entry, labels))]),
    ]


def top_stories(briefing: Briefing | None, limit: int = TOP_STORIES) -> list[StoryEntry]:
    """The leads of the briefing's sections, then their other stories, without repeats."""
    if briefing is None:
        return []
    seen: set[str] = set()
    found: list[StoryEntry] = []
    for entry in [s.lead for s in briefing.sections] + [
        e for s in briefing.sections for e in s.more
    ]:
        if entry.story_key not in seen:
            seen.add(entry.story_key)
            found.append(entry)
    return found[:limit]


def render_home(
    settings: HomeSettings,
    sectors: Sequence[SectorDef],
    briefing: Briefing | None,
    *,
    notice: str | None = None,
) -> dict[str, Any]:
    """The Home tab view (``views.publish``'s ``view``), validated by slack_sdk's models.

    ``notice`` (plain text, such as why a value was not saved) is shown under the title.
    """
    lang = settings.language
    zone = Option(text=_plain(settings.timezone), value=settings.timezone)
    days = [_option(phrase(PHRASES, d, lang), d) for d in WEEKDAYS]
    blocks: list[Block] = [
        HeaderBlock(text=_plain(phrase(PHRASES, "title", lang))),
        ContextBlock(elements=[MarkdownTextObject(text=phrase(PHRASES, "intro", lang))]),
        *(
            [
                SectionBlock(
                    block_id="home_notice",
                    text=MarkdownTextObject(text=f"⚠️ {escape_mrkdwn(untrusted.plain(notice))}"),
                )
            ]
            if notice
            else []
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{phrase(PHRASES, 'sectors', lang)}*\n"
                + phrase(PHRASES, "sectors_hint", lang)
            )
        ),
        ActionsBlock(block_id=SECTORS, elements=[_sector_picker(settings, sectors)]),
        SectionBlock(text=MarkdownTextObject(text=f"*{phrase(PHRASES, 'when', lang)}*")),
        ActionsBlock(
            block_id="home_when",
            elements=[
                TimePickerElement(action_id=TIME, initial_time=settings.delivery_time),
                ExternalDataSelectElement(
                    action_id=ZONE,
                    placeholder=_plain(phrase(PHRASES, "zone_placeholder", lang)),
                    initial_option=zone,
                    min_query_length=2,
                ),
            ],
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{phrase(PHRASES, 'days', lang)}*\n{phrase(PHRASES, 'days_hint', lang)}"
            )
        ),
        ActionsBlock(
            block_id=DAYS,
            elements=[
                CheckboxesElement(
                    action_id=DAYS,
                    options=days,
                    initial_options=[o for o in days if o.value in settings.days] or None,
                )
            ],
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*{phrase(PHRASES, 'language', lang)}*")),
        ActionsBlock(
            block_id="home_style",
            elements=[
                _select(LANGUAGE, LANGUAGE_NAMES, settings.language),
                _select(
                    LENGTH,
                    {
                        "short": phrase(PHRASES, "short", lang),
                        "full": phrase(PHRASES, "full", lang),
                    },
                    settings.length,
                ),
            ],
        ),
        _keywords_input(FOLLOW, phrase(PHRASES, "follow", lang), settings.follow),
        _keywords_input(MUTE, phrase(PHRASES, "mute", lang), settings.mute),
        DividerBlock(),
        HeaderBlock(text=_plain(phrase(PHRASES, "top", lang))),
    ]
    stories = top_stories(briefing)
    if not stories:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=escape_mrkdwn(phrase(PHRASES, "nothing", lang)))
            )
        )
    labels = briefing.labels if briefing is not None else {}
    for entry in stories:
        if len(blocks) + 2 > HOME_BLOCKS:
            break
        blocks += _story_blocks(entry, labels)
    return View(type="home", blocks=blocks).to_dict()


def _keywords(text: str | None) -> list[str]:
    words = [w.strip() for w in (text or "").replace("、", ",").split(",")]
    return list(dict.fromkeys(w[:100] for w in words if w))[:50]


def read_home_action(action: Mapping[str, Any]) -> HomeChange | None:
    """The setting a Home tab ``block_actions`` action changes, or None for an unknown one.

    ``field`` is the name of the ``settings`` command's parameter; the engine checks the value
    with the same parsers as ``/brief settings``.
    """
    action_id = action.get("action_id")
    if action_id in (SECTORS, DAYS):
        values = [str(o["value"]) for o in action.get("selected_options") or []]
        if action_id == DAYS:
            values = [d for d in WEEKDAYS if d in values]
        return HomeChange("sectors" if action_id == SECTORS else "days", values)
    if action_id == TIME:
        return HomeChange("time", action.get("selected_time"))
    if action_id in (ZONE, LANGUAGE, LENGTH):
        selected = action.get("selected_option") or {}
        field = {ZONE: "tz", LANGUAGE: "lang", LENGTH: "length"}[action_id]
        return HomeChange(field, selected.get("value"))
    if action_id in (FOLLOW, MUTE):
        return HomeChange(
            "follow" if action_id == FOLLOW else "mute", _keywords(action.get("value"))
        )
    return None
