"""Kill a real delivery process with SIGKILL at random points of a fan-out, restart it, count.

Shared by tests/test_exactly_once.py and bench/killtest.py. The fake Slack and Discord APIs run
in the caller's event loop; the worker (tests/exactly_once_worker.py) is a separate process.
Kills are triggered from the fakes' post hook at post numbers drawn from a seeded generator,
either before the reply goes out (the part is posted, the worker never learns it) or shortly
after it (the worker may or may not have recorded the part): the two ways a crash leaves a
part's outcome unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from adapters.discord.delivery import fingerprint
from adapters.discord.render import render_briefing_messages as discord_parts
from adapters.slack.delivery import EVENT_TYPE
from adapters.slack.render import render_briefing_messages as slack_parts
from bot.briefing.edition import load_edition, profile_of
from bot.delivery.deliver import DeliveryService
from storage.models import (
    Delivery,
    Feed,
    FeedOwner,
    FeedState,
    Item,
    ItemSector,
    Subscriber,
    Tenant,
)
from tests.conftest import Database
from tests.discord_api import FakeDiscord
from tests.seed import add_subscribers
from tests.slack_api import TEAM_ID, SlackAPI

ROOT = Path(__file__).resolve().parents[1]
GUILD = "900000000000000001"
SECTORS = ("green", "quantum", "ai", "mobility", "life")
CONSONANTS = "bcdfghklmnprstvz"


def _words(rand: random.Random, count: int) -> str:
    """Made-up words: stories no clustering mistakes for one another."""
    return " ".join(
        "".join(rand.choice(CONSONANTS) + rand.choice("aeiou") for _ in range(3))
        for _ in range(count)
    )


async def seed_long_news(db: Database, now: datetime, per_sector: int = 5) -> None:
    """Stories with long summaries in every sector: 3 Slack messages and 2 Discord ones."""
    rand = random.Random(7)
    async with db.sessionmaker.begin() as session:
        for f, sector in enumerate(SECTORS):
            feed = Feed(
                url=f"https://{sector}.example/rss",
                title=f"{sector.title()} Wire",
                sector_hint=sector,
                created_at=now,
            )
            feed.state = FeedState(next_check_at=now)
            session.add(feed)
            await session.flush()
            session.add(FeedOwner(feed_id=feed.id, tenant_id=None, created_at=now))
            for i in range(per_sector):
                item = Item(
                    feed_id=feed.id,
                    content_hash=f"{sector}-{i}",
                    title=_words(rand, 6).capitalize(),
                    summary=(
                        f"{_words(rand, 8).capitalize()}. The result was announced today after "
                        f"{i + 3} years of work by {i * 11 + 40} researchers, who say it lowers "
                        f"costs by {i + 12} percent against the previous generation. A pilot "
                        f"line with two partners opens in {2027 + i % 3}, once regulators have "
                        f"reviewed the data. {_words(rand, 12).capitalize()} will follow, and "
                        f"the group expects {_words(rand, 6)} to matter most for buyers."
                    ),
                    link=f"https://news.example/{sector}/{i}",
                    language="en",
                    published_at=now - timedelta(minutes=10 * i + 5 + f),
                    first_seen_at=now - timedelta(minutes=1),
                )
                session.add(item)
                await session.flush()
                session.add(ItemSector(item_id=item.id, sector_key=sector, score=1.0, matched=[]))


async def add_readers(db: Database, now: datetime, readers: int = 40) -> list[int]:
    """Half on Slack, half on Discord; a quarter of each are DMs. Their digests fall due now."""
    half = readers // 2
    dms = half // 4
    ids: list[int] = []
    for platform, tenant, channel_prefix, user_prefix in (
        ("slack", TEAM_ID, "C", "U"),
        ("discord", GUILD, "5550", "7770"),
    ):
        ids += await add_subscribers(
            db,
            half - dms,
            now=now,
            platform=platform,
            tenant=tenant,
            prefix=channel_prefix,
            sectors=SECTORS,
        )
        ids += await add_subscribers(
            db,
            dms,
            now=now,
            platform=platform,
            tenant=tenant,
            kind="user",
            prefix=user_prefix,
            sectors=SECTORS,
        )
    opener = DeliveryService(
        sessionmaker=db.sessionmaker, adapters={}, clock=lambda: now, worker_id="opener"
    )
    for sid in ids:
        assert await opener.open_digest(sid, now)
    return ids


@dataclass
class Outcome:
    """What a run did and what the readers got."""

    kills: int = 0
    kills_before_reply: int = 0
    restarts: int = 0
    parts_expected: int = 0
    posts: int = 0
    duplicates: int = 0
    """Messages beyond one per part."""
    losses: int = 0
    """Parts no reader got."""
    ledger_disagrees: list[str] = field(default_factory=list)
    readers_with_problems: list[str] = field(default_factory=list)


class Killer:
    """Kills the current worker when the fakes have stored the chosen post numbers."""

    def __init__(self, kill_points: list[int], rand: random.Random) -> None:
        self.points = set(kill_points)
        self.rand = rand
        self.posts = 0
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0
        self.before_reply = 0
        self.doomed: set[int] = set()
        self.due = 0

    def _kill(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)

    async def on_post(self, channel: str, message: dict[str, Any]) -> None:
        self.posts += 1
        if self.posts in self.points:
            self.due += 1
        process = self.process
        if not self.due or process is None:
            return
        if process.returncode is not None or process.pid in self.doomed:
            # This worker is dying already: the kill waits for a post of the next one.
            return
        self.due -= 1
        self.doomed.add(process.pid)
        self.kills += 1
        if self.rand.random() < 0.5:
            # Posted, but the worker dies before it hears so.
            self.before_reply += 1
            self._kill(process)
            await process.wait()
        else:
            # Somewhere between the reply and the ledger write (or just after it).
            loop = asyncio.get_running_loop()
            loop.call_later(self.rand.uniform(0.0, 0.08), self._kill, process)


async def run_fanout(
    db: Database,
    tmp: Path,
    *,
    kills: int,
    seed: int,
    readers: int = 40,
    blind: bool = False,
    within: float = 600.0,
) -> Outcome:
    """Seed a fan-out, run workers until it is done while killing them, then count."""
    now = datetime.now(UTC)
    await seed_long_news(db, now)
    ids = await add_readers(db, now, readers)
    expected = await _expected_parts(db, ids, now)
    total = sum(len(parts) for _, parts in expected.values())
    rand = random.Random(seed)
    # The last quarter stays free: a kill point reached while the worker is dying already
    # waits for a post of the next worker.
    killer = Killer(sorted(rand.sample(range(2, max(kills + 3, total * 3 // 4)), kills)), rand)
    slack = SlackAPI(real_ts=True, on_post=killer.on_post)
    # No nonce window: only the look-up can keep a part from going out twice.
    discord = FakeDiscord(nonce_window=0.0)
    discord.on_post = killer.on_post
    await slack.start()
    await discord.start()
    outcome = Outcome(parts_expected=total)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env["SHIFTBRIEF_KILLTEST_BLIND"] = "1" if blind else "0"
    try:
        async with asyncio.timeout(within):
            while True:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.exactly_once_worker",
                    db.url,
                    slack.base_url,
                    discord.base_url,
                    str(tmp),
                    cwd=ROOT,
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                killer.process = process
                _, stderr = await process.communicate()
                if process.returncode == 0:
                    break
                if process.returncode != -signal.SIGKILL:
                    raise AssertionError(stderr.decode()[-3000:])
                outcome.restarts += 1
    finally:
        await slack.stop()
        await discord.close()
    outcome.kills = killer.kills
    outcome.kills_before_reply = killer.before_reply
    await _count(db, expected, slack, discord, outcome)
    return outcome


async def _expected_parts(
    db: Database, ids: list[int], now: datetime
) -> dict[int, tuple[Subscriber, list[Any]]]:
    """Each reader's parts as the worker will render them (from the same stored news)."""
    async with db.sessionmaker() as session:
        # Tracked, as the worker's edition is: its stories carry stored keys, and a story
        # with one gets a "Why this?" control, which changes how Discord parts are packed.
        edition = await load_edition(session, now=now, track=True)
        subscribers = (
            (await session.execute(select(Subscriber).where(Subscriber.id.in_(ids))))
            .scalars()
            .all()
        )
        tenants = {t.id: t for t in (await session.execute(select(Tenant))).scalars()}
    expected: dict[int, tuple[Subscriber, list[Any]]] = {}
    for subscriber in subscribers:
        briefing = edition.compose(profile_of(subscriber, all_sectors=list(edition.sectors)))
        platform = tenants[subscriber.tenant_id].platform
        parts: list[Any] = slack_parts(briefing) if platform == "slack" else discord_parts(briefing)
        expected[subscriber.id] = (subscriber, parts)
    return expected


async def _count(
    db: Database,
    expected: dict[int, tuple[Subscriber, list[Any]]],
    slack: SlackAPI,
    discord: FakeDiscord,
    outcome: Outcome,
) -> None:
    async with db.sessionmaker() as session:
        ledger = {d.subscriber_id: d for d in (await session.execute(select(Delivery))).scalars()}
    outcome.posts = sum(len(m) for m in slack.messages.values()) + sum(
        len(m) for m in discord.messages.values()
    )
    for sid, (subscriber, parts) in expected.items():
        where = f"{subscriber.kind} {subscriber.external_id}"
        if parts and hasattr(parts[0], "blocks"):
            channel = ("D" if subscriber.kind == "user" else "") + subscriber.external_id
            posted = slack.messages.get(channel, [])
            numbers = [
                int(m["metadata"]["event_payload"]["part"])
                for m in posted
                if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE
            ]
            ids = [str(m["ts"]) for m in posted]
        else:
            channel = (
                discord.dm_channels.get(subscriber.external_id, "")
                if subscriber.kind == "user"
                else subscriber.external_id
            )
            posted = discord.messages.get(channel, [])
            # A part's number is the order its content first appeared in: the worker composed
            # at its own moment, so compare the messages with one another, not with a rendering.
            seen = [fingerprint(m["content"], [_embed(e) for e in m["embeds"]]) for m in posted]
            distinct = list(dict.fromkeys(seen))
            numbers = [distinct.index(f) for f in seen]
            ids = [str(m["id"]) for m in posted]
        counts = Counter(numbers)
        dups = max(0, len(numbers) - len(parts))
        lost = sum(1 for n in range(len(parts)) if counts.get(n, 0) == 0)
        outcome.duplicates += dups
        outcome.losses += lost
        if dups or lost:
            outcome.readers_with_problems.append(f"{where}: parts {numbers}")
        row = ledger.get(sid)
        recorded = list((row.message_ref or {}).get("message_ids") or []) if row else []
        if row is None or row.status != "sent" or recorded != ids:
            outcome.ledger_disagrees.append(
                f"{where}: ledger {row.status if row else None} {recorded}, platform {ids}"
            )


def _embed(data: dict[str, Any]) -> Any:
    import discord as discord_py

    return discord_py.Embed.from_dict(data)
