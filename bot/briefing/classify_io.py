"""``shiftbrief classify``: the sectors of JSON Lines items, decided as the bot decides them.

Each item goes through ``sector_decision.decide``, the function the bot calls for every stored
item: the keyword rules, and, when a ``SectorVectors`` is given (the model is installed and
``--lexical`` was not asked for), the rescue with the item's vector, embedded here the way the
embedding worker embeds a stored item. An item without a ``lang`` gets the language
ingest would detect for it; its ``categories`` (the publisher's, as ingest stores them) are
evidence as they are for a stored item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.briefing.classify import Classifier
from bot.briefing.jsonl_input import LineError, read_item
from bot.briefing.sector_decision import Vector, VectorEvidence, decide
from bot.ingest.entries import tidy_categories
from bot.ingest.language import UNDETERMINED, item_language

if TYPE_CHECKING:
    # Only with vectors (the model loaded): `classify --lexical` runs without numpy.
    from bot.briefing import embed
    from bot.briefing.sector_vectors import SectorVectors


@dataclass(frozen=True, slots=True)
class ClassifyLine:
    """One input line: the item it holds, or why it could not be read."""

    number: int
    item_id: object
    title: str = ""
    summary: str = ""
    sector_hint: str | None = None
    language: str = UNDETERMINED
    categories: tuple[str, ...] = ()
    error: str | None = None


def read_line(number: int, line: str) -> ClassifyLine:
    """The item of one JSON line (its language detected when it gives none)."""
    try:
        item_id, item = read_item(line, {"summary": "", "sector_hint": None, "lang": None})
    except LineError as exc:
        return ClassifyLine(number, exc.item_id, error=str(exc))
    title, summary, hint, lang = item["title"], item["summary"], item["sector_hint"], item["lang"]
    categories = item.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        return ClassifyLine(number, item_id, error="'categories' must be a list of strings")
    if lang is None:
        # What ingest does for an item whose feed declares no language.
        lang = item_language(f"{title} {summary[:300]}", UNDETERMINED)
    return ClassifyLine(number, item_id, title, summary, hint, lang, tidy_categories(categories))


def classify_jsonl(
    lines: Iterable[str], classifier: Classifier, *, vectors: SectorVectors | None = None
) -> list[str]:
    """Classify JSON Lines items; one output line per input line that is not blank.

    Each input line is ``{"id": ..., "title": "...", "summary": "..."}`` (``summary``, a
    ``sector_hint``, a ``lang`` and ``categories``, a list of strings, are optional). Each
    output line is ``{"id": ..., "sectors": [{"key": ..., "score": ...}, ...]}``, best first,
    ``[]`` when off-topic. A line that cannot be read gives ``{"id": ..., "line": n, "error":
    "..."}`` (``id`` is null unless it could be read) and the run goes on.

    Args:
        lines: The input lines.
        classifier: The keyword rules for the sectors to classify into.
        vectors: Prototypes and the model, for the rescue (already ``prepare``-d and
            ``refresh``-ed for the classifier's sectors); None for the keyword rules alone.
    """
    parsed = [read_line(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    items = [p for p in parsed if p.error is None]
    evidence: VectorEvidence | None = None
    found: dict[int, Vector] = {}
    if vectors is not None and items:
        evidence = vectors.evidence(classifier.sectors)
        model = vectors.model()
        if evidence is not None and model is not None:
            embedded = _embed(model, items)
            found = {p.number: v for p, v in zip(items, embedded, strict=True)}
    out = []
    for p in parsed:
        if p.error is not None:
            record: dict[str, object] = {"id": p.item_id, "line": p.number, "error": p.error}
        else:
            scores = decide(
                classifier,
                p.title,
                p.summary,
                sector_hint=p.sector_hint,
                language=p.language,
                vector=found.get(p.number),
                evidence=evidence,
                categories=p.categories,
            )
            record = {
                "id": p.item_id,
                "sectors": [{"key": s.key, "score": s.score} for s in scores],
            }
        out.append(json.dumps(record, ensure_ascii=False))
    return out


def _embed(model: embed.Embedder, items: Sequence[ClassifyLine]) -> list[Vector]:
    # The embedding worker's text and language for a stored item.
    from bot.briefing import embed

    texts = [embed.article_text(p.title, p.summary) for p in items]
    return list(model.embed(texts, [p.language for p in items]))
