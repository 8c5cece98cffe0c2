"""``shiftbrief run`` as a real process: starts, catches up a missed digest, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "SHIFTBRIEF_DATABASE_URL": sqlite_db.url,
        "SHIFTBRIEF_INGEST_INTERVAL_SECONDS": "3600",
        "SHIFTBRIEF_HTTP_PORT": str(port),
        "SHIFTBRIEF_HTTP_HOST": "127.0.0.1",
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
            if process.poll() is not None:
                raise AssertionError(process.communicate()[1])
            time.sleep(0.2)
        metrics = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        )
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == "sent", stderr
    assert process.returncode == 0, stderr
    assert "stopped" in stderr
    assert b'shiftbrief_deliveries_total{platform="console",status="sent"} 1.0' in metrics
    assert b'shiftbrief_deliveries_late_total{platform="console"} 1.0' in metrics
    # Not a terminal: one JSON object a line, with the delivery's ids as fields.
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    delivering = [r for r in records if r["message"].startswith("delivering")]
    assert delivering and delivering[0]["subscriber_id"] == sid
    assert delivering[0]["platform"] == "console" and "delivery_id" in delivering[0]
    assert "Neutral-atom quantum computer reaches 1,000 qubits" in stdout
    async with sqlite_db.sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert row.subscriber_id == sid and row.late
