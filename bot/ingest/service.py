"""One ingest pass: fetch every due feed, parse what changed, store only new items.

The database drives the work (miniflux's RefreshFeed is the model): each feed's state row says
when to look next and which validators to send; the pass records what it learned there. One
failing feed never stops the others, and each feed's items are written in its own transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.ingest.fetch import FeedFetcher, FetchResult
from bot.ingest.parse import ParsedFeed, ParsedItem, ParseError, parse_feed
from storage.models import Feed, FeedState, Item
from storage.repositories.feeds import due_feeds, get_feed_by_url
from storage.repositories.items import KnownItem, KnownItems, find_known_items, insert_items

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

FeedStatus = Literal["ok", "not_modified", "failed", "deferred"]
AfterStore = Callable[[AsyncSession, Sequence[Item]], Awaitable[None]]
OnProgress = Callable[["FeedResult"], None]

MAX_RETRY_AFTER = timedelta(days=7)
"""A server cannot switch a feed off for longer than this by sending a huge Retry-After."""
_PACE_SAMPLE = 20


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one pass did with one feed."""

    feed_id: int
    url: str
    status: FeedStatus
    new_items: int = 0
    updated_items: int = 0
    error: str | None = None
    next_check_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "feed_id": self.feed_id,
            "url": self.url,
            "status": self.status,
            "new_items": self.new_items,
            "updated_items": self.updated_items,
            "error": self.error,
            "next_check_at": self.next_check_at.isoformat() if self.next_check_at else None,
        }


@dataclass(slots=True)
class IngestReport:
    """The outcome of one pass over the due feeds."""

    feeds: int = 0
    ok: int = 0
    failed: int = 0
    not_modified: int = 0
    deferred: int = 0
    new_items: int = 0
    results: list[FeedResult] = field(default_factory=list)

    def add(self, result: FeedResult) -> None:
        """Count one feed's result."""
        self.results.append(result)
        self.feeds += 1
        self.new_items += result.new_items
        if result.status == "ok":
            self.ok += 1
        elif result.status == "not_modified":
            self.not_modified += 1
        elif result.status == "deferred":
            self.deferred += 1
        else:
            self.failed += 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, results ordered by feed id."""
        return {
            "feeds": self.feeds,
            "ok": self.ok,
            "failed": self.failed,
            "not_modified": self.not_modified,
            "deferred": self.deferred,
            "new_items": self.new_items,
            "results": [r.to_json() for r in sorted(self.results, key=lambda r: r.feed_id)],
        }


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
    ) -> None:
        self._sessionmaker = sessionmaker
        self._fetcher = fetcher
        self._clock = clock
        self._settings = settings
        self._after_store = after_store
        # SQLite has one writer; serialising our own writes avoids "database is locked" retries.
        # Fetching and parsing, the slow parts, still overlap.
        self._write_lock = asyncio.Lock()
        # Parsing holds the GIL; two parser threads are no faster than one, and each extra one
        # slows the event loop and the database driver's thread (lock convoys).
        self._parse_slots = asyncio.Semaphore(1)

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
        semaphore = asyncio.Semaphore(self._settings.ingest_concurrency)
        unchanged: list[dict[str, Any]] = []

        async def run_one(job: _FeedJob) -> None:
            async with semaphore:
                result = await self._ingest_guarded(job, unchanged)
            report.add(result)
            if on_progress is not None:
                on_progress(result)

        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(run_one(job))
        await self._flush_unchanged(unchanged)
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
        async with self._sessionmaker() as session:
            feeds = await due_feeds(session, now=self._clock(), all_feeds=all_feeds)
            return [_job(feed) for feed in feeds]

    async def _ingest_guarded(self, job: _FeedJob, unchanged: list[dict[str, Any]]) -> FeedResult:
        try:
            return await self._ingest(job, unchanged)
        except Exception as exc:
            # A bug or a database problem with one feed must not end the pass for the others.
            log.exception("feed %d (%s): ingest failed unexpectedly", job.feed_id, job.url)
            message = f"internal error: {exc.__class__.__name__}: {exc}"
            try:
                return await self._record_failure(job, message, retry_after=None, status=None)
            except Exception:
                log.exception("feed %d: could not record the failure", job.feed_id)
                return FeedResult(job.feed_id, job.url, "failed", error=message)

    async def _ingest(self, job: _FeedJob, unchanged: list[dict[str, Any]]) -> FeedResult:
        fetched = await self._fetcher.fetch(job.url, etag=job.etag, last_modified=job.last_modified)
        if fetched.error is not None:
            return await self._record_failure(
                job, fetched.error, retry_after=fetched.retry_after, status=fetched.status
            )
        if fetched.not_modified:
            return await self._record_unchanged(job, fetched, unchanged)
        body_hash = hashlib.sha256(fetched.body).hexdigest()
        if body_hash == job.body_hash:
            return await self._record_unchanged(job, fetched, unchanged)
        try:
            async with self._parse_slots:
                parsed = await asyncio.to_thread(
                    parse_feed,
                    fetched.body,
                    url=fetched.final_url,
                    content_type=fetched.headers.get("content-type"),
                    content_language=fetched.headers.get("content-language"),
                )
        except ParseError as exc:
            return await self._record_failure(
                job, str(exc), retry_after=None, status=fetched.status
            )
        return await self._store(job, fetched, parsed, body_hash)

    # --- recording outcomes ----------------------------------------------------------------

    async def _record_failure(
        self, job: _FeedJob, message: str, *, retry_after: float | None, status: int | None
    ) -> FeedResult:
        now = self._clock()
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
        async with self._write_lock, self._sessionmaker() as session, session.begin():
            state = await session.get(FeedState, job.feed_id)
            if state is not None:
                state.error_count = errors
                state.last_error = message[:2000]
                state.last_checked_at = now
                state.last_status = status
                state.next_check_at = next_check
        log.warning("feed %d (%s): %s; next try %s", job.feed_id, job.url, message, next_check)
        return FeedResult(
            job.feed_id,
            job.url,
            "deferred" if deferred else "failed",
            error=message,
            next_check_at=next_check,
        )

    async def _record_unchanged(
        self, job: _FeedJob, fetched: FetchResult, pending: list[dict[str, Any]]
    ) -> FeedResult:
        now = self._clock()
        interval = self._clamp(max(job.last_interval or 0.0, float(fetched.max_age or 0)))
        next_check = now + timedelta(seconds=interval)
        values: dict[str, Any] = {
            "feed_id": job.feed_id,
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
        # Written in one batch at the end of the pass: most feeds are unchanged most of the
        # time, and a transaction each would make the database the bottleneck.
        pending.append(values)
        return FeedResult(job.feed_id, job.url, "not_modified", next_check_at=next_check)

    async def _flush_unchanged(self, pending: list[dict[str, Any]]) -> None:
        if not pending:
            return
        async with self._write_lock, self._sessionmaker() as session, session.begin():
            await session.execute(update(FeedState), pending)
        pending.clear()

    async def _store(
        self, job: _FeedJob, fetched: FetchResult, parsed: ParsedFeed, body_hash: str
    ) -> FeedResult:
        now = self._clock()
        async with self._write_lock, self._sessionmaker() as session, session.begin():
            feed = await session.get(Feed, job.feed_id)
            if feed is None:  # removed while we fetched it
                return FeedResult(job.feed_id, job.url, "failed", error="feed was removed")
            state = feed.state
            count, inserted, updated = await self._merge_items(
                session,
                feed_id=feed.id,
                items=parsed.items,
                backlog=not state.backlog_done,
                now=now,
            )
            if parsed.title and not feed.title:
                feed.title = parsed.title[:500]
            if parsed.site_url and not feed.site_url:
                feed.site_url = parsed.site_url
            if (
                fetched.permanent_url
                and await get_feed_by_url(session, fetched.permanent_url) is None
            ):
                log.info("feed %d moved permanently to %s", feed.id, fetched.permanent_url)
                feed.url = fetched.permanent_url
            interval = self._clamp(
                max(
                    float(parsed.ttl_seconds or 0),
                    float(fetched.max_age or 0),
                    _posting_interval(parsed.items) or 0.0,
                )
            )
            next_check = now + timedelta(seconds=interval)
            _mark_success(state, fetched, now=now, next_check=next_check)
            state.body_hash = body_hash
            state.ttl_seconds = parsed.ttl_seconds
            state.backlog_done = True
            if inserted:
                await session.flush()
                if self._after_store is not None:
                    await self._after_store(session, inserted)
        return FeedResult(
            job.feed_id,
            feed.url,
            "ok",
            new_items=count,
            updated_items=updated,
            next_check_at=next_check,
        )

    async def _merge_items(
        self,
        session: AsyncSession,
        *,
        feed_id: int,
        items: Sequence[ParsedItem],
        backlog: bool,
        now: datetime,
    ) -> tuple[int, list[Item], int]:
        # Some feeds give every entry the same GUID or link; such keys identify nothing.
        use_guid = _distinct(i.guid for i in items)
        use_link = _distinct(i.link for i in items)
        known = await find_known_items(
            session,
            feed_id=feed_id,
            guids=[i.guid for i in items if i.guid] if use_guid else [],
            links=[i.link for i in items if i.link] if use_link else [],
            hashes=[i.content_hash for i in items],
        )
        taken_hashes = set(known.by_hash)
        new_rows: list[dict[str, Any]] = []
        updated = 0
        for parsed in items:
            match = _match(known, parsed, use_guid=use_guid, use_link=use_link)
            if match is None:
                if parsed.content_hash in taken_hashes:
                    continue  # the same text twice in one document
                taken_hashes.add(parsed.content_hash)
                new_rows.append(_new_item(feed_id, parsed, backlog=backlog, now=now))
                continue
            if (
                match.content_hash != parsed.content_hash
                and parsed.content_hash not in taken_hashes
            ):
                # The publisher edited the entry: keep one row, with the current text.
                row = await session.get(Item, match.id)
                if row is not None:
                    taken_hashes.add(parsed.content_hash)
                    row.title = parsed.title
                    row.summary = parsed.summary
                    row.content_hash = parsed.content_hash
                    row.language = parsed.language
                    updated += 1
        inserted = await insert_items(session, new_rows, returning=self._after_store is not None)
        return len(new_rows), inserted, updated

    def _clamp(self, seconds: float) -> float:
        low = float(self._settings.min_check_interval)
        high = float(self._settings.max_check_interval)
        return min(max(seconds, low), high)


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


def _mark_success(
    state: FeedState, fetched: FetchResult, *, now: datetime, next_check: datetime
) -> None:
    state.error_count = 0
    state.last_error = None
    state.last_checked_at = now
    state.last_success_at = now
    state.last_status = fetched.status
    state.next_check_at = next_check
    # A 304 may omit the validators; keep the ones that earned it.
    if fetched.etag is not None:
        state.etag = fetched.etag[:1024]
    if fetched.last_modified is not None:
        state.last_modified = fetched.last_modified[:128]


def _distinct(values: Any) -> bool:
    present = [v for v in values if v]
    return len(present) == len(set(present))


def _match(
    known: KnownItems, item: ParsedItem, *, use_guid: bool, use_link: bool
) -> KnownItem | None:
    if use_guid and item.guid and item.guid in known.by_guid:
        return known.by_guid[item.guid]
    if use_link and item.link and item.link in known.by_link:
        return known.by_link[item.link]
    return known.by_hash.get(item.content_hash)


def _new_item(feed_id: int, parsed: ParsedItem, *, backlog: bool, now: datetime) -> dict[str, Any]:
    return dict(
        feed_id=feed_id,
        guid=parsed.guid,
        link=parsed.link,
        content_hash=parsed.content_hash,
        title=parsed.title,
        summary=parsed.summary,
        author=parsed.author,
        language=parsed.language[:8],
        published_at=parsed.published_at,
        first_seen_at=now,
        is_backlog=backlog,
    )


def _posting_interval(items: Sequence[ParsedItem]) -> float | None:
    """Median seconds between a feed's recent entries, or None with fewer than two dates."""
    dates = sorted((i.published_at for i in items if i.published_at is not None), reverse=True)
    dates = dates[:_PACE_SAMPLE]
    if len(dates) < 2:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(dates)]
    return statistics.median(gaps)
