"""``shiftbrief run`` as a real process: starts, catches up a missed digest, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.models import Delivery
from tests.conftest import Database
from tests.seed import add_subscribers, seed_news

ROOT = Path(__file__).resolve().parents[1]


async def test_run_sends_a_missed_digest_late_and_stops_cleanly_on_sigterm(
    sqlite_db: Database, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await seed_news(sqlite_db, now)
    tokyo = now.astimezone(ZoneInfo("Asia/Tokyo")) - timedelta(minutes=30)
    [sid] = await add_subscribers(
        sqlite_db,
        1,
        now=now,
        platform="console",
        kind="user",
        delivery_time=tokyo.strftime("%H:%M"),
        timezone="Asia/Tokyo",
    )
    env = {
        **os.environ,
        "SHIFTBRIEF_DATABASE_URL": sqlite_db.url,
        "SHIFTBRIEF_INGEST_INTERVAL_SECONDS": "3600",
        "SHIFTBRIEF_HTTP_PORT": "0",
        "SHIFTBRIEF_CONFIG_FILE": str(tmp_path / "none.toml"),
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "DISCORD_TOKEN"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from shiftbrief.cli import main; main()", "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            async with sqlite_db.sessionmaker() as session:
                status = (await session.execute(select(Delivery.status))).scalar_one_or_none()
            if status == "sent":
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == "sent", stderr
    assert process.returncode == 0, stderr
    assert "stopped" in stderr
    assert "Neutral-atom quantum computer reaches 1,000 qubits" in stdout
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert row.subscriber_id == sid and row.late
