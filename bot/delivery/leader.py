"""One scheduler among many processes: leadership through a PostgreSQL advisory lock.

APScheduler 3 must never share a job store between running schedulers, so with several
``shiftbrief run`` processes on one PostgreSQL database exactly one runs the scheduler: the one
holding a session-level advisory lock. The lock lives as long as the leader's database session;
when the process dies, PostgreSQL ends the session and frees the lock, and a standby takes over on
its next try (every ``interval`` seconds, well within a minute). On SQLite there is one process,
and it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.schedule import DigestScheduler
from bot.metrics import Metrics

log = logging.getLogger(__name__)

LOCK_KEY = 0x5B_5C_ED_01
"""The advisory lock's key: any 64-bit number no other application on the database uses."""


class SchedulerLeadership:
    """Runs a fresh ``DigestScheduler`` whenever this process holds the scheduler lock.

    Args:
        engine: the database (PostgreSQL elects; anything else always leads).
        make_scheduler: builds a scheduler for each term of leadership.
        interval: seconds between attempts to take the lock, and between liveness checks.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        make_scheduler: Callable[[], DigestScheduler],
        interval: float = 15.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._make_scheduler = make_scheduler
        self._interval = interval
        self._metrics = metrics
        self.scheduler: DigestScheduler | None = None

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    async def run(self, stop: asyncio.Event) -> None:
        """Lead when possible until ``stop``; the scheduler is shut down on the way out."""
        if self._engine.dialect.name != "postgresql":
            while not stop.is_set():
                try:
                    await self._lead_until(stop, check=None)
                except Exception:  # the scheduler must come back, whatever stopped it
                    log.warning("scheduler stopped on an error; restarting", exc_info=True)
                    await _wait(stop, self._interval)
            return
        while not stop.is_set():
            try:
                async with self._engine.connect() as conn:
                    got = (
                        await conn.execute(
                            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
                        )
                    ).scalar_one()
                    await conn.commit()
                    if got:
                        log.info("this process now runs the scheduler")

                        async def alive() -> None:
                            await conn.execute(text("SELECT 1"))
                            await conn.commit()

                        try:
                            await self._lead_until(stop, check=alive)
                        finally:
                            with contextlib.suppress(SQLAlchemyError, OSError):
                                await conn.execute(
                                    text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY}
                                )
                                await conn.commit()
            except (DBAPIError, SQLAlchemyError, OSError) as exc:
                log.warning("scheduler election: database unavailable (%s)", type(exc).__name__)
            except Exception:  # a bug in one term of leadership must not end the bot
                log.exception("scheduler stopped on an error; standing for election again")
            await _wait(stop, self._interval)

    async def _lead_until(
        self, stop: asyncio.Event, *, check: Callable[[], Awaitable[None]] | None
    ) -> None:
        scheduler = self._make_scheduler()
        await scheduler.start()
        self.scheduler = scheduler
        if self._metrics is not None:
            self._metrics.scheduler_leader.set(1)
        try:
            while not stop.is_set():
                await _wait(stop, self._interval)
                if stop.is_set():
                    break
                if check is not None:
                    await check()
                # Schedules changed through another process reach the leader this way.
                await scheduler.sync()
        finally:
            self.scheduler = None
            if self._metrics is not None:
                self._metrics.scheduler_leader.set(0)
            await scheduler.shutdown()
            log.info("this process no longer runs the scheduler")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
