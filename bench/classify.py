"""Accuracy and speed of the sector classifier on real headlines from the shared corpus.

Run: ``.venv/bin/python bench/classify.py [--corpus PATH] [--errors] [--all-errors]``

``tests/data/classify_dev.tsv`` holds hand-given labels and references into the corpus (file and
entry key), never the publishers' text, which is read here at run time. Every third labelled row
is held out: tune the term lists on the "tune" part only (``--errors`` prints its mistakes) and
report both parts, so the held-out figure says how the classifier does on headlines it was not
tuned on.

Figures: on-topic items whose best sector is one of the acceptable ones, and off-topic items that
get no sector, per part and per language; then throughput in items per second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import feedparser

from bot.classify import Classifier
from bot.models import SectorScore
from bot.sectors import default_sectors

REPO = Path(__file__).resolve().parents[1]
DEV_SET = REPO / "tests" / "data" / "classify_dev.tsv"
DEFAULT_CORPUS = Path(os.environ.get("SHIFTBRIEF_CORPUS", REPO.parent / "shared" / "corpus"))
HOLDOUT_EVERY = 3
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

    @property
    def held_out(self) -> bool:
        return self.row % HOLDOUT_EVERY == HOLDOUT_EVERY - 1

    @property
    def on_topic(self) -> bool:
        return bool(self.acceptable)


def _read_labels(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, key, labels = line.split("\t")
        acceptable = () if labels == "none" else tuple(labels.split(","))
        rows.append((file, key, acceptable))
    return rows


def _entries(corpus: Path, file: str) -> dict[str, tuple[str, str]]:
    """Entry key -> (title, summary) for one corpus file."""
    path = corpus / file
    found: dict[str, tuple[str, str]] = {}
    if file.startswith("realfeeds/"):
        for entry in feedparser.parse(str(path)).entries:
            text = (entry.get("title", ""), entry.get("summary", ""))
            for key in (entry.get("id"), entry.get("link")):
                if key:
                    found.setdefault(key.strip(), text)
    elif "physical_ai_news_daily" in file:
        for article in json.loads(path.read_text(encoding="utf-8"))["articles"]:
            found[article["link"]] = (article["title"], article.get("excerpt") or "")
    elif "quantum_news_brave_weekly" in file:
        response = json.loads(path.read_text(encoding="utf-8")).get("api_response", {})
        results = response.get("results") or response.get("web", {}).get("results", [])
        for result in results:
            found[result["url"]] = (result["title"], result.get("description") or "")
    return found


def _language(file: str, title: str) -> str:
    if _JAPANESE.search(title):
        return "ja"
    return "de" if "heise" in file else "en"


def load_dev_set(corpus: Path, labels: Path = DEV_SET) -> list[DevItem]:
    """The labelled items with their text from ``corpus``.

    Raises:
        KeyError: a labelled entry is missing from its corpus file.
    """
    rows = _read_labels(labels)
    cache: dict[str, dict[str, tuple[str, str]]] = {}
    items = []
    for number, (file, key, acceptable) in enumerate(rows):
        if file not in cache:
            cache[file] = _entries(corpus, file)
        title, summary = cache[file][key]
        items.append(DevItem(number, file, key, acceptable, title, summary, _language(file, title)))
    return items


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
        right = is_right(item, classifier.classify(item.title, item.summary))
        if item.on_topic:
            on += 1
            on_right += right
        else:
            off += 1
            off_right += right
    return Figures(on, on_right, off, off_right)


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
    parser.add_argument("--errors", action="store_true", help="print mistakes on the tune part")
    parser.add_argument(
        "--all-errors", action="store_true", help="also print held-out mistakes (after tuning)"
    )
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    items = load_dev_set(args.corpus)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    classifier = Classifier(sectors=default_sectors())
    built = time.perf_counter() - started
    print(
        f"{len(items)} labelled items (read in {loaded:.1f} s); classifier built in {built:.3f} s"
    )

    for part, chosen in (
        ("tune", [i for i in items if not i.held_out]),
        ("held-out", [i for i in items if i.held_out]),
        ("all", items),
    ):
        for language in ("en", "ja", "de", "*"):
            subset = [i for i in chosen if language in ("*", i.language)]
            if subset:
                label = "all" if language == "*" else language
                print(f"{part:9} {label:3} n={len(subset):4}  {figures(classifier, subset)}")

    rate = throughput(classifier, items)
    print(f"throughput: {rate:,.0f} items/s (title + summary, one core)")

    if args.errors or args.all_errors:
        for item in items:
            if item.held_out and not args.all_errors:
                continue
            scores = classifier.classify(item.title, item.summary)
            if not is_right(item, scores):
                got = ", ".join(f"{s.key}:{s.score}{list(s.matched)}" for s in scores) or "-"
                want = ",".join(item.acceptable) or "none"
                mark = "H" if item.held_out else " "
                print(f"{mark} want {want:16} got {got}\n    {item.title[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
