"""An ingest pass on a migrated SQLite file that loads the whole machinery only for a change.

Most passes find every feed unchanged: each answers 304 or sends the body read last time. Such a
pass only claims the feeds, fetches them and records when to look next, yet importing SQLAlchemy,
the ORM models and the settings library cost several times that work (``bench/ingest.py``). Here
the claim and the feed states go through the standard library's ``sqlite3``
(``storage.plain_sqlite``), the fetches through the usual :class:`FeedFetcher` (address rules,
size caps, conditional requests), and each feed's state comes from the same rules as in the
service (``bot.ingest.feed_state``), so the rows are the ones the service would write.

A changed body is handed over as it arrives to ``changed`` (the composition root's: the whole
machinery, ``IngestService.store_fetched``), which reads and stores it the usual way; no feed is
fetched twice. A pass where a feed has never been fetched (its items are all to be stored) is
declined before anything is claimed, and takes the usual path from the start.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.ingest.feed_state import (
    FETCH_LEASE,
    CheckIntervals,
    FeedJob,
    Fetched,
    checked_state,
    failure_state,
    job_of,
)
from bot.ingest.limits import failure_reason
from bot.ingest.report import FeedResult, IngestReport
from storage.plain_sqlite import claim_due_feeds, first_fetch_due, update_feed_states

if TYPE_CHECKING:
    from bot.ingest.fetch import FeedFetcher

log = logging.getLogger(__name__)

OnProgress = Callable[[FeedResult], None]
Changed = Callable[[AsyncIterator[Fetched], int, OnProgress], Coroutine[Any, Any, object]]
"""Reads and stores the changed bodies it is handed (a pass over so many feeds), reporting each
feed's result to the callback once it is written."""


class PassSettings(Protocol):
    """The settings a pass reads (``bot.config.Settings`` has them)."""

    @property
    def ingest_concurrency(self) -> int: ...
    @property
    def min_check_interval(self) -> int: ...
    @property
    def max_check_interval(self) -> int: ...


async def plain_pass(
    conn: sqlite3.Connection,
    *,
    fetcher: FeedFetcher,
    settings: PassSettings,
    clock: Callable[[], datetime],
    changed: Changed,
    all_feeds: bool = False,
    on_progress: OnProgress | None = None,
) -> IngestReport | None:
    """Fetch every due feed (or every enabled feed), record what did not change, hand over what
    did; None when a feed is due that was never fetched (nothing claimed: the usual path).

    Args:
        conn: the migrated SQLite file (``storage.plain_sqlite.migrated_sqlite``).
        fetcher: the HTTP side, open.
        settings: intervals and concurrency.
        clock: now, as an aware datetime.
        changed: reads and stores changed bodies; called with the first one.
        all_feeds: check every enabled feed now, whatever its schedule.
        on_progress: called with each feed's result as soon as that feed is done.
    """
    # Each sqlite3 call runs off the loop: waiting for SQLite's write lock (up to the
    # connection's timeout) must not stop the fetches, nor the storing of changed bodies
    # whose transaction holds that lock and needs the loop to finish.
    if await asyncio.to_thread(first_fetch_due, conn, now=clock(), all_feeds=all_feeds):
        return None
    claimed = await asyncio.to_thread(
        claim_due_feeds, conn, now=clock(), lease=FETCH_LEASE, all_feeds=all_feeds
    )
    jobs = [job_of(**row) for row in claimed]
    report = IngestReport()
    intervals = CheckIntervals(
        float(settings.min_check_interval), float(settings.max_check_interval)
    )
    states: list[tuple[dict[str, Any], FeedResult]] = []
    semaphore = asyncio.Semaphore(settings.ingest_concurrency)

    def done(result: FeedResult) -> None:
        report.add(result)
        if on_progress is not None:
            on_progress(result)

    handoff = _Handoff(changed, len(jobs), done, slots=settings.ingest_concurrency)

    async def check(job: FeedJob) -> None:
        async with semaphore:
            try:
                fetched = await fetcher.fetch(
                    job.url, etag=job.etag, last_modified=job.last_modified
                )
                outcome = checked_state(job, fetched, now=clock(), intervals=intervals)
            except Exception as exc:  # a bug with one feed must not end the pass for the others
                log.exception("feed %d (%s): ingest failed unexpectedly", job.feed_id, job.url)
                message = f"internal error: {failure_reason(exc)}"
                outcome = failure_state(job, message, now=clock(), intervals=intervals)
        if outcome is None:
            await handoff.put((job, fetched))
        else:
            states.append(outcome)

    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(check(job))
    finally:
        # What was learned is kept even when the changed feeds' storing failed.
        await asyncio.to_thread(update_feed_states, conn, [values for values, _result in states])
        for _values, result in states:
            done(result)
    await handoff.finish()
    log.info(
        "ingest pass: %d feeds, %d not modified, %d failed, %d deferred (%d changed)",
        report.feeds,
        report.not_modified,
        report.failed,
        report.deferred,
        handoff.count,
    )
    return report


class _Handoff:
    """Changed bodies on their way to ``changed``, started with the first one; at most
    ``slots`` are waiting or being read at once (each one holds a whole body)."""

    def __init__(self, changed: Changed, feeds: int, done: OnProgress, *, slots: int) -> None:
        self._changed = changed
        self._feeds = feeds
        self._done = done
        self._slots = asyncio.Semaphore(slots)
        self._queue: asyncio.Queue[Fetched | None] = asyncio.Queue()
        self._task: asyncio.Task[object] | None = None
        self.count = 0

    async def put(self, item: Fetched) -> None:
        """Hand ``item`` over once a slot is free (the reader starts with the first one)."""
        if self._task is None:
            self._task = asyncio.create_task(self._changed(self._items(), self._feeds, self._one))
        slot = asyncio.ensure_future(self._slots.acquire())
        await asyncio.wait({slot, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not slot.done():  # the reader ended early: finish() raises its error
            slot.cancel()
            return
        self.count += 1
        self._queue.put_nowait(item)

    async def finish(self) -> None:
        """Wait for the reader to store what it was handed; its error, if it failed."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    def _one(self, result: FeedResult) -> None:
        self._slots.release()
        self._done(result)

    async def _items(self) -> AsyncIterator[Fetched]:
        while (item := await self._queue.get()) is not None:
            yield item
