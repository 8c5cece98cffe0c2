"""Every zone in tzdata, 2026-2030, every quarter hour: one digest per local date, on time.

Brute force (600 zones x 96 times x 1,826 days) would take hours, and nothing happens on a day
without a clock change, so the test finds each zone's changes (offsets sampled every other day, then
bisected to the second) and checks the local dates around every change, plus an ordinary week
per zone. Zones whose offsets are the same throughout (aliases, and most of a continent following
one rule) are checked once. The expected instant is worked out from the offsets alone: the first
instant whose local wall time is the digest time, or, for a time the clocks skip, the moment on
the clock before the change (a digest at 23:30 in a 23:00 -> 00:00 gap goes out at 00:30 on the
new clock) -- and that digest keeps its own date's period.

America/Nuuk (also Godthab): on Saturday 27 March 2027 the clocks go from 23:00 to 00:00, so
Saturday's 23:00-23:45 digests went out on Sunday with Sunday's period, and Sunday's own digest
was never sent (the period was taken).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.schedule import DigestTrigger, digest_trigger, fire_times, period_key

FIRST, LAST = date(2026, 1, 1), date(2030, 12, 31)
QUARTERS = [time(h, m) for h in range(24) for m in (0, 15, 30, 45)]
Change = tuple[datetime, timedelta, timedelta]
"""A clock change: the UTC instant, the offset before it and the offset after."""


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def clock_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[Change]:
    """The zone's offset changes between ``start`` and ``end`` (UTC), found to the second."""
    changes: list[Change] = []
    # No zone changes its clocks twice within two days (Morocco's Ramadan changes, the
    # closest, are a month apart), so a change and its undoing never hide between samples.
    step = timedelta(days=2)
    moment, offset = start, _offset(zone, start)
    while moment < end:
        later = moment + step
        offset_later = _offset(zone, later)
        if offset_later != offset:
            low, high = moment, later  # the change is in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == offset:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(microsecond=0), offset, offset_later))
        moment, offset = later, offset_later
    return changes


def expected_instant(day: date, at: time, changes: list[Change], first: timedelta) -> datetime:
    """When the digest of local ``day`` at ``at`` is due, from the offsets alone."""
    wall = datetime.combine(day, at)
    # The offset regimes: (from, until, offset) in UTC, naive.
    edges = [datetime.min, *(c[0].replace(tzinfo=None) for c in changes), datetime.max]
    offsets = [first, *(c[2] for c in changes)]
    valid = []
    for (begin, until), offset in zip(pairwise(edges), offsets, strict=True):
        instant = wall - offset
        if begin <= instant < until:
            valid.append(instant)
    if valid:
        return min(valid).replace(tzinfo=UTC)  # the first occurrence of a repeated time
    # Skipped: read the wall time on the clock before the change it falls in.
    for moment, before, after in changes:
        start_of_gap = moment.replace(tzinfo=None) + before
        if start_of_gap <= wall < moment.replace(tzinfo=None) + after:
            return (wall - before).replace(tzinfo=UTC)
    raise AssertionError(f"{wall} is neither shown nor skipped")


def _distinct_zones() -> Iterator[tuple[str, list[Change], timedelta]]:
    """One zone of each set that keeps the same offsets over the years tested."""
    start = datetime.combine(FIRST - timedelta(days=3), time(), tzinfo=UTC)
    end = datetime.combine(LAST + timedelta(days=4), time(), tzinfo=UTC)
    seen: set[tuple[object, ...]] = set()
    for name in sorted(zoneinfo.available_timezones()):
        zone = ZoneInfo(name)
        changes = clock_changes(zone, start, end)
        first = _offset(zone, start)
        fingerprint = (first, *changes)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        yield name, changes, first


def _check_days(
    trigger: DigestTrigger, days: list[date], changes: list[Change], first: timedelta
) -> list[str]:
    """Problems with the digests of ``days`` (consecutive local dates), as readable lines."""
    zone = trigger.timezone
    at = time(trigger.hour, trigger.minute)
    start = datetime.combine(days[0], time(), tzinfo=zone).astimezone(UTC) - timedelta(hours=1)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    expected = {day: expected_instant(day, at, changes, first) for day in days}
    # A little wider, then cut to the fires that belong to ``days``: a skipped 23:30 goes out
    # after midnight, and the day before may reach into the window.
    fires = fire_times(trigger, start=start - timedelta(days=1), end=end + timedelta(days=1))
    periods = [(period_key(f, trigger), f.astimezone(UTC)) for f in fires]
    wanted = {d.isoformat() for d in days}
    mine = [(p, f) for p, f in periods if p in wanted]
    problems = []
    if [p for p, _ in mine] != sorted(wanted):
        problems.append(f"{zone.key} {at}: periods {[p for p, _ in mine]}")
    for period, fire in mine:
        due = expected[date.fromisoformat(period)]
        if fire != due:
            problems.append(f"{zone.key} {at} {period}: at {fire:%F %T}Z, due {due:%F %T}Z")
    return problems


ZONES = list(_distinct_zones())


def test_the_search_finds_the_nuuk_change_and_groups_aliases() -> None:
    nuuk = clock_changes(
        ZoneInfo("America/Nuuk"),
        datetime(2027, 3, 20, tzinfo=UTC),
        datetime(2027, 4, 3, tzinfo=UTC),
    )
    assert nuuk == [
        (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), -timedelta(hours=2), -timedelta(hours=1))
    ]
    names = {name for name, _, _ in ZONES}
    assert len(zoneinfo.available_timezones()) > 300 and 60 < len(ZONES) < 400
    assert "America/Godthab" not in names or "America/Nuuk" not in names


def test_nuuk_digests_at_23_keep_their_saturday_and_sunday() -> None:
    for at in ("23:00", "23:15", "23:30", "23:45"):
        trigger = digest_trigger(at, "America/Nuuk", [])
        start = datetime(2027, 3, 26, 12, tzinfo=UTC)
        fires = fire_times(trigger, start=start, end=start + timedelta(days=3))
        periods = [period_key(f, trigger) for f in fires]
        assert periods == ["2027-03-26", "2027-03-27", "2027-03-28"], at
        saturday = fires[1].astimezone(UTC)
        minutes = int(at[3:])
        # Skipped on Saturday: on Sunday's new clock at 00:mm, one digest, dated Saturday.
        assert saturday == datetime(2027, 3, 28, 1, minutes, tzinfo=UTC)


@pytest.mark.parametrize("part", range(4))
def test_every_zone_every_quarter_hour_one_digest_per_local_date_on_time(part: int) -> None:
    problems: list[str] = []
    for name, changes, first in ZONES[part::4]:
        zone = ZoneInfo(name)
        windows = [[FIRST + timedelta(days=i) for i in range(7)]]  # an ordinary week
        for moment, _, _ in changes:
            local = moment.astimezone(zone).date()
            if FIRST <= local <= LAST:
                windows.append([local + timedelta(days=i) for i in range(-1, 2)])
        for at in QUARTERS:
            trigger = DigestTrigger(at.hour, at.minute, range(7), zone)
            for days in windows:
                problems += _check_days(trigger, days, changes, first)
    assert problems == [], "\n".join(problems[:20])
