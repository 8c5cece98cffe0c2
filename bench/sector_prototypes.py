"""Compute the built-in sectors' prototype vectors from labelled examples (dev rows only).

Run: ``.venv/bin/python bench/sector_prototypes.py [--corpus PATH]``; writes
``bot/briefing/data/sector_prototypes.json``, which ``bot.briefing.sector_vectors`` reads.

A built-in sector's prototype is the normalised mean vector of the tune rows of
``tests/data/classify_dev.tsv`` whose best-fitting sector it is; held-out rows are never used,
so ``bench/classify_vectors.py`` measures on items the prototypes did not see. Only vectors are
stored, never the publishers' text. The off-topic tune rows make one more prototype, ``none``,
for the veto. On the tune rows, the best prototype was an acceptable
sector for 82 % of on-topic items, against 72 % for prototypes made from the sectors' terms.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.classify import DEFAULT_CORPUS, load_dev_set
from bench.classify_vectors import cached_vectors
from bot.briefing import embed
from bot.briefing.sector_vectors import OFF_TOPIC, PROTOTYPES_FILE
from bot.briefing.sectors import default_sectors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    embedder = embed.default_embedder()
    if embedder is None:
        print("embedding model not installed", file=sys.stderr)
        return 2
    items = load_dev_set(args.corpus)
    vectors = cached_vectors(
        embedder, [(embed.article_text(i.title, i.summary), i.language) for i in items]
    )
    out: dict[str, list[float]] = {}
    for sector in default_sectors():
        rows = [
            v
            for i, v in zip(items, vectors, strict=True)
            if not i.held_out and i.acceptable and i.acceptable[0] == sector.key
        ]
        mean = np.mean(rows, axis=0)
        out[sector.key] = [round(float(x), 5) for x in mean / np.linalg.norm(mean)]
        print(f"{sector.key}: {len(rows)} examples")
    # What the off-topic tune rows have in common: the veto drops a weak keyword match that is
    # closer to this than to its own sector.
    rows = [v for i, v in zip(items, vectors, strict=True) if not i.held_out and not i.on_topic]
    mean = np.mean(rows, axis=0)
    out[OFF_TOPIC] = [round(float(x), 5) for x in mean / np.linalg.norm(mean)]
    print(f"off-topic: {len(rows)} examples")
    stored = json.loads(PROTOTYPES_FILE.read_text()) if PROTOTYPES_FILE.is_file() else {}
    stored[embedder.name] = out
    PROTOTYPES_FILE.write_text(json.dumps(stored) + "\n", encoding="utf-8")
    print(f"wrote {PROTOTYPES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
