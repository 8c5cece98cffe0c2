"""Benchmark: time from a signed ``/brief sector ai`` request to Slack's ack, against 3 s.

A SQLite file holds 100,000 synthetic items (fixed seed) in 40 feeds, with their sectors in
``item_sectors``; 1,500 of them fall in the last 24 hours, so the command's real work (load the
window, cluster, rank, compose) is not trivial. The Slack adapter runs in HTTP mode against a
local fake Web API; each request is signed with the signing secret like Slack does.

Requests are sent one after another, each after the previous answer reached response_url, so
the ack is timed on an otherwise idle process; the full answer time is reported alongside.

Run: ``.venv/bin/python bench/slack_command.py [--items N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

# The repository root, so the fake Slack API in tests/ can be imported.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from sqlalchemy import insert

from adapters.slack.adapter import SlackAdapter
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.delivery.pacing import Pacer, RateLimit
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Feed, Item, ItemSector
from storage.search import search_text
from tests.slack_api import TEAM_ID, SlackAPI

SECRET = "bench-signing-secret"
SLACK_DEADLINE = 3.0
NOW = datetime(2026, 1, 20, 7, 0, tzinfo=UTC)
SECTORS = ["ai", "green", "quantum", "mobility", "life"]
WORDS = {
    "ai": ["model", "LLM", "inference", "agent", "GPU", "dataset", "transformer"],
    "green": ["battery", "grid", "solar", "wind", "hydrogen", "storage"],
    "quantum": ["qubit", "quantum", "photonic", "annealing", "cryogenic"],
    "mobility": ["robot", "humanoid", "lidar", "autonomous", "drone"],
    "life": ["CRISPR", "gene", "protein", "antibody", "genome", "trial"],
}
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne"]
VERBS = ["launches", "unveils", "raises funds for", "delays", "tests", "scales up", "opens"]


async def populate(url: str, items: int, recent: int, seed: int = 7) -> float:
    """Fill a migrated database with ``items`` items (``recent`` of them in the last day)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    engine = make_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Feed),
            [
                {
                    "id": i,
                    "url": f"https://feed{i}.example/rss",
                    "title": f"Wire {i}",
                    "created_at": NOW - timedelta(days=400),
                    "weight": 1.0,
                    "disabled": False,
                }
                for i in range(1, 41)
            ],
        )
        item_rows, sector_rows = [], []
        for n in range(1, items + 1):
            sector = rng.choice(SECTORS)
            title = (
                f"{rng.choice(COMPANIES)} {rng.choice(VERBS)} {rng.choice(WORDS[sector])} "
                f"{rng.choice(WORDS[sector])} project {n % 997}"
            )
            summary = f"Details on the {rng.choice(WORDS[sector])} work, item {n}."
            age = (
                timedelta(minutes=rng.randrange(1, 24 * 60))
                if n <= recent
                else timedelta(days=rng.uniform(1.1, 365))
            )
            when = NOW - age
            item_rows.append(
                {
                    "id": n,
                    "feed_id": 1 + n % 40,
                    "guid": f"g{n}",
                    "link": f"https://news.example/{n}",
                    "content_hash": hashlib.sha1(str(n).encode()).hexdigest(),
                    "title": title,
                    "summary": summary,
                    "language": "en",
                    "published_at": when,
                    "first_seen_at": when,
                    "is_backlog": False,
                    "search_text": search_text(title, summary),
                }
            )
            sector_rows.append(
                {"item_id": n, "sector_key": sector, "score": rng.uniform(0.3, 1.0), "matched": []}
            )
            if len(item_rows) == 10_000:
                await conn.execute(insert(Item), item_rows)
                await conn.execute(insert(ItemSector), sector_rows)
                item_rows, sector_rows = [], []
        if item_rows:
            await conn.execute(insert(Item), item_rows)
            await conn.execute(insert(ItemSector), sector_rows)
    await engine.dispose()
    return time.perf_counter() - started


def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(items: int, recent: int, requests: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="shiftbrief-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    took = await populate(url, items, recent)
    print(f"generated {items:,} items ({recent:,} in the last 24 h) in {took:.1f} s")

    api = SlackAPI()
    await api.start()
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    settings = Settings(
        slack_mode="http",
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET,
        slack_api_url=api.base_url,
        http_host="127.0.0.1",
        http_port=0,
    )
    clock = lambda: NOW  # noqa: E731
    adapter = SlackAdapter(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=clock,
        pacer=Pacer(per_destination=RateLimit(1000, 1)),
    )
    await adapter.start(Dispatcher(sessionmaker=sessionmaker, clock=clock))
    endpoint = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    acks, answers = [], []
    async with aiohttp.ClientSession() as http:
        for n in range(requests + 3):  # the first three warm up (auth.test, caches)
            name = f"r{n}"
            body = urlencode(
                {
                    "team_id": TEAM_ID,
                    "channel_id": "C1",
                    "user_id": f"U{n % 20}",
                    "command": "/brief",
                    "text": "sector ai",
                    "response_url": api.response_url(name),
                }
            )
            started = time.perf_counter()
            async with http.post(endpoint, data=body.encode(), headers=signed(body)) as resp:
                await resp.read()
                acked = time.perf_counter() - started
                assert resp.status == 200, resp.status
            while not api.called(f"response_url:{name}"):
                await asyncio.sleep(0.002)
            answered = time.perf_counter() - started
            if n >= 3:
                acks.append(acked)
                answers.append(answered)
    await adapter.close()
    await api.stop()
    await engine.dispose()

    p50, p99 = pct(acks, 0.50), pct(acks, 0.99)
    print(f"{requests} signed '/brief sector ai' requests, one at a time")
    print(
        f"ack (HTTP 200): p50 {p50 * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms  "
        f"max {max(acks) * 1000:.1f} ms  mean {statistics.mean(acks) * 1000:.1f} ms"
    )
    print(
        f"ack p99 / Slack's 3 s deadline: {p99 / SLACK_DEADLINE:.4f} "
        f"({SLACK_DEADLINE / p99:.0f}x headroom)"
    )
    print(
        f"full answer at response_url: p50 {pct(answers, 0.5) * 1000:.0f} ms  "
        f"p99 {pct(answers, 0.99) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--recent", type=int, default=1_500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.items, args.recent, args.requests))


if __name__ == "__main__":
    main()
