"""Group reports of one event into stories (any languages), without I/O.

Two reports are one story when ``bot.briefing.story_rule.same_story`` says so: near-identical
text, or stored vectors (centred per language with fixed means) close enough within a time
window, with a threshold for one language and one for two (a weak pair in two languages must
also name something alike). That decision looks at the two reports only, so it does not change
with how busy the day is or what else is in the batch.

A batch becomes stories by **complete linkage** over those pair decisions: two groups merge
(closest pair first) only when every report of one is one story with every report of the
other. A report that mentions two events therefore never chains them into one story, and an
unrelated report, which pairs with nobody, never vetoes a join. Near-identical reports are
joined before anything else.

Items without a vector (the model is not installed, or the background worker has not reached
them yet) pair with others by the lexical similarity of ``bot.briefing.cluster_lexical``; that
fallback weighs words by their frequency in the batch, so only it depends on the batch.

For stories that last across editions, ``story_for`` says which existing story a new report
joins under the same rule, and ``same_story`` (re-exported here) answers for one pair.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Literal

import numpy as np

from bot.briefing.cluster_lexical import LEXICAL_WINDOW, SIMILARITY_THRESHOLD, similar_pairs
from bot.briefing.story_rule import (
    DEFAULT_RULE,
    DEFAULT_WINDOW,
    StoryRule,
    duplicate_pairs,
    near_duplicate,
    same_story,
    vector_of,
    vector_pairs,
    vector_score,
)
from bot.models import Article, SectorScore, Story

__all__ = [
    "DEFAULT_WINDOW",
    "Linkage",
    "StoryRule",
    "cluster_articles",
    "complete_linkage",
    "majority_linkage",
    "make_story",
    "merge_sectors",
    "same_story",
    "single_linkage",
    "story_for",
]

Linkage = Literal["complete", "majority", "single"]
DEFAULT_LINKAGE: Linkage = "complete"
"""Chosen by every dev fold (bench/cluster_quality.py): held-out mean F1 0.973, against 0.922
for majority linkage and less for single linkage, which chain different events of one company
(and Motley Fool's quantum-stock columns) through a report close to both."""

_DUPLICATE_SCORE = 2.0
"""Above any cosine: near-identical reports merge first."""


class _DisjointSet:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _lead_order(article: Article) -> tuple[float, int, float, int]:
    return (
        -article.source_weight,
        0 if article.summary.strip() else 1,
        article.when.timestamp(),
        article.item_id,
    )


def merge_sectors(articles: Sequence[Article]) -> tuple[SectorScore, ...]:
    """Sector scores over ``articles``: the best score per sector, matched terms united."""
    best: dict[str, float] = {}
    terms: dict[str, dict[str, None]] = defaultdict(dict)
    for article in articles:
        for score in article.sectors:
            best[score.key] = max(best.get(score.key, 0.0), score.score)
            for term in score.matched:
                terms[score.key][term] = None
    merged = [SectorScore(key, value, tuple(terms[key])) for key, value in best.items()]
    merged.sort(key=lambda s: (-s.score, s.key))
    return tuple(merged)


def make_story(articles: Sequence[Article]) -> Story:
    """A story from articles already known to report one event.

    The key comes from the smallest item id, so it stays the same when later reports join.
    """
    ordered = sorted(articles, key=_lead_order)
    lead, rest = ordered[0], sorted(ordered[1:], key=lambda a: (a.when, a.item_id))
    key = f"s{min(a.item_id for a in articles)}"
    return Story(key=key, articles=(lead, *rest), sectors=merge_sectors(articles))


def share_linkage(n: int, pairs: Sequence[tuple[float, int, int]], share: float) -> list[int]:
    """Group labels for ``n`` items: groups merge when ``share`` of their cross pairs are pairs.

    Pairs are taken most similar first; two groups merge when at least ``share`` of the
    pairs of one member from each are among ``pairs``. With ``share`` 1 that is complete
    linkage; with one half a missing pair does not split an event's reports, while a report
    that mentions two events still cannot chain them (it pairs with too few of the other).
    """
    linked: set[tuple[int, int]] = {(i, j) for _, i, j in pairs}
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    label = list(range(n))
    for _, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        a, b = label[i], label[j]
        if a == b:
            continue
        hits = sum((min(x, y), max(x, y)) in linked for x in members[a] for y in members[b])
        if hits >= share * len(members[a]) * len(members[b]):
            keep, gone = min(a, b), max(a, b)
            for x in members[gone]:
                label[x] = keep
            members[keep].extend(members.pop(gone))
    return label


def complete_linkage(n: int, pairs: Sequence[tuple[float, int, int]]) -> list[int]:
    """Complete linkage: groups merge only when every cross pair is one of ``pairs``.

    A story never chains from one event to a different one through a report that mentions
    both, which single linkage would do.
    """
    return share_linkage(n, pairs, 1.0)


def majority_linkage(n: int, pairs: Sequence[tuple[float, int, int]]) -> list[int]:
    """Groups merge when at least half of their cross pairs are one of ``pairs``."""
    return share_linkage(n, pairs, 0.5)


def single_linkage(n: int, pairs: Sequence[tuple[float, int, int]]) -> list[int]:
    """Group labels for ``n`` items joined by any of the given ``pairs`` (connected parts)."""
    groups = _DisjointSet(n)
    for _, i, j in pairs:
        groups.union(i, j)
    return [groups.find(i) for i in range(n)]


_LINKAGES = {
    "complete": complete_linkage,
    "majority": majority_linkage,
    "single": single_linkage,
}


def _copy_pairs(articles: Sequence[Article], rule: StoryRule) -> list[tuple[float, int, int]]:
    """Every pair within a set of near-identical reports (copies of copies included), scored
    above any cosine: linkage merges them first, and a copy never needs the others' consent."""
    if not rule.copies:
        return []
    copies = _DisjointSet(len(articles))
    for i, j in duplicate_pairs(articles):
        copies.union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(articles)):
        groups[copies.find(i)].append(i)
    return [
        (_DUPLICATE_SCORE, i, j)
        for group in groups.values()
        for i, j in itertools.combinations(sorted(group), 2)
    ]


def _pairs(
    articles: Sequence[Article],
    rule: StoryRule,
    lexical_threshold: float,
    lexical_window: timedelta,
) -> list[tuple[float, int, int]]:
    """Every pair the rule makes one story, scored: vectors, then lexical for the rest."""
    embedded = [i for i, a in enumerate(articles) if a.embedding]
    dims = {len(articles[i].embedding or b"") for i in embedded}
    if len(dims) > 1:
        embedded = []  # vectors of different models: compare none of them
    pairs: list[tuple[float, int, int]] = []
    if len(embedded) > 1:
        subset = [articles[i] for i in embedded]
        matrix = np.stack([vector_of(a) for a in subset]).astype(np.float32)  # type: ignore[misc]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        for score, i, j in vector_pairs(subset, matrix / norms, rule):
            pairs.append((score, embedded[i], embedded[j]))
    has_vector = set(embedded)
    if len(has_vector) < len(articles):
        for i, j, score in similar_pairs(
            articles, window=lexical_window, threshold=lexical_threshold
        ):
            if i not in has_vector or j not in has_vector:
                pairs.append((score, i, j))
    return pairs


def cluster_articles(
    articles: Sequence[Article],
    *,
    window: timedelta | None = None,
    threshold: float = SIMILARITY_THRESHOLD,
    rule: StoryRule = DEFAULT_RULE,
    linkage: Linkage = DEFAULT_LINKAGE,
) -> list[Story]:
    """Group ``articles`` about the same event into stories, newest story first.

    Args:
        articles: Stored items in any language mix; duplicates by ``item_id`` count once.
        window: Articles further apart in time than this are never joined by similarity
            (default: the rule's window, and ``LEXICAL_WINDOW`` for the lexical fallback).
        threshold: Lexical cosine at which two articles without vectors join.
        rule: The pair rule (``bot.briefing.story_rule``).
        linkage: How pair decisions become groups (complete linkage unless measuring).

    Returns:
        One story per event; ``story.articles[0]`` is the lead (highest source weight, then
        with a summary, then earliest).
    """
    lexical_window = LEXICAL_WINDOW
    if window is not None:
        rule, lexical_window = replace(rule, window=window), window
    unique = list({a.item_id: a for a in articles}.values())
    best: dict[tuple[int, int], float] = {}
    for score, i, j in [
        *_copy_pairs(unique, rule),
        *_pairs(unique, rule, threshold, lexical_window),
    ]:
        best[(i, j)] = max(best.get((i, j), score), score)
    labels = _LINKAGES[linkage](len(unique), [(s, i, j) for (i, j), s in best.items()])
    members: dict[int, list[Article]] = defaultdict(list)
    for i, article in enumerate(unique):
        members[labels[i]].append(article)
    stories = [make_story(group) for group in members.values()]
    stories.sort(key=lambda s: (-s.lead.when.timestamp(), s.key))
    return stories


def story_for(
    article: Article,
    stories: Sequence[Story],
    *,
    rule: StoryRule = DEFAULT_RULE,
    linkage: Linkage = DEFAULT_LINKAGE,
) -> Story | None:
    """The existing story ``article`` joins, or None: the rule of ``cluster_articles``.

    Under complete linkage the report joins a story when it is one story (``same_story``) with
    every report in it, or a near-identical copy of one of them; among several such stories
    the one it is closest to on average wins. Nothing but ``article`` and the stories' own
    reports is looked at.
    """
    found: list[tuple[float, str, Story]] = []
    for story in stories:
        if any(a.item_id == article.item_id for a in story.articles):
            return story
        decisions = [same_story(article, other, rule) for other in story.articles]
        copy = any(near_duplicate(article, other) for other in story.articles)
        needed = {"complete": 1.0, "majority": 0.5}.get(linkage, 1e-9)
        joins = copy or sum(decisions) >= needed * len(decisions)
        if not joins:
            continue
        scores = [vector_score(article, other) for other in story.articles]
        known = [s for s in scores if s is not None]
        found.append((sum(known) / len(known) if known else 1.0, story.key, story))
    if not found:
        return None
    found.sort(key=lambda f: (-f[0], f[1]))
    return found[0][2]
