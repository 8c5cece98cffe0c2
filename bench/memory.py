"""Peak memory of ``shiftbrief run`` preparing and fanning out one edition (issue 11, point 7).

About 5,000 stories (made as bench/compose.py makes them, stored as ingested news items and
classified by the real classifier) and 10,000 Slack readers whose digest fell due a few
minutes ago, with varied sectors, language and length. The real ``shiftbrief run`` process
starts on that SQLite file, catches up (opens 10,000 ledger rows), prepares the edition and
posts every digest to a Slack stand-in on loopback (tests/slack_api.py, in a process of its own
so its records do not count). The figure is the kernel's high-water mark of the ``shiftbrief
run`` process's resident memory (VmHWM), read once the last digest is recorded as sent.

Run: ``.venv/bin/python bench/memory.py [--stories 5000] [--readers 10000]``; the goal is at
most 250 MB. ``--tracemalloc N`` makes the process log its N biggest allocation sites when the
fan-out is done (slower; for finding what holds memory).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from bench.compose import make_articles  # noqa: E402
from bot.briefing.edition import ItemClassifier  # noqa: E402
from storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from storage.models import Delivery, Feed, FeedOwner, FeedState, Item, Subscriber  # noqa: E402
from tests.conftest import Database  # noqa: E402
from tests.seed import add_subscribers  # noqa: E402
from tests.slack_api import TEAM_ID, SlackAPI  # noqa: E402

GOAL_MB = 250
SECTOR_CHOICES = [("green",), ("ai",), ("quantum", "ai"), ("green", "mobility", "life"), ()]


def _slack_main(conn: multiprocessing.connection.Connection) -> None:
    async def main() -> None:
        api = SlackAPI()
        api.calls = collections.deque(maxlen=1000)  # type: ignore[assignment]
        await api.start()
        conn.send(api.base_url)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await api.stop()

    asyncio.run(main())


async def seed(db: Database, *, stories: int, readers: int, now: datetime) -> None:
    rng = random.Random(11)
    articles = []
    events = stories
    while len(articles) < stories:  # events have 1-3 reports each
        articles = make_articles(events, rng)
        events = int(events * stories / max(1, len(articles))) + 1
    articles = articles[:stories]
    async with db.sessionmaker.begin() as session:
        feeds = []
        for n in range(400):
            feed = Feed(url=f"https://feed{n}.example/rss", title=f"Feed {n}", created_at=now)
            # Not due: the process under test must spend its memory on the edition.
            feed.state = FeedState(next_check_at=now + timedelta(days=1), backlog_done=True)
            feeds.append(feed)
        session.add_all(feeds)
        await session.flush()
        # The shared catalog, so every tenant's edition draws on these feeds.
        session.add_all(FeedOwner(feed_id=f.id, tenant_id=None, created_at=now) for f in feeds)
        items = [
            Item(
                feed_id=feeds[a.feed_id % 400].id,
                content_hash=f"h{a.item_id}",
                title=a.title,
                summary=a.summary,
                link=a.link,
                language=a.language,
                published_at=now - (datetime(2026, 1, 20, 7, 0, tzinfo=UTC) - a.published_at),
                first_seen_at=now - timedelta(hours=1),
            )
            for a in articles
        ]
        session.add_all(items)
        await session.flush()
        await ItemClassifier()(session, items)
    due = (now - timedelta(minutes=3)).strftime("%H:%M")
    per_group = readers // len(SECTOR_CHOICES)
    for group, sectors in enumerate(SECTOR_CHOICES):
        count = per_group if group < len(SECTOR_CHOICES) - 1 else readers - per_group * group
        ids = await add_subscribers(
            db,
            count,
            now=now - timedelta(days=1),
            platform="slack",
            kind="user",
            tenant=TEAM_ID,
            delivery_time=due,
            sectors=sectors or ("green", "quantum", "ai", "mobility", "life"),
            prefix=f"U{group}",
        )
        async with db.sessionmaker.begin() as session:
            await session.execute(
                update(Subscriber)
                .where(Subscriber.id.in_(ids[: count // 3]))
                .values(language="ja", length="short")
            )


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


async def run(stories: int, readers: int, tracemalloc_top: int) -> dict[str, object]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    slack = ctx.Process(target=_slack_main, args=(child,), daemon=True)
    slack.start()
    base_url = parent.recv()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        engine = make_engine(url)
        await upgrade(engine)
        db = Database(url, engine, make_sessionmaker(engine))
        now = datetime.now(UTC)
        await seed(db, stories=stories, readers=readers, now=now)
        async with db.sessionmaker() as session:
            stored = (await session.execute(select(func.count()).select_from(Item))).scalar_one()
        env = {
            **os.environ,
            "SHIFTBRIEF_DATABASE_URL": url,
            "SHIFTBRIEF_HTTP_HOST": "127.0.0.1",
            "SHIFTBRIEF_HTTP_PORT": "0",
            "SHIFTBRIEF_INGEST_INTERVAL_SECONDS": "3600",
            "SHIFTBRIEF_LOG_FORMAT": "text",
            "SHIFTBRIEF_LOG_LEVEL": "WARNING",
            "SHIFTBRIEF_CONFIG_FILE": f"{folder}/none.toml",
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-secret",
            "SLACK_API_URL": base_url,
            "SHIFTBRIEF_SLACK_MODE": "http",
        }
        for name in ("DISCORD_TOKEN", "SLACK_CLIENT_ID", "SLACK_APP_TOKEN"):
            env.pop(name, None)
        command = [str(ROOT / ".venv/bin/shiftbrief"), "run"]
        if tracemalloc_top:
            env["PYTHONTRACEMALLOC"] = "1"
            env["SHIFTBRIEF_BENCH_TRACEMALLOC"] = str(tracemalloc_top)
            command = [sys.executable, str(Path(__file__).resolve()), "--child"]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, cwd=folder)
        samples: list[tuple[float, int]] = []
        sent = 0
        try:
            while True:
                await asyncio.sleep(0.5)
                if process.poll() is not None:
                    raise RuntimeError(f"shiftbrief run exited with {process.returncode}")
                status = _status(process.pid)
                samples.append((round(time.perf_counter() - started, 1), status["VmRSS"]))
                async with db.sessionmaker() as session:
                    query = select(Delivery.status, func.count()).group_by(Delivery.status)
                    counts = dict((await session.execute(query)).all())
                sent = counts.get("sent", 0) + counts.get("skipped", 0)
                if sent + counts.get("failed", 0) >= readers:
                    break
            elapsed = time.perf_counter() - started
            peak = _status(process.pid)["VmHWM"]
        finally:
            if tracemalloc_top and process.poll() is None:
                process.send_signal(signal.SIGUSR1)
                await asyncio.sleep(5)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
            parent.send("stop")
            slack.join(10)
            await engine.dispose()
    return {
        "stories": stored,
        "readers": readers,
        "delivered_or_skipped": sent,
        "by_status": counts,
        "seconds_to_last_digest": round(elapsed, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "goal_mb": GOAL_MB,
        "rss_mb_over_time": " ".join(
            f"{t:g}s:{kb // 1024}" for t, kb in samples[:: max(1, len(samples) // 12)]
        ),
    }


def _child() -> None:
    """``shiftbrief run`` with tracemalloc: SIGUSR1 logs the biggest allocation sites."""
    import tracemalloc

    from shiftbrief.cli import main

    top = int(os.environ["SHIFTBRIEF_BENCH_TRACEMALLOC"])

    def report(_signum: int, _frame: object) -> None:
        snapshot = tracemalloc.take_snapshot()
        for stat in snapshot.statistics("traceback")[:top]:
            print(f"{stat.size / 1024 / 1024:.1f} MB in {stat.count} blocks", file=sys.stderr)
            for line in stat.traceback.format(limit=6):
                print("   ", line, file=sys.stderr)

    signal.signal(signal.SIGUSR1, report)
    sys.argv = ["shiftbrief", "run"]
    main()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stories", type=int, default=5000)
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="N")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child()
    else:
        print(json.dumps(asyncio.run(run(args.stories, args.readers, args.tracemalloc)), indent=2))
