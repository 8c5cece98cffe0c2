"""Digest schedules: our subscriber rows are the truth, APScheduler jobs are derived from them.

Subscribers who share a schedule (a user who chose sectors, or an admin's channel digest: the
same time, zone and days) share one job, ``digest:<HH:MM>/<zone>/<days>``, with a
``DigestTrigger`` that always carries the zone (a bare cron trigger would use the host's), so
the jobs held in memory grow with the schedules in use, not with the readers. Jobs live in
APScheduler's ``SQLAlchemyJobStore`` on our database and are re-synced at start and on every
change, from the schedule columns alone (never whole rows: tens of thousands of readers are
read every few seconds). When a job fires, the delivery service opens the ledger row of that
period for each of its subscribers; the ledger's uniqueness makes a second trigger harmless.

Digest times are local wall times, so each chosen day gives exactly one instant, whatever the
clocks do (see ``DigestTrigger``): a time in the hour repeated when clocks go back fires once,
at its first occurrence, and a time skipped when they go forward fires once, an hour later on the
new clock. The ledger period of a fire is the local date it is the digest of
(``DigestTrigger.day_of``): where clocks change late in the evening that can be the day before
the fire's own date (Nuuk), and the next day keeps its own digest.

Missed digests are handled by ``catch_up`` with an explicit clock: after downtime, the last
missed period is sent once if it is within the grace period (marked late) and recorded as skipped
otherwise, so nothing depends on APScheduler's own view of time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Subscriber
from storage.postgres_url import libpq_url

log = logging.getLogger(__name__)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
JOB_PREFIX = "digest:"


class DigestTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires at a local wall time on chosen weekdays: once per chosen local date, across DST.

    APScheduler's ``CronTrigger`` fires twice for a time inside the hour that is repeated when
    clocks go back (02:30 in Berlin on 25 October 2026 is both 00:30 and 01:30 UTC), skips the
    day when the time falls in a gap at midnight (00:30 in Santiago on 6 September 2026), and
    stepping one second past a repeated fire loses ``fold`` and returns the same fire again
    forever. Here each date's instant is its wall time read with ``fold=0``, as the zone
    database defines it: the first occurrence of a repeated time, and, for a time the clocks
    skip, the same moment on the clock before the change (02:30 in a 02:00 -> 03:00 gap fires at
    03:30 summer time). Both the real scheduler and ``fire_times`` go through this one method.

    Args:
        hour: local hour, 0-23.
        minute: local minute, 0-59.
        weekdays: the days it fires, Monday = 0 (``datetime.weekday``); never empty.
        timezone: the subscriber's zone.
    """

    def __init__(self, hour: int, minute: int, weekdays: Sequence[int], timezone: ZoneInfo) -> None:
        if not weekdays:
            raise ValueError("a digest trigger needs at least one weekday")
        self.hour = hour
        self.minute = minute
        self.weekdays = tuple(sorted(set(weekdays)))
        self.timezone = timezone

    def fire_on(self, day: date) -> datetime:
        """The instant of this trigger's time on the local date ``day`` (whatever its weekday)."""
        wall = datetime.combine(day, time(self.hour, self.minute), tzinfo=self.timezone)
        # Through UTC: fold=0 is applied and a skipped wall time comes out as a real one.
        return wall.astimezone(UTC).astimezone(self.timezone)

    def day_of(self, fire: datetime) -> date:
        """The local date whose digest goes out at ``fire``: its own date, or the day before
        when a clock change late in the evening moved that day's time past midnight (23:30 in
        Nuuk on the last Saturday of March 2027 is Sunday 00:30). Another instant (a schedule
        changed since) counts for its local date."""
        local = fire.astimezone(self.timezone).date()
        for day in (local, local - timedelta(days=1)):
            if self.fire_on(day) == fire:
                return day
        return local

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first fire at or after ``now``, and after ``previous_fire_time`` when given.

        APScheduler's contract: with a previous fire, start just after it unless ``now`` is
        earlier, so missed runs between the two are all found.
        """
        start = now.astimezone(UTC)
        if previous_fire_time is not None:
            start = min(start, previous_fire_time.astimezone(UTC) + timedelta(microseconds=1))
        # From the day before: a gap can move a fire past midnight into the next local date.
        first = start.astimezone(self.timezone).date() - timedelta(days=1)
        for offset in range(9):
            day = first + timedelta(days=offset)
            if day.weekday() in self.weekdays and (fire := self.fire_on(day)) >= start:
                return fire
        return None  # unreachable: some weekday comes within a week

    def __repr__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in self.weekdays)
        return f"<DigestTrigger {self.hour:02d}:{self.minute:02d} {days} {self.timezone.key}>"

    def __str__(self) -> str:
        return repr(self)


def digest_trigger(delivery_time: str, timezone: str, days: Sequence[str]) -> DigestTrigger:
    """The trigger of a digest at ``delivery_time`` (HH:MM) local time on ``days`` (all if none)."""
    hour, minute = (int(part) for part in delivery_time.split(":"))
    chosen = [i for i, d in enumerate(WEEKDAYS) if d in set(days)] or list(range(len(WEEKDAYS)))
    return DigestTrigger(hour, minute, chosen, ZoneInfo(timezone))


def trigger_of(subscriber: Subscriber | Scheduled) -> DigestTrigger:
    return digest_trigger(subscriber.delivery_time, subscriber.timezone, subscriber.days)


class Scheduled(NamedTuple):
    """A subscriber's schedule columns: what the scheduler reads (not the whole row)."""

    id: int
    delivery_time: str
    timezone: str
    days: tuple[str, ...]
    created_at: datetime

    @property
    def shape(self) -> tuple[str, str, tuple[str, ...]]:
        """What subscribers sharing one job have in common: time, zone, days."""
        return self.delivery_time, self.timezone, self.days


def shape_job_id(shape: tuple[str, str, tuple[str, ...]]) -> str:
    delivery_time, timezone, days = shape
    return f"{JOB_PREFIX}{delivery_time}/{timezone}/{','.join(days)}"


async def scheduled_rows(
    session: AsyncSession, *, shape: tuple[str, str, tuple[str, ...]] | None = None
) -> list[Scheduled]:
    """The schedules of every scheduled subscriber (``is_scheduled``), or of one ``shape``."""
    query = select(
        Subscriber.id,
        Subscriber.kind,
        Subscriber.sectors,
        Subscriber.delivery_time,
        Subscriber.timezone,
        Subscriber.days,
        Subscriber.created_at,
    ).where(
        Subscriber.enabled.is_(True),
        Subscriber.delivery_time != "",
        or_(Subscriber.kind == "channel", Subscriber.kind == "user"),
    )
    if shape is not None:
        query = query.where(Subscriber.delivery_time == shape[0], Subscriber.timezone == shape[1])
    interned: dict[tuple[str, ...], tuple[str, ...]] = {}
    rows = []
    for sid, kind, sectors, at, zone, days, created in await session.execute(query):
        if not at or not (kind == "channel" or sectors):  # as ``is_scheduled``
            continue
        weekdays = interned.setdefault(tuple(days or ()), tuple(days or ()))
        if shape is None or weekdays == shape[2]:
            rows.append(Scheduled(sid, at, zone, weekdays, created))
    return rows


def fire_times(trigger: DigestTrigger, *, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in [start, end), as aware datetimes in the trigger's zone."""
    times: list[datetime] = []
    moment = start
    while (fire := trigger.get_next_fire_time(None, moment)) is not None and fire < end:
        times.append(fire)
        # In UTC: wall-clock arithmetic on the zone's datetime would drop ``fold``.
        moment = fire.astimezone(UTC) + timedelta(microseconds=1)
    return times


def last_fire_at_or_before(
    trigger: DigestTrigger, now: datetime, *, lookback: timedelta = timedelta(days=8)
) -> datetime | None:
    """The latest fire time not after ``now`` (within ``lookback``), or None."""
    times = fire_times(trigger, start=now - lookback, end=now + timedelta(microseconds=1))
    return times[-1] if times else None


def period_key(fire_time: datetime, trigger: DigestTrigger) -> str:
    """The ledger's period of a digest: the local date it is the digest of (``day_of``), so a
    day whose time a clock change moved past midnight keeps its own period and leaves the next
    day's free."""
    return trigger.day_of(fire_time).isoformat()


def is_scheduled(subscriber: Subscriber) -> bool:
    """Channels with a time set by an admin; users once they chose at least one sector."""
    if not subscriber.enabled or not subscriber.delivery_time:
        return False
    return subscriber.kind == "channel" or bool(subscriber.sectors)


def next_fire_after(subscriber: Subscriber, now: datetime) -> datetime | None:
    """When the subscriber's next digest is due, or None when it has no schedule."""
    if not is_scheduled(subscriber):
        return None
    return trigger_of(subscriber).get_next_fire_time(None, now)


def sync_database_url(url: str) -> str:
    """The same database through a synchronous driver (APScheduler 3's job store is sync);
    on PostgreSQL, psycopg is libpq, and server settings in the URL go through ``options``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    plain = libpq_url(parsed).set(drivername="postgresql+psycopg")
    return plain.render_as_string(hide_password=False)


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
    """The job function of digest jobs stored by earlier versions (one per subscriber)."""
    runner = _RUNNING.get(scheduler_name)
    if runner is None:
        log.warning("digest job for subscriber %s fired with no scheduler running", subscriber_id)
        return
    await runner.fire(subscriber_id)


async def fire_digests(
    scheduler_name: str, delivery_time: str, timezone: str, days: list[str]
) -> None:
    """The job function of every digest job: the subscribers sharing one schedule."""
    runner = _RUNNING.get(scheduler_name)
    if runner is None:
        log.warning("digest job %s %s fired with no scheduler running", delivery_time, timezone)
        return
    await runner.fire_shape((delivery_time, timezone, tuple(days)))


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
        self._shapes: dict[int, tuple[str, str, tuple[str, ...]]] = {}
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
        shape = self._shapes.get(subscriber_id)
        job = self._scheduler.get_job(shape_job_id(shape)) if shape is not None else None
        return None if job is None else job.next_run_time

    async def _scheduled(self) -> list[Scheduled]:
        async with self._sessionmaker() as session:
            return await scheduled_rows(session)

    async def sync(self) -> None:
        """Make the jobs match the subscriber rows: one job per schedule in use (stable ids;
        unchanged jobs are kept).

        Cheap when nothing changed: the schedule fields are compared with the last sync's
        before APScheduler's job store (read synchronously, on PostgreSQL) is touched, since the
        leader calls this every few seconds.
        """
        subscribers = await self._scheduled()
        fingerprint = hash(tuple((s.id, s.shape) for s in subscribers))
        if fingerprint == self._synced:
            return
        self._shapes = {s.id: s.shape for s in subscribers}
        wanted = {shape_job_id(shape): shape for shape in set(self._shapes.values())}
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, shape in wanted.items():
            trigger = digest_trigger(*shape)
            job = self._scheduler.get_job(job_id)
            # Keeping an unchanged job keeps its pending (possibly missed) run time.
            if job is not None and repr(job.trigger) == repr(trigger) and job.args[0] == self.name:
                continue
            self._scheduler.add_job(
                fire_digests,
                trigger,
                id=job_id,
                args=[self.name, shape[0], shape[1], list(shape[2])],
                replace_existing=True,
                name=f"digests at {shape[0]} {shape[1]}",
            )
        self._synced = fingerprint
        log.info(
            "scheduler synced: %d digest jobs for %d subscribers", len(wanted), len(self._shapes)
        )

    async def fire_shape(self, shape: tuple[str, str, tuple[str, ...]]) -> int:
        """A job fired: open the ledger row of the period due now for each of its subscribers.

        Returns:
            How many rows were opened.
        """
        async with self._sessionmaker() as session:
            ids = [s.id for s in await scheduled_rows(session, shape=shape)]
        opened = 0
        for subscriber_id in ids:
            opened += await self.fire(subscriber_id)
        log.info("digests due at %s %s: %d opened", shape[0], shape[1], opened)
        return opened

    async def fire(self, subscriber_id: int) -> bool:
        """Open the ledger row of the subscriber's period that is due now; False when none
        was opened (not scheduled, or opened already)."""
        now = self._clock()
        async with self._sessionmaker() as session:
            subscriber = await session.get(Subscriber, subscriber_id)
        if subscriber is None or not is_scheduled(subscriber):
            return False
        fire_time = last_fire_at_or_before(trigger_of(subscriber), now + timedelta(seconds=1))
        if fire_time is None:
            return False
        return await self._sink.open_digest(
            subscriber_id, fire_time, late=now - fire_time > self._late_after
        )

    async def catch_up(self, now: datetime | None = None) -> tuple[int, int]:
        """Send the last missed digest of each subscriber within the grace period; record the
        ones beyond it as skipped. Returns (opened late, skipped); the ledger ignores periods that
        were already handled.
        """
        now = now or self._clock()
        opened = skipped = 0
        for subscriber in await self._scheduled():
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
