"""The one decision of an item's sectors: the keyword rules, then the rescue by its vector.

``decide`` is the only place that says which sectors an item gets. The bot calls it for every
item it stores (``bot.briefing.edition.ItemClassifier``, with no vector yet) and again once the
embedding worker has made the item's vector (``bot.briefing.sector_vectors``); ``shiftbrief
classify`` calls it for each line it reads, with a vector when the model is installed. So the
command line answers exactly what the bot would.

The rule: a sector the keyword rules give stands (they also read the publisher's categories of
the item, ``bot.briefing.categories``, each naming a sector worth one title term). An item they
give none (they read English and Japanese, and German, Spanish and Chinese only by short lists
of unmistakable words, and even there miss headlines without a telling term) is rescued when
its vector is clearly about one sector, unless its headline is a digest of several news or a
security incident at an organisation (``rescuable``):

* into a sector an admin added, when the item is in a language the rules cannot read and its
  vector is nearer that sector's prototype (its keywords and the items they matched) than any
  other prototype, and close enough (``ADMIN_RESCUE_MIN``);
* into a built-in sector, when ``bot.briefing.sector_model`` gives it a probability of at least
  ``READ_RESCUE_P`` (English, Japanese: the rules read the item and found nothing, so the
  model must be sure) or ``OTHER_RESCUE_P`` (other languages).

There is no veto of keyword sectors by the vector any more: on the dev split's folds every veto
tried (the off-topic prototype nearer than the sector's own by 0 to 0.2, another sector's
nearer by 0.2 or 0.3, the model's "none" above 0.5 to 0.95) removed more right sectors than
wrong ones: on-topic 0.931 without a veto, 0.859 to 0.929 with one, for off-topic rejection
of 0.952 without and 0.952 to 0.957 with. How each constant was chosen is said next to it; the
figures are ``bench/sector_model.py``'s, cross-validated over five folds of the dev split
(folds by feed) and of the corpus's labelled sets, never the test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.briefing.classify import Classifier, has_keyword_rules
from bot.briefing.headlines import is_digest, is_security_incident
from bot.models import SectorScore

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bot.briefing.sector_model import SectorModel

    Vector = npt.NDArray[np.float32]
else:
    # numpy loads only where vectors are compared: ingest classifies by the rules alone.
    Vector = Any

READ_RESCUE_P = 0.85
"""The model's probability an English or Japanese item without a keyword sector needs for its
best built-in sector. Chosen with ``OTHER_RESCUE_P`` on the dev folds among 0.5 to 0.95 and
never (``bench/sector_model.py``): the best on-topic accuracy whose off-topic rejection stays
at least 0.95 after one standard error is taken off it (a choice at the very edge of the floor
fell to 0.897 on unseen items once). Chosen again once the rules read publishers' categories
and give stock tips nothing (both place or reject items before any rescue): 0.85 gives on-topic
0.950 (folds 0.878-0.983), off-topic rejection 0.963 (0.917-0.987); at 0.8 and 0.7 rejection
falls to 0.957 and 0.947, at 0.9 on-topic to 0.946, and without this rescue to 0.942.
Chosen again (still 0.85) once reviews, brand names and journals' names are read as they
mean, with the floor required on a headline-only view of the same items too (feeds that give
no summary get the same threshold): on-topic 0.961 (folds 0.878-0.989), rejection 0.968
(0.938-0.979); headlines alone 0.944 / 0.965. At 0.8 the items with summaries would gain one
on-topic item (0.963) but headlines alone reject only 0.957, under the floor after one
standard error; at 0.9 on-topic falls to 0.957."""
OTHER_RESCUE_P = 0.4
"""The same for an item in a language the English and Japanese rules cannot read (German,
Spanish, Chinese ...; their own short term lists read them first). Chosen among 0.3 to 0.7 and
never, in the same search as ``READ_RESCUE_P``: 0.5 gives on-topic 0.950 with off-topic
rejection 0.963. The search's rule picks 0.4 (one more on-topic and one more off-topic item:
0.952 / 0.960), whose rejection minus one standard error is 0.9500, the floor itself: a tie in
items, at the edge that did not hold before, so the side with the margin was kept. Chosen
again with the rules that read reviews, brand names and journals' names: 0.4 gives on-topic
0.961 and rejection 0.968 (0.959 after one standard error, clear of the floor; headlines alone
0.965), 0.5 gives 0.959 / 0.971: the rule's choice, 0.4, now has its margin and is taken. 0.3
rejects 0.960 (headlines alone 0.957)."""
RESCUE_SCORE = 0.39
"""A rescued item's score is this times the model's probability: at most one title term's
(0.39), so items of the same story the rules placed rank above it, and at least
``compose.MIN_SECTOR_SCORE`` (0.1) for the lowest probability rescued."""
ADMIN_RESCUE_MIN = 0.2
"""Cosine an item in a language the rules cannot read needs with an admin-added sector's
prototype, the nearest of all, to be placed in it. Chosen by treating each built-in sector in
turn as if an admin had added it (its prototype made from its terms and the items its terms
matched in the training folds) among 0.2 to 0.5, with margins over the next prototype of 0 to
0.12: the most items placed (13 of 28 on-topic ones) at precision 0.93 or better. English and
Japanese items are not rescued into admin sectors: the admin's keywords read them, and without
that limit the same search found no setting above precision 0.34. The built-in sectors'
prototypes it competes with are the means of their labelled items; made as an admin sector's is
(terms and matched items), or from English and Japanese items only, they let more items through
(17 and 15 of 28) at lower precision (0.85, 0.83)."""


def _empty() -> npt.NDArray[np.float32]:
    import numpy as np

    return np.zeros((0, 0), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class VectorEvidence:
    """What an item's vector is compared with: the model for the built-in sectors, and the
    prototypes (rows of ``matrix`` in the order of ``keys``) of every sector that has one,
    ``admin`` naming the admin-added ones among them."""

    model: SectorModel | None
    keys: tuple[str, ...] = ()
    matrix: npt.NDArray[np.float32] = field(default_factory=_empty)
    admin: frozenset[str] = frozenset()


def rescue(
    vector: Vector, evidence: VectorEvidence, language: str | None, sectors: frozenset[str]
) -> tuple[SectorScore, ...]:
    """The sector an item with no keyword sector gets from its vector, or ``()``.

    Args:
        vector: The item's stored embedding (centred, normalised).
        evidence: The model and the prototypes.
        language: The item's language as ingest detected it.
        sectors: The keys of the current sectors (a rescue never names another).
    """
    import numpy as np

    from bot.briefing.sector_model import NONE

    read = has_keyword_rules(language)
    if not read and evidence.admin and len(evidence.keys):
        sims = evidence.matrix @ vector
        best = int(np.argmax(sims))
        key = evidence.keys[best]
        if key in evidence.admin and key in sectors and sims[best] >= ADMIN_RESCUE_MIN:
            return (SectorScore(key, round(float(sims[best]), 3), ()),)
    if evidence.model is None:
        return ()
    found = [
        (p, key)
        for key, p in evidence.model.probabilities(vector).items()
        if key != NONE and key in sectors
    ]
    if not found:
        return ()
    p, key = max(found)
    if p < (READ_RESCUE_P if read else OTHER_RESCUE_P):
        return ()
    # "matched" stays empty: no term said so.
    return (SectorScore(key, round(RESCUE_SCORE * p, 3), ()),)


def decide(
    classifier: Classifier,
    title: str,
    summary: str = "",
    *,
    sector_hint: str | Sequence[str] | None = None,
    language: str | None = None,
    vector: Vector | None = None,
    evidence: VectorEvidence | None = None,
    categories: Sequence[str] = (),
) -> tuple[SectorScore, ...]:
    """The sectors of one item, best first; ``()`` when it belongs to none.

    Args:
        classifier: The keyword rules for the current sector list.
        title: The item's headline.
        summary: The item's summary (only its start is read).
        sector_hint: The key of the sector the item's feed is about, if any; several when
            several tenants follow the feed, each with its own hint.
        language: The item's language as ingest detected it.
        vector: The item's stored embedding (centred, normalised), if it has one yet.
        evidence: The model and prototypes for that embedding model; without them or without
            a vector, the keyword rules decide alone.
        categories: The publisher's categories of the item (RSS ``<category>``, arXiv's
            ``quant-ph``), as ingest stored them.
    """
    hints = (sector_hint,) if isinstance(sector_hint, str) else tuple(sector_hint or ())
    scores = keyword_sectors(classifier, title, summary, hints, language, categories)
    if scores or vector is None or evidence is None or not rescuable(title):
        return scores
    return rescue(vector, evidence, language, frozenset(s.key for s in classifier.sectors))


def rescuable(title: str) -> bool:
    """Whether an item may be rescued at all: not a digest (its vector is the mean of unrelated
    news) nor a security incident at an organisation (its vector is near the victim's field, a
    hospital's breach near life science, which the keyword rules also discount)."""
    return not is_digest(title) and not is_security_incident(title)


def keyword_sectors(
    classifier: Classifier,
    title: str,
    summary: str,
    hints: Sequence[str],
    language: str | None,
    categories: Sequence[str] = (),
) -> tuple[SectorScore, ...]:
    """The keyword rules' sectors with every follower's hint: a hint only adds to its own
    sector, so with several the best score of each sector over one pass per hint is the
    answer."""
    if len(hints) <= 1:
        hint = hints[0] if hints else None
        return classifier.classify(
            title, summary, sector_hint=hint, language=language, categories=categories
        )
    best: dict[str, SectorScore] = {}
    for hint in hints:
        for score in classifier.classify(
            title, summary, sector_hint=hint, language=language, categories=categories
        ):
            if score.key not in best or score.score > best[score.key].score:
                best[score.key] = score
    return tuple(sorted(best.values(), key=lambda s: -s.score))
