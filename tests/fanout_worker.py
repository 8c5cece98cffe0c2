"""A delivery worker in its own process, for the kill-and-restart test (tests/test_deliver.py).

Usage: python -m tests.fanout_worker DATABASE_URL CHAT_API_URL
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.delivery.deliver import DeliveryService, RetryPolicy
from bot.delivery.pacing import Pacer, RateLimit
from storage.db import make_engine, make_sessionmaker
from tests.chat_api import HttpChatAdapter


async def main(database_url: str, api_url: str) -> None:
    engine = make_engine(database_url)
    adapter = HttpChatAdapter(
        base_url=api_url, pacer=Pacer(overall=RateLimit(20, 1.0)), parts=2, timeout=2.0
    )
    service = DeliveryService(
        sessionmaker=make_sessionmaker(engine),
        adapters={"chat": adapter},
        clock=lambda: datetime.now(UTC),
        worker_id=f"worker-{sys.argv[-1]}",
        retry=RetryPolicy(base=0.05, cap=0.2),
        exclusive=True,
    )
    try:
        await service.deliver_all()
    finally:
        await adapter.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
