"""Sector rescue and veto by embeddings (bot/briefing/sector_vectors.py), measured on real items.

Run: ``.venv/bin/python bench/classify_vectors.py [--corpus PATH]`` (``bench/classify.py`` calls
it too when the model is installed).

Figures, per part (tune / held-out) and language, for the keyword rules alone, with the rescue,
and with rescue and veto: on-topic items whose best sector is acceptable, off-topic items with no
sector. Then the share of items of the corpus's German, Spanish and Chinese feeds that get a
sector, with samples.
Item vectors are cached under ``$XDG_CACHE_HOME/shiftbrief-bench`` (embedding takes minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.classify import DEFAULT_CORPUS, DevItem, Figures, is_right, load_dev_set
from bot.briefing import embed
from bot.briefing.classify import Classifier
from bot.briefing.sector_decision import refine, verdict
from bot.briefing.sector_vectors import SectorVectors
from bot.briefing.sectors import default_sectors
from bot.ingest.parse import parse_feed

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shiftbrief-bench"
OTHER_FEEDS = (
    "heise_online_atom_150items__nextcloud-news.xml",
    "mittechreview_es_scraped_2026-02__prospect-rss-feeds.xml",
    "geekpark_zh_rss__Feeder.xml",
)


def cached_vectors(embedder: embed.Embedder, texts: Sequence[tuple[str, str]]) -> embed.Vectors:
    """Vectors of ``(text, language)`` pairs, embedded once and kept on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(
        "\x00".join(f"{lang}\x01{text}" for text, lang in texts).encode()
    ).hexdigest()[:16]
    path = CACHE / f"{embedder.name}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    vectors = embedder.embed([t for t, _ in texts], [lang for _, lang in texts])
    np.save(path, vectors)
    return vectors


def measure(
    classifier: Classifier, sv: SectorVectors, items: Sequence[DevItem], vectors: embed.Vectors
) -> tuple[Figures, Figures, Figures]:
    """Figures before the embedding steps, with the rescue only, and with rescue and veto."""
    found = sv.prototypes(classifier.sectors)
    assert found is not None
    counts = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    for item, vector in zip(items, vectors, strict=True):
        before = classifier.classify(item.title, item.summary, language=item.language)
        seen = verdict(vector, found)
        rescued = refine(before, replace(seen, off_topic=None, sims={}), item.language)
        after = refine(before, seen, item.language)
        for n, scores in enumerate((before, rescued, after)):
            right = is_right(item, scores)
            base = 0 if item.on_topic else 2
            counts[n][base] += 1
            counts[n][base + 1] += right
    return Figures(*counts[0]), Figures(*counts[1]), Figures(*counts[2])


def print_dev(corpus: Path, embedder: embed.Embedder) -> None:
    """Before/after figures on the labelled dev set."""
    items = load_dev_set(corpus)
    classifier = Classifier(sectors=default_sectors())
    sv = SectorVectors(embedder)
    sv.prepare(classifier.sectors)
    vectors = cached_vectors(
        embedder, [(embed.article_text(i.title, i.summary), i.language) for i in items]
    )
    by_item = dict(zip([i.row for i in items], vectors, strict=True))
    for part, held in (("tune", False), ("held-out", True)):
        for language in ("en", "ja", "de", "*"):
            subset = [i for i in items if i.held_out == held and language in ("*", i.language)]
            if not subset:
                continue
            vectors_of = np.stack([by_item[i.row] for i in subset])
            before, rescued, after = measure(classifier, sv, subset, vectors_of)
            label = "all" if language == "*" else language
            print(f"{part:9} {label:3} n={len(subset):4} rules  {before}")
            print(f"{'':9} {'':3} {'':6} +rescue {rescued}")
            print(f"{'':9} {'':3} {'':6} +veto  {after}")


def print_other_languages(corpus: Path, embedder: embed.Embedder) -> None:
    """How many items of feeds in other languages get a sector, with a few samples."""
    classifier = Classifier(sectors=default_sectors())
    sv = SectorVectors(embedder)
    sv.prepare(classifier.sectors)
    found = sv.prototypes(classifier.sectors)
    assert found is not None
    for name in OTHER_FEEDS:
        path = corpus / "realfeeds" / name
        if not path.is_file():
            continue
        parsed = parse_feed(path.read_bytes(), url="https://example.com/feed").items
        vectors = cached_vectors(
            embedder, [(embed.article_text(p.title, p.summary), p.language) for p in parsed]
        )
        sectors: Counter[str] = Counter()
        samples: list[str] = []
        languages: Counter[str] = Counter(p.language for p in parsed)
        for item, vector in zip(parsed, vectors, strict=True):
            scores = classifier.classify(item.title, item.summary, language=item.language)
            after = refine(scores, verdict(vector, found), item.language)
            if after:
                sectors[after[0].key] += 1
                if len(samples) < 6:
                    samples.append(f"    {after[0].key:9} {item.title[:90]}")
        placed = sum(sectors.values())
        print(
            f"{name}: {len(parsed)} items {dict(languages)}; with a sector {placed} "
            f"({placed / max(len(parsed), 1):.0%}) {dict(sectors)}"
        )
        print("\n".join(samples))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    embedder = embed.default_embedder()
    if embedder is None:
        print("embedding model not installed", file=sys.stderr)
        return 2
    print_dev(args.corpus, embedder)
    print_other_languages(args.corpus, embedder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
