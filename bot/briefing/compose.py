"""Compose a reader's briefing from stories: pure, no I/O, in the reader's language.

``compose_briefing`` is the simple entry point. Delivering to many subscribers uses
``BriefingContext``: ``prepare`` clusters (when given articles), ranks every sector, finds the
cross-sector and forward-looking candidates and caches keyword matches once; ``compose(profile)``
then only filters and re-weighs a handful of candidates per reader. Both give the same briefing.

The words come from the editor stage (``bot.briefing.editor``): ``BriefingContext.edit`` runs an
editor once per edition and language; whatever it did not write (or when none ran) is extractive
text, in the feed's own language, while our fixed phrases (``CATALOG``) follow the reader.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from datetime import date as date_type
from functools import cached_property, partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.briefing.cluster import cluster_articles
from bot.briefing.editor.base import Edition, EditionText, Editor, SynergyItem, WatchItem
from bot.briefing.editor.extractive import (
    choose_key_points,
    find_synergies,
    find_watch,
    reads,
)
from bot.briefing.editor.phrases import PHRASES, join, synergy_reason, theme_title
from bot.briefing.editor.text import split_sentences, trim_summary
from bot.briefing.entries import marked_sentence, story_entry
from bot.briefing.rank import base_score, follow_boost, keyword_pattern, story_text
from bot.briefing.spread import spread_over_feeds
from bot.i18n import Catalog, catalog, format_date, format_due, phrase
from bot.models import (
    Article,
    Briefing,
    KeyPoint,
    Language,
    Profile,
    ReadingLink,
    SectorDef,
    SectorSection,
    Story,
    StoryEntry,
    Synergy,
    WatchEntry,
)
from bot.stories import taste

__all__ = ["BriefingContext", "compose_briefing", "split_sentences", "trim_summary"]

log = logging.getLogger(__name__)

CATALOG: Catalog = {**catalog("briefing"), **PHRASES}
CATALOG_STORIES: Catalog = catalog("stories")

LABEL_KEYS = (
    "key_points",
    "by_sector",
    "more",
    "related_reading",
    "synergies",
    "watch",
    "sources",
    "sources_one",
    "sources_many",
    "list_separator",
    "read",
    "empty_heading",
    "machine",
    "machine_short",
)
"""The catalog entries handed to renderers in ``Briefing.labels`` ("sources_many" has ``{n}``)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each part a briefing length shows."""

    more: int
    lead_sentences: int
    lead_chars: int
    more_sentences: int
    more_chars: int
    synergies: int
    watch: int
    reading: int


LIMITS: Mapping[str, Limits] = {
    "short": Limits(
        more=1,
        lead_sentences=1,
        lead_chars=220,
        more_sentences=0,
        more_chars=0,
        synergies=1,
        watch=2,
        reading=1,
    ),
    "full": Limits(
        more=4,
        lead_sentences=3,
        lead_chars=480,
        more_sentences=1,
        more_chars=220,
        synergies=3,
        watch=5,
        reading=3,
    ),
}

KEY_POINTS = 3
MIN_SECTOR_SCORE = 0.1
"""A story counts for a sector from this score (classifier scores run from 0 to 1)."""


def briefing_date(now: datetime, timezone: str) -> date_type:
    """The reader's calendar day at ``now`` (UTC for an unknown zone)."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    try:
        zone: ZoneInfo | None = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return aware.astimezone(zone or UTC).date()


@dataclass(frozen=True, slots=True)
class _Candidate:
    story: Story
    base: float
    timestamp: float
    scores: Mapping[str, float]

    @classmethod
    def of(cls, story: Story, base: float) -> _Candidate:
        return cls(story, base, story.when.timestamp(), {s.key: s.score for s in story.sectors})


class BriefingContext:
    """Work shared by every subscriber's briefing for one edition: build with ``prepare``."""

    def __init__(
        self,
        *,
        stories: Sequence[Story],
        sectors: Mapping[str, SectorDef],
        reading: Sequence[ReadingLink],
        now: datetime,
        min_sector_score: float = MIN_SECTOR_SCORE,
    ) -> None:
        """Rank and index ``stories``; prefer ``prepare``, which also accepts articles."""
        self.now = now
        self.sectors = dict(sectors)
        self.archived: Mapping[str, int] = {}
        """Archive items stored in the window, per sector (set by ``load_edition``)."""
        self.reading = tuple(reading)
        self.min_sector_score = min_sector_score
        self.stories = {s.key: s for s in stories}
        self._text = {s.key: story_text(s) for s in stories}
        self._keyword_hits: dict[str, frozenset[str]] = {}
        self._entries: dict[tuple[str, Language, str, str], StoryEntry] = {}
        self._ranked: dict[str, list[_Candidate]] = {}
        for key in self.sectors:
            ranked = []
            for story in stories:
                relevance = story.sector_score(key)
                if relevance >= min_sector_score:
                    base = base_score(story, now, relevance=relevance)
                    ranked.append(_Candidate.of(story, base))
            ranked.sort(key=self._order)
            self._ranked[key] = ranked
        home: dict[str, str] = {}
        base_of: dict[str, float] = {}
        for story in stories:
            known = [s for s in story.sectors if s.key in self.sectors]
            if known and known[0].score >= min_sector_score:
                home[story.key] = known[0].key
                base_of[story.key] = base_score(story, now, relevance=known[0].score)
        self.edition = Edition(
            stories=self.stories,
            sectors=self.sectors,
            now=now,
            ranked={k: tuple(c.story.key for c in r) for k, r in self._ranked.items()},
            home=home,
            base=base_of,
        )
        self._written: dict[Language, EditionText] = {}
        self.editor_name = "extractive"

    @staticmethod
    def _order(candidate: _Candidate) -> tuple[float, float, str]:
        return (-candidate.base, -candidate.timestamp, candidate.story.key)

    @classmethod
    def prepare(
        cls,
        stories: Iterable[Story | Article],
        sectors: Mapping[str, SectorDef],
        reading: Sequence[ReadingLink],
        now: datetime,
        *,
        min_sector_score: float = MIN_SECTOR_SCORE,
    ) -> BriefingContext:
        """Do the per-edition work once: cluster loose articles, rank each sector, index.

        Args:
            stories: Stories, or articles still to cluster (or a mix).
            sectors: Every known sector by key (names in both languages).
            reading: Explainer links attached to sectors or keywords.
            now: The edition's reference time.
            min_sector_score: Score from which a story counts for a sector.
        """
        items = list(stories)
        ready = [s for s in items if isinstance(s, Story)]
        loose = [a for a in items if isinstance(a, Article)]
        if loose:
            ready.extend(cluster_articles(loose))
        return cls(
            stories=ready,
            sectors=sectors,
            reading=reading,
            now=now,
            min_sector_score=min_sector_score,
        )

    async def edit(self, editor: Editor, languages: Iterable[Language]) -> None:
        """Let ``editor`` write this edition once for each of ``languages`` (before composing).

        An editor that fails leaves the extractive text in place: a digest never waits on it.
        """
        wanted = [lang for lang in dict.fromkeys(languages) if lang not in self._written]
        if not wanted:
            return
        try:
            written = await editor.write(self.edition, wanted)
        except Exception:  # an editor bug must not cost anyone their digest
            log.exception("editor %s failed; extractive text is used", editor.name)
            return
        self._written.update(written)
        self.editor_name = editor.name
        self._entries.clear()  # entries composed before were extractive

    @cached_property
    def _extractive_synergies(self) -> tuple[SynergyItem, ...]:
        return find_synergies(self.edition)

    @cached_property
    def _extractive_watch(self) -> tuple[WatchItem, ...]:
        return find_watch(self.edition)

    def keyword_hits(self, keyword: str) -> frozenset[str]:
        """Keys of the stories whose titles or summaries contain ``keyword`` (cached)."""
        hits = self._keyword_hits.get(keyword)
        if hits is None:
            pattern = keyword_pattern(keyword)
            hits = (
                frozenset()
                if pattern is None
                else frozenset(k for k, text in self._text.items() if pattern.search(text))
            )
            self._keyword_hits[keyword] = hits
        return hits

    @staticmethod
    def _top(
        ranked: Sequence[_Candidate],
        n: int,
        accept: Callable[[_Candidate], bool],
        boost_of: Callable[[Story], float],
        max_boost: float,
    ) -> list[tuple[float, Story]]:
        """The ``n`` best accepted stories of ``ranked`` (best base score first) after boosts.

        Exact without scoring everything: the scan stops once even the largest follow boost
        could not lift the next base score above the ``n``-th best score found so far.
        """
        best: list[tuple[tuple[float, float, str], float, Story]] = []
        for candidate in ranked:
            if len(best) >= n and candidate.base * max_boost < best[-1][1]:
                break
            if not accept(candidate):
                continue
            story = candidate.story
            score = candidate.base * boost_of(story) if max_boost > 1.0 else candidate.base
            order = (-score, -candidate.timestamp, story.key)
            if len(best) < n or order < best[-1][0]:
                best.append((order, score, story))
                best.sort(key=lambda entry: entry[0])
                del best[n:]
        return [(score, story) for _, score, story in best]

    def _entry(self, story: Story, language: Language, role: str, limits: Limits) -> StoryEntry:
        length_key = f"{limits.lead_chars}/{limits.more_chars}"
        cache_key = (story.key, language, role, length_key)
        cached = self._entries.get(cache_key)
        if cached is not None:
            return cached
        written = self._written.get(language)
        entry = story_entry(
            story,
            language,
            text=written.stories.get(story.key) if written is not None else None,
            lead=role == "lead",
            sentences=limits.lead_sentences if role == "lead" else limits.more_sentences,
            chars=limits.lead_chars if role == "lead" else limits.more_chars,
            sectors=(
                s.key
                for s in story.sectors
                if s.key in self.sectors and s.score >= self.min_sector_score
            ),
        )
        self._entries[cache_key] = entry
        return entry

    def _readable(self, story: Story, language: Language) -> bool:
        """Whether a reader of ``language`` gets ``story`` in that language."""
        written = self._written.get(language)
        return reads(story, language) or (written is not None and story.key in written.stories)

    def _reading_for(
        self, key: str, stories: Sequence[Story], limit: int
    ) -> tuple[ReadingLink, ...]:
        found: dict[str, ReadingLink] = {}
        for link in self.reading:
            if len(found) >= limit:
                break
            if link.url in found:
                continue
            if link.sector == key:
                found[link.url] = link
            elif link.keyword:
                hits = self.keyword_hits(link.keyword)
                if any(s.key in hits for s in stories):
                    found[link.url] = link
        return tuple(found.values())

    def _parts(self, language: Language) -> tuple[list[SynergyItem], list[WatchItem]]:
        """Synergies and watch items for ``language``: the editor's when it framed the edition
        (synergies even none; an empty watch list takes the quoted ones), else extractive."""
        written = self._written.get(language) or EditionText(language)
        synergies = self._extractive_synergies if written.synergies is None else written.synergies
        return list(synergies), list(written.watch or self._extractive_watch)

    def compose(self, profile: Profile, *, date: date_type | None = None) -> Briefing:
        """The briefing for ``profile`` from the prepared stories and the edition's text."""
        language: Language = "ja" if profile.language == "ja" else "en"
        limits = LIMITS.get(profile.length, LIMITS["full"])
        day = date or briefing_date(self.now, profile.timezone)
        subscribed = [k for k in dict.fromkeys(profile.sectors) if k in self.sectors]
        written = self._written.get(language)
        # Look the reader's keywords up lazily: a popular keyword can match thousands of
        # stories, and only the few near the top of each list are ever asked about.
        mute_hits = [self.keyword_hits(k) for k in dict.fromkeys(profile.mute)]
        follow_hits = [self.keyword_hits(k) for k in dict.fromkeys(profile.follow)]

        updates = dict(profile.updates)

        def muted(story: Story) -> bool:
            # Hidden too: received before with nothing new since (bot.stories).
            return story.key in profile.hide or any(story.key in hits for hits in mute_hits)

        def reader_entry(story: Story, role: str) -> StoryEntry:
            shown = self._entry(story, language, role, limits)
            note = updates.get(story.key)
            if not note:
                return shown
            mark = phrase(CATALOG_STORIES, "update_mark", language)
            return replace(
                shown,
                title=f"{mark}: {shown.title}",
                summary=f"{note} {shown.summary}".strip(),
                update=note,
            )

        learned = dict(profile.learned)

        def boost(story: Story) -> float:
            followed = follow_boost(sum(1 for hits in follow_hits if story.key in hits))
            if not learned:
                return followed
            return followed * taste.factor(learned, taste.story_facets(story))

        # The largest boost this reader can give bounds how far down each list to look.
        max_boost = follow_boost(len(follow_hits)) * (taste.MAX_FACTOR if learned else 1.0)
        rank_of = {k: i for i, k in enumerate(subscribed)}

        def home(candidate: _Candidate) -> str:
            # A story shows once, in the reader's sector it fits best.
            scores = candidate.scores
            return max(subscribed, key=lambda k: (scores.get(k, 0.0), -rank_of[k]))

        placed: list[tuple[str, list[tuple[float, Story]]]] = []
        shown: list[tuple[str, Story, float, bool]] = []
        per_feed: Counter[int] = Counter()
        places = 1 + limits.more
        for key in subscribed:

            def select(
                k: int, allow: Callable[[Story], bool], key: str = key
            ) -> list[tuple[float, Story]]:
                def accept(c: _Candidate) -> bool:
                    return home(c) == key and not muted(c.story) and allow(c.story)

                return self._top(self._ranked[key], k, accept, boost, max_boost)

            # A few stories in reserve take the places of the ones that become key points.
            # Stories in the reader's language first within the feeds' shares, and as lead.
            readable = partial(self._readable, language=language)
            top = spread_over_feeds(select, places + KEY_POINTS - 1, per_feed, readable)
            if not top:
                continue
            lead = next((i for i, (_, story) in enumerate(top) if readable(story)), 0)
            top.insert(0, top.pop(lead))
            per_feed.update(s.lead.feed_id for _, s in top[:places])
            placed.append((key, top))
            shown.extend(
                (key, story, score, i == 0) for i, (score, story) in enumerate(top[:places])
            )

        key_points = []
        for key, story in choose_key_points(
            shown, KEY_POINTS, lambda s: self._readable(s, language)
        ):
            # A key point's reason is the one its lead shows: a whole sentence, or none.
            entry = self._entry(story, language, "lead", limits)
            key_points.append(
                KeyPoint(
                    sector=key,
                    sector_name=self.sectors[key].name(language),
                    text=entry.title,
                    story_key=entry.story_key,
                    link=entry.link,
                    why=entry.why,
                    machine_written=entry.machine_written,
                )
            )
        # A story appears once: a key point that is not its section's lead leaves the section,
        # and the next story takes its place.
        pointed = {p.story_key for p in key_points}
        sections: list[SectorSection] = []
        for key, top in placed:
            more = [s for _, s in top[1:] if s.key not in pointed][: limits.more]
            sections.append(
                SectorSection(
                    key=key,
                    name=self.sectors[key].name(language),
                    lead=reader_entry(top[0][1], "lead"),
                    more=tuple(reader_entry(s, "more") for s in more),
                    reading=self._reading_for(key, [top[0][1], *more], limits.reading),
                    overview=written.sector_notes.get(key, "") if written is not None else "",
                )
            )

        reader = set(subscribed)
        # A story shown (a key point, or in a section) is labelled where it is shown, unless two
        # stories of one synergy share a section (then each keeps the edition's sector).
        section_of = {p.story_key: p.sector for p in key_points}
        section_of.update(
            (e.story_key, section.key)
            for section in sections
            for e in (section.lead, *section.more)
        )
        synergy_items, watch_items = self._parts(language)
        synergies: list[Synergy] = []
        for item in synergy_items:
            if len(synergies) >= limits.synergies:
                break
            stories = [self.stories[k] for k in item.story_keys]
            labels = tuple(
                section_of.get(k, h) for k, h in zip(item.story_keys, item.sectors, strict=True)
            )
            if len(set(labels)) < len(labels):
                labels = item.sectors
            # It links stories this briefing shows: one outside it is context for one inside.
            if (
                reader.isdisjoint(labels)
                or section_of.keys().isdisjoint(item.story_keys)
                or any(muted(s) for s in stories)
            ):
                continue
            entries = tuple(self._entry(s, language, "more", limits) for s in stories)
            synergies.append(
                Synergy(
                    sectors=labels,
                    sector_names=tuple(self.sectors[k].name(language) for k in labels),
                    why=item.why or synergy_reason(item, language),
                    story=entries[0],
                    stories=entries,
                    machine_written=item.machine_written,
                )
            )
        watch: list[tuple[WatchItem, WatchEntry]] = []
        for w in sorted(  # what the reader can read, then can put in a calendar, best first
            watch_items,
            key=lambda w: (
                not (w.machine_written or self._readable(self.stories[w.story_key], language)),
                not w.firm,
                -self.edition.base.get(w.story_key, 0.0) * boost(self.stories[w.story_key]),
            ),
        ):
            if len(watch) >= limits.watch:
                break
            story = self.stories[w.story_key]
            if muted(story) or not any(
                story.sector_score(k) >= self.min_sector_score for k in subscribed
            ):
                continue
            told = WatchEntry(
                signal=phrase(CATALOG, f"signal_{w.kind}", language),
                story=self._entry(story, language, "more", limits),
                sentence=marked_sentence(w.sentence, language, w.machine_written),
                due=w.due,
                due_text=format_due(w.due, w.precision, language),
                machine_written=w.machine_written,
            )
            watch.append((w, told))

        date_text = format_date(day, language)
        opening = ""
        if sections:
            empty_note = None
            theme = written.theme if written is not None else ""
            if theme and written is not None and written.theme_sectors <= reader:
                title = phrase(CATALOG, "title_theme", language, date=date_text, theme=theme)
                opening = written.opening
            else:
                title = theme_title(
                    [(k, story) for k, story, _, _ in shown],
                    key_points[0].text,
                    date_text,
                    language,
                )
        else:
            title = phrase(CATALOG, "title_empty", language, date=date_text)
            names = [self.sectors[k].name(language) for k in subscribed] or list(profile.sectors)
            archived = sum(self.archived.get(k, 0) for k in subscribed)
            sectors_text = join(names, language)
            if names and archived:
                empty_note = phrase(
                    CATALOG, "empty_archived", language, sectors=sectors_text, n=archived
                )
            elif names:
                empty_note = phrase(CATALOG, "empty_no_news", language, sectors=sectors_text)
            else:
                empty_note = phrase(CATALOG, "empty_no_sectors", language)
        machine = (
            bool(opening)
            or any(e.machine_written or s.overview for s in sections for e in (s.lead, *s.more))
            or any(s.machine_written for s in synergies)
            or any(w.machine_written for w, _ in watch)
        )
        return Briefing(
            title=title,
            language=language,
            length=profile.length,
            date=day,
            generated_at=self.now,
            key_points=tuple(key_points),
            sections=tuple(sections),
            synergies=tuple(synergies),
            # Chosen by importance, listed by when each will have come, as a calendar reads.
            watch=tuple(e for w, e in sorted(watch, key=lambda p: (p[0].by, p[0].due))),
            empty_note=empty_note,
            opening=opening,
            machine_written=machine,
            labels={k: phrase(CATALOG, k, language) for k in LABEL_KEYS},
        )


def compose_briefing(
    stories: Sequence[Story | Article],
    profile: Profile,
    now: datetime,
    *,
    sectors: Mapping[str, SectorDef],
    reading: Sequence[ReadingLink] = (),
    date: date_type | None = None,
) -> Briefing:
    """The briefing for one reader (pure).

    Args:
        stories: Stories of the edition; loose articles are clustered first.
        profile: The reader: sectors, language, length, follow and mute keywords, zone.
        now: The reference time (recency, and the date when ``date`` is not given).
        sectors: Every known sector by key.
        reading: Explainer links attached to sectors or keywords.
        date: The briefing's date; by default the reader's local date at ``now``.

    Returns:
        The briefing; ``empty_note`` is set when none of the reader's sectors has news.
    """
    context = BriefingContext.prepare(stories, sectors, reading, now)
    return context.compose(profile, date=date)
