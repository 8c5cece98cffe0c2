"""Digest times inside the hour repeated when clocks go back, and inside the spring gap.

Each case names a local date on which the zone changes its clocks and a digest time inside the
repeated hour (or the skipped one). Whatever the zone, the digest goes out exactly once on that
date: at the first occurrence of a repeated time, and an hour later on the new clock for a time
that does not exist. The expected instants follow from each zone's published rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from bot.delivery.deliver import DeliveryService
from bot.delivery.schedule import (
    DigestScheduler,
    digest_trigger,
    fire_times,
    last_fire_at_or_before,
    period_key,
)
from storage.models import Delivery
from tests.conftest import Database
from tests.seed import add_subscribers

# (zone, local date of the change, digest time, the UTC instant it must go out that day)
FALL_BACK = [
    # CEST -> CET at 03:00 -> 02:00; 02:30 happens at 00:30 and again at 01:30 UTC.
    ("Europe/Berlin", date(2026, 10, 25), "02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ("Europe/London", date(2026, 10, 25), "01:15", datetime(2026, 10, 25, 0, 15, tzinfo=UTC)),
    # EDT -> EST at 02:00 -> 01:00.
    ("America/New_York", date(2026, 11, 1), "01:30", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    # AEDT -> AEST at 03:00 -> 02:00, in the southern autumn.
    ("Australia/Sydney", date(2026, 4, 5), "02:30", datetime(2026, 4, 4, 15, 30, tzinfo=UTC)),
    # A half-hour change: 02:00 -> 01:30.
    ("Australia/Lord_Howe", date(2026, 4, 5), "01:45", datetime(2026, 4, 4, 14, 45, tzinfo=UTC)),
    # Chile goes back at midnight: 23:00-24:00 on 4 April happens twice.
    ("America/Santiago", date(2026, 4, 4), "23:30", datetime(2026, 4, 5, 2, 30, tzinfo=UTC)),
]

SPRING_GAP = [
    # CET -> CEST at 02:00 -> 03:00: 02:30 does not exist, it goes out at 03:30 CEST.
    ("Europe/Berlin", date(2026, 3, 29), "02:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    ("America/New_York", date(2026, 3, 8), "02:30", datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
    ("Australia/Sydney", date(2026, 10, 4), "02:30", datetime(2026, 10, 3, 16, 30, tzinfo=UTC)),
    # Chile goes forward at midnight: 00:00-01:00 on 6 September does not exist.
    ("America/Santiago", date(2026, 9, 6), "00:30", datetime(2026, 9, 6, 4, 30, tzinfo=UTC)),
]


def _around(zone: str, day: date) -> tuple[datetime, datetime]:
    """Local midnight of the day before ``day`` to local midnight two days after it."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=tz)
    return start, end


def _local_dates(times: list[datetime], zone: str) -> list[date]:
    return [t.astimezone(ZoneInfo(zone)).date() for t in times]


@pytest.mark.parametrize(("zone", "day", "at", "expected"), FALL_BACK + SPRING_GAP)
def test_a_digest_on_a_clock_change_day_goes_out_once(
    zone: str, day: date, at: str, expected: datetime
) -> None:
    trigger = digest_trigger(at, zone, [])
    start, end = _around(zone, day)
    times = fire_times(trigger, start=start, end=end)
    # One a day, on the day before, the day of the change and the day after.
    assert _local_dates(times, zone) == [day - timedelta(days=1), day, day + timedelta(days=1)]
    assert times[1].astimezone(UTC) == expected
    assert period_key(times[1], trigger) == day.isoformat()


@pytest.mark.parametrize(("zone", "day", "at", "expected"), FALL_BACK)
def test_the_last_fire_during_and_after_the_repeated_hour_is_the_first_occurrence(
    zone: str, day: date, at: str, expected: datetime
) -> None:
    trigger = digest_trigger(at, zone, [])
    # Just after the second occurrence of the wall time, and later that day.
    for now in (expected + timedelta(hours=1, minutes=1), expected + timedelta(hours=6)):
        last = last_fire_at_or_before(trigger, now)
        assert last is not None and last.astimezone(UTC) == expected
    before = last_fire_at_or_before(trigger, expected - timedelta(seconds=1))
    assert before is not None and before.astimezone(UTC) == expected - timedelta(days=1)


@pytest.mark.parametrize(("zone", "day", "at", "expected"), FALL_BACK + SPRING_GAP)
def test_apschedulers_own_run_loop_fires_the_same_times(
    zone: str, day: date, at: str, expected: datetime
) -> None:
    """The real scheduler asks the trigger for its next run after each run; replay that with
    APScheduler's Job at each wake-up, a few seconds late as a busy loop would be."""
    trigger = digest_trigger(at, zone, [])
    start, end = _around(zone, day)
    job = Job(
        AsyncIOScheduler(timezone=ZoneInfo("UTC")),
        id="dst",
        func=print,
        args=(),
        kwargs={},
        trigger=trigger,
        executor="default",
        misfire_grace_time=60,
        coalesce=True,
        max_instances=1,
        next_run_time=None,
        name="dst",
    )
    job.next_run_time = trigger.get_next_fire_time(None, start)
    ran: list[datetime] = []
    while job.next_run_time is not None and job.next_run_time < end:
        now = job.next_run_time.astimezone(UTC) + timedelta(seconds=3)
        run_times = job._get_run_times(now)
        ran.extend(run_times)
        job.next_run_time = trigger.get_next_fire_time(run_times[-1], now)
    # In UTC: a local time in the repeated hour never equals a time of another zone (PEP 495).
    ran_utc = [t.astimezone(UTC) for t in ran]
    assert ran_utc == [t.astimezone(UTC) for t in fire_times(trigger, start=start, end=end)]
    assert len(ran) == 3 and expected in ran_utc


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_reader_in_the_repeated_hour_gets_one_digest(sqlite_db: Database) -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, before clocks go back
    clock = _Clock(first - timedelta(days=3))
    [sid] = await add_subscribers(
        sqlite_db, 1, now=clock.now, delivery_time="02:30", timezone="Europe/Berlin"
    )
    deliveries = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker, adapters={}, clock=clock, worker_id="dst"
    )
    scheduler = DigestScheduler(
        sessionmaker=sqlite_db.sessionmaker,
        sink=deliveries,
        clock=clock,
        grace=timedelta(hours=6),
        name="dst",
    )
    clock.now = first + timedelta(seconds=2)
    await scheduler.fire(sid)
    clock.now = first + timedelta(hours=1, seconds=2)  # 02:30 CET: the same wall time again
    await scheduler.fire(sid)
    assert await scheduler.catch_up() == (0, 0)
    async with sqlite_db.sessionmaker() as session:
        rows = (await session.execute(select(Delivery))).scalars().all()
    assert [(d.period_key, d.late) for d in rows] == [("2026-10-25", False)]


async def test_a_nuuk_reader_at_23_30_gets_saturdays_and_sundays_digest(
    sqlite_db: Database,
) -> None:
    """Nuuk's clocks go from 23:00 to 00:00 on Saturday 27 March 2027: Saturday's 23:30 digest
    goes out at 00:30 on Sunday's clock, as Saturday's, and Sunday's own still goes out."""
    saturday = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 00:30 on Sunday, UTC-1
    sunday = datetime(2027, 3, 29, 0, 30, tzinfo=UTC)  # 23:30 on Sunday, UTC-1
    clock = _Clock(saturday - timedelta(days=3))
    [sid] = await add_subscribers(
        sqlite_db, 1, now=clock.now, delivery_time="23:30", timezone="America/Nuuk"
    )
    deliveries = DeliveryService(
        sessionmaker=sqlite_db.sessionmaker, adapters={}, clock=clock, worker_id="dst"
    )
    scheduler = DigestScheduler(
        sessionmaker=sqlite_db.sessionmaker,
        sink=deliveries,
        clock=clock,
        grace=timedelta(hours=6),
        name="nuuk",
    )
    for moment in (saturday, sunday):
        clock.now = moment + timedelta(seconds=2)
        await scheduler.fire(sid)
        assert await scheduler.catch_up() == (0, 0)
    async with sqlite_db.sessionmaker() as session:
        rows = (await session.execute(select(Delivery).order_by(Delivery.id))).scalars().all()
    assert [(d.period_key, d.scheduled_for) for d in rows] == [
        ("2027-03-27", saturday),
        ("2027-03-28", sunday),
    ]
