"""Compute the fixed per-language mean vectors that centre embeddings (bot/briefing/data).

Multilingual encoders place each language in its own region; subtracting a fixed mean per
language makes an English and a Japanese report of one event closer than two unrelated
reports in one language. The means come from 150 English and 150 Japanese real feed items of
``../shared/corpus/realfeeds`` (and the quantum news set) that are not in the labelled events
of tests/data/cluster_events.jsonl, so the evaluation does not see its own data.

Run: ``.venv/bin/python bench/cluster_means.py`` (about two minutes on one core).
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.briefing.embed import E5, MODELS, USE, Embedder, article_text  # noqa: E402

CORPUS = ROOT.parent.parent / "shared" / "corpus"
if not CORPUS.exists():
    CORPUS = Path("/work/shared/corpus")
EN_FEEDS = (
    "techcrunch_2021-03",
    "slashdot_rdf",
    "hackernews_frontpage_rss",
    "huggingface_blog_rss",
    "cleantechnica_scraped",
    "electrek_scraped",
    "newatlas_scraped",
    "statnews_scraped",
    "interestingengineering_scraped",
    "googlenews_topstories_atom",
    "medscape_family_medicine_rss",
    "google_cloud_blog_rss",
)
JA_FEEDS = (
    "gigazine_ai_keyword_filtered_large",
    "yahoo_news_jp_it",
    "itmedia_ja_scraped",
    "impresswatch_ja_scraped",
    "ledge_ai_ja_scraped",
    "newspicks_ai_ja_scraped",
)
_KANA = re.compile(r"[\u3040-\u30ff]")
_TAG = re.compile(r"<[^>]+>")


def feed_texts(prefixes: tuple[str, ...], held: set[str]) -> list[str]:
    texts = []
    for path in sorted((CORPUS / "realfeeds").glob("*.xml")):
        if not path.name.startswith(prefixes):
            continue
        for entry in feedparser.parse(str(path)).entries:
            title = entry.get("title", "")
            if not title or entry.get("link") in held:
                continue
            summary = _TAG.sub(" ", entry.get("summary", "") or "")
            texts.append(article_text(title, summary))
    return texts


def main() -> None:
    labelled = ROOT / "tests" / "data" / "cluster_events.jsonl"
    held = {json.loads(line)["link"] for line in labelled.open(encoding="utf-8")}
    rng = random.Random(7)
    english = [t for t in feed_texts(EN_FEEDS, held) if not _KANA.search(t)]
    japanese = [t for t in feed_texts(JA_FEEDS, held) if _KANA.search(t)]
    samples = {"en": rng.sample(english, 150), "ja": rng.sample(japanese, 150)}
    out_path = ROOT / "bot" / "briefing" / "data" / "embed_means.json"
    means: dict[str, dict[str, list[float]]] = {}
    for spec in (E5, USE):
        embedder = Embedder(spec, centre=False)
        means[spec.name] = {
            lang: [round(float(x), 6) for x in embedder.raw(texts).mean(axis=0)]
            for lang, texts in samples.items()
        }
        print(f"{spec.name}: means of {len(samples['en'])} en and {len(samples['ja'])} ja items")
    assert set(means) <= set(MODELS)
    out_path.write_text(json.dumps(means) + "\n", encoding="utf-8")
    print(f"wrote {out_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
