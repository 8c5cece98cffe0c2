"""Choose the constants of the sector veto and rescue by cross-validation on the dev split only.

Run: ``.venv/bin/python bench/classify_tune.py [--corpus PATH] [--folds 5]``

The dev split (``tests/data/classify_dev.tsv``) is cut into folds by row; for each fold the
sector prototypes are made from the other folds' items (as ``bench/sector_prototypes.py`` makes
the shipped ones from all of them) and every combination of the constants in ``GRID`` is scored
on the fold with ``bot.briefing.sector_decision.decide``, the bot's own decision. A combination
is kept only if its off-topic rejection reaches ``OFF_TOPIC_GOAL`` in the mean over folds; of
those, the one with the best mean on-topic accuracy wins. Prints the mean and the spread
(min-max over folds) of the winner and of the constants in force. The TEST split is never read.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.classify import DEFAULT_CORPUS, DevItem, is_right, load_dev_set
from bench.classify_vectors import cached_vectors
from bot.briefing import embed, sector_decision
from bot.briefing.classify import Classifier
from bot.briefing.sector_decision import Prototypes, Verdict
from bot.briefing.sectors import default_sectors
from bot.models import SectorScore

OFF_TOPIC_GOAL = 0.95
GRID: dict[str, tuple[float, ...]] = {
    "RESCUE_MIN": (0.25, 0.30, 0.35, 0.40),
    "RESCUE_MARGIN": (0.02, 0.04, 0.08),
    "RESCUE_OFF_MARGIN": (-1.0, 0.0, 0.05, 0.10),
    "READ_RESCUE_MIN": (2.0, 0.40, 0.45, 0.50),
    "VETO_OFF_MARGIN": (0.0, 0.05, 0.10, 0.20, 9.0),
    "VETO_MARGIN": (0.2, 0.3, 9.0),
}
"""Values tried; 2.0 and 9.0 switch a step off (no cosine reaches them)."""


def prototypes_from(
    items: Sequence[DevItem], vectors: np.ndarray, keys: Sequence[str]
) -> Prototypes:
    """Mean vector per best-fitting sector, and of the off-topic items."""
    rows = []
    for key in keys:
        chosen = [v for i, v in zip(items, vectors, strict=True) if i.acceptable[:1] == (key,)]
        mean = np.mean(chosen, axis=0)
        rows.append(mean / np.linalg.norm(mean))
    off = np.mean([v for i, v in zip(items, vectors, strict=True) if not i.on_topic], axis=0)
    return Prototypes(
        tuple(keys),
        np.stack(rows).astype(np.float32),
        (off / np.linalg.norm(off)).astype(np.float32),
    )


def score(
    items: Sequence[DevItem],
    keyword: Sequence[tuple[SectorScore, ...]],
    verdicts: Sequence[Verdict],
    constants: dict[str, float],
) -> tuple[float, float]:
    """On-topic and off-topic rates of ``decide`` with ``constants`` set."""
    for name, value in constants.items():
        setattr(sector_decision, name, value)
    on = on_right = off = off_right = 0
    for item, scores, seen in zip(items, keyword, verdicts, strict=True):
        found = sector_decision.refine(scores, seen, item.language)
        right = is_right(item, found)
        if item.on_topic:
            on, on_right = on + 1, on_right + right
        else:
            off, off_right = off + 1, off_right + right
    return on_right / max(on, 1), off_right / max(off, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    embedder = embed.default_embedder()
    if embedder is None:
        print("embedding model not installed", file=sys.stderr)
        return 2
    items = load_dev_set(args.corpus)
    vectors = cached_vectors(
        embedder, [(embed.article_text(i.title, i.summary), i.language) for i in items]
    )
    classifier = Classifier(sectors=default_sectors())
    keyword = [classifier.classify(i.title, i.summary, language=i.language) for i in items]
    keys = [s.key for s in classifier.sectors]
    in_force = {name: getattr(sector_decision, name) for name in GRID}
    folds = []
    for fold in range(args.folds):
        train = [n for n in range(len(items)) if n % args.folds != fold]
        test = [n for n in range(len(items)) if n % args.folds == fold]
        protos = prototypes_from([items[n] for n in train], vectors[train], keys)
        seen = [sector_decision.verdict(vectors[n], protos) for n in test]
        folds.append(([items[n] for n in test], [keyword[n] for n in test], seen))

    def cross(constants: dict[str, float]) -> list[tuple[float, float]]:
        return [score(i, k, v, constants) for i, k, v in folds]

    results = []
    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        constants = dict(zip(names, values, strict=True))
        per_fold = cross(constants)
        on = float(np.mean([f[0] for f in per_fold]))
        off = float(np.mean([f[1] for f in per_fold]))
        results.append((on, off, constants, per_fold))
    feasible = [r for r in results if r[1] >= OFF_TOPIC_GOAL]
    best = max(feasible or results, key=lambda r: (r[0] + r[1], r[1]))
    for label, (on, off, constants, per_fold) in (
        ("in force", (*_mean(cross(in_force)), in_force, cross(in_force))),
        ("chosen", best),
    ):
        ons = [f[0] for f in per_fold]
        offs = [f[1] for f in per_fold]
        print(
            f"{label:8} on-topic {on:.3f} ({min(ons):.3f}-{max(ons):.3f})  "
            f"off-topic {off:.3f} ({min(offs):.3f}-{max(offs):.3f})  {constants}"
        )
    for name in names:  # how much each constant matters, around the chosen point
        line = []
        for value in GRID[name]:
            constants = replace_key(best[2], name, value)
            on, off = _mean(cross(constants))
            line.append(f"{value}: {on:.3f}/{off:.3f}")
        print(f"  {name:18} " + "  ".join(line))
    return 0


def replace_key(constants: dict[str, float], name: str, value: float) -> dict[str, float]:
    return {**constants, name: value}


def _mean(per_fold: Sequence[tuple[float, float]]) -> tuple[float, float]:
    return float(np.mean([f[0] for f in per_fold])), float(np.mean([f[1] for f in per_fold]))


if __name__ == "__main__":
    sys.exit(main())
