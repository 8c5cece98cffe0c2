"""Story clustering quality on our labelled EN/JA events: lexical vs e5 vs USE.

tests/data/cluster_events.jsonl holds 86 real reports of 46 events (43 English, 43 Japanese;
8 events reported in both languages; several different events of one company within days),
split by event into dev and held-out halves. Thresholds are chosen on dev only; the figures
that count are the held-out ones.

Metrics: pairwise precision/recall/F1 over item pairs; cross-lingual recall (EN-JA pairs of one
event joined); same-company merges (pairs of different events with one topic within 4 days
that were wrongly joined).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/cluster_quality.py`` (about a minute).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.briefing import cluster as clustering  # noqa: E402
from bot.briefing.embed import E5, USE, Embedder, ModelSpec, article_text, to_blob  # noqa: E402
from bot.models import Article  # noqa: E402

DATA = ROOT / "tests" / "data" / "cluster_events.jsonl"


def load() -> list[dict[str, str]]:
    return [json.loads(line) for line in DATA.open(encoding="utf-8")]


def articles_of(rows: list[dict[str, str]]) -> list[Article]:
    out = []
    feeds: dict[str, int] = {}
    for n, row in enumerate(rows):
        when = datetime.fromisoformat(row["published"])
        if when.tzinfo is None:  # the news search gives UTC times without a zone
            when = when.replace(tzinfo=UTC)
        out.append(
            Article(
                item_id=n,
                feed_id=feeds.setdefault(row["source"], len(feeds) + 1),
                source=row["source"],
                title=row["title"],
                summary=row["summary"],
                link=row["link"],
                published_at=when,
                first_seen_at=when,
                language=row["lang"],
            )
        )
    return out


def score(rows: list[dict[str, str]], labels: dict[int, str]) -> dict[str, object]:
    tp = fp = fn = xl = xl_total = neg = neg_bad = 0
    times = {i: datetime.fromisoformat(rows[i]["published"][:19]) for i in labels}
    for i, j in itertools.combinations(sorted(labels), 2):
        same = rows[i]["event"] == rows[j]["event"]
        joined = labels[i] == labels[j]
        tp += same and joined
        fp += joined and not same
        fn += same and not joined
        if same and rows[i]["lang"] != rows[j]["lang"]:
            xl_total += 1
            xl += joined
        near = abs((times[i] - times[j]).total_seconds()) <= 4 * 86400
        if not same and rows[i]["topic"] == rows[j]["topic"] and near:
            neg += 1
            neg_bad += joined
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "P": round(precision, 3),
        "R": round(recall, 3),
        "F1": round(f1, 3),
        "cross-lingual recall": f"{xl}/{xl_total}"
        + (f" = {xl / xl_total:.2f}" if xl_total else ""),
        "same-topic different events joined": f"{neg_bad}/{neg}",
    }


def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} = {part / whole:.2f}" if whole else "0/0"


def split_of(rows: list[dict[str, str]], articles: list[Article], name: str) -> list[Article]:
    return [a for a in articles if rows[a.item_id]["split"] == name]


def labels_of(articles: list[Article], **kwargs: float) -> dict[int, str]:
    return {
        a.item_id: story.key
        for story in clustering.cluster_articles(articles, **kwargs)  # type: ignore[arg-type]
        for a in story.articles
    }


def embedded(articles: list[Article], spec: ModelSpec) -> tuple[list[Article], float]:
    embedder = Embedder(spec)
    texts = [article_text(a.title, a.summary) for a in articles]
    embedder.raw(texts[:2])  # load lazily-built parts before timing
    start = time.perf_counter()
    vectors = embedder.embed(texts, [a.language for a in articles])
    rate = len(texts) / (time.perf_counter() - start)
    return [replace(a, embedding=to_blob(v)) for a, v in zip(articles, vectors, strict=True)], rate


def main() -> None:
    rows = load()
    articles = articles_of(rows)
    split = {
        name: [a for a in articles if rows[a.item_id]["split"] == name] for name in ("dev", "held")
    }
    print(f"{len(rows)} items, {len({r['event'] for r in rows})} events")
    for name in ("dev", "held"):
        print(f"lexical   {name:4}", score(rows, labels_of(split[name])))
    for spec in (E5, USE):
        with_vectors, rate = embedded(articles, spec)
        parts = {
            n: [a for a in with_vectors if rows[a.item_id]["split"] == n] for n in ("dev", "held")
        }
        if spec is E5:
            chosen = {
                "vector_threshold": clustering.VECTOR_THRESHOLD,
                "late_threshold": clustering.LATE_VECTOR_THRESHOLD,
                "sure_threshold": clustering.SURE_VECTOR_THRESHOLD,
            }
        else:  # the same dev-only grid that chose e5's constants
            grid = []
            for t1 in np.arange(0.20, 0.90, 0.05):
                for t2 in np.arange(0.30, 1.20, 0.05):
                    if t2 >= t1:
                        labels = labels_of(parts["dev"], vector_threshold=t1, late_threshold=t2)
                        f1 = float(score(rows, labels)["F1"])  # type: ignore[arg-type]
                        grid.append((f1, -t2, -t1, t1, t2))
            _, _, _, t1, t2 = max(grid)
            chosen = {
                "vector_threshold": round(float(t1), 2),
                "late_threshold": round(float(t2), 2),
            }
        print(f"{spec.name}: {rate:.1f} items/s on this process's threads; thresholds {chosen}")
        for name in ("dev", "held"):
            print(f"  {name:4}", score(rows, labels_of(parts[name], **chosen)))


if __name__ == "__main__":
    main()
