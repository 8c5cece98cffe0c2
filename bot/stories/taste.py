"""A reader's taste as the ranking uses it (pure): a story's facets and their factor.

``bot.stories.learning`` builds the weights from votes; ``compose`` multiplies a story's score
by ``factor`` of the weights of its facets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from bot.models import Story

STRENGTH = 0.8
"""How far a fresh vote's share moves a story's factor (a whole vote: exp(0.8) = 2.2)."""
MAX_FACTOR = 2.0


def story_facets(story: Story, min_score: float = 0.1) -> set[str]:
    """The facets of a story a vote teaches about: sector, subjects, outlets."""
    facets = {f"outlet:{a.source}" for a in story.articles}
    for sector in story.sectors:
        if sector.score >= min_score:
            facets.add(f"sector:{sector.key}")
            facets.update(f"subject:{term.casefold()}" for term in sector.matched)
    return facets


def factor(weights: Mapping[str, float], facets: Iterable[str]) -> float:
    """The ranking factor of a story with ``facets`` for a reader with ``weights``."""
    total = sum(weights.get(f, 0.0) for f in facets)
    return min(MAX_FACTOR, max(1.0 / MAX_FACTOR, math.exp(STRENGTH * total)))
