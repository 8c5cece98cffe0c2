"""What each step of reading a feed costs, per entry, over the real snapshots (one process).

Run from the repository root: ``.venv/bin/python bench/ingest_steps.py`` (or ``bench/ingest.py
--steps``). Each step runs over every entry of ``../shared/corpus/realfeeds/`` on its own, in the
order ingest runs them for a new entry: feedparser (reading the entries, with their keys and
raw hashes), HTML to text, boilerplate rules, cut and hash, language, search text, sector
rules. Prints microseconds per entry and each step's share.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus" / "realfeeds"


def _timed(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.process_time()
        result = step()
        best = min(best, time.process_time() - start)
    return best, result


def main(repeat: int = 3) -> None:
    from bot.briefing.classify import Classifier
    from bot.briefing.sectors import default_sectors
    from bot.ingest import normalise
    from bot.ingest.boilerplate import clean
    from bot.ingest.language import detect_language, item_language
    from bot.ingest.parse import read_feed
    from storage.search import search_text

    bodies = [p.read_bytes() for p in sorted(CORPUS.glob("*.xml"))]
    detect_language("warm up the model")

    def feedparser_step() -> list[Any]:
        return [read_feed(body, url="http://127.0.0.1/feed.xml") for body in bodies]

    seconds: dict[str, float] = {}
    seconds["feedparser"], raws = _timed(feedparser_step, repeat)
    entries = [e for raw in raws for e in raw.entries]

    def to_text() -> list[tuple[str, str]]:
        return [
            (normalise.html_to_text(e.title), normalise.html_to_text(e.summary)) for e in entries
        ]

    seconds["HTML to text"], texts = _timed(to_text, repeat)

    def boilerplate() -> list[tuple[str, str]]:
        return [(clean(t, "title"), clean(s, "summary")) for t, s in texts]

    seconds["boilerplate"], cleaned = _timed(boilerplate, repeat)

    def cut_and_hash() -> list[tuple[str, str]]:
        out = []
        for t, s in cleaned:
            title = normalise.cut(t, normalise.MAX_TITLE_CHARS)
            summary = normalise.cut(s, normalise.MAX_SUMMARY_CHARS)
            normalise.content_hash(title, summary)
            out.append((title, summary))
        return out

    seconds["cut and hash"], final = _timed(cut_and_hash, repeat)

    def language() -> None:
        for t, s in final:
            item_language(f"{t} {s[:300]}", "en")

    seconds["language"], _ = _timed(language, repeat)

    def search() -> None:
        for t, s in final:
            search_text(t, s)

    seconds["search text"], _ = _timed(search, repeat)
    classifier = Classifier(sectors=default_sectors())

    def sectors() -> None:
        for t, s in final:
            classifier.classify(t, s, sector_hint=None, language="en")

    seconds["sector rules"], _ = _timed(sectors, repeat)

    total = sum(seconds.values())
    print(f"{len(bodies)} snapshots, {len(entries)} entries; CPU seconds, best of {repeat}")
    print(f"{'step':14} {'us/entry':>9} {'share':>6}")
    for name, value in seconds.items():
        print(f"{name:14} {value / len(entries) * 1e6:9.1f} {value / total:6.1%}")
    print(f"{'all':14} {total / len(entries) * 1e6:9.1f}")


if __name__ == "__main__":
    main()
