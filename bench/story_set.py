"""Rebuild tests/data/cluster_stories.jsonl from its labelled sources.

The set has two parts:

- rows ``s0001``..``s0613``, the first version, kept as they are (the scripts that assembled
  them were not kept; their sources are described in tests/data/README.md);
- the rows listed in ``tests/data/cluster_additions.jsonl``, one labelled report a line:
  either a public page found with the search tool (its text is in the line: ``title``,
  ``summary``, ``source``, ``link``, ``published``) or an item of a corpus feed named by
  ``corpus`` and ``link`` (its headline, summary and date are read from
  ``../shared/corpus/realfeeds/<corpus>__*.xml`` here, as the feed gives them).

Added rows get the next ids in the order of the additions file. Their split follows the rule of
the first version: an event that shares a topic, within 4 days, with an event of the test split
goes to the test split (so a hard-negative pair is never cut in two); every other one is dev,
in the fold of its week: the fold the first version gave that ISO week, or, for a week new to
the set, ``(53 * year + week) % 5``. No row of the first version changes split or fold.

Run: ``.venv/bin/python bench/story_set.py`` (writes the set), ``--check`` (exit 1 when the
file differs from what its sources give).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "cluster_stories.jsonl"
ADDITIONS = ROOT / "tests" / "data" / "cluster_additions.jsonl"
CORPUS = ROOT.parent / "shared" / "corpus" / "realfeeds"
FIRST_VERSION = 613
HARD_NEGATIVE_DAYS = 4
PAGE_FIELDS = ("lang", "source", "title", "summary", "published", "link")


def feed_items(corpus: str) -> dict[str, dict[str, Any]]:
    """The entries of a corpus feed by link: headline, summary and date as the feed gives them."""
    paths = sorted(CORPUS.glob(f"{corpus}__*.xml"))
    if not paths:
        sys.exit(f"corpus feed {corpus} not found under {CORPUS}")
    parsed = feedparser.parse(str(paths[0]))
    items = {}
    for entry in parsed.entries:
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        items[entry.link] = {
            "title": html.unescape(entry.title),
            "summary": html.unescape(entry.get("summary", "")).strip(),
            "published": datetime(*stamp[:6], tzinfo=UTC).isoformat(),
            "source": str(parsed.feed.get("title", corpus)),
        }
    return items


SOURCE_NAMES = {"gigazine_ai_keyword_filtered_large": "GIGAZINE"}
LANGUAGES = {"gigazine_ai_keyword_filtered_large": "ja"}


def resolve(line: dict[str, Any], feeds: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """One row of the set (without id, split, fold) from one line of the additions file."""
    row: dict[str, Any] = {"event": line["event"], "topics": line["topics"]}
    if line["corpus"] == "search:pages":
        row.update({k: line[k] for k in PAGE_FIELDS})
        row.update(corpus="search:pages", title_from=line["title_from"], date=line["date"])
        return row
    corpus = line["corpus"]
    if corpus not in feeds:
        feeds[corpus] = feed_items(corpus)
    item = feeds[corpus].get(line["link"])
    if item is None:
        sys.exit(f"{line['link']} is not in the corpus feed {corpus}")
    row.update(
        lang=LANGUAGES[corpus],
        source=SOURCE_NAMES.get(corpus, item["source"]),
        title=item["title"],
        summary=item["summary"],
        published=item["published"],
        link=line["link"],
        corpus=corpus,
    )
    return row


def first_of(rows: list[dict[str, Any]]) -> dict[str, datetime]:
    first: dict[str, datetime] = {}
    for row in rows:
        when = datetime.fromisoformat(row["published"])
        first[row["event"]] = min(first.get(row["event"], when), when)
    return first


def assign_splits(base: list[dict[str, Any]], added: list[dict[str, Any]]) -> None:
    """Split and fold for the added rows (see the module doc); base rows are not touched."""
    first = first_of(base + added)
    topics = {r["event"]: set(r["topics"]) for r in base + added}
    test_events = {r["event"] for r in base if r["split"] == "test"}
    week_fold: dict[tuple[int, int], int] = {}
    for row in base:
        if row["split"] == "dev":
            year, week, _ = first[row["event"]].isocalendar()
            week_fold[(year, week)] = row["fold"]
    window = timedelta(days=HARD_NEGATIVE_DAYS)
    for row in added:
        event = row["event"]
        near_test = any(
            topics[event] & topics[other] and abs(first[event] - first[other]) <= window
            for other in test_events
        )
        if near_test or event in test_events:
            row["split"] = "test"
            row.pop("fold", None)
            continue
        year, week, _ = first[event].isocalendar()
        row["split"] = "dev"
        row["fold"] = week_fold.get((year, week), (53 * year + week) % 5)


def build() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    base = [r for r in rows if int(r["id"][1:]) <= FIRST_VERSION]
    lines = [json.loads(line) for line in ADDITIONS.open(encoding="utf-8") if line.strip()]
    feeds: dict[str, dict[str, dict[str, Any]]] = {}
    added = [resolve(line, feeds) for line in lines]
    seen = {r["link"] for r in base}
    for row in added:
        if row["link"] in seen:
            sys.exit(f"{row['link']} is in the set twice")
        seen.add(row["link"])
    assign_splits(base, added)
    for n, row in enumerate(added, FIRST_VERSION + 1):
        row["id"] = f"s{n:04d}"
    order = ("id", "event", "topics", "lang", "source", "title", "summary", "published", "link")
    out = [{k: r[k] for k in order} | {k: v for k, v in r.items() if k not in order} for r in added]
    return base + out


def summary(rows: list[dict[str, Any]]) -> str:
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        events[row["event"]].append(row)
    lines = []
    for split in ("dev", "test"):
        chosen = {e: rs for e, rs in events.items() if rs[0]["split"] == split}
        multi = sum(len(rs) >= 2 for rs in chosen.values())
        bilingual = sum({"en", "ja"} <= {r["lang"] for r in rs} for rs in chosen.values())
        lines.append(
            f"{split}: {sum(len(rs) for rs in chosen.values())} reports, {len(chosen)} events, "
            f"{multi} with 2+ reports, {bilingual} EN+JA"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    rows = build()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.check:
        if DATA.read_text(encoding="utf-8") != text:
            sys.exit(f"{DATA} differs from what its sources give: run bench/story_set.py")
        print(f"{DATA.name} matches its sources ({len(rows)} reports)")
        return
    DATA.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} reports to {DATA}\n{summary(rows)}")


if __name__ == "__main__":
    main()
