"""The one decision of an item's sectors: the keyword rules, then the veto and rescue by its vector.

``decide`` is the only place that says which sectors an item gets. The bot calls it for every
item it stores (``bot.briefing.edition.ItemClassifier``, with no vector yet) and again once the
embedding worker has made the item's vector (``bot.briefing.sector_vectors``); ``shiftbrief
classify`` calls it for each line it reads, with a vector when the model is installed. So the
command line answers exactly what the bot would.

Steps, for an item with a vector and sector prototypes to compare it with (a ``Verdict``):

* veto: a keyword sector resting on weak evidence (one term, a low score) is dropped when the
  vector is clearly closer to the off-topic prototype, or to another sector's, than to it;
* rescue: an item the keyword rules cannot read (German, Spanish, Chinese ...) and that has no
  sector gets the one its vector is close to and clearly closer to than to any other.

Embeddings alone rank sectors well but reject off-topic items poorly, so they only complement
the rules; how each constant was chosen is said next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.briefing.classify import Classifier, has_keyword_rules
from bot.models import SectorScore

Vector = npt.NDArray[np.float32]

RESCUE_MIN = 0.30
"""Cosine an item needs with the best prototype to be rescued (centred vectors)."""
RESCUE_MARGIN = 0.04
"""...and how much closer it must be to that prototype than to the next one..."""
RESCUE_OFF_MARGIN = -1.0
"""...and than to the off-topic prototype."""
READ_RESCUE_MIN = 2.0
"""The cosine an English or Japanese item, which the rules read and found no sector in, needs
to be rescued (above 1.0: never)."""
VETO_OFF_MARGIN = 0.05
"""A weak keyword sector is dropped when the off-topic prototype is this much closer to the
item than the sector's own prototype..."""
VETO_MARGIN = 0.3
"""...or another sector's prototype is this much closer."""
WEAK_SCORE = 0.45
"""A keyword score below this (one title term of weight 1 scores 0.39) with a single matched
term is weak evidence."""


@dataclass(frozen=True, slots=True)
class Prototypes:
    """One vector per sector (rows of ``matrix`` in the order of ``keys``), and off-topic's."""

    keys: tuple[str, ...]
    matrix: npt.NDArray[np.float32]
    off_topic: Vector | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Which sector the vector picks for an item, and how sure it is."""

    best: str
    best_sim: float
    margin: float
    sims: dict[str, float]
    off_topic: float | None = None
    """Cosine with the off-topic prototype (None when there is none for this model)."""


def verdict(vector: Vector, prototypes: Prototypes) -> Verdict:
    """How close ``vector`` (centred, normalised) is to each prototype."""
    sims = prototypes.matrix @ vector
    order = np.argsort(-sims)
    best = int(order[0])
    second = float(sims[order[1]]) if len(order) > 1 else -1.0
    off = prototypes.off_topic
    return Verdict(
        best=prototypes.keys[best],
        best_sim=float(sims[best]),
        margin=float(sims[best]) - second,
        sims={k: float(s) for k, s in zip(prototypes.keys, sims, strict=True)},
        off_topic=float(off @ vector) if off is not None else None,
    )


def rescues(found: Verdict, *, read: bool = False) -> bool:
    """Whether the vector places an item with no keyword sector in ``found.best``.

    Args:
        found: The item's verdict.
        read: Whether the keyword rules read the item's language (and found nothing).
    """
    if found.best_sim < (READ_RESCUE_MIN if read else RESCUE_MIN):
        return False
    if found.off_topic is not None and found.best_sim - found.off_topic < RESCUE_OFF_MARGIN:
        return False
    return found.margin >= RESCUE_MARGIN


def vetoes(found: Verdict, sector: str) -> bool:
    """Whether the vector disagrees clearly with a keyword match to ``sector``."""
    own = found.sims.get(sector)
    if own is None:
        return False
    if found.off_topic is not None and found.off_topic - own >= VETO_OFF_MARGIN:
        return True
    return max(found.sims.values()) - own >= VETO_MARGIN


def is_weak(score: SectorScore) -> bool:
    """Whether a keyword sector rests on one term with a low score (the veto may drop it)."""
    return bool(score.matched) and len(score.matched) <= 1 and score.score < WEAK_SCORE


def refine(
    scores: Sequence[SectorScore], found: Verdict | None, language: str | None
) -> tuple[SectorScore, ...]:
    """Keyword sectors ``scores`` after the veto and, if none is left, the rescue."""
    if found is None:
        return tuple(scores)
    kept = tuple(s for s in scores if not (is_weak(s) and vetoes(found, s.key)))
    # An English or Japanese item the rules read and found no term in is most likely off-topic,
    # and embeddings reject off-topic items poorly: it needs a closer vector to be rescued.
    if not kept and rescues(found, read=has_keyword_rules(language)):
        # Scored by its cosine (about one keyword term's score), so keyword-placed items of the
        # same story rank above it; "matched" stays empty: no term said so.
        kept = (SectorScore(found.best, round(found.best_sim, 3), ()),)
    return kept


def decide(
    classifier: Classifier,
    title: str,
    summary: str = "",
    *,
    sector_hint: str | None = None,
    language: str | None = None,
    vector: Vector | None = None,
    prototypes: Prototypes | None = None,
) -> tuple[SectorScore, ...]:
    """The sectors of one item, best first; ``()`` when it belongs to none.

    Args:
        classifier: The keyword rules for the current sector list.
        title: The item's headline.
        summary: The item's summary (only its start is read).
        sector_hint: The key of the sector the item's feed is about, if any.
        language: The item's language as ingest detected it.
        vector: The item's stored embedding (centred, normalised), if it has one yet.
        prototypes: The sectors' prototypes for that model; without them or without a
            vector, the keyword rules decide alone.
    """
    scores = classifier.classify(title, summary, sector_hint=sector_hint, language=language)
    if vector is None or prototypes is None:
        return scores
    return refine(scores, verdict(vector, prototypes), language)
