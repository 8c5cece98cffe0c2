"""Which built-in sector an item's vector is about, or none: a linear model over stored vectors.

The keyword rules place most items; an item they found no term in (a German headline, a short
English one about a cell's migration) can still be news of a sector. Sector prototypes (one
mean vector per sector) rank the sectors well but cannot tell an off-topic item from an
on-topic one, so the decision asks this model instead: a multinomial logistic regression with
one class per built-in sector and one for "none", trained on labelled real items (the dev split
of ``tests/data/classify_dev.tsv`` and the tune parts of the corpus's labelled sets) by
``bench/sector_model.py``, which also chose its settings by cross-validation. Its weights ship
in ``data/sector_model.json`` per embedding model; reading them needs numpy only.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

NONE = "none"
"""The class of items no built-in sector's reader would want."""


@dataclass(frozen=True, slots=True)
class SectorModel:
    """Weights of one embedding model's classifier: ``classes`` (``NONE`` among them), a
    ``(dim, len(classes))`` matrix and a bias per class."""

    classes: tuple[str, ...]
    weights: npt.NDArray[np.float32]
    bias: npt.NDArray[np.float32]

    def probabilities(self, vector: npt.NDArray[np.float32]) -> dict[str, float]:
        """The probability of each class for one stored (centred, normalised) vector."""
        logits = vector @ self.weights + self.bias
        exp = np.exp(logits - logits.max())
        return {c: float(p) for c, p in zip(self.classes, exp / exp.sum(), strict=True)}

    def to_json(self) -> dict[str, object]:
        """The form ``data/sector_model.json`` stores."""
        return {
            "classes": list(self.classes),
            "weights": [[round(float(x), 5) for x in row] for row in self.weights.T],
            "bias": [round(float(x), 5) for x in self.bias],
        }

    @classmethod
    def from_json(cls, stored: dict[str, object]) -> SectorModel:
        classes = stored["classes"]
        assert isinstance(classes, list)
        return cls(
            classes=tuple(str(c) for c in classes),
            weights=np.asarray(stored["weights"], dtype=np.float32).T.copy(),
            bias=np.asarray(stored["bias"], dtype=np.float32),
        )


@functools.cache
def shipped_model(model: str) -> SectorModel | None:
    """The classifier trained for the embedding model ``model``; None when there is none."""
    path = resources.files("bot.briefing").joinpath("data", "sector_model.json")
    if not path.is_file():
        return None
    stored = json.loads(path.read_text(encoding="utf-8")).get(model)
    return SectorModel.from_json(stored) if stored else None
