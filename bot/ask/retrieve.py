"""Hybrid retrieval: the stories of the archive that best answer a question, best first.

Two rankings of items are fused by reciprocal rank fusion (each item scores ``1 / (K + rank)``
in each list it is in): the stored sentence vectors nearest the question's (a Japanese question
finds English reports, and the other way round), and full-text search over the question's
content words (names and numbers the vectors blur). The best items are then grouped into
stories (``bot.stories.membership``) and the stories ranked, so one event reported by five
outlets is one answer, not five.
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ask.index import VectorIndex
from bot.briefing import embed
from bot.models import Story
from bot.stories.membership import group_reports
from bot.stories.reports import as_articles
from storage.models import Item
from storage.repositories import retrieval
from storage.scope import EVERY, Scope
from storage.search import search_terms

Mode = Literal["hybrid", "vectors", "text"]

RRF_K = 60
"""The usual constant of reciprocal rank fusion: ranks past the first few count little."""
CANDIDATES = 50
"""Items each ranking contributes."""
GROUPED = 40
"""Best fused items grouped into stories."""
MIN_COSINE = 0.375
"""A story whose nearest report is at least this close to the question is about it."""
MIN_COVERAGE = 0.6
"""... or one whose report holds this share of the question's content words."""
MIN_TEXT_VOTE = 0.5
"""The share of the question's content words a report must hold for full text to vote."""

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _stop_terms() -> frozenset[str]:
    data = tomllib.loads(
        resources.files("bot.ask").joinpath("stopwords.toml").read_text(encoding="utf-8")
    )
    return frozenset(word for words in data.values() for word in str(words).split())


STOP_TERMS = _stop_terms()


def question_language(question: str) -> str:
    """ "ja" when the question has Japanese in it, else "en" (how its vector is centred)."""
    return "ja" if _JAPANESE.search(question) else "en"


_HIRAGANA = re.compile(r"[\u3041-\u309f]+")


def content_terms(question: str) -> list[str]:
    """The question's index tokens (words, CJK bigrams) minus those that ask rather than say.

    Japanese content words are written in kanji and katakana; hiragana carries the grammar
    (は, どこで, される), so it splits the runs and its bigrams are left out.
    """
    terms = [t for phrase in search_terms(_HIRAGANA.sub(" ", question)) for t in phrase]
    return [t for t in dict.fromkeys(terms) if t not in STOP_TERMS]


@dataclass(frozen=True, slots=True)
class FoundStory:
    """A story of the archive and how well it answers the question."""

    story: Story
    score: float
    cosine: float
    """The closest of its reports to the question (0 without vectors)."""
    coverage: float
    """The largest share of the question's content words one of its reports holds."""

    @property
    def relevant(self) -> bool:
        return self.cosine >= MIN_COSINE or self.coverage >= MIN_COVERAGE


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What the archive holds for a question: stories best first (relevant or not)."""

    question: str
    stories: tuple[FoundStory, ...]
    ranked_items: tuple[int, ...]
    """Item ids in fused order (for measuring retrieval before grouping)."""

    @property
    def relevant(self) -> tuple[FoundStory, ...]:
        return tuple(s for s in self.stories if s.relevant)


class Retriever:
    """Answers ``retrieve`` for any session; holds the in-memory vector index of the process.

    Args:
        embedder: Gives the packaged model, or None when it is not installed (full text only).
    """

    def __init__(
        self, *, embedder: Callable[[], embed.Embedder | None] = embed.default_embedder
    ) -> None:
        self._embedder = embedder
        self._index: VectorIndex | None = None

    @property
    def index(self) -> VectorIndex | None:
        return self._index

    async def warm(self, session: AsyncSession) -> int:
        """Load the model and the stored vectors; returns how many vectors are in memory."""
        model = await asyncio.to_thread(self._embedder)
        if model is None:
            return 0
        if self._index is None or self._index.model != model.name:
            self._index = VectorIndex(model.name)
        await self._index.refresh(session)
        return len(self._index)

    async def _nearest(self, session: AsyncSession, question: str, k: int) -> dict[int, float]:
        model = await asyncio.to_thread(self._embedder)
        if model is None:
            return {}
        await self.warm(session)
        assert self._index is not None
        vector = await asyncio.to_thread(model.embed_query, question, question_language(question))
        return dict(self._index.nearest(vector, k))

    async def retrieve(
        self,
        session: AsyncSession,
        question: str,
        *,
        scope: Scope = EVERY,
        stories: int = 5,
        mode: Mode = "hybrid",
    ) -> Retrieval:
        """The stories that best answer ``question``, of the feeds ``scope`` sees.

        Args:
            session: The session.
            question: In any language.
            scope: Whose feeds (a tenant's and the shared catalog).
            stories: How many stories to return at most.
            mode: "hybrid" (both rankings fused), or one of them alone (to measure them).
        """
        terms = content_terms(question)
        wanted = set(terms)
        text_hits: list[int] = []
        if mode != "vectors" and terms:
            found = await retrieval.rank_any_terms(session, terms, limit=CANDIDATES, scope=scope)
            text_hits = [item_id for item_id, _score in found]
        cosines: dict[int, float] = {}
        if mode != "text":
            cosines = await self._nearest(session, question, CANDIDATES * 4)
        vector_hits = sorted(cosines, key=lambda i: -cosines[i])[:CANDIDATES]
        rows = await retrieval.items_by_ids(
            session, list(dict.fromkeys([*text_hits, *vector_hits])), scope=scope
        )
        coverage = {i: _coverage(item, wanted) for i, (item, _feed) in rows.items()}
        if mode == "hybrid":
            # A report holding one or two of the question's words (a bigram of a Japanese
            # question, a common English word) is noise next to the vectors: only reports
            # holding a fair share of them vote in the fusion.
            text_hits = [i for i in text_hits if coverage.get(i, 0.0) >= MIN_TEXT_VOTE]
        fused: dict[int, float] = {}
        for rank, item_id in enumerate(r for r in vector_hits if r in rows):
            fused[item_id] = fused.get(item_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, item_id in enumerate(r for r in text_hits if r in rows):
            # Weighed by how much of the question the report holds, so full text decides
            # where it matches well and defers to the vectors where it barely matches.
            weight = coverage[item_id] if mode == "hybrid" else 1.0
            fused[item_id] = fused.get(item_id, 0.0) + weight / (RRF_K + rank + 1)
        ordered = sorted(fused, key=lambda i: -fused[i])
        chosen = ordered[:GROUPED]
        articles = await as_articles(session, [rows[i] for i in chosen])
        found_stories = []
        for story in group_reports(articles):
            ids = [a.item_id for a in story.articles]
            scores = sorted((fused[i] for i in ids), reverse=True)
            found_stories.append(
                FoundStory(
                    story=story,
                    score=scores[0] + 0.2 * sum(scores[1:]),
                    cosine=max((cosines.get(i, 0.0) for i in ids), default=0.0),
                    coverage=max((coverage[i] for i in ids), default=0.0),
                )
            )
        found_stories.sort(key=lambda s: -s.score)
        return Retrieval(
            question=question,
            stories=tuple(found_stories[:stories]),
            ranked_items=tuple(ordered),
        )


def _coverage(item: Item, wanted: set[str]) -> float:
    if not wanted:
        return 0.0
    return len(wanted & set(item.search_text.split())) / len(wanted)
