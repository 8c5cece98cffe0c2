"""Two workers race for one due digest: it is claimed by one and posted once.

Each worker runs as a separate process would: its own thread, event loop, engine and
connections on the same database. A barrier holds each worker just after it has read the due
rows (the ``claimable`` query), so both have seen the row as free before either claims it; from
there the claim itself must decide. On SQLite nothing locks the row between the read and the
claim, so the claim's condition (pending, or "sending" with a claim older than the lease) is what
stops the second worker. On PostgreSQL the first reader also locks the row (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select

from bot.delivery.deliver import DeliveryService
from storage.db import make_engine, make_sessionmaker
from storage.models import Delivery
from tests.chat_api import ChatApiConfig, HttpChatAdapter, serve_chat_api
from tests.conftest import Database
from tests.seed import add_subscribers, seed_news


def _now() -> datetime:
    return datetime.now(UTC)


def _hold_after_first_read(engine: Any, barrier: threading.Barrier) -> None:
    """Make this engine's connection wait at ``barrier`` once it has read the due deliveries."""
    held = False

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal held
        is_claimable_read = statement.lstrip().startswith("SELECT deliveries.id") and (
            "ORDER BY deliveries.scheduled_for" in statement
        )
        if is_claimable_read and not held:
            held = True
            # Blocks this worker's own thread and loop only; the other worker goes on.
            barrier.wait(timeout=30)


def _run_worker(url: str, name: str, base_url: str, barrier: threading.Barrier) -> int:
    async def work() -> int:
        engine = make_engine(url)
        _hold_after_first_read(engine, barrier)
        adapter = HttpChatAdapter(base_url=base_url)
        await adapter.start(None)
        service = DeliveryService(
            sessionmaker=make_sessionmaker(engine),
            adapters={"chat": adapter},  # type: ignore[dict-item]
            clock=_now,
            worker_id=name,
        )
        try:
            started = await service.process_due()
            async with asyncio.timeout(30):
                await service.drain()
            return started
        finally:
            await adapter.close()
            await engine.dispose()

    return asyncio.run(work())


async def test_two_workers_racing_for_one_digest_post_it_once(db: Database) -> None:
    now = _now()
    await seed_news(db, now)
    [sid] = await add_subscribers(db, 1, now=now)
    opener = DeliveryService(
        sessionmaker=db.sessionmaker, adapters={}, clock=_now, worker_id="opener"
    )
    assert await opener.open_digest(sid, now)

    barrier = threading.Barrier(2)
    with serve_chat_api(ChatApiConfig()) as api:
        started = await asyncio.gather(
            asyncio.to_thread(_run_worker, db.url, "worker-1", api.base_url, barrier),
            asyncio.to_thread(_run_worker, db.url, "worker-2", api.base_url, barrier),
        )
        posted = api.per_channel()

    assert sorted(started) == [0, 1]  # one worker claimed it, the other got nothing
    assert list(posted.values()) == [1]
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(Delivery))).scalars().all()
    assert [r.status for r in rows] == ["sent"]
