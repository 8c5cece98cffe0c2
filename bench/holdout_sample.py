"""Draw the unlabelled rows of the sector HOLDOUT split (``tests/data/classify_holdout.tsv``).

Run: ``.venv/bin/python bench/holdout_sample.py [--corpus PATH] [--out FILE]``

Lists every entry of ``realfeeds/*.xml`` in the shared corpus, keyed as ``bench/classify.py``
finds an entry (its id, else its link; ``_entries`` is reused for the text and language),
keeps entries whose key names exactly one entry of the corpus and that are in neither
``classify_dev.tsv`` nor ``classify_test.tsv``, and draws from each feed at most ``cap(file)``
of them at random with a fixed seed (one generator per feed, seeded with ``SEED`` and the file
name, so changing one feed's cap leaves the other feeds' draws as they were). Writes
``corpus_file<TAB>entry_key<TAB>?`` rows in feed order (to be labelled by hand by the rule in
``tests/data/classify_labels.md``) and prints per-feed and per-language counts on stderr.

The caps make the set news-heavy, like a real bot's feeds: journal and paper feeds give a few
items each; small feeds give all they have left. By 2026-12-07 the dev and test splits had used
up the English, German, Chinese and Spanish news feeds (Electrek, CleanTechnica, STAT,
TechCrunch, The Verge, New Atlas, Interesting Engineering, ITmedia, Impress Watch, NewsPicks,
heise, GeekPark, MIT TR en español: nothing left), so the news share comes from the large
GIGAZINE feed (Japanese, ~2,900 unused entries), Ledge.ai, Google News, and the DeepMind,
Hugging Face and Interconnects blogs; the only Chinese entries left are a coin-collectors'
forum's, taken as off-topic items.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser

from bench.classify import DEFAULT_CORPUS, DEV_SET, TEST_SET, _entries, _read_labels

SEED = 20261207
"""The draw's seed (the day the split was made); never change it for an existing split."""
DEFAULT_CAP = 20
"""At most this many items from one news feed or blog."""
JOURNAL_CAP = 8
"""Paper and journal feeds: a few items each, so the set stays news-heavy."""
JOURNALS = (
    "arxiv_",
    "biorxiv_",
    "elsevier_",
    "ieee_",
    "morningpaper_",
    "science_twis_",
    "wiley_",
)
CAPS = {
    "gigazine_ai_keyword_filtered_large__makeRSS_GIGAZINE.xml": 220,
    "arxiv_quant-ph_rss_2025-04__RSSFeeds.jl.xml": 16,
    "elsevier_sustainable_cities_society_rss__journal-rss.xml": 14,
    "ieee_tgrs_current_issue_1408items__journal-rss.xml": 14,
    "science_twis_rss1__rss-parser.xml": 16,
}
"""The one large news feed left unused carries the news share (see the module docstring); its
items are nearly all about AI, so four paper feeds give a few more items than the other journals
for the other sectors (quantum, energy and climate, life) and for off-topic items."""


def cap(name: str) -> int:
    """How many items to draw at most from the feed file ``name``."""
    if name in CAPS:
        return CAPS[name]
    if name.startswith(JOURNALS):
        return JOURNAL_CAP
    return DEFAULT_CAP


def entry_keys(path: Path) -> list[tuple[str, frozenset[str]]]:
    """Per entry of a feed, in order: the key ``bench/classify.py`` finds it by, and all its keys.

    ``bench/classify.py`` indexes an entry under its id and its link (the id first); the key used
    in a label file is the id, or the link when there is no id. An entry with neither has no key
    (an empty string) and cannot be labelled.
    """
    rows = []
    for entry in feedparser.parse(str(path)).entries:
        keys = frozenset(k.strip() for k in (entry.get("id"), entry.get("link")) if k and k.strip())
        key = (entry.get("id") or entry.get("link") or "").strip()
        rows.append((key, keys))
    return rows


def key_counts(path: Path) -> Counter[str]:
    """How many entries of the feed each id or link names (a usable key names exactly one)."""
    counts: Counter[str] = Counter()
    for _, keys in entry_keys(path):
        counts.update(keys)
    return counts


def labelled_keys() -> set[tuple[str, str]]:
    """(corpus file, entry key) of every row of the dev and test splits."""
    return {(file, key) for file, key, _ in _read_labels(DEV_SET) + _read_labels(TEST_SET)}


def candidates(corpus: Path, name: str, used: set[tuple[str, str]]) -> list[str]:
    """Keys of the feed's entries that name one entry and are in no other split, in feed order."""
    path = corpus / "realfeeds" / name
    counts = key_counts(path)
    file = f"realfeeds/{name}"
    return [
        key
        for key, keys in entry_keys(path)
        if key and all(counts[k] == 1 for k in keys) and not any((file, k) in used for k in keys)
    ]


def sample(corpus: Path) -> list[tuple[str, str]]:
    """(corpus file, entry key) of the drawn items, feed by feed in file-name order."""
    used = labelled_keys()
    rows = []
    for path in sorted((corpus / "realfeeds").glob("*.xml")):
        keys = candidates(corpus, path.name, used)
        rng = random.Random(f"{SEED}:{path.name}")
        drawn = set(rng.sample(keys, min(cap(path.name), len(keys))))
        rows += [(f"realfeeds/{path.name}", key) for key in keys if key in drawn]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, help="write the rows here instead of stdout")
    args = parser.parse_args(argv)
    rows = sample(args.corpus)
    text = "".join(f"{file}\t{key}\t?\n" for file, key in rows)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    per_feed = Counter(file for file, _ in rows)
    languages: Counter[str] = Counter()
    for file in per_feed:
        entries = _entries(args.corpus, file)
        languages.update(entries[key][2] for f, key in rows if f == file)
    for file, count in sorted(per_feed.items()):
        print(f"{count:4}  {file}", file=sys.stderr)
    print(f"{len(rows):4}  items; languages: {dict(languages.most_common())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
