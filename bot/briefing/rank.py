"""Rank stories for a reader: recency, sources, sector fit, source weight, follow and mute.

An incident (a recall, a security advisory, a warning about scams: ``headlines.is_incident``) is
not a sector's lead: its score is cut so the sector's news ranks above it.

A story's score is ``base_score`` (everything that does not depend on the reader's keywords)
times ``follow_boost``; muted stories are removed outright. The split lets ``bot.briefing.compose``
rank every sector once for all subscribers and only re-weigh the few followed stories per
subscriber, while ``score_story`` stays the one definition of the order.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.briefing.headlines import is_incident
from bot.models import Profile, Story

HALF_LIFE_HOURS = 18.0
"""A story loses half its recency weight every 18 hours: yesterday's news still counts."""

FOLLOW_BOOST = 1.6
"""Factor for a story matching one followed keyword."""
FOLLOW_BOOST_EXTRA = 0.15
"""Added per further followed keyword matched."""
MAX_FOLLOW_BOOST = FOLLOW_BOOST + 2 * FOLLOW_BOOST_EXTRA

INCIDENT_WEIGHT = 0.1
"""Factor for a story whose lead headline is an incident (a recall, a security advisory, a
warning about scams): it stays in the sector of its subject, below that sector's news, so it
leads a section only on a day the section has nothing else. 0.1 outweighs what recency, sources
and sector fit give any other story of the window (each at most a few times another's)."""

_SECTOR_FLOOR = 0.15
"""Keeps a story with a weak sector score rankable instead of multiplying it away."""


def normalise_text(text: str) -> str:
    """Text for keyword matching: NFKC (full-width "ＡＩ" -> "AI"), lower case, one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def story_text(story: Story) -> str:
    """The titles and summaries of every article in ``story``, normalised for matching."""
    return normalise_text(" \n ".join(f"{a.title} \n {a.summary}" for a in story.articles))


def keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    """A pattern for ``keyword``: whole words for Latin text ("ai" not in "said"), else substring.

    Japanese has no spaces between words, so a Japanese keyword matches anywhere. A Latin
    keyword also matches with an "s" or "es" ending ("chip" finds "chips"). Returns ``None``
    for a blank keyword.
    """
    norm = normalise_text(keyword)
    if not norm:
        return None
    escaped = re.escape(norm)
    if norm.isascii():
        return re.compile(rf"(?<![0-9a-z]){escaped}(?:s|es)?(?![0-9a-z])")
    return re.compile(escaped)


def matched_keywords(text: str, keywords: Iterable[str]) -> list[str]:
    """The ``keywords`` found in already-normalised ``text``."""
    found = []
    for keyword in keywords:
        pattern = keyword_pattern(keyword)
        if pattern is not None and pattern.search(text):
            found.append(keyword)
    return found


def is_muted(story: Story, mute: Sequence[str]) -> bool:
    """Whether any muted keyword appears in a title or summary of ``story``."""
    return bool(mute) and bool(matched_keywords(story_text(story), mute))


def follow_boost(matches: int) -> float:
    """The factor for a story matching ``matches`` followed keywords."""
    if matches <= 0:
        return 1.0
    return min(MAX_FOLLOW_BOOST, FOLLOW_BOOST + FOLLOW_BOOST_EXTRA * (matches - 1))


def recency(story: Story, now: datetime) -> float:
    """1.0 for a story from now, halving every ``HALF_LIFE_HOURS``; future dates count as now."""
    when = story.when
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    hours = max(0.0, (now - when).total_seconds() / 3600)
    return float(0.5 ** (hours / HALF_LIFE_HOURS))


def sector_relevance(story: Story, sectors: Sequence[str]) -> float:
    """The story's best score among ``sectors`` (all of its sectors when none are given)."""
    if not sectors:
        return story.sectors[0].score if story.sectors else 0.0
    return max((story.sector_score(key) for key in sectors), default=0.0)


def base_score(story: Story, now: datetime, *, relevance: float) -> float:
    """The score before the reader's follow keywords, given the story's sector relevance."""
    sources = 1.0 + 0.5 * math.log2(max(1, story.source_count))
    weight = max(a.source_weight for a in story.articles)
    incident = INCIDENT_WEIGHT if is_incident(story.lead.title) else 1.0
    return recency(story, now) * sources * weight * incident * (_SECTOR_FLOOR + relevance)


def score_story(
    story: Story, profile: Profile, now: datetime, *, sector: str | None = None
) -> float:
    """How much ``profile`` should see ``story`` now; higher is better.

    Args:
        story: The story to score.
        profile: The reader (sectors, follow and mute keywords).
        now: The reference time for recency.
        sector: Score for this sector instead of the reader's best-matching one.

    Returns:
        The score, or ``-math.inf`` when a muted keyword appears in the story.
    """
    text = story_text(story)
    if profile.mute and matched_keywords(text, profile.mute):
        return -math.inf
    sectors = (sector,) if sector is not None else profile.sectors
    base = base_score(story, now, relevance=sector_relevance(story, sectors))
    return base * follow_boost(len(matched_keywords(text, profile.follow)))


def rank_stories(
    stories: Sequence[Story], profile: Profile, now: datetime, *, sector: str | None = None
) -> list[Story]:
    """``stories`` best first for ``profile``, muted ones removed (ties: newest, then key)."""
    scored = [(score_story(s, profile, now, sector=sector), s) for s in stories]
    kept = [(score, s) for score, s in scored if score != -math.inf]
    kept.sort(key=lambda pair: (-pair[0], -pair[1].when.timestamp(), pair[1].key))
    return [s for _, s in kept]
