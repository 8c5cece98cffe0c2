"""Benchmark: embedding clustering of one day's items, embedding throughput, worker memory.

1. Clustering 5,000 items of one day with cached vectors: real titles and summaries of the
   shared corpus feeds (``../shared/corpus/realfeeds``; English, Japanese and a few other
   languages), given publication times spread over one day, embedded once with the packaged
   model (the vectors are cached in ``bench/.cache/``, as the database caches them in
   production), then clustered as an edition does (average linkage over the stored vectors).
2. Embedding throughput per core: items per second with the model on one thread, measured
   while filling the cache (or on a sample when the cache exists).
3. Peak memory of the embedding worker: a child process runs the real ``EmbeddingWorker``
   over a temporary SQLite database of 200 corpus items until all have vectors, and reports
   its peak resident set size.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python bench/cluster.py [--items 5000]``. Filling the cache
takes about 5,000 / (items per second) seconds the first time (20-30 minutes on one core).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.briefing import embed  # noqa: E402
from bot.briefing.cluster import cluster_articles  # noqa: E402
from bot.models import Article, Story  # noqa: E402

CORPUS = Path("/work/shared/corpus")
for candidate in (ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"):
    if candidate.is_dir():
        CORPUS = candidate
CACHE = ROOT / "bench" / ".cache"
DAY = datetime(2026, 8, 17, tzinfo=UTC)
_KANA = re.compile(r"[\u3040-\u30ff]")
_TAG = re.compile(r"<[^>]+>")


FEEDS: dict[str, int] = {}
"""Title -> the corpus feed (file) it came from: items of one feed never join by embedding."""


def corpus_items(limit: int) -> list[tuple[str, str, str]]:
    """(title, summary, language) of up to ``limit`` distinct corpus entries, shuffled."""
    seen: set[str] = set()
    items = []
    for number, path in enumerate(sorted((CORPUS / "realfeeds").glob("*.xml"))):
        for entry in feedparser.parse(str(path)).entries:
            title = " ".join((entry.get("title") or "").split())
            if not title or title in seen:
                continue
            seen.add(title)
            FEEDS[title] = number + 1
            summary = " ".join(_TAG.sub(" ", entry.get("summary", "") or "").split())
            items.append((title, summary, "ja" if _KANA.search(title) else "en"))
    random.Random(5).shuffle(items)
    return items[:limit]


def filled(vectors: np.ndarray, total: int) -> np.ndarray:
    """``vectors`` plus random ones up to ``total``, drawn per dimension like the real ones.

    For timing only, when the machine could not embed ``total`` real items in time: the extra
    vectors have the real vectors' per-dimension mean and spread but no real pairs.
    """
    rng = np.random.default_rng(3)
    extra = rng.normal(
        vectors.mean(axis=0), vectors.std(axis=0), (total - len(vectors), vectors.shape[1])
    )
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    return np.concatenate([vectors, extra.astype(np.float32)])


def cached_vectors(
    items: list[tuple[str, str, str]], *, cached_only: bool = False
) -> tuple[np.ndarray, float | None]:
    """Vectors of ``items`` from the cache, embedding (and timing) what is not cached yet.

    The items are a fixed shuffle of the corpus, so the cache holds a prefix of it: a run with
    fewer items reuses it, a run with more continues it (saved every 64 items).
    """
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"vectors-{embed.model_name().replace('@', '_')}.npy"
    cached = np.load(path) if path.exists() else np.zeros((0, embed.E5.dim), dtype=np.float32)
    if len(cached) >= len(items) or cached_only:
        return cached[: len(items)], None
    embedder = embed.Embedder(threads=1)
    texts = [embed.article_text(t, s) for t, s, _ in items]
    langs = [lang for _, _, lang in items]
    start, first = time.perf_counter(), len(cached)
    for i in range(first, len(texts), 64):
        cached = np.concatenate([cached, embedder.embed(texts[i : i + 64], langs[i : i + 64])])
        np.save(path, cached)
        rate = (len(cached) - first) / (time.perf_counter() - start)
        print(f"  embedded {len(cached)}/{len(texts)} ({rate:.1f} items/s)", flush=True)
    return cached, (len(cached) - first) / (time.perf_counter() - start)


def throughput(items: list[tuple[str, str, str]], sample: int = 64) -> float:
    embedder = embed.Embedder(threads=1)
    texts = [embed.article_text(t, s) for t, s, _ in items[:sample]]
    embedder.embed(texts[:2], ["en", "en"])
    start = time.perf_counter()
    embedder.embed(texts, [lang for _, _, lang in items[:sample]])
    return len(texts) / (time.perf_counter() - start)


def cluster_day(
    items: list[tuple[str, str, str]],
    vectors: np.ndarray,
    clusterer: Callable[..., list[Story]] = cluster_articles,
) -> None:
    rng = random.Random(11)
    articles = []
    for n, ((title, summary, lang), vector) in enumerate(zip(items, vectors, strict=True)):
        when = DAY + timedelta(seconds=rng.uniform(0, 86_400))
        articles.append(
            Article(
                item_id=n + 1,
                feed_id=FEEDS[title],
                source=f"feed {FEEDS[title]}",
                title=title,
                summary=summary,
                link=None,
                published_at=when,
                first_seen_at=when,
                language=lang,
                embedding=embed.to_blob(vector),
            )
        )
    lexical = [replace(a, embedding=None) for a in articles]
    for label, batch in (("embeddings", articles), ("lexical", lexical)):
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            stories = clusterer(batch)
            timings.append(time.perf_counter() - start)
        multi = [s for s in stories if len(s.articles) > 1]
        merged = sum(len(s.articles) for s in multi)
        print(
            f"cluster {len(batch)} items of one day ({label}): best {min(timings):.2f}s, "
            f"median {sorted(timings)[1]:.2f}s; {len(stories)} stories, {len(multi)} with "
            f"2+ items ({merged} items merged)"
        )


WORKER = """
import asyncio, json, resource, sys
from datetime import UTC, datetime, timedelta
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Feed, FeedState, Item
from bot.briefing.embed_worker import EmbeddingWorker

async def main(url, items):
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 8, 17, 12, tzinfo=UTC)
    async with sessions.begin() as session:
        feed = Feed(url="https://bench.example/rss", title="bench", created_at=now)
        feed.state = FeedState(next_check_at=now)
        session.add(feed)
        await session.flush()
        for n, (title, summary, lang) in enumerate(items):
            session.add(Item(feed_id=feed.id, content_hash=str(n), title=title, summary=summary,
                             language=lang, published_at=now - timedelta(minutes=n),
                             first_seen_at=now))
    before = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
    worker = EmbeddingWorker(sessionmaker=sessions, clock=lambda: now)
    done = 0
    while (n := await worker.run_once()):
        done += n
    await engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"embedded": done, "rss_before_kib": before, "peak_rss_kib": peak}))

asyncio.run(main(sys.argv[1], json.load(sys.stdin)))
"""


def worker_memory(items: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        result = subprocess.run(
            [sys.executable, "-c", WORKER, url],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"embedding worker: {report['embedded']} items embedded; peak RSS "
        f"{report['peak_rss_kib'] / 1024:.0f} MiB ({report['rss_before_kib'] / 1024:.0f} MiB "
        "resident before the model was loaded)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--worker-items", type=int, default=200)
    parser.add_argument(
        "--baseline", help="time the clusterer of this git revision (bench/cluster_quality.py)"
    )
    parser.add_argument("--no-worker", action="store_true", help="skip the worker memory run")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="embed nothing new: cluster the cached real vectors, then time --items with "
        "random vectors filling up the rest",
    )
    args = parser.parse_args()
    items = corpus_items(args.items)
    print(f"{len(items)} corpus items ({sum(1 for i in items if i[2] == 'ja')} Japanese)")
    vectors, rate = cached_vectors(items, cached_only=args.cached_only)
    rate = rate if rate is not None else throughput(items)
    print(f"embedding throughput: {rate:.1f} items/s on one core ({embed.model_name()})")
    clusterer = cluster_articles
    if args.baseline:
        from cluster_quality import baseline_clusterer

        clusterer = baseline_clusterer(args.baseline)
        print(f"clusterer of {args.baseline}")
    cluster_day(items[: len(vectors)], vectors, clusterer)
    if len(vectors) < len(items):
        print(f"(only {len(vectors)} real vectors cached; the rest random, for timing)")
        cluster_day(items, filled(vectors, len(items)), clusterer)
    if not args.no_worker:
        worker_memory(corpus_items(args.worker_items))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process: peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
