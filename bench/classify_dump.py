"""Dump the classifier's output for every labelled and corpus item, to compare two versions.

Run: ``.venv/bin/python bench/classify_dump.py OUT.tsv [--corpus PATH]``

Writes one line per item (set, entry key, then each sector with its score and matched terms)
for the dev set, the external labelled sets and every entry of the real feeds, each classified
as title with summary and as title alone. Run it before and after a change that must not move
any result (a vocabulary moved to data files, a refactor) and ``diff`` the two files: any line
that differs is an item whose classification changed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser

from bench.classify import DEFAULT_CORPUS, load_dev_set, load_external_sets
from bot.briefing.classify import Classifier
from bot.briefing.sectors import default_sectors
from bot.models import SectorScore


def _items(corpus: Path) -> Iterator[tuple[str, str, str, str]]:
    """(set, key, title, summary) for every item this dump covers."""
    for item in load_dev_set(corpus):
        yield "dev", f"{item.file}#{item.key}", item.title, item.summary
    for external in load_external_sets(corpus):
        for item in external.items:
            yield external.name, f"{item.file}#{item.key}", item.title, item.summary
    for path in sorted((corpus / "realfeeds").glob("*.xml")):
        for n, entry in enumerate(feedparser.parse(str(path)).entries):
            key = entry.get("id") or entry.get("link") or str(n)
            title, summary = entry.get("title", ""), entry.get("summary", "")
            yield "realfeeds", f"{path.name}#{key}", title, summary


def _shown(scores: tuple[SectorScore, ...]) -> str:
    return " ".join(f"{s.key}={s.score!r}[{','.join(s.matched)}]" for s in scores) or "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    classifier = Classifier(sectors=default_sectors())
    count = 0
    with args.out.open("w", encoding="utf-8") as out:
        for name, key, title, summary in _items(args.corpus):
            both = _shown(classifier.classify(title, summary))
            alone = _shown(classifier.classify(title))
            flat = key.replace("\t", " ").replace("\n", " ")
            out.write(f"{name}\t{flat}\t{both}\t{alone}\n")
            count += 1
    print(f"{count} items written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
