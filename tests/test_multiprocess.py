"""Several ``shiftbrief run`` processes on one PostgreSQL database, as real processes.

One scheduler at a time (the advisory lock has one holder), a standby takes over when the
leader is killed, every digest is delivered exactly once across the processes, and /readyz
follows the database going away and coming back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.delivery.leader import LOCK_KEY
from storage.db import make_engine, upgrade
from storage.models import Delivery
from tests.conftest import Database
from tests.pgserver import start_cluster
from tests.seed import add_subscribers, seed_news
from tests.slack_api import TEAM_ID, SlackAPI

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Bot:
    """One ``shiftbrief run`` process."""

    def __init__(self, database_url: str, tmp: Path, **env: str) -> None:
        self.port = _free_port()
        environment = {
            **os.environ,
            "SHIFTBRIEF_DATABASE_URL": database_url,
            "SHIFTBRIEF_HTTP_HOST": "127.0.0.1",
            "SHIFTBRIEF_HTTP_PORT": str(self.port),
            "SHIFTBRIEF_SCHEDULER_TAKEOVER_SECONDS": "2",
            "SHIFTBRIEF_INGEST_INTERVAL_SECONDS": "3600",
            "SHIFTBRIEF_LOG_FORMAT": "text",
            "SHIFTBRIEF_CONFIG_FILE": str(tmp / "none.toml"),
            **env,
        }
        for name in ("DISCORD_TOKEN", "SLACK_CLIENT_ID", "SLACK_APP_TOKEN"):
            environment.pop(name, None)
        self.log = tmp / f"bot-{self.port}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from shiftbrief.cli import main; main()", "run"],
            cwd=tmp,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self.name = f"shiftbrief:{socket.gethostname()}:{self.process.pid}"

    async def get(self, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{self.port}{path}", timeout=aiohttp.ClientTimeout(total=5)
            ) as response,
        ):
            return response.status, await response.text()

    async def wait_healthy(self, within: float = 90.0) -> None:
        # Generous: a process starting on a loaded 2-core machine (CI beside other jobs) took
        # over 30 s to import and open its database; this waits, it does not time anything.
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if (await self.get("/healthz"))[0] == 200:
                    return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"not healthy in {within} s:\n{self.log.read_text()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log_file.close()
        return self.process.returncode


async def _lock_holders(db: Database) -> list[str]:
    query = text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key"
    )
    async with db.engine.connect() as conn:
        return [row[0] for row in await conn.execute(query, {"key": LOCK_KEY})]


async def _statuses(db: Database) -> Counter[str]:
    async with db.sessionmaker() as session:
        return Counter((await session.execute(select(Delivery.status))).scalars())


async def _until(predicate, within: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
async def test_one_scheduler_takes_over_and_every_digest_goes_out_once(
    postgres_db: Database, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await seed_news(postgres_db, now)
    earlier = (now - timedelta(minutes=5)).strftime("%H:%M")
    first = await add_subscribers(
        postgres_db,
        12,
        now=now,
        platform="slack",
        tenant=TEAM_ID,
        delivery_time=earlier,
        prefix="A",
    )
    slack = SlackAPI()
    await slack.start()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": slack.base_url,
        "SHIFTBRIEF_SLACK_MODE": "http",
        "SHIFTBRIEF_SLACK_MESSAGES_PER_SECOND": "50",
    }
    bots = [Bot(postgres_db.url, tmp_path, **env) for _ in range(3)]
    holders_seen: list[list[str]] = []
    try:
        for bot in bots:
            await bot.wait_healthy()

        async def first_batch_sent() -> bool:
            holders_seen.append(await _lock_holders(postgres_db))
            return (await _statuses(postgres_db))["sent"] == len(first)

        await _until(first_batch_sent, 60, "the first batch of digests")
        [leader_name] = await _lock_holders(postgres_db)
        leader = next(b for b in bots if b.name == leader_name)

        # Digests that became due while the leader is about to die: only a successor's
        # catch-up can open them.
        second = await add_subscribers(
            postgres_db,
            12,
            now=now,
            platform="slack",
            tenant=TEAM_ID,
            delivery_time=earlier,
            prefix="B",
        )
        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(10)
        killed_at = time.monotonic()

        async def taken_over() -> bool:
            holders = await _lock_holders(postgres_db)
            holders_seen.append(holders)
            return len(holders) == 1 and holders[0] != leader_name

        await _until(taken_over, 60, "a standby to take over the scheduler")
        takeover_seconds = time.monotonic() - killed_at

        async def everything_sent() -> bool:
            holders_seen.append(await _lock_holders(postgres_db))
            return (await _statuses(postgres_db))["sent"] == len(first) + len(second)

        await _until(everything_sent, 60, "the second batch of digests")
        for bot in bots:
            if bot is not leader:
                status, body = await bot.get("/readyz")
                assert status == 200, body
    finally:
        codes = [bot.stop() for bot in bots]
        await slack.stop()
    assert takeover_seconds < 60
    assert all(len(h) <= 1 for h in holders_seen), "two schedulers at once"
    posts = Counter(call.args["channel"] for call in slack.called("chat.postMessage"))
    assert sorted(posts) == sorted(
        [f"A{i:04d}" for i in range(12)] + [f"B{i:04d}" for i in range(12)]
    )
    assert set(posts.values()) == {1}, "a digest went out twice"
    assert await _statuses(postgres_db) == Counter({"sent": 24})
    assert [c for b, c in zip(bots, codes, strict=True) if b is not leader] == [0, 0]


@pytest.mark.postgres
async def test_readyz_fails_while_the_database_is_down_and_recovers(tmp_path: Path) -> None:
    cluster = start_cluster()
    if cluster is None:
        pytest.skip("no PostgreSQL server installed")
    try:
        cluster.psql("CREATE DATABASE ready")
        url = cluster.url("ready")
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
        bot = Bot(url, tmp_path)
        try:
            await bot.wait_healthy()

            async def ready() -> bool:
                return (await bot.get("/readyz"))[0] == 200

            await _until(ready, 30, "/readyz to answer 200")
            await asyncio.to_thread(cluster.stop_server)

            async def not_ready() -> bool:
                status, body = await bot.get("/readyz")
                return status == 503 and '"database": false' in body

            await _until(not_ready, 30, "/readyz to answer 503")
            assert (await bot.get("/healthz"))[0] == 200  # the process itself is up
            await asyncio.to_thread(cluster.start_server)
            await _until(ready, 60, "/readyz to recover")
        finally:
            assert bot.stop() == 0, bot.log.read_text()
    finally:
        cluster.stop()
