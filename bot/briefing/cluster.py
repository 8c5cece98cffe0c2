"""Group reports of one event into stories (any languages), without I/O.

Two reports are one story when ``bot.briefing.story_rule.same_story`` says so: near-identical
text, or stored vectors (centred per language with fixed means) close enough for their time
gap and languages. That decision looks at the two reports only, so it does not change with how
busy the day is or what else is in the batch; ``story_rule.margin`` says by how much a pair
passes or fails.

A batch becomes stories by **average linkage** over those margins
(``bot.briefing.linkage.average_linkage``): groups merge, best first, while the mean margin of
their cross pairs is at least 0 and no cross pair is one that may never join. Near-identical
reports count as the best possible pair, so they merge first.

Items without a vector (the model is not installed, or the background worker has not reached
them yet) pair with others by the lexical similarity of ``bot.briefing.cluster_lexical``; that
fallback weighs words by their frequency in the batch, so only it depends on the batch.

For stories that last across editions, ``story_for`` says which existing story a new report
joins under the same rule, and ``same_story`` (re-exported here) answers for one pair.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from bot.briefing.cluster_lexical import LEXICAL_WINDOW, SIMILARITY_THRESHOLD, similar_pairs
from bot.briefing.linkage import (
    DisjointSet,
    Pair,
    average_linkage,
    complete_linkage,
    majority_linkage,
    single_linkage,
)
from bot.briefing.story_rule import (
    DEFAULT_RULE,
    DEFAULT_WINDOW,
    StoryRule,
    duplicate_pairs,
    margin,
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
    "make_story",
    "merge_sectors",
    "same_story",
    "story_for",
]

Linkage = Literal["average", "complete", "majority", "single"]
DEFAULT_LINKAGE: Linkage = "average"
"""How the bot groups. ``bench/cluster_quality.py`` cross-validates the others on the dev folds
(held-out pooled F1 / share of pairs decided differently in batches of 20): average 0.947 /
14.2 %, complete 0.824 / 19.8 % (it splits an event when one pair of its reports falls short),
majority 0.858 / 15.2 %, single 0.433 / 50.7 % (both chain follow-up events of one subject)."""

MARGIN_CAP = 1.0
"""Margins count at most this much either way in a mean, so one very close or very far pair
does not outweigh the rest; a near-identical copy counts the full amount."""

_DUPLICATE_SCORE = 2.0
"""Above any cosine: near-identical reports merge first under the other linkages."""


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


_LINKAGES: dict[str, Callable[[int, Sequence[Pair]], list[int]]] = {
    "complete": complete_linkage,
    "majority": majority_linkage,
    "single": single_linkage,
}


def _copy_pairs(articles: Sequence[Article], rule: StoryRule) -> list[tuple[float, int, int]]:
    """Every pair within a set of near-identical reports (copies of copies included), scored
    above any cosine: linkage merges them first, and a copy never needs the others' consent."""
    if not rule.copies:
        return []
    copies = DisjointSet(len(articles))
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


def _clipped(value: float) -> float:
    """A margin as it counts in a mean: within ``MARGIN_CAP`` either way, ``-inf`` kept."""
    return value if value == float("-inf") else max(-MARGIN_CAP, min(MARGIN_CAP, value))


class _Margins:
    """The margin of every pair of one batch, computed when linkage asks for it."""

    def __init__(
        self,
        articles: Sequence[Article],
        rule: StoryRule,
        lexical_threshold: float,
        lexical_window: timedelta,
    ) -> None:
        self.articles = articles
        self.rule = rule
        embedded = [i for i, a in enumerate(articles) if a.embedding]
        if len({len(articles[i].embedding or b"") for i in embedded}) > 1:
            embedded = []  # vectors of different models: compare none of them
        self.row = {i: n for n, i in enumerate(embedded)}
        self.matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        if embedded:
            matrix = np.stack([vector_of(articles[i]) for i in embedded]).astype(np.float32)  # type: ignore[misc]
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self.matrix = matrix / norms
        self.copies = {(i, j) for _, i, j in _copy_pairs(articles, rule)}
        self.lexical: dict[tuple[int, int], float] = {}
        if len(self.row) < len(articles):
            for i, j, score in similar_pairs(
                articles, window=lexical_window, threshold=lexical_threshold
            ):
                if i not in self.row or j not in self.row:
                    self.lexical[(i, j)] = score - lexical_threshold
        self.embedded = embedded

    def joining(self) -> list[tuple[float, float, int, int]]:
        """``(margin, score, i, j)`` for every pair the rule joins, ``i < j``."""
        found: dict[tuple[int, int], tuple[float, float]] = {}
        for i, j in self.copies:
            found[(i, j)] = (MARGIN_CAP, _DUPLICATE_SCORE)
        if len(self.embedded) > 1:
            subset = [self.articles[i] for i in self.embedded]
            for score, x, y in vector_pairs(subset, self.matrix, self.rule):
                i, j = self.embedded[x], self.embedded[y]
                pair = (min(i, j), max(i, j))
                if pair not in found:
                    value = margin(self.articles[pair[0]], self.articles[pair[1]], score, self.rule)
                    found[pair] = (_clipped(value), score)
        for (i, j), value in self.lexical.items():
            found.setdefault((i, j), (_clipped(value), value + SIMILARITY_THRESHOLD))
        return [(m, score, i, j) for (i, j), (m, score) in sorted(found.items())]

    def pair(self, i: int, j: int) -> float:
        """The clipped margin of one pair (a copy counts ``MARGIN_CAP``)."""
        key = (min(i, j), max(i, j))
        if key in self.copies:
            return MARGIN_CAP
        if i in self.row and j in self.row:
            score = float(self.matrix[self.row[i]] @ self.matrix[self.row[j]])
            return _clipped(margin(self.articles[i], self.articles[j], score, self.rule))
        return _clipped(self.lexical.get(key, -MARGIN_CAP))

    def cross(self, left: Sequence[int], right: Sequence[int]) -> float:
        """Sum of the clipped margins of every pair of one item of each list."""
        total = 0.0
        for i in left:
            for j in right:
                total += self.pair(i, j)
                if total == float("-inf"):
                    return total
        return total


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
        linkage: How pair decisions become groups (average linkage unless measuring).

    Returns:
        One story per event; ``story.articles[0]`` is the lead (highest source weight, then
        with a summary, then earliest).
    """
    lexical_window = LEXICAL_WINDOW
    if window is not None:
        rule, lexical_window = replace(rule, window=window), window
    unique = list({a.item_id: a for a in articles}.values())
    margins = _Margins(unique, rule, threshold, lexical_window)
    joining = margins.joining()
    if linkage == "average":
        labels = average_linkage(len(unique), [(m, i, j) for m, _, i, j in joining], margins.cross)
    else:
        labels = _LINKAGES[linkage](len(unique), [(score, i, j) for _, score, i, j in joining])
    members: dict[int, list[Article]] = defaultdict(list)
    for i, article in enumerate(unique):
        members[labels[i]].append(article)
    stories = [make_story(group) for group in members.values()]
    stories.sort(key=lambda s: (-s.lead.when.timestamp(), s.key))
    return stories


def _story_margin(article: Article, other: Article, rule: StoryRule) -> float:
    """The clipped margin of a new report and a report of a story (no batch involved)."""
    if rule.copies and near_duplicate(article, other):
        return MARGIN_CAP
    score = vector_score(article, other)
    return -MARGIN_CAP if score is None else _clipped(margin(article, other, score, rule))


def story_for(
    article: Article,
    stories: Sequence[Story],
    *,
    rule: StoryRule = DEFAULT_RULE,
    linkage: Linkage = DEFAULT_LINKAGE,
) -> Story | None:
    """The existing story ``article`` joins, or None: the rule of ``cluster_articles``.

    Under average linkage the report joins the story whose reports it matches best on
    average, when that mean margin is at least 0 and none of them is one it may never join;
    a near-identical copy of one of them always joins. Under the other linkages it joins when
    enough of the story's reports are one story with it (all of them for complete linkage).
    Nothing but ``article`` and the stories' own reports is looked at.
    """
    found: list[tuple[float, str, Story]] = []
    for story in stories:
        if any(a.item_id == article.item_id for a in story.articles):
            return story
        copy = rule.copies and any(near_duplicate(article, other) for other in story.articles)
        values = [_story_margin(article, other, rule) for other in story.articles]
        mean = sum(values) / len(values)
        if linkage == "average":
            joins = copy or mean >= 0.0
        else:
            needed = {"complete": 1.0, "majority": 0.5}.get(linkage, 1e-9)
            joins = copy or sum(v >= 0.0 for v in values) >= needed * len(values)
        if joins:
            found.append((MARGIN_CAP if copy else mean, story.key, story))
    if not found:
        return None
    found.sort(key=lambda f: (-f[0], f[1]))
    return found[0][2]
