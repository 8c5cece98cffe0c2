"""Text work once per new entry: what a changed feed costs is its new entries, not all of them.

A real ingest pass over loopback HTTP into a SQLite file; ``entry_text`` (HTML to text,
boilerplate, cuts: the text work of one entry) is counted where it runs, in this process
(``parse_processes=0``), and still does its work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.config import Settings
from bot.ingest import normalise
from bot.ingest.boilerplate import builtin_rules, clean
from bot.ingest.fetch import FeedFetcher
from bot.ingest.literals import required_literals
from bot.ingest.parse import read_feed
from bot.ingest.service import IngestReport, IngestService
from storage.models import Item
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.feedserver import Entry, FeedServer, make_rss

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _entries(numbers: range, *, draft: int | None = None) -> list[Entry]:
    return [
        Entry(
            title=("Draft: " if n == draft else "") + f"Utility signs grid battery contract {n}",
            summary=f"<p>The storage plant number {n} will hold four hours of power.</p>",
            link=f"https://news.example/{n}",
            guid=f"story-{n}",
            pub_date=(START - timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        )
        for n in numbers
    ]


@dataclasses.dataclass
class Counted:
    calls: int = 0


@pytest.fixture
def text_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    counted = Counted()
    real = normalise.entry_text

    def entry_text(entry: Any) -> tuple[str, str]:
        counted.calls += 1
        return real(entry)

    monkeypatch.setattr(normalise, "entry_text", entry_text)
    yield counted


class Feed:
    def __init__(self, server: FeedServer, db: Database) -> None:
        self.server, self.db = server, db
        self.now = START
        self.settings = Settings(
            database_url=db.url,
            allowed_private_networks=("127.0.0.1/32",),
            min_check_interval=60,
            max_check_interval=3600,
        )

    async def add(self, entries: list[Entry]) -> int:
        self.server.set("/feed.xml", body=make_rss(entries))
        async with self.db.sessionmaker.begin() as session:
            feed = await feed_repo.add_feed(session, url=self.server.url("/feed.xml"), now=START)
            return feed.id

    async def serve_and_ingest(self, body: bytes) -> IngestReport:
        self.server.set("/feed.xml", body=body)
        self.now += timedelta(hours=1)
        now = self.now
        async with FeedFetcher.from_settings(self.settings, clock=lambda: now) as fetcher:
            service = IngestService(
                sessionmaker=self.db.sessionmaker,
                fetcher=fetcher,
                clock=lambda: now,
                settings=self.settings,
                parse_processes=0,
            )
            return await service.run_pass(all_feeds=True)

    async def titles(self) -> list[str]:
        async with self.db.sessionmaker() as session:
            return list(await session.scalars(select(Item.title).order_by(Item.id)))


@pytest.fixture
async def feed(sqlite_db: Database) -> AsyncIterator[Feed]:
    async with FeedServer() as server:
        yield Feed(server, sqlite_db)


async def test_a_changed_feed_costs_the_text_work_of_its_new_and_edited_entries_only(
    feed: Feed, text_work: Counted
) -> None:
    await feed.add(_entries(range(2, 40), draft=5))
    first = await feed.serve_and_ingest(make_rss(_entries(range(2, 40), draft=5)))
    assert (first.new_items, text_work.calls) == (38, 38)

    text_work.calls = 0
    current = make_rss(_entries(range(40)))  # two new entries, entry 5 edited
    second = await feed.serve_and_ingest(current)
    assert (second.new_items, second.results[0].updated_items) == (2, 1)
    assert text_work.calls == 3
    titles = await feed.titles()
    assert "Utility signs grid battery contract 5" in titles
    assert not any(t.startswith("Draft") for t in titles)

    text_work.calls = 0  # the same entries in another body: nothing to normalise
    third = await feed.serve_and_ingest(current + b"<!-- regenerated -->")
    assert (third.ok, third.new_items, text_work.calls) == (1, 0, 0)


async def test_items_stored_before_raw_hashes_are_normalised_once_more_then_left_alone(
    feed: Feed, text_work: Counted
) -> None:
    await feed.add(_entries(range(10)))
    await feed.serve_and_ingest(make_rss(_entries(range(10))))
    async with feed.db.sessionmaker.begin() as session:  # as migration 0020 leaves them
        await session.execute(update(Item).values(raw_hash=None))

    text_work.calls = 0
    again = await feed.serve_and_ingest(make_rss(_entries(range(10))) + b"<!-- 1 -->")
    assert (again.new_items, again.results[0].updated_items, text_work.calls) == (0, 0, 10)
    async with feed.db.sessionmaker() as session:
        assert None not in set(await session.scalars(select(Item.raw_hash)))

    text_work.calls = 0
    await feed.serve_and_ingest(make_rss(_entries(range(10))) + b"<!-- 2 -->")
    assert text_work.calls == 0
    assert len(await feed.titles()) == 10


def test_required_literals_are_read_from_the_pattern() -> None:
    import re

    assert required_literals(re.compile(r"\s*\[continued\]\s*$")) == ("[continued]",)
    assert required_literals(re.compile(r"(?:\d+ points?|Comments)")) == (" point", "Comments")
    assert required_literals(re.compile(r"(?i)read more")) is None
    assert required_literals(re.compile(r"x(?:yy|)z")) in {("x",), ("z",)}
    assert required_literals(re.compile(r"\w+")) is None


def test_skipping_rules_by_their_literals_changes_no_text_of_the_corpus(corpus: Path) -> None:
    rules = builtin_rules()
    plain = tuple(dataclasses.replace(rule, hint=None) for rule in rules)
    assert sum(rule.hint is not None for rule in rules) >= len(rules) // 2
    checked = 0
    for path in sorted((corpus / "realfeeds").glob("*.xml")):
        for entry in read_feed(path.read_bytes(), url="https://example.com/feed").entries:
            for field, raw in (("title", entry.title), ("summary", entry.summary)):
                text = normalise.html_to_text(raw)
                assert clean(text, field, rules) == clean(text, field, plain), path.name
                checked += 1
    assert checked > 10_000
