"""A delivery worker with the real Slack and Discord adapters, in its own process, to be killed.

Usage: python -m tests.exactly_once_worker DATABASE_URL SLACK_API_URL DISCORD_API_URL STATE_DIR

It delivers whatever the ledger holds (``deliver_all``) and exits 0; tests/test_exactly_once.py
and bench/killtest.py kill it with SIGKILL at random points and start it again. With
``SHIFTBRIEF_KILLTEST_BLIND=1`` the adapters' look-up of parts already posted is switched off
(it always finds nothing): bench/killtest.py measures what the look-up is worth with it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.discord import delivery as discord_delivery
from adapters.discord.adapter import DiscordAdapter
from adapters.slack import delivery as slack_delivery
from adapters.slack.adapter import SlackAdapter
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.delivery.deliver import DeliveryService, RetryPolicy
from bot.delivery.pacing import Pacer, RateLimit
from storage.db import make_engine, make_sessionmaker


def _now() -> datetime:
    return datetime.now(UTC)


async def _found_nothing(*args: Any, **kwargs: Any) -> dict[int, str]:
    return {}


async def main(database_url: str, slack_url: str, discord_url: str, state: Path) -> None:
    if os.environ.get("SHIFTBRIEF_KILLTEST_BLIND") == "1":
        slack_delivery.posted_parts = _found_nothing  # type: ignore[assignment]
        discord_delivery.posted_parts = _found_nothing  # type: ignore[assignment]
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    settings = Settings(
        slack_mode="http",
        slack_bot_token="xoxb-test",
        slack_signing_secret="unused",
        slack_api_url=slack_url,
        discord_token="test-token",
        discord_api_url=discord_url,
        discord_channel_messages=1000,
        discord_requests_per_second=1000,
    )
    fast = RateLimit(1000, 1.0)
    slack = SlackAdapter(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=_now,
        pacer=Pacer(per_destination=fast),
    )
    discord = DiscordAdapter(
        settings=settings,
        sessionmaker=sessionmaker,
        clock=_now,
        pacer=Pacer(per_destination=fast),
        sync_state_path=state / "discord-sync.json",
    )
    await discord.login(Dispatcher(sessionmaker=sessionmaker, clock=_now))
    service = DeliveryService(
        sessionmaker=sessionmaker,
        adapters={"slack": slack, "discord": discord},
        clock=_now,
        worker_id=f"worker-{os.getpid()}",
        retry=RetryPolicy(max_attempts=20, base=0.05, cap=0.2),
        concurrency=16,
        exclusive=True,
    )
    try:
        await service.deliver_all()
    finally:
        await discord.close()
        await slack.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))
