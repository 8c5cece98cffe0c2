"""Fan-out benchmark (issue "Schedules and delivery").

2,000 digests to 2,000 destinations through the real delivery service, against a local chat
API that enforces Discord's limits (50 requests/s per bot, 5 messages per 5 s per channel) and
injects 5% 429s (with Retry-After) and 2% 5xx answers. Reports the total time against the floor
the rate limits allow (2,000 / 50 = 40 s) as a ratio, and duplicates and losses.

Run: .venv/bin/python bench/fanout.py [--digests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bot.delivery.deliver import DeliveryService, RetryPolicy
from bot.delivery.pacing import Pacer, RateLimit
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Delivery
from tests.chat_api import ChatApiConfig, HttpChatAdapter, serve_chat_api
from tests.conftest import Database
from tests.seed import add_subscribers, seed_news

OVERALL_PER_SECOND = 50


async def main(digests: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        engine = make_engine(url)
        await upgrade(engine)
        db = Database(url, engine, make_sessionmaker(engine))
        now = datetime.now(UTC)
        await seed_news(db, now)
        ids = await add_subscribers(db, digests, now=now)
        config = ChatApiConfig(
            per_channel=(5, 5.0),
            overall=(OVERALL_PER_SECOND, 1.0),
            rate_429=0.05,
            rate_5xx=0.02,
            retry_after=0.5,
        )
        with serve_chat_api(config) as api:
            pacer = Pacer(
                per_destination=RateLimit(5, 5.0), overall=RateLimit(OVERALL_PER_SECOND, 1.0)
            )
            adapter = HttpChatAdapter(base_url=api.base_url, pacer=pacer, timeout=5.0)
            service = DeliveryService(
                sessionmaker=db.sessionmaker,
                adapters={"chat": adapter},
                clock=lambda: datetime.now(UTC),
                worker_id="bench",
                retry=RetryPolicy(max_attempts=8, base=0.2, cap=2.0),
                concurrency=256,
            )
            for sid in ids:
                await service.open_digest(sid, now)
            started = time.perf_counter()
            await service.deliver_all()
            elapsed = time.perf_counter() - started
            await adapter.close()
            per_channel = api.per_channel()
            requests, limited, injected = api.requests, api.limited, dict(api.injected)
        async with db.sessionmaker() as session:
            sent = (
                await session.execute(select(func.count()).where(Delivery.status == "sent"))
            ).scalar_one()
        await engine.dispose()
    floor = digests / OVERALL_PER_SECOND
    duplicates = sum(n - 1 for n in per_channel.values() if n > 1)
    losses = digests - len(per_channel)
    return {
        "digests": digests,
        "seconds": round(elapsed, 2),
        "floor_seconds": floor,
        "ratio_to_floor": round(elapsed / floor, 3),
        "duplicates": duplicates,
        "losses": losses,
        "ledger_sent": sent,
        "requests": requests,
        "rate_limited_by_api": limited,
        "injected_429": injected.get("429", 0),
        "injected_5xx": injected.get("5xx", 0),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digests", type=int, default=2000)
    result = asyncio.run(main(parser.parse_args().digests))
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))
