"""The editor stage: between ranking and composition, once per edition and language.

An editor reads an ``Edition`` (the stories of one period, ranked per sector) and writes, for
each language its readers use, an ``EditionText``: story texts, synergies, things to watch, a
theme. ``BriefingContext.compose`` then only picks from it per reader, so a story is written once
per language, never once per reader. A story text or a title an editor leaves out is filled
by the extractive editor, which needs no model and never fails; synergies and watch items are
an editor's own once it frames the edition, and extractive only for an edition it did not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from bot.briefing.editor.dates import last_day
from bot.briefing.editor.entities import Entity
from bot.models import Language, SectorDef, Story


@dataclass(frozen=True, slots=True)
class Edition:
    """What an editor reads: the edition's stories, each sector's ranking, each story's home."""

    stories: Mapping[str, Story]
    sectors: Mapping[str, SectorDef]
    now: datetime
    ranked: Mapping[str, tuple[str, ...]]
    """Story keys per sector, best first (every story that counts for the sector)."""
    home: Mapping[str, str]
    """The sector each story fits best (among known sectors)."""
    base: Mapping[str, float]
    """Each story's reader-independent score in its home sector."""

    def top(self, per_sector: int) -> list[str]:
        """The best ``per_sector`` stories of every sector (each once), sector by sector."""
        keys: dict[str, None] = {}
        for ranked in self.ranked.values():
            keys.update((k, None) for k in ranked[:per_sector])
        return list(keys)


@dataclass(frozen=True, slots=True)
class StoryText:
    """A story as written for one language."""

    headline: str
    summary: str
    why: str = ""
    machine_written: bool = False


@dataclass(frozen=True, slots=True)
class WatchItem:
    """A forward-looking sentence of a story and the date it names (after the edition)."""

    story_key: str
    kind: str
    """Signal kind: deadline, decision, announcement, launch, plan, outlook, upcoming."""
    sentence: str
    due: date
    precision: str
    """"day", "month", "year" or "fiscal_year": how precisely the sentence names the date."""
    machine_written: bool = False

    @property
    def by(self) -> date:
        """The last day the date covers: "2027" is all of 2027, so it comes after "15 January
        2027" in a list a reader reads as a calendar."""
        return last_day(self.due, self.precision)

    @property
    def firm(self) -> bool:
        """Whether a reader can put it in a calendar: a deadline, a decision or an announcement
        due, or a day or month named ("a plan for 2030" is not)."""
        return self.kind in ("deadline", "decision", "announcement") or self.precision in (
            "day",
            "month",
        )


@dataclass(frozen=True, slots=True)
class SynergyItem:
    """Stories in different sectors that share an entity or theme."""

    story_keys: tuple[str, ...]
    sectors: tuple[str, ...]
    """The home sector of each story, in the same order."""
    shared: tuple[Entity, ...]
    why: str = ""
    """The argued link in the edition text's language; empty: the extractive sentence."""
    machine_written: bool = False


@dataclass(slots=True)
class EditionText:
    """One language's writing for an edition; empty parts fall back to extractive text.

    ``synergies`` and ``watch`` are None when the editor did not frame the edition (the
    extractive ones are used); a tuple, even an empty one, is all there is.
    """

    language: Language
    stories: dict[str, StoryText] = field(default_factory=dict)
    synergies: tuple[SynergyItem, ...] | None = None
    watch: tuple[WatchItem, ...] | None = None
    theme: str = ""
    opening: str = ""
    theme_sectors: frozenset[str] = frozenset()
    """The sectors the theme and opening speak about: only readers of all of them get them."""
    sector_notes: dict[str, str] = field(default_factory=dict)


class Editor(Protocol):
    """Writes an edition's text; implementations: ``ExtractiveEditor``, ``LLMEditor``."""

    name: str

    async def write(
        self, edition: Edition, languages: Sequence[Language]
    ) -> dict[Language, EditionText]:
        """The text of ``edition`` for each of ``languages`` (never raises for a bad model)."""
        ...
