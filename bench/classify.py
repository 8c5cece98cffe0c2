"""Accuracy of ``shiftbrief classify`` (the bot's own decision) on labelled real headlines.

Run: ``.venv/bin/python bench/classify.py [--corpus PATH] [--lexical] [--repo PATH] [--errors]``

``tests/data/classify_dev.tsv`` (the development split: choose on it) and
``tests/data/classify_test.tsv`` (the held-out TEST split: report it, never choose on it) hold
hand-given labels (rule: ``tests/data/classify_labels.md``) and references into the corpus (file
and entry key), never the publishers' text, which is read here at run time and parsed as ingest
parses it (so titles, summaries and languages are what the bot stores).

Every item of both splits goes through ``shiftbrief classify`` as JSON Lines, in a subprocess
with an empty database: with the embedding rescue when the model is installed, or the
keyword rules alone with ``--lexical``. ``--repo`` runs another checkout's command (for the
figures before a change). Figures per split and language: on-topic items whose best sector is
an acceptable one, off-topic items that get no sector.

``--external`` adds sets labelled by others (arXiv papers by category, quantum news search
results, physical-AI news, and business, entertainment and sports headlines that must get no
sector), measured with the keyword rules in process, and the keyword rules' throughput.

Figures before issue 16's sector work on the decision (commit 2295d26, e5 model; bot's decision
on dev / test, on-topic and off-topic rejected)::

    dev  en 250/283 0.883  197/199 0.990   test en 30/48 0.625  62/66 0.939
    dev  ja 144/151 0.954   68/69  0.986   test ja 40/44 0.909   8/11 0.727
    dev  de   8/21  0.381   94/95  0.989   test de  3/11 0.273  64/64 1.000
    dev  es   0/5   0.000    -             test es  1/5  0.200    -
    dev  zh   0/2   0.000   13/13  1.000   test zh  0/1  0.000  14/14 1.000
    dev  all 402/462 0.870 372/376 0.989   test all 74/109 0.679 148/155 0.955

(``--lexical``, the keyword rules alone: test on-topic 71/109 0.651, off-topic 148/155 0.955.)

After the rescue by ``bot.briefing.sector_model`` (no veto; commit 04d5322). The dev split is
now training data for that model, so its figures here are not a measure; the cross-validated
ones are ``bench/sector_model.py``'s (dev folds: on-topic 0.907, off-topic 0.957)::

    test en 36/48 0.750  62/66 0.939
    test ja 42/44 0.955   8/11 0.727
    test de  9/11 0.818  61/64 0.953
    test es  3/5  0.600    -
    test zh  0/1  0.000  14/14 1.000
    test all 90/109 0.826 145/155 0.935

``--feeds`` (whole feeds, sectored items, before -> after): heise online 9/150 -> 29/150,
heise developer 0/15 -> 0/15, MIT TR es 1/10 -> 8/10, GeekPark 0/30 -> 3/30.

After German, Spanish and Chinese word lists, no rescue of digests and security incidents, and
the rescue thresholds chosen again (READ_RESCUE_P 0.8, OTHER_RESCUE_P 0.3, the model retrained;
commit f08ab1c). Cross-validated on the dev folds (``bench/sector_model.py``): on-topic 0.907
-> 0.931, off-topic 0.955 -> 0.952. The test split, run once after every choice was made::

    test en 38/48 0.792  61/66 0.924
    test ja 42/44 0.955   7/11 0.636
    test de 10/11 0.909  58/64 0.906
    test es  3/5  0.600    -
    test zh  1/1  1.000  13/14 0.929
    test all 94/109 0.862 139/155 0.897

On-topic rose, off-topic rejection fell below the figures before (0.935): the dev folds' choice
sat at the floor (0.952, one fold at 0.898) and did not hold. ``--feeds``: heise online 31/150
(21 by the German words alone), heise developer 0/15, MIT TR es 7/10, GeekPark 5/30.

Then the choice rule changed on dev alone (``bench/sector_model.py``: the off-topic floor must
hold after one standard error is taken off the pooled rate, so no choice sits at its edge); it
chose OTHER_RESCUE_P 0.4 (READ_RESCUE_P stays 0.8). The test split, run a second time (this
run was not blind: the first run above had been seen)::

    test en 38/48 0.792  61/66 0.924
    test ja 42/44 0.955   7/11 0.636
    test de 10/11 0.909  60/64 0.938
    test es  3/5  0.600    -
    test zh  1/1  1.000  14/14 1.000
    test all 94/109 0.862 142/155 0.916

Against the figures before this change: four more on-topic items placed, three more off-topic
items given a sector (one each in English, Japanese and German); 3 of 155 is inside the test
split's standard error (about 0.02), and the dev folds put off-topic rejection level (0.957 ->
0.960). Neither goal (0.92 / 0.95) is reached. ``--feeds`` with 0.4: heise online 29/150,
heise developer 0/15, MIT TR es 7/10, GeekPark 3/30.

Publishers' categories (issue 16, point 5): ingest stores each entry's categories and the rules
count a category that ``bot/data/categories/sectors.toml`` ties to a sector as one title term;
the lines this bench sends carry them (``categories``), as ingest stores them. Rescue thresholds
chosen again by the same rule (READ_RESCUE_P 0.85, OTHER_RESCUE_P 0.5). Dev folds
(``bench/sector_model.py``, pooled, spread over folds): on-topic 0.929 (0.838-0.975) -> 0.950
(0.878-0.983), off-topic rejected 0.960 (0.920-0.979) -> 0.960 (0.917-0.987). ``--lexical
--dev-only`` (rules alone; not a measure, the terms were chosen on dev): on-topic 418/462 ->
431/462, off-topic 370/376 -> 367/376. ``--dev-only`` leaves the test split unread.

Then a share-price headline or stock tip keeps nothing of its terms (``SHARE_PRICE_FACTOR`` 0.3
-> 0, the labelling rule's "none"): dev folds on-topic 0.950 -> 0.950, off-topic rejected 0.960
-> 0.963; the external sets' off-topic 0.930 -> 0.939 (their quantum stock tips), on-topic
unchanged. ``--lexical --dev-only``: on-topic 431 -> 430, off-topic 367 -> 368 of 376 (the rescue
places the one on-topic item again).

The blind holdout splits (``--holdout``; ``tests/data/classify_holdout.tsv``, 419 unused corpus
entries, 70 % AI; ``classify_holdout_news.tsv``, 500 newsapi headlines from 2020, reported by
stratum: a plain random draw of 420 and 80 drawn by words hinting at energy, vehicles or
quantum), measured once on 2026-12-07 after every choice above was made, by the lead, before
(7e64242) and after (categories, stock tips, thresholds 0.85 / 0.5), nobody having read any of
their items' output::

                          before                      after
    holdout      en   111/137  20/22              114/137 0.832  19/22 0.864
    holdout      ja   220/224   7/16              220/224 0.982   7/16 0.438
    holdout      zh     -      20/20                -            20/20 1.000
    holdout      all  331/361 0.917 47/58 0.810   334/361 0.925  46/58 0.793
    news:random  en    84/102 0.824 302/318 0.950  81/102 0.794 305/318 0.959
    news:hinted  en    51/56  0.911  13/24 0.542   51/56 0.911   13/24 0.542

On-topic reaches 0.92 on the corpus holdout (its AI and Japanese items) and not on news
headlines without a summary (0.794); off-topic rejection reaches 0.95 on the news draw and not
on the corpus holdout (0.793, 12 of 58; Japanese 9 of 16), whose off-topic items are few.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.briefing.classify import Classifier
from bot.briefing.sectors import default_sectors
from bot.ingest.language import item_language
from bot.ingest.parse import parse_feed
from bot.models import SectorScore

REPO = Path(__file__).resolve().parents[1]
DEV_SET = REPO / "tests" / "data" / "classify_dev.tsv"
DEFAULT_CORPUS = Path(os.environ.get("SHIFTBRIEF_CORPUS", REPO.parent / "shared" / "corpus"))
TEST_SET = REPO / "tests" / "data" / "classify_test.tsv"
HOLDOUT_SETS = (
    REPO / "tests" / "data" / "classify_holdout.tsv",
    REPO / "tests" / "data" / "classify_holdout_news.tsv",
)
"""Blind splits (``--holdout``): measured once a change is final, never chosen on."""
HOLDOUT_EVERY = 3
"""The external sets are split into tune and held-out parts: every third item is held out."""
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class DevItem:
    """One labelled item with its text, as read from the corpus."""

    row: int
    file: str
    key: str
    acceptable: tuple[str, ...]
    """Acceptable sectors; empty for an off-topic item."""
    title: str
    summary: str
    language: str
    split: str = "dev"
    categories: tuple[str, ...] = ()
    """The publisher's categories, as ingest stores them (feeds only)."""

    @property
    def held_out(self) -> bool:
        """For the external sets: every third item."""
        return self.row % HOLDOUT_EVERY == HOLDOUT_EVERY - 1

    @property
    def on_topic(self) -> bool:
        return bool(self.acceptable)


_STRATUM = "# stratum: "


def _read_labels(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, key, labels = line.split("\t")
        acceptable = () if labels == "none" else tuple(labels.split(","))
        rows.append((file, key, acceptable))
    return rows


Entry = tuple[str, str, str, tuple[str, ...]]


def _entries(corpus: Path, file: str) -> dict[str, Entry]:
    """Entry key -> (title, summary, language, categories) for one corpus file, as ingest
    stores them."""
    path = corpus / file
    found: dict[str, Entry] = {}
    if file.startswith("realfeeds/"):
        # parse_feed reads the file with feedparser too: its items are the entries, in order.
        items = parse_feed(path.read_bytes(), url="https://example.com/feed").items
        entries = feedparser.parse(str(path)).entries
        for entry, item in zip(entries, items, strict=True):
            for key in (entry.get("id"), entry.get("link")):
                if key:
                    found.setdefault(
                        key.strip(), (item.title, item.summary, item.language, item.categories)
                    )
    elif "physical_ai_news_daily" in file:
        for article in json.loads(path.read_text(encoding="utf-8"))["articles"]:
            text = (article["title"], article.get("excerpt") or "")
            found[article["link"]] = (*text, item_language(" ".join(text)[:600], "en"), ())
    elif file == NEWSAPI:
        # One headline per line with its class digit last; the key is the 0-based line number.
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            found[str(number)] = (line.rstrip().rpartition(" ")[0].strip(), "", "en", ())
    elif "quantum_news_brave_weekly" in file:
        response = json.loads(path.read_text(encoding="utf-8")).get("api_response", {})
        results = response.get("results") or response.get("web", {}).get("results", [])
        for result in results:
            text = (result["title"], result.get("description") or "")
            found[result["url"]] = (*text, item_language(" ".join(text)[:600], "en"), ())
    return found


def _language(file: str, title: str) -> str:
    if _JAPANESE.search(title):
        return "ja"
    return "en"


def load_dev_set(corpus: Path, labels: Path = DEV_SET, split: str = "dev") -> list[DevItem]:
    """The labelled items of one split with their text from ``corpus``.

    Raises:
        KeyError: a labelled entry is missing from its corpus file.
    """
    rows = _read_labels(labels)
    cache: dict[str, dict[str, Entry]] = {}
    items = []
    for number, (file, key, acceptable) in enumerate(rows):
        if file not in cache:
            cache[file] = _entries(corpus, file)
        # A reader of another set may give (title, summary, language) without categories.
        title, summary, language, *rest = cache[file][key]
        categories = tuple(rest[0]) if rest else ()
        items.append(
            DevItem(number, file, key, acceptable, title, summary, language, split, categories)
        )
    return items


def load_test_set(corpus: Path) -> list[DevItem]:
    """The held-out TEST split: measure on it, never choose on it."""
    return load_dev_set(corpus, TEST_SET, "test")


def load_holdout_sets(corpus: Path) -> list[tuple[str, list[DevItem]]]:
    """The blind splits, one per stratum (``# stratum: NAME`` lines divide a file)."""
    out: list[tuple[str, list[DevItem]]] = []
    for path in HOLDOUT_SETS:
        name = path.stem.removeprefix("classify_")
        items = load_dev_set(corpus, path, name)
        strata: list[str] = []
        stratum = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(_STRATUM):
                stratum = line.removeprefix(_STRATUM).strip()
            elif line.strip() and not line.startswith("#"):
                strata.append(stratum)
        for part in dict.fromkeys(strata):
            chosen = [i for i, s in zip(items, strata, strict=True) if s == part]
            out.append((f"{name}:{part}" if part else name, chosen))
    return out


def run_cli(
    items: Sequence[DevItem], *, lexical: bool = False, repo: Path = REPO
) -> list[tuple[SectorScore, ...]]:
    """The sectors ``shiftbrief classify`` of the checkout ``repo`` gives each item."""
    lines = "".join(
        json.dumps(
            {"id": n, "title": i.title, "summary": i.summary, "lang": i.language}
            | ({"categories": list(i.categories)} if i.categories else {})
        )
        + "\n"
        for n, i in enumerate(items)
    )
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIFTBRIEF_")}
        env["SHIFTBRIEF_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp}/bench.db"
        env["SHIFTBRIEF_CONFIG_FILE"] = f"{tmp}/none.toml"
        env["PYTHONPATH"] = str(repo)
        done = subprocess.run(
            [sys.executable, "-c", "from shiftbrief.cli import main; main()", "classify"]
            + (["--lexical"] if lexical else []),
            input=lines,
            capture_output=True,
            text=True,
            env=env,
            cwd=repo,
            check=True,
        )
    out: list[tuple[SectorScore, ...]] = [() for _ in items]
    for line in done.stdout.splitlines():
        record = json.loads(line)
        out[record["id"]] = tuple(SectorScore(s["key"], s["score"]) for s in record["sectors"])
    return out


LANGUAGES = ("en", "ja", "de", "es", "zh")


def print_figures(
    name: str, items: Sequence[DevItem], found: Sequence[tuple[SectorScore, ...]]
) -> None:
    """One line per language (and all): on-topic and off-topic rates."""
    for language in (*LANGUAGES, "*"):
        counts = [0, 0, 0, 0]
        for item, scores in zip(items, found, strict=True):
            if language not in ("*", item.language):
                continue
            base = 0 if item.on_topic else 2
            counts[base] += 1
            counts[base + 1] += is_right(item, scores)
        if counts[0] + counts[2]:
            label = "all" if language == "*" else language
            print(f"{name:5} {label:3} n={counts[0] + counts[2]:4}  {Figures(*counts)}")


ARXIV = "labeled/arxiv_kaggle_metadata_first2000__Topic_Discovery.csv"
QUANTUM_NEWS = "labeled/quantum_news_brave_weekly"
PHYSICAL_AI_NEWS = "labeled/physical_ai_news_daily"
NEWSAPI = "labeled/newsapi_headlines_6class__ArticleClassification.txt"
NEWSAPI_OFF_TOPIC = {"0": "business", "1": "entertainment", "4": "sports"}
_INVESTING = re.compile(
    r"(?i)\bstocks?\b|\binvest|\bmillionaire|\bbillionaire|\bETF\b|\$[A-Z]{2,5}\b|motley|"
    r"seeking alpha|\bshares?\b|wall street|\bbuy\b"
)
"""Titles about investing, told apart by the bench (not by the classifier's own rule)."""
NEWSAPI_SAMPLE_EVERY = 3
"""Every third off-topic newsapi headline: about 3,800, enough for a precise rate."""
ARXIV_SECTORS: dict[str, tuple[str, ...]] = {
    "quant-ph": ("quantum",),
    "q-bio": ("life",),
    "physics.bio-ph": ("life",),
    "physics.med-ph": ("life",),
    "cs.AI": ("ai",),
    "cs.LG": ("ai",),
    "cs.CL": ("ai",),
    "cs.CV": ("ai",),
    "cs.NE": ("ai",),
    "stat.ML": ("ai",),
    "cs.RO": ("mobility", "ai"),
}
"""arXiv categories that map to a sector. A paper with any of them is on-topic for all of them.

Papers whose only categories are pure mathematics (``math.*``, not ``math-ph``) are off-topic; the
rest (astrophysics, high-energy and condensed-matter physics, other cs) is left out: whether a
briefing reader wants them in a sector is a judgement, not a label.
"""


@dataclass(frozen=True, slots=True)
class ExternalSet:
    """A labelled set from outside the project, read from the corpus at run time."""

    name: str
    items: tuple[DevItem, ...]
    has_summaries: bool


def _tidy(text: str) -> str:
    return " ".join(text.split())


def _arxiv_sectors(categories: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = []
    for category in categories:
        for name in (category, category.split(".")[0]):
            for key in ARXIV_SECTORS.get(name, ()):
                if key not in found:
                    found.append(key)
    return tuple(found)


def _numbered(
    file: str, rows: Iterable[tuple[str, tuple[str, ...], str, str]]
) -> tuple[DevItem, ...]:
    return tuple(
        DevItem(n, file, key, acceptable, title, summary, _language(file, title))
        for n, (key, acceptable, title, summary) in enumerate(rows)
    )


def load_external_sets(corpus: Path, dev_keys: frozenset[str] = frozenset()) -> list[ExternalSet]:
    """The external labelled sets found in ``corpus`` (a missing one is left out).

    Args:
        corpus: the shared corpus folder.
        dev_keys: entry keys (urls) already in the dev set; they are left out of these sets.
    """
    sets: list[ExternalSet] = []
    arxiv_path = corpus / ARXIV
    if arxiv_path.is_file():
        on: list[tuple[str, tuple[str, ...], str, str]] = []
        off: list[tuple[str, tuple[str, ...], str, str]] = []
        with arxiv_path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                categories = row["categories"].split()
                text = (row["id"], _tidy(row["title"]), _tidy(row["abstract"]))
                acceptable = _arxiv_sectors(categories)
                if acceptable:
                    on.append((text[0], acceptable, text[1], text[2]))
                elif all(c.startswith("math.") for c in categories):
                    off.append((text[0], (), text[1], text[2]))
        sets.append(
            ExternalSet(
                "arxiv on-topic (quant-ph, q-bio, cs.AI/LG/CL/CV/NE/RO)", _numbered(ARXIV, on), True
            )
        )
        sets.append(ExternalSet("arxiv off-topic (math.* only)", _numbered(ARXIV, off), True))

    rows: list[tuple[str, tuple[str, ...], str, str]] = []
    seen: set[str] = set(dev_keys)
    for path in sorted(glob.glob(str(corpus / QUANTUM_NEWS / "*.json"))):
        file = f"{QUANTUM_NEWS}/{Path(path).name}"
        for key, (title, summary, _lang, _categories) in _entries(corpus, file).items():
            if key not in seen:
                seen.add(key)
                rows.append((key, ("quantum",), title, summary))
    if rows:
        sets.append(ExternalSet("quantum news (-> quantum)", _numbered(QUANTUM_NEWS, rows), True))
        # The search caught many stock tips ("3 Quantum Computing Stocks to Buy"); the issue asks
        # for those to get no sector, so the figure that matters is on the rest.
        news = [r for r in rows if not _INVESTING.search(r[2])]
        sets.append(
            ExternalSet(
                "quantum news without stock/investing titles (-> quantum)",
                _numbered(QUANTUM_NEWS, news),
                True,
            )
        )

    rows = []
    for path in sorted(glob.glob(str(corpus / PHYSICAL_AI_NEWS / "*.json"))):
        file = f"{PHYSICAL_AI_NEWS}/{Path(path).name}"
        for key, (title, summary, _lang, _categories) in _entries(corpus, file).items():
            if key not in seen:
                seen.add(key)
                rows.append((key, ("mobility", "ai"), title, summary))
    if rows:
        sets.append(
            ExternalSet(
                "physical-AI news (-> mobility, ai)", _numbered(PHYSICAL_AI_NEWS, rows), True
            )
        )

    newsapi_path = corpus / NEWSAPI
    if newsapi_path.is_file():
        rows = []
        off_topic_seen = 0
        for number, line in enumerate(newsapi_path.read_text(encoding="utf-8").splitlines()):
            title, _, label = line.rstrip().rpartition(" ")
            if label not in NEWSAPI_OFF_TOPIC:
                continue
            off_topic_seen += 1
            if off_topic_seen % NEWSAPI_SAMPLE_EVERY == 0:
                rows.append((str(number), (), title.strip(), ""))
        sets.append(
            ExternalSet(
                "newsapi business/entertainment/sports (-> none)", _numbered(NEWSAPI, rows), False
            )
        )
    return sets


def print_external(classifier: Classifier, sets: Sequence[ExternalSet]) -> None:
    """One line per set, part and field: the on-topic and off-topic rates."""
    for external in sets:
        print(f"{external.name}: {len(external.items)} items")
        fields = (
            (("title", False), ("title+summary", True))
            if external.has_summaries
            else (("title", False),)
        )
        for field, with_summary in fields:
            for part, chosen in (
                ("tune", [i for i in external.items if not i.held_out]),
                ("held-out", [i for i in external.items if i.held_out]),
            ):
                if with_summary:
                    result = figures(classifier, chosen)
                else:
                    result = figures(classifier, [_title_only(i) for i in chosen])
                rate = result.on_topic_rate if result.on_topic else result.off_topic_rate
                kind = "on-topic acceptable" if result.on_topic else "off-topic none"
                right = result.on_topic_right + result.off_topic_right
                total = result.on_topic + result.off_topic
                print(f"  {field:13} {part:9} {kind:19} {right:4}/{total:<4} = {rate:6.1%}")


def _title_only(item: DevItem) -> DevItem:
    return DevItem(item.row, item.file, item.key, item.acceptable, item.title, "", item.language)


def print_external_errors(classifier: Classifier, sets: Sequence[ExternalSet], name: str) -> None:
    """The tune-part mistakes of the sets whose name contains ``name`` (titles only)."""
    for external in sets:
        if name not in external.name:
            continue
        for item in external.items:
            if item.held_out:
                continue
            scores = classifier.classify(item.title, "")
            if not is_right(item, scores):
                got = ", ".join(f"{s.key}:{s.score}{list(s.matched)}" for s in scores) or "-"
                want = ",".join(item.acceptable) or "none"
                print(f"want {want:14} got {got}\n    {item.title[:150]}")


@dataclass(frozen=True, slots=True)
class Figures:
    on_topic: int
    on_topic_right: int
    off_topic: int
    off_topic_right: int

    @property
    def on_topic_rate(self) -> float:
        return self.on_topic_right / self.on_topic if self.on_topic else 1.0

    @property
    def off_topic_rate(self) -> float:
        return self.off_topic_right / self.off_topic if self.off_topic else 1.0

    def __str__(self) -> str:
        return (
            f"on-topic {self.on_topic_right}/{self.on_topic} = {self.on_topic_rate:6.1%}   "
            f"off-topic {self.off_topic_right}/{self.off_topic} = {self.off_topic_rate:6.1%}"
        )


def is_right(item: DevItem, scores: Sequence[SectorScore]) -> bool:
    """On-topic: the best sector is acceptable. Off-topic: no sector at all."""
    if item.on_topic:
        return bool(scores) and scores[0].key in item.acceptable
    return not scores


def figures(classifier: Classifier, items: Iterable[DevItem]) -> Figures:
    on = on_right = off = off_right = 0
    for item in items:
        found = classifier.classify(
            item.title, item.summary, language=item.language, categories=item.categories
        )
        right = is_right(item, found)
        if item.on_topic:
            on += 1
            on_right += right
        else:
            off += 1
            off_right += right
    return Figures(on, on_right, off, off_right)


OTHER_LANGUAGE_FEEDS = (
    "heise_online_atom_150items__nextcloud-news.xml",
    "heise_developer_atom__rss-parser.xml",
    "mittechreview_es_scraped_2026-02__prospect-rss-feeds.xml",
    "geekpark_zh_rss__Feeder.xml",
)


def print_feeds(corpus: Path, *, lexical: bool, repo: Path) -> None:
    """How many items of whole German, Spanish and Chinese feeds get a sector (unlabelled: the
    share a reader sees sectored, not whether the sectors are right; the labelled splits say
    that)."""
    for file in OTHER_LANGUAGE_FEEDS:
        parsed = parse_feed((corpus / "realfeeds" / file).read_bytes(), url="https://x.test/")
        items = [
            DevItem(n, file, str(n), (), p.title, p.summary, p.language, "feed")
            for n, p in enumerate(parsed.items)
        ]
        found = run_cli(items, lexical=lexical, repo=repo)
        placed = Counter(s[0].key for s in found if s)
        share = sum(placed.values())
        detail = ", ".join(f"{k} {n}" for k, n in placed.most_common())
        print(f"  {file[:40]:40} {share:3}/{len(items):3} sectored  ({detail})")


def throughput(classifier: Classifier, items: Sequence[DevItem], seconds: float = 2.0) -> float:
    """Items classified per second, over repeated passes for about ``seconds``."""
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for item in items:
            classifier.classify(item.title, item.summary)
        count += len(items)
    return count / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lexical", action="store_true", help="classify --lexical (rules only)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose command to run")
    parser.add_argument("--errors", action="store_true", help="print the dev split's mistakes")
    parser.add_argument("--external", action="store_true", help="also the external sets")
    parser.add_argument("--feeds", action="store_true", help="only: other languages' feeds")
    parser.add_argument("--dev-only", action="store_true", help="leave the test split alone")
    parser.add_argument(
        "--holdout", action="store_true", help="only: the blind holdout splits (a final measure)"
    )
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    if args.feeds:
        print(f"whole feeds through shiftbrief classify{' --lexical' if args.lexical else ''}:")
        print_feeds(args.corpus, lexical=args.lexical, repo=args.repo)
        return 0
    mode = "--lexical" if args.lexical else "with the model when installed"
    if args.holdout:
        for name, items in load_holdout_sets(args.corpus):
            print(f"shiftbrief classify {mode} ({args.repo}): {len(items)} {name} items")
            print_figures(name, items, run_cli(items, lexical=args.lexical, repo=args.repo))
        return 0
    dev = load_dev_set(args.corpus)
    test = [] if args.dev_only else load_test_set(args.corpus)
    print(f"shiftbrief classify {mode} ({args.repo}): {len(dev)} dev, {len(test)} test items")
    for name, items in (("dev", dev), ("test", test)):
        if not items:
            continue
        started = time.perf_counter()
        found = run_cli(items, lexical=args.lexical, repo=args.repo)
        print_figures(name, items, found)
        print(f"      ({time.perf_counter() - started:.0f} s)")
        if args.errors and name == "dev":
            for item, scores in zip(items, found, strict=True):
                if not is_right(item, scores):
                    got = ", ".join(f"{s.key}:{s.score}" for s in scores) or "-"
                    want = ",".join(item.acceptable) or "none"
                    print(f"  {item.language} want {want:16} got {got:24} {item.title[:100]}")
    if args.external:
        classifier = Classifier(sectors=default_sectors())
        print_external(classifier, load_external_sets(args.corpus, frozenset(i.key for i in dev)))
        rate = throughput(classifier, dev)
        print(f"keyword rules throughput: {rate:,.0f} items/s (title + summary, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
