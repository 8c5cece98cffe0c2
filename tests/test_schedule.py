"""Digest times with an injected clock: DST in four zones, days, catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bot.delivery.deliver import DeliveryService
from bot.delivery.schedule import (
    DigestScheduler,
    digest_trigger,
    fire_times,
    last_fire_at_or_before,
    period_key,
    sync_database_url,
)
from storage.models import Delivery, Subscriber
from tests.conftest import Database
from tests.seed import add_subscribers

# (zone, a day just before its DST change, UTC hour of 08:00 before, after)
DST_CHANGES = [
    ("Europe/Berlin", datetime(2026, 3, 27, tzinfo=UTC), 7, 6),  # CET -> CEST on 29 March
    ("Europe/Berlin", datetime(2026, 10, 23, tzinfo=UTC), 6, 7),  # CEST -> CET on 25 October
    ("America/New_York", datetime(2026, 3, 6, tzinfo=UTC), 13, 12),  # EST -> EDT on 8 March
    ("America/New_York", datetime(2026, 10, 30, tzinfo=UTC), 12, 13),  # EDT -> EST on 1 November
    ("Australia/Sydney", datetime(2026, 4, 2, tzinfo=UTC), 21, 22),  # AEDT -> AEST on 5 April
    ("Australia/Sydney", datetime(2026, 10, 1, tzinfo=UTC), 22, 21),  # AEST -> AEDT on 4 October
    ("Asia/Tokyo", datetime(2026, 3, 27, tzinfo=UTC), 23, 23),  # no DST
]


@pytest.mark.parametrize(("zone", "start", "utc_before", "utc_after"), DST_CHANGES)
def test_digest_stays_at_local_time_across_dst(
    zone: str, start: datetime, utc_before: int, utc_after: int
) -> None:
    trigger = digest_trigger("08:00", zone, [])
    times = fire_times(trigger, start=start, end=start + timedelta(days=6))
    assert len(times) == 6
    local = [t.astimezone(ZoneInfo(zone)) for t in times]
    assert all((t.hour, t.minute) == (8, 0) for t in local)
    assert len({t.date() for t in local}) == 6
    utc_hours = [t.astimezone(UTC).hour for t in times]
    assert utc_hours[0] == utc_before
    assert utc_hours[-1] == utc_after


def test_a_time_that_does_not_exist_on_the_spring_change_still_fires_once() -> None:
    trigger = digest_trigger("02:30", "Europe/Berlin", [])
    day = datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Berlin"))
    times = fire_times(trigger, start=day, end=day + timedelta(days=1))
    assert len(times) == 1


def test_days_limit_the_fires_to_weekdays() -> None:
    trigger = digest_trigger("07:30", "Asia/Tokyo", ["mon", "tue", "wed", "thu", "fri"])
    start = datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Monday
    times = fire_times(trigger, start=start, end=start + timedelta(days=7))
    assert [t.strftime("%a %H:%M") for t in times] == [
        "Mon 07:30",
        "Tue 07:30",
        "Wed 07:30",
        "Thu 07:30",
        "Fri 07:30",
    ]


def test_period_is_the_subscribers_local_date() -> None:
    fire = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert period_key(fire, digest_trigger("08:00", "Asia/Tokyo", [])) == "2026-11-29"
    assert period_key(fire, digest_trigger("18:00", "America/New_York", [])) == "2026-11-28"


def test_last_fire_before_now() -> None:
    trigger = digest_trigger("08:00", "Europe/Berlin", [])
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert last_fire_at_or_before(trigger, now) == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def test_sync_url_switches_to_synchronous_drivers() -> None:
    assert sync_database_url("sqlite+aiosqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    url = make_url(sync_database_url("postgresql+asyncpg://u:p@h/db?host=/tmp"))
    assert (url.drivername, url.password, url.database) == ("postgresql+psycopg", "p", "db")
    assert url.query["host"] == "/tmp"


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _ledger(db: Database) -> list[tuple[int, str, str, bool]]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(Delivery).order_by(Delivery.id))).scalars()
        return [(d.subscriber_id, d.period_key, d.status, d.late) for d in rows]


def _services(db: Database, clock: _Clock, name: str) -> tuple[DigestScheduler, DeliveryService]:
    deliveries = DeliveryService(
        sessionmaker=db.sessionmaker, adapters={}, clock=clock, worker_id="test"
    )
    scheduler = DigestScheduler(
        sessionmaker=db.sessionmaker,
        sink=deliveries,
        clock=clock,
        grace=timedelta(hours=6),
        name=name,
    )
    return scheduler, deliveries


async def test_catch_up_sends_a_recent_miss_once_and_marks_it_late(sqlite_db: Database) -> None:
    clock = _Clock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # 10:00 Berlin, digest was 08:00
    [sid] = await add_subscribers(sqlite_db, 1, now=clock.now, timezone="Europe/Berlin")
    scheduler, _ = _services(sqlite_db, clock, "catch-up-1")
    assert await scheduler.catch_up() == (1, 0)
    assert await scheduler.catch_up() == (0, 0)  # a second start sends nothing more
    assert await _ledger(sqlite_db) == [(sid, "2026-11-28", "pending", True)]


async def test_catch_up_beyond_the_grace_records_a_skip(sqlite_db: Database) -> None:
    clock = _Clock(datetime(2026, 11, 28, 19, 0, tzinfo=UTC))  # 20:00 Berlin: 12 h late
    [sid] = await add_subscribers(sqlite_db, 1, now=clock.now, timezone="Europe/Berlin")
    scheduler, _ = _services(sqlite_db, clock, "catch-up-2")
    assert await scheduler.catch_up() == (0, 1)
    assert await _ledger(sqlite_db) == [(sid, "2026-11-28", "skipped", False)]
    async with sqlite_db.sessionmaker() as session:
        reason = (await session.execute(select(Delivery.last_error))).scalar_one()
    assert reason is not None and "missed" in reason


async def test_a_job_that_fires_twice_opens_one_period(sqlite_db: Database) -> None:
    clock = _Clock(datetime(2026, 11, 28, 7, 0, 5, tzinfo=UTC))  # 08:00:05 Berlin
    [sid] = await add_subscribers(sqlite_db, 1, now=clock.now, timezone="Europe/Berlin")
    scheduler, _ = _services(sqlite_db, clock, "twice")
    await scheduler.fire(sid)
    await scheduler.fire(sid)
    assert await _ledger(sqlite_db) == [(sid, "2026-11-28", "pending", False)]


async def test_jobs_follow_the_subscriber_rows(db: Database) -> None:
    clock = _Clock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    ids = await add_subscribers(db, 3, now=clock.now, timezone="Asia/Tokyo")
    deliveries = DeliveryService(
        sessionmaker=db.sessionmaker, adapters={}, clock=clock, worker_id="t"
    )
    scheduler = DigestScheduler(
        sessionmaker=db.sessionmaker,
        sink=deliveries,
        clock=clock,
        grace=timedelta(hours=1),
        jobstore_url=db.url,
        name="jobs",
    )
    await scheduler.start()
    try:
        assert all(scheduler.next_run(i) is not None for i in ids)
        run = scheduler.next_run(ids[0])
        assert run is not None and run.astimezone(ZoneInfo("Asia/Tokyo")).hour == 8
        async with db.sessionmaker.begin() as session:
            first = await session.get(Subscriber, ids[0])
            second = await session.get(Subscriber, ids[1])
            assert first is not None and second is not None
            first.delivery_time, first.timezone = "06:45", "America/New_York"
            second.enabled = False
        await scheduler.sync()
        run = scheduler.next_run(ids[0])
        assert run is not None
        local = run.astimezone(ZoneInfo("America/New_York"))
        assert (local.hour, local.minute) == (6, 45)
        assert scheduler.next_run(ids[1]) is None
        assert scheduler.next_run(ids[2]) is not None
        if db.backend == "postgresql":  # jobs persist in APScheduler's table on our database
            async with db.engine.connect() as conn:
                stored = await conn.execute(text("SELECT id FROM apscheduler_jobs ORDER BY id"))
                # One job per schedule in use, whatever the number of readers sharing it.
                assert [row[0] for row in stored] == [
                    "digest:06:45/America/New_York/",
                    "digest:08:00/Asia/Tokyo/",
                ]
    finally:
        await scheduler.shutdown()


async def test_readers_sharing_a_schedule_share_one_job_and_each_gets_the_digest(
    sqlite_db: Database,
) -> None:
    """Jobs grow with the schedules in use, not with the readers (memory flat in readers)."""
    clock = _Clock(datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    ids = await add_subscribers(sqlite_db, 300, now=clock.now, timezone="Europe/Berlin")
    ids += await add_subscribers(
        sqlite_db, 2, now=clock.now, timezone="Asia/Tokyo", prefix="T", delivery_time="09:00"
    )
    scheduler, _ = _services(sqlite_db, clock, "shared")
    await scheduler.sync()
    assert len(scheduler._scheduler.get_jobs()) == 2
    clock.now = datetime(2026, 11, 28, 7, 0, 5, tzinfo=UTC)  # 08:00:05 in Berlin
    assert await scheduler.fire_shape(("08:00", "Europe/Berlin", ())) == 300
    assert await scheduler.fire_shape(("08:00", "Europe/Berlin", ())) == 0  # fired twice
    ledger = await _ledger(sqlite_db)
    assert sorted(row[0] for row in ledger) == sorted(ids[:300])
    assert {row[1:] for row in ledger} == {("2026-11-28", "pending", False)}
