"""The ingest pass end to end: real HTTP on loopback, a real SQLite file, the real parser."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestReport, IngestService
from storage.models import FeedState, Item
from storage.repositories import feeds as feed_repo
from tests.feedserver import Entry, FeedServer, make_rss

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Harness:
    server: FeedServer
    db: Any
    clock: Clock
    settings: Settings

    async def add(self, path: str, **route: Any) -> int:
        self.server.set(path, **route)
        async with self.db.sessionmaker.begin() as session:
            feed = await feed_repo.add_feed(session, url=self.server.url(path), now=self.clock())
            return feed.id

    async def run(self, *, all_feeds: bool = True, after_store: Any = None) -> IngestReport:
        async with FeedFetcher.from_settings(self.settings, clock=self.clock) as fetcher:
            service = IngestService(
                sessionmaker=self.db.sessionmaker,
                fetcher=fetcher,
                clock=self.clock,
                settings=self.settings,
                after_store=after_store,
            )
            return await service.run_pass(all_feeds=all_feeds)

    async def items(self, feed_id: int) -> list[Item]:
        async with self.db.sessionmaker() as session:
            result = await session.scalars(
                select(Item).where(Item.feed_id == feed_id).order_by(Item.id)
            )
            return list(result)

    async def state(self, feed_id: int) -> FeedState:
        async with self.db.sessionmaker() as session:
            state = await session.get(FeedState, feed_id)
            assert state is not None
            return state


def _settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "allowed_private_networks": ("127.0.0.1/32",),
        "fetch_timeout": 5.0,
        "min_check_interval": 60,
        "max_check_interval": 3600,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
async def harness(sqlite_db: Any) -> AsyncIterator[Harness]:
    async with FeedServer() as server:
        yield Harness(server, sqlite_db, Clock(START), _settings(database_url=sqlite_db.url))


def _entries(n: int, *, start: int = 0, guid_prefix: str = "g", date_shift: int = 0) -> list[Entry]:
    return [
        Entry(
            title=f"Story number {i} about batteries",
            summary=f"<p>Details of story {i} &amp; more.</p>",
            link=f"https://example.com/story/{i}",
            guid=f"{guid_prefix}-{i}",
            pub_date=(START - timedelta(hours=i, minutes=date_shift)).strftime(
                "%a, %d %b %Y %H:%M:%S +0000"
            ),
        )
        for i in range(start, start + n)
    ]


async def test_second_pass_sends_validators_and_stores_nothing_on_304(harness: Harness) -> None:
    feed_id = await harness.add("/cond.xml", body=make_rss(_entries(5)), conditional=True)

    first = await harness.run()
    assert (first.ok, first.new_items) == (1, 5)

    harness.clock.advance(hours=2)
    second = await harness.run()

    sent = harness.server.last_headers("/cond.xml")
    route = harness.server.routes["/cond.xml"]
    assert sent["If-None-Match"] == route.etag
    assert sent["If-Modified-Since"] == route.last_modified
    assert (second.not_modified, second.new_items, second.ok) == (1, 0, 0)
    assert second.results[0].status == "not_modified"
    assert len(await harness.items(feed_id)) == 5
    state = await harness.state(feed_id)
    assert state.last_success_at == harness.clock.now
    assert state.error_count == 0


async def test_identical_body_without_validators_is_not_reparsed(harness: Harness) -> None:
    feed_id = await harness.add("/same.xml", body=make_rss(_entries(3)))
    await harness.run()
    harness.clock.advance(hours=1)
    report = await harness.run()
    assert report.results[0].status == "not_modified"
    assert len(await harness.items(feed_id)) == 3


async def test_retry_after_on_429_sets_the_next_check(harness: Harness) -> None:
    feed_id = await harness.add(
        "/busy.xml", status=429, body=b"slow down", headers={"Retry-After": "7200"}
    )
    report = await harness.run()
    result = report.results[0]
    assert result.status == "deferred"
    assert "HTTP 429" in (result.error or "")
    state = await harness.state(feed_id)
    assert state.next_check_at >= START + timedelta(seconds=7200)
    assert state.error_count == 1

    # Not due before then: a scheduled pass leaves it alone.
    harness.clock.advance(seconds=3600)
    assert (await harness.run(all_feeds=False)).feeds == 0
    assert harness.server.count("/busy.xml") == 1


async def test_retry_after_as_http_date_on_503(harness: Harness) -> None:
    when = START + timedelta(hours=3)
    feed_id = await harness.add(
        "/maint.xml",
        status=503,
        headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )
    await harness.run()
    assert (await harness.state(feed_id)).next_check_at >= when


async def test_hanging_server_times_out_and_other_feeds_still_arrive(sqlite_db: Any) -> None:
    async with FeedServer() as server:
        h = Harness(server, sqlite_db, Clock(START), _settings(fetch_timeout=0.5))
        slow = await h.add("/hang.xml", body=make_rss(_entries(2)), delay=30)
        good = await h.add("/good.xml", body=make_rss(_entries(4)))

        report = await h.run()

    by_id = {r.feed_id: r for r in report.results}
    assert by_id[slow].status == "failed"
    assert by_id[slow].error == "timed out after 0.5 s"
    assert by_id[good].status == "ok"
    assert len(await h.items(good)) == 4
    state = await h.state(slow)
    assert state.last_error == "timed out after 0.5 s"
    assert state.error_count == 1


async def test_oversized_body_is_refused(sqlite_db: Any) -> None:
    async with FeedServer() as server:
        h = Harness(server, sqlite_db, Clock(START), _settings(max_feed_bytes=4096))
        feed_id = await h.add("/big.xml", body=make_rss(_entries(200)))
        report = await h.run()
    assert report.results[0].status == "failed"
    assert report.results[0].error == "body larger than 4 KB"
    assert await h.items(feed_id) == []


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/"])
async def test_redirect_to_private_address_is_refused(harness: Harness, target: str) -> None:
    feed_id = await harness.add("/moved.xml", status=302, headers={"Location": target})
    report = await harness.run()
    result = report.results[0]
    assert result.status == "failed"
    host = target.split("/")[2]
    assert result.error is not None
    assert result.error.startswith(f"refused: {host} is a")
    assert (await harness.state(feed_id)).last_error == result.error


async def test_hostname_resolving_to_loopback_is_refused_without_private_access(
    sqlite_db: Any,
) -> None:
    async with FeedServer() as server:
        server.set("/feed.xml", body=make_rss(_entries(1)))
        h = Harness(server, sqlite_db, Clock(START), _settings(allowed_private_networks=()))
        async with sqlite_db.sessionmaker.begin() as session:
            feed = await feed_repo.add_feed(
                session, url=server.url("/feed.xml", host="localhost"), now=START
            )
        report = await h.run()
    assert report.results[0].status == "failed"
    assert "localhost resolves to a non-public address" in (report.results[0].error or "")
    assert server.count("/feed.xml") == 0
    assert await h.items(feed.id) == []


async def test_entity_expansion_bomb_is_refused_with_bounded_memory(harness: Harness) -> None:
    decls = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{decls}]><rss version="2.0"><channel>'
        "<title>t</title><item><title>&lol9;</title><description>x</description></item>"
        "</channel></rss>"
    ).encode()
    feed_id = await harness.add("/bomb.xml", body=bomb)
    tracemalloc.start()
    try:
        report = await harness.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.results[0].status == "failed"
    assert "entit" in (report.results[0].error or "")
    assert peak < 50 * 1024 * 1024
    assert await harness.items(feed_id) == []


async def test_changed_dates_and_guids_do_not_duplicate_items(harness: Harness) -> None:
    feed_id = await harness.add("/churn.xml", body=make_rss(_entries(6)))
    await harness.run()

    # Same stories: new dates and new GUIDs (some CMSs regenerate both on every build).
    harness.server.set("/churn.xml", body=make_rss(_entries(6, guid_prefix="new", date_shift=7)))
    harness.clock.advance(hours=1)
    second = await harness.run()
    assert second.new_items == 0

    # New GUIDs and new links but the same text: the content hash still matches.
    moved = [
        Entry(e.title, e.summary, link=f"https://cdn.example.com/{e.guid}", guid=f"x{e.guid}")
        for e in _entries(6)
    ]
    harness.server.set("/churn.xml", body=make_rss(moved))
    harness.clock.advance(hours=1)
    third = await harness.run()
    assert third.new_items == 0
    assert len(await harness.items(feed_id)) == 6


async def test_edited_entry_is_updated_in_place(harness: Harness) -> None:
    feed_id = await harness.add("/edit.xml", body=make_rss(_entries(2)))
    await harness.run()
    edited = _entries(2)
    edited[0] = Entry(
        "Story number 0 about batteries (updated)",
        "Corrected figures.",
        link=edited[0].link,
        guid=edited[0].guid,
    )
    harness.server.set("/edit.xml", body=make_rss(edited))
    harness.clock.advance(hours=1)
    report = await harness.run()
    assert report.new_items == 0
    assert report.results[0].updated_items == 1
    titles = [i.title for i in await harness.items(feed_id)]
    assert titles[0] == "Story number 0 about batteries (updated)"
    assert len(titles) == 2


async def test_old_entries_of_a_first_fetch_are_backlog_later_items_news(harness: Harness) -> None:
    collected: list[Item] = []

    async def after_store(session: AsyncSession, items: Sequence[Item]) -> None:
        # Called inside the pass's transaction: the rows already have ids.
        assert session.in_transaction()
        collected.extend(items)

    # Older than the news window: a new feed's back issues (recent ones are news, see
    # tests/test_input_rules.py).
    old = 25 * 60
    feed_id = await harness.add("/news.xml", body=make_rss(_entries(3, start=1, date_shift=old)))
    first = await harness.run(after_store=after_store)
    assert first.new_items == 3
    assert all(i.is_backlog for i in await harness.items(feed_id))

    harness.server.set("/news.xml", body=make_rss(_entries(4, start=0, date_shift=old)))
    harness.clock.advance(hours=1)
    second = await harness.run(after_store=after_store)
    assert second.new_items == 1
    items = await harness.items(feed_id)
    fresh = [i for i in items if not i.is_backlog]
    assert [i.title for i in fresh] == ["Story number 0 about batteries"]
    assert fresh[0].first_seen_at == harness.clock.now
    assert len(collected) == 4 and all(i.id for i in collected)


async def test_repeated_failures_back_off_exponentially_up_to_the_cap(harness: Harness) -> None:
    feed_id = await harness.add("/down.xml", status=500, body=b"oops")
    waits = []
    for _ in range(8):
        report = await harness.run(all_feeds=False)
        assert report.results[0].error == "HTTP 500 Internal Server Error"
        state = await harness.state(feed_id)
        waits.append((state.next_check_at - harness.clock.now).total_seconds())
        harness.clock.now = state.next_check_at
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert (await harness.state(feed_id)).error_count == 8

    # Recovery resets the count.
    harness.server.set("/down.xml", body=make_rss(_entries(1)))
    await harness.run(all_feeds=False)
    state = await harness.state(feed_id)
    assert (state.error_count, state.last_error) == (0, None)


async def test_next_check_follows_the_feeds_ttl(harness: Harness) -> None:
    feed_id = await harness.add("/ttl.xml", body=make_rss(_entries(1), ttl=30))
    await harness.run()
    assert (await harness.state(feed_id)).next_check_at == START + timedelta(minutes=30)


async def test_next_check_follows_the_posting_pace(harness: Harness) -> None:
    # Entries one hour apart: checking more often than hourly would find nothing.
    feed_id = await harness.add("/pace.xml", body=make_rss(_entries(10)))
    await harness.run()
    assert (await harness.state(feed_id)).next_check_at == START + timedelta(hours=1)


async def test_japanese_feed_declaring_english_is_stored_as_ja(harness: Harness) -> None:
    entries = [
        Entry(
            "生成AIの新しいモデルが発表された",
            "国内の研究所が、日本語に強い大規模言語モデルを公開した。",
            link="https://example.jp/a",
        ),
        Entry(
            "半導体工場の建設が始まる",
            "熊本県で新しい工場の建設が本格的に始まった。",
            link="https://example.jp/b",
        ),
    ]
    feed_id = await harness.add("/ja.xml", body=make_rss(entries, language="en"))
    await harness.run()
    assert [i.language for i in await harness.items(feed_id)] == ["ja", "ja"]


async def test_permanent_redirect_updates_the_feed_url(harness: Harness) -> None:
    harness.server.set("/new.xml", body=make_rss(_entries(2)))
    feed_id = await harness.add(
        "/old.xml", status=301, headers={"Location": harness.server.url("/new.xml")}
    )
    report = await harness.run()
    assert report.results[0].status == "ok"
    async with harness.db.sessionmaker() as session:
        feed = await feed_repo.get_feed(session, feed_id)
        assert feed is not None and feed.url == harness.server.url("/new.xml")


async def test_parse_failure_is_recorded_and_others_continue(harness: Harness) -> None:
    bad = await harness.add("/page.html", body=b"<html><body>Not a feed</body></html>")
    good = await harness.add("/ok.xml", body=make_rss(_entries(2)))
    report = await harness.run()
    by_id = {r.feed_id: r for r in report.results}
    assert by_id[bad].status == "failed"
    assert "not" in (by_id[bad].error or "") and "feed" in (by_id[bad].error or "")
    assert by_id[good].new_items == 2
    assert report.to_json()["failed"] == 1


async def test_feed_repository_refuses_duplicates_and_skips_disabled(sqlite_db: Any) -> None:
    async with sqlite_db.sessionmaker.begin() as session:
        a = await feed_repo.add_feed(session, url="https://a.example/feed", now=START)
        b = await feed_repo.add_feed(session, url="https://b.example/feed", now=START)
        with pytest.raises(feed_repo.FeedExistsError, match="already configured"):
            await feed_repo.add_feed(session, url="https://a.example/feed", now=START)
        b.disabled = True
    async with sqlite_db.sessionmaker.begin() as session:
        lease = timedelta(minutes=10)
        assert (
            await feed_repo.claim_due_feeds(session, now=START - timedelta(seconds=1), lease=lease)
            == []
        )
        due = await feed_repo.claim_due_feeds(session, now=START, lease=lease)
        assert [f.id for f in due] == [a.id]
        # Claimed: another process asking now gets nothing until the lease runs out.
        assert await feed_repo.claim_due_feeds(session, now=START, lease=lease) == []
        assert len(await feed_repo.list_feeds(session)) == 2
        assert await feed_repo.remove_feed(session, a.id) is True
        assert await feed_repo.remove_feed(session, a.id) is False
        assert await feed_repo.get_feed(session, a.id) is None


async def test_a_feed_whose_write_fails_does_not_take_its_batch_down(harness: Harness) -> None:
    poisoned = await harness.add("/poison.xml", body=make_rss(_entries(2, guid_prefix="p")))
    healthy = [await harness.add(f"/fine{n}.xml", body=make_rss(_entries(3))) for n in range(4)]
    seen: list[int] = []

    async def after_store(session: AsyncSession, items: Sequence[Item]) -> None:
        if any(i.feed_id == poisoned for i in items):
            raise RuntimeError("classifier exploded")
        seen.extend(i.feed_id for i in items)

    report = await harness.run(after_store=after_store)
    by_id = {r.feed_id: r for r in report.results}
    assert report.feeds == 5
    assert by_id[poisoned].status == "failed"
    assert "classifier exploded" in (by_id[poisoned].error or "")
    assert await harness.items(poisoned) == []
    assert (await harness.state(poisoned)).error_count == 1
    for feed_id in healthy:
        assert by_id[feed_id].status == "ok"
        assert len(await harness.items(feed_id)) == 3
    assert sorted(set(seen)) == sorted(healthy)


async def test_parser_processes_store_the_same_items(harness: Harness) -> None:
    ids = [await harness.add(f"/p{n}.xml", body=make_rss(_entries(4, start=n))) for n in range(3)]
    bad = await harness.add("/p-bad.xml", body=b"<html><body>Not a feed</body></html>")
    async with FeedFetcher.from_settings(harness.settings, clock=harness.clock) as fetcher:
        service = IngestService(
            sessionmaker=harness.db.sessionmaker,
            fetcher=fetcher,
            clock=harness.clock,
            settings=harness.settings,
            parse_processes=1,
        )
        try:
            report = await service.run_pass(all_feeds=True)
        finally:
            service.close()
    assert (report.ok, report.failed, report.new_items) == (3, 1, 12)
    for n, feed_id in enumerate(ids):
        titles = [i.title for i in await harness.items(feed_id)]
        assert titles == [f"Story number {i} about batteries" for i in range(n, n + 4)]
    assert "not" in ((await harness.state(bad)).last_error or "")


async def test_progress_is_reported_once_per_feed_after_its_write(harness: Harness) -> None:
    ids = [
        await harness.add(f"/g{n}.xml", body=make_rss(_entries(2)), conditional=True)
        for n in range(6)
    ]
    await harness.run()
    harness.clock.advance(hours=2)
    seen: list[tuple[int, str]] = []
    async with FeedFetcher.from_settings(harness.settings, clock=harness.clock) as fetcher:
        service = IngestService(
            sessionmaker=harness.db.sessionmaker,
            fetcher=fetcher,
            clock=harness.clock,
            settings=harness.settings,
        )
        report = await service.run_pass(
            all_feeds=True, on_progress=lambda r: seen.append((r.feed_id, r.status))
        )
    assert sorted(seen) == sorted((i, "not_modified") for i in ids)
    assert report.not_modified == 6
    for feed_id in ids:
        assert (await harness.state(feed_id)).last_success_at == harness.clock.now


async def test_two_workers_on_one_database_fetch_each_feed_once(db: Any) -> None:
    """Two ingest passes at once (as two ``shiftbrief run`` processes would) share the feeds."""
    async with FeedServer() as server:
        h = Harness(server, db, Clock(START), _settings(database_url=db.url))
        paths = [f"/shared-{i}.xml" for i in range(12)]
        for i, path in enumerate(paths):
            await h.add(path, body=make_rss(_entries(3, guid_prefix=f"f{i}")), delay=0.05)
        first, second = await asyncio.gather(h.run(all_feeds=False), h.run(all_feeds=False))
        assert first.feeds + second.feeds == len(paths)
        assert [server.count(path) for path in paths] == [1] * len(paths)
        async with db.sessionmaker() as session:
            stored = await session.scalar(select(func.count()).select_from(Item))
        assert stored == 3 * len(paths)


async def test_unchanged_checks_keep_the_interval_instead_of_creeping_to_the_longest(
    sqlite_db: Any,
) -> None:
    # A claim moves a feed's next check a lease ahead while it is fetched. Read back as "the
    # last interval", that lease and the scheduler's delay were added at every 304, until a
    # feed that posts hourly was checked once a day and its news came hours late.
    settings = _settings(database_url=sqlite_db.url, max_check_interval=86400)
    async with FeedServer() as server:
        harness = Harness(server, sqlite_db, Clock(START), settings)
        feed_id = await harness.add("/hourly.xml", body=make_rss(_entries(6)), conditional=True)
        await harness.run()
        first = await harness.state(feed_id)
        assert first.last_checked_at is not None
        interval = first.next_check_at - first.last_checked_at
        assert timedelta(minutes=30) <= interval <= timedelta(hours=2)
        for _ in range(4):
            harness.clock.now = (await harness.state(feed_id)).next_check_at
            harness.clock.advance(minutes=3)  # the scheduler comes a little late
            report = await harness.run(all_feeds=False)
            assert report.not_modified == 1
            state = await harness.state(feed_id)
            assert state.last_checked_at == harness.clock.now
            assert state.next_check_at - state.last_checked_at == interval
