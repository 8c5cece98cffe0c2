"""Whether two items of one feed could be joined by their vectors: what the data allows.

The story rule (``bot.briefing.story_rule``) never joins two items of one feed by their
vectors; only near-identical text of one outlet is one story. A news outlet does sometimes
report one event twice on one day (an article and its newsletter item), so this measures what
a narrower same-feed rule (a higher cosine, a short time gap) would have to choose by:

1. ``tests/data/cluster_stories.jsonl``: how many pairs of one feed report one event, per split
   (the dev pairs are listed with their cosine and time gap; the test split is only counted),
   and how the dev pairs of one feed that report different events spread over the cosine
   (within ``GAP``), with how many of them share two headline words (``headline_words``).
2. The corpus feeds of ``../shared/corpus/realfeeds/`` (``FEEDS``: news outlets, an
   aggregator, journals and preprint feeds): for each, its pairs within ``GAP`` by cosine, and
   the closest pairs, to read which report one event.

Every cosine is the bot's: the packaged model with its per-language centring, on
``article_text`` (vectors are cached in bench/.cache).

Run: ``nice .venv/bin/python bench/cluster_same_feed.py [--top 4]`` (about four minutes on
one core the first time, for the embedding).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import itertools
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cluster_quality import embedded_articles, load  # noqa: E402

from bot.briefing.embed import DEFAULT_MODEL, Embedder, article_text, from_blob  # noqa: E402
from bot.briefing.story_rule import headline_words, near_duplicate  # noqa: E402
from bot.models import Article  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "realfeeds"
CACHE = ROOT / "bench" / ".cache"
GAP = timedelta(hours=48)
BANDS = (0.45, 0.6, 0.7, 0.8)
FEEDS = {
    "statnews_scraped_2026-02": "en",
    "itmedia_ja_scraped_2026-02": "ja",
    "impresswatch_ja_scraped_2026-03": "ja",
    "interestingengineering_scraped_2026-02": "en",
    "newatlas_scraped_2026-02": "en",
    "cleantechnica_scraped_2026-02": "en",
    "electrek_scraped_2026-04": "en",
    "techcrunch_feedburner": "en",
    "techcrunch_ai_category_2026-08": "en",
    "theverge_ai_atom_2026-08": "en",
    "heise_online_atom_150items": "de",
    "gigazine_ai_keyword_filtered_large": "ja",
    "yahoo_news_jp_it_2022-07": "ja",
    "googlenews_topstories_atom": "en",
    "hackernews_frontpage_rss": "en",
    "slashdot_rdf": "en",
    "medscape_family_medicine_rss": "en",
    "science_twis_rss1": "en",
    "ieee_tgrs_current_issue_1408items": "en",
    "elsevier_sustainable_cities_society_rss": "en",
    "arxiv_api_csAI-LG-CL_2026-08": "en",
    "arxiv_quant-ph_rss_2025-04": "en",
}
"""Corpus feeds and their language (most give none); the first 400 entries of each."""
LIMIT = 400


def cosine(a: Article, b: Article) -> float:
    va, vb = from_blob(a.embedding), from_blob(b.embedding)  # type: ignore[arg-type]
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) or 1.0))


def bands(scores: list[float]) -> str:
    return ", ".join(f">= {t:.2f}: {sum(s >= t for s in scores)}" for t in BANDS)


def the_set(top: int) -> None:
    rows = load()
    articles = embedded_articles(rows)
    by_feed: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_feed[(row["split"], row["source"])].append(i)
    for split in ("dev", "test"):
        same, other, shared = [], [], 0
        for (part, _), ids in by_feed.items():
            if part != split:
                continue
            for i, j in itertools.combinations(ids, 2):
                a, b = articles[i], articles[j]
                if rows[i]["event"] == rows[j]["event"]:
                    same.append((i, j))
                elif split == "dev" and abs(a.when - b.when) <= GAP:
                    other.append(cosine(a, b))
                    shared += len(headline_words(a) & headline_words(b)) >= 2
        print(f"{split}: {len(same)} pair(s) of one feed reporting one event")
        if split != "dev":
            continue
        for i, j in same:
            a, b = articles[i], articles[j]
            copy = "near-identical text" if near_duplicate(a, b) else "not a copy"
            gap = abs(a.when - b.when).total_seconds() / 3600
            print(f"  cosine {cosine(a, b):.2f}, {gap:.1f}h apart, {copy}: {a.source}")
            print(f"    {a.title[:90]}\n    {b.title[:90]}")
        print(
            f"dev: {len(other)} pairs of one feed reporting different events within "
            f"{GAP.total_seconds() / 3600:.0f}h; cosine {bands(other)}; "
            f"{shared} share two headline words or more"
        )


def corpus_vectors(texts: list[str], lang: str) -> np.ndarray:
    keys = [
        hashlib.sha256(f"{DEFAULT_MODEL.name}|{lang}|{t}".encode()).hexdigest()[:20] for t in texts
    ]
    CACHE.mkdir(exist_ok=True)
    path = CACHE / "same-feed-vectors.npz"
    known: dict[str, np.ndarray] = dict(np.load(path)) if path.exists() else {}
    missing = sorted({i for i, k in enumerate(keys) if k not in known})
    if missing:
        made = Embedder(DEFAULT_MODEL, threads=1).embed(
            [texts[i] for i in missing], [lang] * len(missing)
        )
        known.update({keys[i]: v for i, v in zip(missing, made, strict=True)})
        np.savez(path, **known)
    vectors = np.stack([known[k] for k in keys]).astype(np.float32)
    return vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)


def the_corpus(top: int) -> None:
    for name, lang in FEEDS.items():
        paths = sorted(CORPUS.glob(f"{name}__*.xml"))
        if not paths:
            print(f"{name}: not in the corpus")
            continue
        items = []
        for entry in feedparser.parse(str(paths[0])).entries[:LIMIT]:
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            if stamp:
                title = html.unescape(entry.get("title", ""))
                summary = html.unescape(entry.get("summary", "")).strip()
                items.append((title, datetime(*stamp[:6], tzinfo=UTC), summary))
        vectors = corpus_vectors([article_text(t, s) for t, _, s in items], lang)
        pairs = sorted(
            (
                (float(vectors[i] @ vectors[j]), abs(items[i][1] - items[j][1]), i, j)
                for i, j in itertools.combinations(range(len(items)), 2)
                if abs(items[i][1] - items[j][1]) <= GAP
            ),
            reverse=True,
        )
        scores = [p[0] for p in pairs]
        print(f"{name} ({len(items)} items, {len(pairs)} pairs): cosine {bands(scores)}")
        for score, gap, i, j in pairs[:top]:
            hours = gap.total_seconds() / 3600
            print(f"  {score:.2f} {hours:4.1f}h | {items[i][0][:60]} | {items[j][0][:60]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=4, help="closest pairs shown per feed")
    args = parser.parse_args()
    the_set(args.top)
    the_corpus(args.top)


if __name__ == "__main__":
    main()
