"""Draw the unlabelled rows of the sector HOLDOUT split (``tests/data/classify_holdout.tsv``).

Run: ``.venv/bin/python bench/holdout_sample.py [--corpus PATH] [--out FILE] [--newsapi]``

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

``--newsapi`` draws the second holdout, ``tests/data/classify_holdout_news.tsv``, instead: English
headlines of a general tech news day from the corpus's newsapi set (one headline a line, its
publisher's class digit at the end), ``NEWSAPI_DRAW`` lines per class at random with a fixed seed
(one generator per class), keyed by the 0-based line number as ``bench/classify.py`` keys them.
Never drawn: a line that ``load_external_sets`` reads, a line that ``bench/sector_model.py``'s
training may draw (``newsapi_read_elsewhere``), and a headline whose exact text is on such a line
or was drawn already. Two strata, each opened by a ``STRATUM_HEADER`` comment: ``random`` (the
plain draw, the figure of a news day) and ``hinted`` (a declared over-sample of headlines that
name energy, vehicle or quantum words, ``NEWSAPI_HINTS``; report its figure apart). The
publisher's class is not the label: each line is labelled by hand. ``newsapi_entries`` resolves
a key to (headline, "", "en") for the benches.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser

from bench.classify import (
    DEFAULT_CORPUS,
    DEV_SET,
    NEWSAPI,
    TEST_SET,
    _entries,
    _read_labels,
    load_external_sets,
)

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


NEWSAPI_CLASSES = {
    "0": "business",
    "1": "entertainment",
    "2": "health",
    "3": "science",
    "4": "sports",
    "5": "technology",
}
"""The publisher's class digits of the newsapi set (a hint of the mix, not a sector label)."""
NEWSAPI_DRAW = {"5": 170, "3": 110, "2": 60, "0": 80}
"""Lines drawn per class for the news holdout: a tech news day, with science, health and business
news in it for the energy, life, vehicle and off-topic items. Plain random draws, no word filter."""
NEWSAPI_HINTS = {
    "quantum": (r"(?i)quantum|qubit", 20),
    "mobility": (
        r"(?i)\bTesla\b|electric (car|vehicle|truck)|\bEVs?\b|self-driving|autonomous|\brobot|"
        r"\bdrones?\b|\bcars?\b|automaker|vehicle",
        30,
    ),
    "green": (
        r"(?i)solar|wind (farm|power|energy|turbine)|renewable|batter(y|ies)|\boil\b|\bgas\b|"
        r"climate|emission|carbon|nuclear|hydrogen|energy|\bcoal\b|\bgrid\b",
        30,
    ),
}
"""The declared over-sample (stratum ``hinted``): a plain random draw of the same classes holds
a few energy, vehicle and quantum items only, so this many more lines are drawn at random among
the lines whose headline matches each pattern (words written for this draw, not the bot's sector
terms). These lines name their subject in words by construction, so a figure on them is easier
for keyword rules than a day's news: report it apart from the ``random`` stratum."""
SECTOR_MODEL_CLASSES = frozenset({"2", "5"})
SECTOR_MODEL_HELD_OUT = 2
"""``bench/sector_model.py`` trains on health and technology lines whose number is not 2 modulo 3
(it draws a sample of them, and of the technology ones only those the keyword rules give no
sector); every such line is left out here, whatever the keyword rules say, so the draw needs no
run of the classifier. ``tests/test_classify_holdout_news.py`` checks the real training draw."""


STRATUM_HEADER = "# stratum: "
"""Comment line that opens each stratum's rows in the news holdout file."""


def newsapi_lines(corpus: Path) -> list[tuple[str, str]]:
    """(headline, class digit) per line of the newsapi set, split as ``bench/classify.py`` does."""
    lines = []
    for line in (corpus / NEWSAPI).read_text(encoding="utf-8").splitlines():
        title, _, label = line.rstrip().rpartition(" ")
        lines.append((title.strip(), label))
    return lines


def newsapi_entries(corpus: Path) -> dict[str, tuple[str, str, str]]:
    """Key (the 0-based line number) -> (headline, "", "en"), as ``_entries`` reads them."""
    return {key: entry[:3] for key, entry in _entries(corpus, NEWSAPI).items()}


def newsapi_read_elsewhere(corpus: Path) -> set[int]:
    """Numbers of the newsapi lines the benches read: never in the news holdout.

    Every line of ``load_external_sets``'s newsapi set (its tune and held-out parts), and every
    health or technology line ``bench/sector_model.py``'s training may draw.
    """
    lines = newsapi_lines(corpus)
    read = {
        int(item.key)
        for found in load_external_sets(corpus)
        for item in found.items
        if item.file == NEWSAPI
    }
    read |= {
        n
        for n, (_, label) in enumerate(lines)
        if label in SECTOR_MODEL_CLASSES and n % 3 != SECTOR_MODEL_HELD_OUT
    }
    return read


def _draw(
    lines: list[tuple[str, str]], pool: list[int], count: int, seed: str, seen: set[str]
) -> list[int]:
    """``count`` lines of ``pool`` at random, skipping a headline in ``seen`` (which grows)."""
    taken: list[int] = []
    for n in random.Random(seed).sample(pool, len(pool)):  # all of it, shuffled
        if len(taken) == count:
            break
        if lines[n][0] not in seen:
            seen.add(lines[n][0])
            taken.append(n)
    return sorted(taken)


def newsapi_sample(corpus: Path) -> dict[str, list[str]]:
    """Keys of the drawn newsapi lines per stratum (``random``, then ``hinted``), in line order."""
    lines = newsapi_lines(corpus)
    read = newsapi_read_elsewhere(corpus)
    seen = {lines[n][0] for n in read}
    free = [n for n, (_, digit) in enumerate(lines) if digit in NEWSAPI_DRAW and n not in read]
    drawn: list[int] = []
    for label, count in NEWSAPI_DRAW.items():
        pool = [n for n in free if lines[n][1] == label]
        drawn += _draw(lines, pool, count, f"{SEED}:newsapi:{label}", seen)
    hinted: list[int] = []
    for name, (pattern, count) in NEWSAPI_HINTS.items():
        pool = [n for n in free if re.search(pattern, lines[n][0])]
        hinted += _draw(lines, pool, count, f"{SEED}:newsapi-hint:{name}", seen)
    return {
        "random": [str(n) for n in sorted(drawn)],
        "hinted": [str(n) for n in sorted(hinted)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, help="write the rows here instead of stdout")
    parser.add_argument(
        "--newsapi", action="store_true", help="draw the English news holdout from newsapi lines"
    )
    args = parser.parse_args(argv)
    if args.newsapi:
        return newsapi_main(args.corpus, args.out)
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


def newsapi_main(corpus: Path, out: Path | None) -> int:
    """Write the news holdout's unlabelled rows; print the count per publisher's class."""
    strata = newsapi_sample(corpus)
    lines = newsapi_lines(corpus)
    text = ""
    for stratum, keys in strata.items():
        text += f"{STRATUM_HEADER}{stratum}\n"
        text += "".join(f"{NEWSAPI}\t{key}\t?\n" for key in keys)
        classes = Counter(NEWSAPI_CLASSES[lines[int(key)][1]] for key in keys)
        print(f"{len(keys):4}  {stratum}; classes: {dict(classes.most_common())}", file=sys.stderr)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
