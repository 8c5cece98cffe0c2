"""One ingest pass: fetch every due feed, parse what changed, store only new items.

The database drives the work (miniflux's RefreshFeed is the model): each feed's state row says
when to look next and which validators to send; the pass records what it learned there. One
failing feed never stops the others.

A pass is a bounded pipeline: fetches run concurrently, each changed body is parsed off the event
loop (in a thread, or in worker processes when the service is given some), and one writer task
stores whatever has been parsed meanwhile in one transaction, a handful of statements for many
feeds. Should such a batch fail, each of its feeds is written again on its own, so a bad feed
cannot take the others down with it. Which stored item an entry is: ``bot.ingest.matching``;
what a pass reports: ``bot.ingest.report``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import multiprocessing
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ingest.fetch import FeedFetcher, FetchResult
from bot.ingest.limits import failure_reason, storable_text
from bot.ingest.matching import merge_entries, plan_keys, posting_interval
from bot.ingest.report import FeedResult, IngestReport
from storage.models import Feed, FeedState, Item
from storage.repositories.feeds import claim_due_feeds, feed_names, get_feed_by_url
from storage.repositories.items import (
    find_known_items_of_feeds,
    insert_items,
    update_items_text,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.ingest.parse import ParsedFeed

__all__ = ["FETCH_LEASE", "FeedResult", "IngestReport", "IngestService", "warm_up"]

log = logging.getLogger(__name__)

FETCH_LEASE = timedelta(minutes=10)
"""A feed claimed for fetching is left alone by other processes this long (see claim_due_feeds)."""

AfterStore = Callable[[AsyncSession, Sequence[Item]], Awaitable[None]]
OnProgress = Callable[["FeedResult"], None]

MAX_RETRY_AFTER = timedelta(days=7)
"""A server cannot switch a feed off for longer than this by sending a huge Retry-After."""


@dataclass(frozen=True, slots=True)
class _FeedJob:
    """What a pass needs to know about a feed, read before any fetch (no ORM object shared)."""

    feed_id: int
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    backlog_done: bool
    error_count: int
    last_interval: float | None
    """Seconds between the last check and the next one it scheduled, if that check succeeded."""


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A changed feed, fetched and parsed, waiting for the writer."""

    job: _FeedJob
    fetched: FetchResult
    parsed: ParsedFeed
    body_hash: str
    note: str | None
    """For feed health: what of the document was left out (see bot.ingest.limits)."""


@dataclass(slots=True)
class _Pass:
    """What one pass shares between its fetchers and its writer."""

    report: IngestReport
    on_progress: OnProgress | None
    queue: asyncio.Queue[_Parsed | None]
    states: list[dict[str, Any]] = field(default_factory=list)
    """FeedState updates (unchanged and failed feeds) for the writer's next transaction."""
    waiting: dict[int, FeedResult] = field(default_factory=dict)
    """Results reported once their state update is written, by feed id."""
    wake_pending: bool = False

    def done(self, result: FeedResult) -> None:
        self.report.add(result)
        if self.on_progress is not None:
            self.on_progress(result)


class IngestService:
    """Runs ingest passes; built once with its dependencies, reused for every pass."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        fetcher: FeedFetcher,
        clock: Callable[[], datetime],
        settings: Settings,
        after_store: AfterStore | None = None,
        parse_processes: int = 0,
    ) -> None:
        """Build the service.

        Args:
            sessionmaker: where feeds and items live.
            fetcher: the HTTP side, shared by every pass.
            clock: now, as an aware datetime.
            settings: intervals and concurrency.
            after_store: called in the writing transaction with the newly inserted items
                (with their ids), once per batch, so items of several feeds may arrive together.
            parse_processes: worker processes that parse feeds; 0 parses in one thread of this
                process. feedparser is pure Python, so more threads add no CPU, but on a
                machine with spare cores each process parses in parallel (about 60 MB each).
        """
        self._sessionmaker = sessionmaker
        self._fetcher = fetcher
        self._clock = clock
        self._settings = settings
        self._after_store = after_store
        self._parse_processes = max(0, parse_processes)
        self._pool: ProcessPoolExecutor | None = None
        # Parsing holds the GIL; in-process, two parser threads are no faster than one, and
        # each extra one slows the event loop and the database driver's thread.
        self._parse_slots = asyncio.Semaphore(max(1, self._parse_processes))
        # The writer task owns the writes of a pass; the lock keeps passes that overlap (a
        # manual ingest during the scheduled one) from fighting over SQLite's single writer.
        self._write_lock = asyncio.Lock()

    def close(self) -> None:
        """Stop the parser processes, if any (a later pass starts them again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def run_pass(
        self, *, all_feeds: bool = False, on_progress: OnProgress | None = None
    ) -> IngestReport:
        """Fetch every due feed (or every enabled feed) and store what is new.

        Args:
            all_feeds: check every enabled feed now, whatever its schedule.
            on_progress: called with each feed's result as soon as that feed is done.

        Returns:
            What happened to each feed. Never raises for a feed's own problems.
        """
        jobs = await self._load_jobs(all_feeds=all_feeds)
        report = IngestReport()
        # Bounded, so parsed feeds cannot pile up in memory while the writer is busy.
        state = _Pass(report, on_progress, asyncio.Queue(maxsize=_QUEUE_FEEDS))
        semaphore = asyncio.Semaphore(self._settings.ingest_concurrency)

        async def run_one(job: _FeedJob) -> None:
            async with semaphore:
                await self._ingest_guarded(job, state)

        writer = asyncio.create_task(self._writer(state))
        try:
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(run_one(job))
        finally:
            if not writer.done():
                await state.queue.put(None)
            await writer
        log.info(
            "ingest pass: %d feeds, %d ok, %d not modified, %d failed, %d deferred, %d new items",
            report.feeds,
            report.ok,
            report.not_modified,
            report.failed,
            report.deferred,
            report.new_items,
        )
        return report

    async def _load_jobs(self, *, all_feeds: bool) -> list[_FeedJob]:
        async with self._sessionmaker.begin() as session:
            feeds = await claim_due_feeds(
                session, now=self._clock(), lease=FETCH_LEASE, all_feeds=all_feeds
            )
            return [_job(feed) for feed in feeds]

    async def _ingest_guarded(self, job: _FeedJob, state: _Pass) -> None:
        try:
            await self._ingest(job, state)
        except Exception as exc:
            # A bug with one feed must not end the pass for the others.
            log.exception(
                "feed %d (%s): ingest failed unexpectedly",
                job.feed_id,
                job.url,
                extra={"feed_id": job.feed_id},
            )
            self._record_failure(job, f"internal error: {failure_reason(exc)}", state=state)

    async def _ingest(self, job: _FeedJob, state: _Pass) -> None:
        fetched = await self._fetcher.fetch(job.url, etag=job.etag, last_modified=job.last_modified)
        if fetched.error is not None:
            self._record_failure(
                job,
                fetched.error,
                retry_after=fetched.retry_after,
                status=fetched.status,
                state=state,
            )
            return
        if fetched.not_modified:
            self._record_unchanged(job, fetched, state)
            return
        body_hash = hashlib.sha256(fetched.body).hexdigest()
        if body_hash == job.body_hash:
            self._record_unchanged(job, fetched, state)
            return
        # The parsers load with the first body that changed: a pass where every feed answers
        # 304 never needs them.
        from bot.ingest.parse import ParseError

        try:
            async with self._parse_slots:
                parsed, note = await self._parse(fetched)
        except ParseError as exc:
            self._record_failure(job, str(exc), status=fetched.status, state=state)
            return
        await state.queue.put(_Parsed(job, fetched, parsed, body_hash, note))

    async def _parse(self, fetched: FetchResult) -> tuple[ParsedFeed, str | None]:
        from bot.ingest.limits import parse_storable
        from bot.ingest.parse import ParseError

        # Parsed and made storable in one call off the loop: a feed may have 100,000 entries.
        call = functools.partial(
            parse_storable,
            fetched.body,
            url=fetched.final_url,
            content_type=fetched.headers.get("content-type"),
            content_language=fetched.headers.get("content-language"),
            max_items=self._settings.max_items_per_feed,
        )
        if not self._parse_processes:
            return await asyncio.to_thread(call)
        if self._pool is None:
            # spawn, not fork: this process runs threads (the database driver's, the DNS
            # resolver's) that a forked child would inherit mid-operation.
            self._pool = ProcessPoolExecutor(
                max_workers=self._parse_processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up,
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except BrokenProcessPool:
            # A worker died (out of memory on a monstrous feed, or killed): start afresh for
            # the next feed, and report this one as failed.
            self.close()
            raise ParseError("the parser process died while reading this feed") from None

    # --- recording outcomes ----------------------------------------------------------------

    def _record_failure(
        self,
        job: _FeedJob,
        message: str,
        *,
        state: _Pass,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        now = self._clock()
        message = storable_text(message)  # it may quote the document; PostgreSQL refuses NUL
        errors = job.error_count + 1
        # 15 min, 30 min, 1 h, ... doubling up to the longest interval.
        backoff = min(
            float(self._settings.max_check_interval),
            self._settings.min_check_interval * 2.0 ** min(errors - 1, 30),
        )
        wait = timedelta(seconds=backoff)
        deferred = retry_after is not None
        if retry_after is not None:
            wait = max(wait, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
            message = f"{message} (server asked to retry after {retry_after:.0f} s)"
        next_check = now + wait
        log.warning(
            "feed %d (%s): %s; next try %s",
            job.feed_id,
            job.url,
            message,
            next_check,
            extra={"feed_id": job.feed_id},
        )
        self._record_state(
            state,
            {
                "feed_id": job.feed_id,
                "error_count": errors,
                "last_error": message[:2000],
                "last_checked_at": now,
                "last_status": status,
                "next_check_at": next_check,
            },
            FeedResult(
                job.feed_id,
                job.url,
                "deferred" if deferred else "failed",
                error=message,
                next_check_at=next_check,
            ),
        )

    def _record_unchanged(self, job: _FeedJob, fetched: FetchResult, state: _Pass) -> None:
        now = self._clock()
        interval = self._clamp(max(job.last_interval or 0.0, float(fetched.max_age or 0)))
        next_check = now + timedelta(seconds=interval)
        values = _success_values(job.feed_id, fetched, now=now, next_check=next_check)
        self._record_state(
            state,
            values,
            FeedResult(job.feed_id, job.url, "not_modified", next_check_at=next_check),
        )

    def _record_state(self, state: _Pass, values: dict[str, Any], result: FeedResult) -> None:
        # Written by the writer with its next batch: most feeds are unchanged most of the
        # time, and a transaction each would make the database the bottleneck. The result
        # is reported once it is written.
        state.states.append(values)
        state.waiting[result.feed_id] = result
        if not state.wake_pending:
            with contextlib.suppress(asyncio.QueueFull):  # then the writer is busy anyway
                state.queue.put_nowait(_WAKE)
                state.wake_pending = True

    # --- the writer ------------------------------------------------------------------------

    async def _writer(self, state: _Pass) -> None:
        finished = False
        while not finished:
            first = await state.queue.get()
            batch: list[_Parsed] = []
            items = 0
            for entry in _drain(state.queue, first):
                if entry is None:
                    finished = True
                elif entry is not _WAKE:
                    batch.append(entry)
                    items += len(entry.parsed.items)
                if len(batch) >= _BATCH_FEEDS or items >= _BATCH_ITEMS:
                    break
            states, state.states = state.states, []
            state.wake_pending = False
            await self._write(batch, states, state)

    async def _write(
        self, batch: list[_Parsed], states: list[dict[str, Any]], state: _Pass
    ) -> None:
        if not batch and not states:
            return
        try:
            async with self._write_lock, self._sessionmaker() as session, session.begin():
                results = await self._store_batch(session, batch)
                if states:
                    await session.execute(update(FeedState), states)
        except Exception as exc:
            log.warning(
                "a batch of %d feeds and %d states failed (%s); writing them one by one",
                len(batch),
                len(states),
                failure_reason(exc),
            )
            results = await self._write_one_by_one(batch, states)
        for values in states:
            waiting = state.waiting.pop(values["feed_id"], None)
            if waiting is not None:
                state.done(waiting)
        for result in results:
            state.done(result)

    async def _write_one_by_one(
        self, batch: list[_Parsed], states: list[dict[str, Any]]
    ) -> list[FeedResult]:
        results: list[FeedResult] = []
        for values in states:
            try:
                async with self._write_lock, self._sessionmaker() as session, session.begin():
                    await session.execute(update(FeedState), [values])
            except Exception as exc:
                log.error(
                    "feed %d: could not record its state: %s",
                    values["feed_id"],
                    failure_reason(exc),
                )
        for entry in batch:
            try:
                async with self._write_lock, self._sessionmaker() as session, session.begin():
                    results.extend(await self._store_batch(session, [entry]))
            except Exception as exc:
                # A database's refusal is logged by its reason only (its text holds every value
                # of the statement); anything else is a bug, whose traceback helps.
                if not isinstance(exc, StatementError):
                    log.exception("feed %d: storing failed", entry.job.feed_id)
                results.append(await self._store_failed(entry.job, exc))
        return results

    async def _store_failed(self, job: _FeedJob, exc: Exception) -> FeedResult:
        message = f"storing failed: {failure_reason(exc)}"
        scratch = _Pass(IngestReport(), None, asyncio.Queue())
        self._record_failure(job, message, state=scratch)
        try:
            async with self._write_lock, self._sessionmaker() as session, session.begin():
                await session.execute(update(FeedState), scratch.states)
        except Exception as exc:
            log.error("feed %d: could not record the failure: %s", job.feed_id, failure_reason(exc))
        return scratch.waiting[job.feed_id]

    async def _store_batch(self, session: AsyncSession, batch: list[_Parsed]) -> list[FeedResult]:
        if not batch:
            return []
        now = self._clock()
        names = await feed_names(session, (e.job.feed_id for e in batch))
        results: list[FeedResult] = []
        alive = []
        for entry in batch:
            if entry.job.feed_id in names:
                alive.append(entry)
            else:  # removed while we fetched it
                results.append(
                    FeedResult(entry.job.feed_id, entry.job.url, "failed", error="feed was removed")
                )
        plans = [plan_keys(e.parsed.items) for e in alive]
        known = await find_known_items_of_feeds(
            session, {e.job.feed_id: plan.keys for e, plan in zip(alive, plans, strict=True)}
        )
        new_rows: list[dict[str, Any]] = []
        edits: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        feeds: list[dict[str, Any]] = []
        for entry, plan in zip(alive, plans, strict=True):
            job, fetched, parsed = entry.job, entry.fetched, entry.parsed
            rows, edited = merge_entries(
                known[job.feed_id],
                parsed.items,
                plan,
                feed_id=job.feed_id,
                first_fetch=not job.backlog_done,
                now=now,
            )
            new_rows.extend(rows)
            edits.extend(edited)
            interval = self._clamp(
                max(
                    float(parsed.ttl_seconds or 0),
                    float(fetched.max_age or 0),
                    posting_interval(parsed.items) or 0.0,
                )
            )
            next_check = now + timedelta(seconds=interval)
            values = _success_values(job.feed_id, fetched, now=now, next_check=next_check)
            values.update(
                body_hash=entry.body_hash, ttl_seconds=parsed.ttl_seconds, note=entry.note
            )
            values["backlog_done"] = True
            states.append(values)
            current = names[job.feed_id]
            changes: dict[str, Any] = {}
            if parsed.title and not current.title:
                changes["title"] = parsed.title[:500]
            if parsed.site_url and not current.site_url:
                changes["site_url"] = parsed.site_url
            url = current.url
            if (
                fetched.permanent_url
                and fetched.permanent_url != url
                and await get_feed_by_url(session, fetched.permanent_url) is None
            ):
                log.info(
                    "feed %d moved permanently to %s",
                    job.feed_id,
                    fetched.permanent_url,
                    extra={"feed_id": job.feed_id},
                )
                url = changes["url"] = fetched.permanent_url
            if changes:
                feeds.append({"id": job.feed_id, **changes})
            results.append(
                FeedResult(
                    job.feed_id,
                    url,
                    "ok",
                    new_items=len(rows),
                    updated_items=len(edited),
                    next_check_at=next_check,
                )
            )
        await update_items_text(session, edits)
        inserted = await insert_items(session, new_rows, returning=self._after_store is not None)
        if states:
            await session.execute(update(FeedState), states)
        if feeds:
            await session.execute(update(Feed), feeds)
        if inserted and self._after_store is not None:
            await self._after_store(session, inserted)
        return results

    def _clamp(self, seconds: float) -> float:
        low = float(self._settings.min_check_interval)
        high = float(self._settings.max_check_interval)
        return min(max(seconds, low), high)


def warm_up() -> None:
    """Load the parser's lazy parts (the language model) once per worker process."""
    from bot.ingest.language import detect_language

    detect_language("warm up the language model")


_QUEUE_FEEDS = 64
_BATCH_FEEDS = 50
_BATCH_ITEMS = 5000
_WAKE: Any = object()
"""Queued to wake the writer for state updates when no parsed feed is on its way."""


def _drain(queue: asyncio.Queue[_Parsed | None], first: _Parsed | None) -> Iterator[_Parsed | None]:
    yield first
    while True:
        try:
            yield queue.get_nowait()
        except asyncio.QueueEmpty:
            return


def _success_values(
    feed_id: int, fetched: FetchResult, *, now: datetime, next_check: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "feed_id": feed_id,
        "error_count": 0,
        "last_error": None,
        "last_checked_at": now,
        "last_success_at": now,
        "last_status": fetched.status,
        "next_check_at": next_check,
    }
    # A 304 may omit the validators; keep the ones that earned it.
    if fetched.etag is not None:
        values["etag"] = fetched.etag[:1024]
    if fetched.last_modified is not None:
        values["last_modified"] = fetched.last_modified[:128]
    return values


def _job(feed: Feed) -> _FeedJob:
    state = feed.state
    last_interval = None
    if state.last_checked_at is not None and state.error_count == 0:
        last_interval = (state.next_check_at - state.last_checked_at).total_seconds()
    return _FeedJob(
        feed_id=feed.id,
        url=feed.url,
        etag=state.etag,
        last_modified=state.last_modified,
        body_hash=state.body_hash,
        backlog_done=state.backlog_done,
        error_count=state.error_count,
        last_interval=last_interval,
    )
