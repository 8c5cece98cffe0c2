"""Digest schedules: our subscriber rows are the truth, APScheduler jobs are derived from them.

Each scheduled subscriber (a user who chose sectors, or an admin's channel digest) gets one job,
``digest:<subscriber id>``, with a ``CronTrigger`` that always carries the subscriber's zone (a
bare trigger would use the host's). Jobs live in APScheduler's ``SQLAlchemyJobStore`` on our
database and are re-synced at start and on every change. When a job fires, the delivery service
opens the ledger row for that period; the ledger's uniqueness makes a second trigger harmless.

Missed digests are handled by ``catch_up`` with an explicit clock: after downtime, the last
missed period is sent once if it is within the grace period (marked late) and recorded as skipped
otherwise, so nothing depends on APScheduler's own view of time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Subscriber

log = logging.getLogger(__name__)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
JOB_PREFIX = "digest:"


def digest_trigger(delivery_time: str, timezone: str, days: Sequence[str]) -> CronTrigger:
    """The cron trigger of a digest at ``delivery_time`` (HH:MM) local time on ``days``."""
    hour, minute = (int(part) for part in delivery_time.split(":"))
    ordered = [d for d in WEEKDAYS if d in set(days)] or list(WEEKDAYS)
    return CronTrigger(
        hour=hour, minute=minute, day_of_week=",".join(ordered), timezone=ZoneInfo(timezone)
    )


def trigger_of(subscriber: Subscriber) -> CronTrigger:
    return digest_trigger(subscriber.delivery_time, subscriber.timezone, subscriber.days)


def fire_times(trigger: CronTrigger, *, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in [start, end), as aware datetimes in the trigger's zone."""
    times: list[datetime] = []
    previous: datetime | None = None
    moment = start
    while (fire := trigger.get_next_fire_time(previous, moment)) is not None and fire < end:
        times.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    return times


def last_fire_at_or_before(
    trigger: CronTrigger, now: datetime, *, lookback: timedelta = timedelta(days=8)
) -> datetime | None:
    """The latest fire time not after ``now`` (within ``lookback``), or None."""
    times = fire_times(trigger, start=now - lookback, end=now + timedelta(microseconds=1))
    return times[-1] if times else None


def period_key(fire_time: datetime, timezone: str) -> str:
    """The ledger's period of a digest: the subscriber's local date of its fire time."""
    return fire_time.astimezone(ZoneInfo(timezone)).date().isoformat()


def is_scheduled(subscriber: Subscriber) -> bool:
    """Channels with a time set by an admin; users once they chose at least one sector."""
    if not subscriber.enabled or not subscriber.delivery_time:
        return False
    return subscriber.kind == "channel" or bool(subscriber.sectors)


def next_fire_after(subscriber: Subscriber, now: datetime) -> datetime | None:
    """When the subscriber's next digest is due, or None when it has no schedule."""
    if not is_scheduled(subscriber):
        return None
    fire: datetime | None = trigger_of(subscriber).get_next_fire_time(None, now)
    return fire


def sync_database_url(url: str) -> str:
    """The same database through a synchronous driver (APScheduler 3's job store is sync)."""
    parsed = make_url(url)
    driver = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


class DigestSink(Protocol):
    """Where a fired or caught-up digest goes (the delivery service)."""

    async def open_digest(
        self, subscriber_id: int, fire_time: datetime, *, late: bool = False
    ) -> bool: ...

    async def skip_digest(
        self, subscriber_id: int, fire_time: datetime, *, reason: str
    ) -> bool: ...


# APScheduler stores a job's function as a textual reference, so the job function is module
# level and finds its scheduler here; one entry per running DigestScheduler.
_RUNNING: dict[str, DigestScheduler] = {}


async def fire_digest(scheduler_name: str, subscriber_id: int) -> None:
    """The job function of every digest job."""
    runner = _RUNNING.get(scheduler_name)
    if runner is None:
        log.warning("digest job for subscriber %s fired with no scheduler running", subscriber_id)
        return
    await runner.fire(subscriber_id)


class DigestScheduler:
    """Keeps one APScheduler job per scheduled subscriber and turns fires into ledger rows.

    Args:
        sessionmaker: our database.
        sink: opens (or skips) a period's delivery.
        clock: the current aware UTC time.
        grace: how late a missed digest may still be sent.
        jobstore_url: SQLAlchemy URL of APScheduler's job store (None or SQLite: in memory).
        name: tells several schedulers in one process apart (tests).
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        sink: DigestSink,
        clock: Callable[[], datetime],
        grace: timedelta,
        jobstore_url: str | None = None,
        name: str = "default",
        late_after: timedelta = timedelta(minutes=2),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sink = sink
        self._clock = clock
        self._grace = grace
        self._late_after = late_after
        self.name = name
        self._synced: int | None = None
        jobstores: dict[str, Any] = {}
        # APScheduler 3 calls its job store synchronously on the event loop. On PostgreSQL that
        # is a few milliseconds on a table of its own. On SQLite the whole database has one
        # writer lock: a job-store write waiting for it blocks the loop, so the async
        # transaction holding the lock can never finish (a deadlock until SQLite's timeout).
        # One process owns a SQLite database, and the jobs are derived from our rows at every
        # start with catch-up done by us, so there they live in memory.
        if jobstore_url is not None and make_url(jobstore_url).get_backend_name() != "sqlite":
            jobstores["default"] = SQLAlchemyJobStore(url=sync_database_url(jobstore_url))
        self._scheduler = AsyncIOScheduler(
            jobstores=jobstores,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, int(grace.total_seconds())),
            },
            timezone=ZoneInfo("UTC"),
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    async def start(self) -> None:
        """Start the scheduler, derive jobs from the database, then catch up on misses."""
        _RUNNING[self.name] = self
        self._scheduler.start()
        await self.sync()
        await self.catch_up()

    async def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        _RUNNING.pop(self.name, None)

    def next_run(self, subscriber_id: int) -> datetime | None:
        job = self._scheduler.get_job(f"{JOB_PREFIX}{subscriber_id}")
        return None if job is None else job.next_run_time

    async def _scheduled_subscribers(self) -> list[Subscriber]:
        async with self._sessionmaker() as session:
            query = select(Subscriber).where(
                Subscriber.enabled.is_(True),
                or_(Subscriber.kind == "channel", Subscriber.kind == "user"),
            )
            rows = (await session.execute(query)).scalars().all()
        return [s for s in rows if is_scheduled(s)]

    async def sync(self) -> None:
        """Make the jobs match the subscriber rows (stable ids; unchanged jobs are kept).

        Cheap when nothing changed: the schedule fields are compared with the last sync's
        before APScheduler's job store (read synchronously, on PostgreSQL) is touched, since the
        leader calls this every few seconds.
        """
        subscribers = await self._scheduled_subscribers()
        fingerprint = hash(
            tuple((s.id, s.delivery_time, s.timezone, tuple(s.days)) for s in subscribers)
        )
        if fingerprint == self._synced:
            return
        wanted = {f"{JOB_PREFIX}{s.id}": s for s in subscribers}
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, subscriber in wanted.items():
            trigger = trigger_of(subscriber)
            job = self._scheduler.get_job(job_id)
            # Keeping an unchanged job keeps its pending (possibly missed) run time.
            if job is not None and repr(job.trigger) == repr(trigger) and job.args[0] == self.name:
                continue
            self._scheduler.add_job(
                fire_digest,
                trigger,
                id=job_id,
                args=[self.name, subscriber.id],
                replace_existing=True,
                name=f"digest for subscriber {subscriber.id}",
            )
        self._synced = fingerprint
        log.info("scheduler synced: %d digest jobs", len(wanted))

    async def fire(self, subscriber_id: int) -> None:
        """A job fired: open the ledger row of the period that is due now."""
        now = self._clock()
        async with self._sessionmaker() as session:
            subscriber = await session.get(Subscriber, subscriber_id)
        if subscriber is None or not is_scheduled(subscriber):
            return
        fire_time = last_fire_at_or_before(trigger_of(subscriber), now + timedelta(seconds=1))
        if fire_time is None:
            return
        await self._sink.open_digest(
            subscriber_id, fire_time, late=now - fire_time > self._late_after
        )

    async def catch_up(self, now: datetime | None = None) -> tuple[int, int]:
        """Send the last missed digest of each subscriber within the grace period; record the
        ones beyond it as skipped. Returns (opened late, skipped); the ledger ignores periods that
        were already handled.
        """
        now = now or self._clock()
        opened = skipped = 0
        for subscriber in await self._scheduled_subscribers():
            fire_time = last_fire_at_or_before(trigger_of(subscriber), now)
            if fire_time is None or fire_time < subscriber.created_at:
                continue
            if now - fire_time <= self._grace:
                late = now - fire_time > self._late_after
                opened += await self._sink.open_digest(subscriber.id, fire_time, late=late)
            else:
                reason = f"missed while the bot was down; more than {self._grace} late"
                skipped += await self._sink.skip_digest(subscriber.id, fire_time, reason=reason)
        return opened, skipped


OnChange = Callable[[], Awaitable[None]]
