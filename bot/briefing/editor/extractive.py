"""The extractive editor: no model, never fails, the fallback for whatever a model did not write.

It works from the feed text alone: the forward-looking sentence of a story and the date it names
(English patterns on English text, Japanese on Japanese), stories in different sectors that share
a company, material, technology or place, and how important a story is (how many sources cover
it, how many named things it mentions). Feed text stays in its language; only our phrases follow
the reader (``bot.briefing.compose.CATALOG``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.briefing.classify import is_incident
from bot.briefing.editor.base import Edition, EditionText, SynergyItem, WatchItem
from bot.briefing.editor.dates import FoundDate, find_dates, is_japanese
from bot.briefing.editor.entities import Entity, story_entities, title_entities
from bot.briefing.editor.text import split_sentences, trim_summary
from bot.models import Article, Language, Story

# Forward-looking signals per language, most specific first: the first kind found names it.
_EN_SIGNALS: tuple[tuple[str, str], ...] = (
    (
        "deadline",
        r"\bby (?:the )?(?:end of |early |mid-?|late )?(?:[A-Z]\w+ )?(?:19|20)\d\d\b|\bdeadlines?\b"
        r"|\bdue (?:by|on|in)\b",
    ),
    (
        "decision",
        r"\b(?:will|to|set to|expected to) (?:decide|rule|vote|approve)\b"
        r"|\b(?:vote|ruling|verdict|decision) (?:is )?(?:expected|due|scheduled)\b",
    ),
    ("announcement", r"\bwill (?:announce|unveil|reveal|present|publish)\b"),
    (
        "launch",
        r"\b(?:will|to|set to|plans to|expected to|scheduled to|slated to) (?:launch"
        r"|release|ship|open|start|begin|debut|roll out|go live|enter service|come online)\b"
        r"|\b(?:launch(?:es|ing)?|starts?|opens?) (?:in|on|next|later)\b|\bcoming soon\b",
    ),
    (
        "plan",
        r"\bplans? to\b|\bplanned\b|\bintends? to\b|\baims? to\b|\broadmap\b"
        r"|\bscheduled\b|\bslated\b",
    ),
    ("outlook", r"\bexpected\b|\bforecasts?\b|\bprojected\b|\boutlook\b|\blikely to\b"),
    (
        "upcoming",
        r"\bwill\b|\bupcoming\b|\bfrom (?=[A-Z])|\bstarting\b|\bnext (?:week|month|year"
        r"|quarter)\b",
    ),
)
_JA_SIGNALS: tuple[tuple[str, str], ...] = (
    ("deadline", r"までに|期限|締め?切り?"),
    ("decision", r"決定へ|判断へ|採決|承認へ|判決|審議"),
    ("announcement", r"発表へ|公開へ|公表へ|発表する予定|発表予定"),
    ("launch", r"開始へ|発売へ|稼働へ|開業へ|開始する|開始予定|発売予定|稼働予定|提供を?開始"),
    ("plan", r"計画|予定|方針|目指す|目標"),
    ("outlook", r"見通し|見込み|予測|予想"),
    ("upcoming", r"来週|来月|来年|今後|以降"),
)
_EN = tuple((kind, re.compile(p)) for kind, p in _EN_SIGNALS)
_JA = tuple((kind, re.compile(p)) for kind, p in _JA_SIGNALS)

WATCH_CANDIDATES = 40
"""Stories per sector searched for things to watch (the ones a reader can be shown)."""
SYNERGY_CANDIDATES = 30
"""Stories per sector searched for shared entities."""
_KIND_WEIGHT = {"organisation": 1.0, "material": 1.0, "technology": 0.8, "place": 0.3}


def _language_of(article: Article, sentence: str) -> str | None:
    """ "en" or "ja" when both the feed and the sentence agree on it, else None (no patterns)."""
    declared = article.language.lower()
    if is_japanese(sentence):
        return "ja" if declared.startswith("ja") or not declared else None
    return "en" if declared.startswith("en") else None


def signal_of(sentence: str, language: str) -> str | None:
    """The kind of forward-looking signal in ``sentence`` of ``language``, or None."""
    for kind, pattern in _JA if language == "ja" else _EN:
        if pattern.search(sentence):
            return kind
    return None


_JUNK = re.compile(r":::\w*|\{[^}]*\}|\[[^\]]*\]\([^)]*\)")
"""Markup some scraped feeds leave in their text (":::small", "{target=_blank}", [x](y))."""
_THIS_YEAR = re.compile(r"年中|年内|年末まで|までに|\bby\b|\bend of\b|\bthis year\b|\blater\b")
_JA_PAST = re.compile(r"(?:た|だった)[。！]?$")


def _counts(sentence: str, language: str, kind: str, when: FoundDate, today: date) -> bool:
    """Whether ``when`` in ``sentence`` lies ahead of the edition's day ``today``.

    A bare current year ("in 2026", "2026年度の方針") says nothing about being ahead; it counts
    only with a deadline word ("by", "年内", "までに"). A Japanese sentence in the past tense
    reports what happened, unless it names a deadline.
    """
    if when.last_day <= today:
        return False
    if when.precision == "year" and when.day.year == today.year and not _THIS_YEAR.search(sentence):
        return False
    return not (language == "ja" and kind != "deadline" and _JA_PAST.search(sentence))


def watch_item(story: Story, today: date) -> WatchItem | None:
    """The story's forward-looking sentence that names a date after ``today``, if any.

    A sentence about the past, or naming only dates up to the edition's day, is not "coming up".
    Relative dates ("next month", "9月23日") count from the day the article was published.
    """
    best: WatchItem | None = None
    for article in story.articles:
        written = article.published_at.date() if article.published_at else today
        stop = "。" if is_japanese(article.title) else "."
        text = _JUNK.sub(" ", f"{article.title}{stop} {article.summary}")
        for sentence in split_sentences(" ".join(text.split())):
            language = _language_of(article, sentence)
            if language is None:
                continue
            kind = signal_of(sentence, language)
            if kind is None:
                continue
            ahead = [
                d
                for d in find_dates(sentence, language, written)
                if _counts(sentence, language, kind, d, today)
            ]
            if not ahead:
                continue
            when = min(ahead, key=lambda d: d.day)
            item = WatchItem(story.key, kind, sentence.strip(), when.day, when.precision)
            if best is None or (item.due, len(item.sentence)) < (best.due, len(best.sentence)):
                best = item
    return best


def find_watch(edition: Edition) -> tuple[WatchItem, ...]:
    """Things to watch among each sector's top stories, best-ranked story first."""
    today = edition.now.date()
    items = []
    for key in edition.top(WATCH_CANDIDATES):
        item = watch_item(edition.stories[key], today)
        if item is not None:
            items.append(item)
    items.sort(key=lambda i: -edition.base.get(i.story_key, 0.0))
    return tuple(items)


@dataclass(frozen=True, slots=True)
class _Group:
    entity: Entity
    keys: tuple[str, ...]
    sectors: tuple[str, ...]
    score: float


def find_synergies(edition: Edition, limit: int = 12) -> tuple[SynergyItem, ...]:
    """Stories in different sectors sharing a company, material, technology or place.

    For each entity the best story of each sector that mentions it forms a group; groups are
    taken best first (importance of the stories, how specific the shared thing is), and a story
    joins one group at most.
    """
    keys = edition.top(SYNERGY_CANDIDATES)
    mentions: dict[Entity, dict[str, str]] = defaultdict(dict)
    for key in keys:
        sector = edition.home.get(key)
        if sector is None:
            continue
        story = edition.stories[key]
        # Broad themes (a technology, a place) must be what a headline is about; a material
        # is specific enough to count from a summary too.
        titled = title_entities(story)
        for entity in (e for e in story_entities(story) if e in titled or e.kind == "material"):
            best = mentions[entity].get(sector)
            if best is None or edition.base[key] > edition.base[best]:
                mentions[entity][sector] = key
    groups = []
    for entity, by_sector in mentions.items():
        if len(by_sector) < 2:
            continue
        ordered = sorted(by_sector.items(), key=lambda kv: -edition.base[kv[1]])[:3]
        best_two = [edition.base[k] for _, k in ordered[:2]]
        score = sum(best_two) / 2 * _KIND_WEIGHT[entity.kind]
        groups.append(
            _Group(entity, tuple(k for _, k in ordered), tuple(s for s, _ in ordered), score)
        )
    groups.sort(key=lambda g: (-g.score, g.entity.key))
    used: set[str] = set()
    chosen: list[SynergyItem] = []
    for group in groups:
        free = [(k, s) for k, s in zip(group.keys, group.sectors, strict=True) if k not in used]
        if len({s for _, s in free}) < 2:
            continue
        used.update(k for k, _ in free)
        chosen.append(
            SynergyItem(
                story_keys=tuple(k for k, _ in free),
                sectors=tuple(s for _, s in free),
                shared=(group.entity,),
            )
        )
        if len(chosen) >= limit:
            break
    return tuple(chosen)


def importance(story: Story, base: float) -> tuple[int, int, float]:
    """Sort key (descending) for key points: news before incidents (a recall, a security
    advisory, a warning about scams), dated news first, then sources and named things."""
    news = 0 if is_incident(story.lead.title) else 1
    dated = any(a.published_at is not None for a in story.articles)
    named = min(len(story_entities(story)), 6)
    return (
        news,
        1 if dated else 0,
        base * (1 + 0.35 * (story.source_count - 1)) * (1 + 0.08 * named),
    )


def choose_key_points(
    candidates: Sequence[tuple[str, Story, float]], n: int
) -> list[tuple[str, Story]]:
    """``n`` (sector, story) pairs: the most important story of as many sectors as possible first.

    Incidents rank below every other story, so an incident is the first key point (and names
    the briefing) only when the reader's sections show nothing else.

    Args:
        candidates: (sector, story, score) for every story a reader's sections show.
        n: How many key points.
    """
    ranked = sorted(candidates, key=lambda c: importance(c[1], c[2]), reverse=True)
    chosen: list[tuple[str, Story]] = []
    seen_sectors: set[str] = set()
    seen_stories: set[str] = set()
    for sector, story, _ in ranked:
        if len(chosen) < n and sector not in seen_sectors and story.key not in seen_stories:
            chosen.append((sector, story))
            seen_sectors.add(sector)
            seen_stories.add(story.key)
    for sector, story, _ in ranked:
        if len(chosen) < n and story.key not in seen_stories:
            chosen.append((sector, story))
            seen_stories.add(story.key)
    return chosen


def day_theme(stories: Iterable[tuple[str, Story]]) -> Entity | None:
    """The thing most of the reader's stories share (two at least, across sectors preferably)."""
    count: dict[Entity, set[str]] = defaultdict(set)
    spread: dict[Entity, set[str]] = defaultdict(set)
    for sector, story in stories:
        for entity in story_entities(story):
            count[entity].add(story.key)
            spread[entity].add(sector)
    best = [
        (len(spread[e]), len(keys), _KIND_WEIGHT[e.kind], e.key, e)
        for e, keys in count.items()
        if len(keys) >= 2 and e.kind != "place"
    ]
    if not best:
        return None
    return max(best, key=lambda b: b[:4])[4]


class ExtractiveEditor:
    """The editor without a model: watch items and synergies found in the feed text."""

    name = "extractive"

    async def write(
        self, edition: Edition, languages: Sequence[Language]
    ) -> dict[Language, EditionText]:
        synergies, watch = find_synergies(edition), find_watch(edition)
        return {
            lang: EditionText(language=lang, synergies=synergies, watch=watch) for lang in languages
        }


def shown_article(story: Story, language: Language) -> Article:
    """The article a reader of ``language`` is shown: one in that language, else the lead."""
    return next((a for a in story.articles if a.language.lower().startswith(language)), story.lead)


def story_summary(story: Story, shown: Article, *, sentences: int, chars: int) -> str:
    """Whole sentences of the shown article's summary (or a same-language sibling's)."""
    summary = shown.summary
    if not summary.strip():
        summary = next(
            (
                a.summary
                for a in story.articles
                if a.summary.strip() and a.language == shown.language
            ),
            "",
        )
    trimmed = trim_summary(summary, max_sentences=sentences, max_chars=chars)
    if " ".join(trimmed.split()).casefold() == " ".join(shown.title.split()).casefold():
        return ""
    return trimmed
