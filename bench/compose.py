"""Benchmark: compose every subscriber's briefing with shared work versus from scratch.

Synthetic, fixed seed: about 5,000 events reported by 1-3 sources each (so clustering has
real work), 10,000 subscribers with varied sectors, language, length, follow and mute words.

Shared path: cluster once, ``BriefingContext.prepare`` once, ``context.compose`` per subscriber.
No sharing: ``compose_briefing(articles, ...)`` per subscriber, which clusters and ranks again
each time; it is timed on a sample of subscribers and extrapolated to all of them.

Run: ``.venv/bin/python bench/compose.py [--subscribers N] [--sample N]``.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from bot.briefing.cluster import cluster_articles
from bot.briefing.compose import BriefingContext, compose_briefing
from bot.models import Article, Profile, ReadingLink, SectorDef, SectorScore

NOW = datetime(2026, 1, 20, 7, 0, tzinfo=UTC)
SECTORS = {
    "energy": SectorDef("energy", "Energy", "環境・エネルギー"),
    "quantum": SectorDef("quantum", "Quantum", "量子"),
    "ai": SectorDef("ai", "AI", "AI"),
    "robotics": SectorDef("robotics", "Robotics", "ロボティクス"),
    "bio": SectorDef("bio", "Life science", "ライフサイエンス"),
}
TOPIC_WORDS = {
    "energy": ["battery", "grid", "solar", "wind", "storage", "hydrogen", "geothermal", "BESS"],
    "quantum": ["qubit", "quantum", "QKD", "photonic", "annealing", "error-correction"],
    "ai": ["model", "LLM", "transformer", "inference", "agent", "GPU", "dataset"],
    "robotics": ["robot", "humanoid", "lidar", "autonomous", "drone", "actuator"],
    "bio": ["CRISPR", "gene", "protein", "trial", "antibody", "genome"],
}
VERBS = [
    "launches",
    "opens",
    "plans",
    "approves",
    "unveils",
    "builds",
    "tests",
    "funds",
    "delays",
    "expands",
]
COMPANIES = [
    f"{a}{b}"
    for a in ("Nova", "Hexa", "Lumen", "Terra", "Qubi", "Volt", "Gene")
    for b in ("core", "works", "gen", "tek", "net", "ion", "field")
]
VOCAB = [
    f"{a}{b}{c}"
    for a in "bdfgklmnprstvz"
    for b in "aeiou"
    for c in ("ra", "lo", "ni", "ks", "th", "mu")
]
FOLLOW = ["battery", "CRISPR", "humanoid", "LLM", "qubit", "hydrogen", "蓄電池", "量子"]
MUTE = ["crypto", "drone", "trial", "solar", "生成AI"]


def make_articles(events: int, rng: random.Random) -> list[Article]:
    articles: list[Article] = []
    item_id = 0
    for _ in range(events):
        sector = rng.choice(list(SECTORS))
        other = rng.choice(list(SECTORS)) if rng.random() < 0.1 else None
        name = rng.choice(COMPANIES) + rng.choice(("", " Labs", " Energy", " AI", "テック"))
        # Real reports of one event share its particulars; draw a few per event.
        detail = rng.sample(VOCAB, 3)
        figure = f"{rng.randint(10, 999)}MW"
        words = rng.sample(TOPIC_WORDS[sector], 2)
        verb = rng.choice(VERBS)
        japanese = rng.random() < 0.25
        hours = rng.uniform(0, 36)
        extra = rng.choice(["crypto", "", "", "", "plans to expand by 2030", "生成AI"])
        for copy in range(rng.choice((1, 1, 2, 3))):
            item_id += 1
            if japanese:
                title = f"{name}、{figure}の{words[0]}事業 {detail[0]}"
                summary = f"{name}は{figure}規模の{words[1]}設備を{detail[1]} {detail[2]}。{extra}"
            else:
                title = f"{name} {verb} {figure} {words[0]} {detail[0]}" + (" update" * copy)
                summary = f"The {figure} {words[1]} {detail[1]} {detail[2]} work. {extra}"
            scores = [SectorScore(sector, rng.uniform(0.4, 1.0), tuple(words))]
            if other and other != sector:
                scores.append(SectorScore(other, rng.uniform(0.3, 0.7), (words[0],)))
            articles.append(
                Article(
                    item_id=item_id,
                    feed_id=rng.randint(1, 400),
                    source=f"Feed {item_id % 400}",
                    title=title,
                    summary=summary,
                    link=f"https://news.example/{item_id}",
                    published_at=NOW - timedelta(hours=hours + copy),
                    first_seen_at=NOW - timedelta(hours=hours + copy),
                    language="ja" if japanese else "en",
                    sectors=tuple(scores),
                    source_weight=rng.choice((0.8, 1.0, 1.0, 1.2)),
                )
            )
    return articles


def make_profiles(count: int, rng: random.Random) -> list[Profile]:
    keys = list(SECTORS)
    return [
        Profile(
            sectors=tuple(rng.sample(keys, rng.randint(1, len(keys)))),
            language=rng.choice(("en", "ja")),
            length=rng.choice(("short", "full")),
            follow=tuple(rng.sample(FOLLOW, rng.randint(0, 2))),
            mute=tuple(rng.sample(MUTE, rng.randint(0, 2))),
            timezone=rng.choice(("UTC", "Asia/Tokyo", "Europe/Berlin")),
        )
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=20, help="subscribers timed without sharing")
    parser.add_argument("--seed", type=int, default=20260120)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    articles = make_articles(args.events, rng)
    profiles = make_profiles(args.subscribers, rng)
    reading = [ReadingLink(f"About {k}", f"https://explain.example/{k}", sector=k) for k in SECTORS]

    started = time.perf_counter()
    stories = cluster_articles(articles)
    clustered = time.perf_counter()
    context = BriefingContext.prepare(stories, SECTORS, reading, NOW)
    prepared = time.perf_counter()
    briefings = [context.compose(p) for p in profiles]
    composed = time.perf_counter()
    shared_total = composed - started

    sample = profiles[: args.sample]
    solo_started = time.perf_counter()
    for profile in sample:
        alone = compose_briefing(articles, profile, NOW, sectors=SECTORS, reading=reading)
        assert alone == briefings[profiles.index(profile)], "shared and solo paths disagree"
    solo_each = (time.perf_counter() - solo_started) / len(sample)
    solo_total = solo_each * len(profiles)

    empty = sum(1 for b in briefings if b.is_empty)
    print(f"articles {len(articles)}, stories {len(stories)}, subscribers {len(profiles)}")
    print(f"shared: cluster {clustered - started:.2f}s, prepare {prepared - clustered:.2f}s, ")
    print(
        f"        compose all {composed - prepared:.2f}s "
        f"({(composed - prepared) / len(profiles) * 1000:.3f} ms per subscriber), "
        f"total {shared_total:.2f}s ({shared_total / len(profiles) * 1000:.3f} ms per subscriber)"
    )
    print(
        f"no sharing: {solo_each * 1000:.0f} ms per subscriber (timed on {len(sample)}), "
        f"extrapolated {solo_total:.0f}s for {len(profiles)}"
    )
    print(f"ratio no-sharing / shared: {solo_total / shared_total:.0f}x")
    print(f"briefings with no news: {empty}")


if __name__ == "__main__":
    main()
