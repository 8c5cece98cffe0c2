"""Platform-neutral values that flow through the engine: frozen dataclasses, no I/O.

Ingest produces stored items; classification gives them ``SectorScore``s; clustering turns
``Article``s into ``Story``s; composition turns stories and a ``Profile`` into a ``Briefing``,
which every renderer (text, Slack, Discord) consumes without knowing where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Language = Literal["en", "ja"]
Length = Literal["short", "full"]


@dataclass(frozen=True, slots=True)
class SectorDef:
    """A sector readers can subscribe to. The five defaults are seeded; admins add more."""

    key: str
    name_en: str
    name_ja: str
    keywords: tuple[str, ...] = ()
    """Extra terms (any language) that count for this sector, added by admins."""
    builtin: bool = False
    aliases: tuple[str, ...] = ()
    """Other names readers may type for it (``ロボット``), besides the names and their words."""

    def name(self, language: Language) -> str:
        return self.name_ja if language == "ja" else self.name_en


@dataclass(frozen=True, slots=True)
class SectorScore:
    """How strongly an item belongs to a sector, and why (the terms that matched)."""

    key: str
    score: float
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """One stored item, as the story and briefing layers see it."""

    item_id: int
    feed_id: int
    source: str
    """The publisher's name (the feed title)."""
    title: str
    summary: str
    link: str | None
    published_at: datetime | None
    first_seen_at: datetime
    language: str
    sectors: tuple[SectorScore, ...] = ()
    source_weight: float = 1.0
    embedding: bytes | None = field(default=None, repr=False, compare=False)
    """The stored sentence vector (``bot.briefing.embed.to_blob``), when the worker made one."""

    @property
    def when(self) -> datetime:
        """Publication time, or when we first saw it for undated items."""
        return self.published_at or self.first_seen_at


@dataclass(frozen=True, slots=True)
class Story:
    """Items about one event, from one or more sources. ``articles[0]`` is the lead."""

    key: str
    articles: tuple[Article, ...]
    sectors: tuple[SectorScore, ...]
    """Merged over the articles, best first."""

    @property
    def lead(self) -> Article:
        return self.articles[0]

    @property
    def source_count(self) -> int:
        """Outlets, not feeds: one article carried by two feeds counts once."""
        from bot.briefing.outlets import distinct_sources

        return len(distinct_sources(self.articles))

    @property
    def when(self) -> datetime:
        return min(a.when for a in self.articles)

    def sector_score(self, key: str) -> float:
        return next((s.score for s in self.sectors if s.key == key), 0.0)


@dataclass(frozen=True, slots=True)
class Profile:
    """What one subscriber (a user's DM or a channel) wants in a briefing."""

    sectors: tuple[str, ...]
    language: Language = "en"
    length: Length = "full"
    follow: tuple[str, ...] = ()
    mute: tuple[str, ...] = ()
    timezone: str = "UTC"
    hide: frozenset[str] = frozenset()
    """Stories this reader received already and that have no news since (``bot.stories``)."""
    updates: tuple[tuple[str, str], ...] = ()
    """(story key, what is new) for stories this reader received that have news since."""
    learned: tuple[tuple[str, float], ...] = ()
    """(facet, weight) this reader's votes taught (``bot.stories.learning``)."""


@dataclass(frozen=True, slots=True)
class ReadingLink:
    """An evergreen explainer an admin attached to a sector or a keyword."""

    title: str
    url: str
    sector: str | None = None
    keyword: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    name: str
    url: str | None


@dataclass(frozen=True, slots=True)
class StoryEntry:
    """A story as a briefing shows it."""

    story_key: str
    title: str
    summary: str
    """Trimmed to whole sentences; may be empty."""
    link: str | None
    sources: tuple[SourceRef, ...]
    sectors: tuple[str, ...]
    published_at: datetime | None
    language: str | None = None
    """The shown item's language when a reader may not expect it (neither English nor
    Japanese); the title then starts with its code, "[DE] ..."."""
    why: str = ""
    """One sentence on why it matters (may be empty)."""
    machine_written: bool = False
    """Title, summary and why were written by a language model from the sources."""
    update: str = ""
    """For a story the reader received before: what is new since (empty otherwise)."""

    @property
    def source_count(self) -> int:
        return len(self.sources)


@dataclass(frozen=True, slots=True)
class KeyPoint:
    sector: str
    sector_name: str
    text: str
    story_key: str
    link: str | None
    why: str = ""
    """Why it matters, in the reader's language (may be empty)."""
    machine_written: bool = False


@dataclass(frozen=True, slots=True)
class SectorSection:
    key: str
    name: str
    lead: StoryEntry
    more: tuple[StoryEntry, ...] = ()
    reading: tuple[ReadingLink, ...] = ()
    overview: str = ""
    """A short paragraph on the sector's news (machine-written when the briefing says so)."""


@dataclass(frozen=True, slots=True)
class Synergy:
    """Two or more stories in different sectors that share an entity or theme."""

    sectors: tuple[str, ...]
    sector_names: tuple[str, ...]
    why: str
    """The link argued in the reader's language, naming what the stories share."""
    story: StoryEntry
    """The first story; ``stories`` holds all of them (this one included)."""
    stories: tuple[StoryEntry, ...] = ()
    machine_written: bool = False


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """A story with a forward-looking signal (a plan, launch, decision or deadline)."""

    signal: str
    """The kind of signal, already in the reader's language."""
    story: StoryEntry
    sentence: str = ""
    """The forward-looking sentence itself (from the sources, or machine-written)."""
    due: date | None = None
    """The date it points to, always after the edition."""
    due_text: str = ""
    """``due`` as the reader writes it ("March 2027", "2027年3月")."""
    machine_written: bool = False


@dataclass(frozen=True, slots=True)
class Briefing:
    title: str
    language: Language
    length: Length
    date: date
    generated_at: datetime
    key_points: tuple[KeyPoint, ...] = ()
    sections: tuple[SectorSection, ...] = ()
    synergies: tuple[Synergy, ...] = ()
    watch: tuple[WatchEntry, ...] = ()
    empty_note: str | None = None
    """Set when there is nothing to report, in the reader's language."""
    opening: str = ""
    """Two or three sentences opening the briefing (may be empty)."""
    machine_written: bool = False
    """Some text was written by a language model; renderers say so (``labels["machine"]``)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Fixed phrases for renderers (section headings, "sources", ...), in the reader's language."""

    @property
    def is_empty(self) -> bool:
        return not self.sections
