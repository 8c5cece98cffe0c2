"""A feed's state after a check, from plain values: the rules every ingest path applies.

What a pass knows of a feed before fetching it (:class:`FeedJob`, made by :func:`job_of` from
the stored state), and the state row a check leaves: after a 304 or an unchanged body
(:func:`unchanged_state`), after a failure (:func:`failure_state`, with back-off and Retry-After),
after a success (:func:`success_values`, which ``bot.ingest.store`` completes with what the body
said). Plain values in, plain values out, no database and no HTTP client: the service
(``bot.ingest.service``) and the pass over a migrated SQLite file (``bot.ingest.plain_pass``) both
write what these return, so a feed's schedule is the same whichever path checked it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.ingest.limits import storable_text
from bot.ingest.report import FeedResult

if TYPE_CHECKING:
    from bot.ingest.fetch import FetchResult

log = logging.getLogger(__name__)

FETCH_LEASE = timedelta(minutes=10)
"""A feed claimed for fetching is left alone by other processes this long (see claim_due_feeds)."""

MAX_RETRY_AFTER = timedelta(days=7)
"""A server cannot switch a feed off for longer than this by sending a huge Retry-After."""


@dataclass(frozen=True, slots=True)
class FeedJob:
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


Fetched = tuple[FeedJob, "FetchResult"]
"""A claimed feed and what fetching it gave (handed from one pass to the service's reading)."""


@dataclass(frozen=True, slots=True)
class CheckIntervals:
    """The configured bounds of a feed's next check, in seconds."""

    low: float
    high: float

    def clamp(self, seconds: float) -> float:
        """``seconds`` within the bounds."""
        return min(max(seconds, self.low), self.high)


def job_of(
    *,
    feed_id: int,
    url: str,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    backlog_done: bool,
    error_count: int,
    last_checked_at: datetime | None,
    next_check_at: datetime,
    check_interval: int | None = None,
    **_other_columns: object,
) -> FeedJob:
    """The job of a claimed feed, from its stored state (a whole row of it may be given).

    The last interval is the one the last successful check stored: ``next_check_at`` of a
    claimed feed is the claim's lease, and reading the interval from it would lengthen it by
    the lease and the delay at every unchanged check. A state stored before the interval was
    kept falls back to it.
    """
    last_interval = None
    if last_checked_at is not None and error_count == 0:
        last_interval = (
            float(check_interval)
            if check_interval is not None
            else (next_check_at - last_checked_at).total_seconds()
        )
    return FeedJob(
        feed_id=feed_id,
        url=url,
        etag=etag,
        last_modified=last_modified,
        body_hash=body_hash,
        backlog_done=backlog_done,
        error_count=error_count,
        last_interval=last_interval,
    )


def success_values(
    feed_id: int, fetched: FetchResult, *, now: datetime, next_check: datetime
) -> dict[str, Any]:
    """The feed state after a successful check."""
    values: dict[str, Any] = {
        "feed_id": feed_id,
        "error_count": 0,
        "last_error": None,
        "last_checked_at": now,
        "last_success_at": now,
        "last_status": fetched.status,
        "next_check_at": next_check,
        "check_interval": round((next_check - now).total_seconds()),
    }
    # A 304 may omit the validators; keep the ones that earned it.
    if fetched.etag is not None:
        values["etag"] = fetched.etag[:1024]
    if fetched.last_modified is not None:
        values["last_modified"] = fetched.last_modified[:128]
    return values


def body_digest(body: bytes) -> str:
    """The hash a feed's state keeps of its last body (a body seen before is not read again)."""
    return hashlib.sha256(body).hexdigest()


def checked_state(
    job: FeedJob, fetched: FetchResult, *, now: datetime, intervals: CheckIntervals
) -> tuple[dict[str, Any], FeedResult] | None:
    """The state and result a fetch leaves when there is nothing to read (it failed, the server
    answered 304, or the body is the one read last time); None when the body must be read."""
    if fetched.error is not None:
        return failure_state(
            job,
            fetched.error,
            now=now,
            intervals=intervals,
            retry_after=fetched.retry_after,
            status=fetched.status,
        )
    if fetched.not_modified or body_digest(fetched.body) == job.body_hash:
        return unchanged_state(job, fetched, now=now, intervals=intervals)
    return None


def unchanged_state(
    job: FeedJob, fetched: FetchResult, *, now: datetime, intervals: CheckIntervals
) -> tuple[dict[str, Any], FeedResult]:
    """The state and result of a feed that answered 304, or the body it had last time: checked
    again after as long as last time, or the server's max-age if longer."""
    interval = intervals.clamp(max(job.last_interval or 0.0, float(fetched.max_age or 0)))
    next_check = now + timedelta(seconds=interval)
    values = success_values(job.feed_id, fetched, now=now, next_check=next_check)
    return values, FeedResult(job.feed_id, job.url, "not_modified", next_check_at=next_check)


def failure_state(
    job: FeedJob,
    message: str,
    *,
    now: datetime,
    intervals: CheckIntervals,
    retry_after: float | None = None,
    status: int | None = None,
) -> tuple[dict[str, Any], FeedResult]:
    """The state and result of a feed whose check failed: tried again after a back-off that
    doubles with each failure in a row (15 min, 30 min, 1 h, ... up to the longest interval),
    or later when the server asked so (Retry-After, at most :data:`MAX_RETRY_AFTER`)."""
    message = storable_text(message)  # it may quote the document; PostgreSQL refuses NUL
    errors = job.error_count + 1
    backoff = min(intervals.high, intervals.low * 2.0 ** min(errors - 1, 30))
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
    values = {
        "feed_id": job.feed_id,
        "error_count": errors,
        "last_error": message[:2000],
        "last_checked_at": now,
        "last_status": status,
        "next_check_at": next_check,
    }
    result = FeedResult(
        job.feed_id,
        job.url,
        "deferred" if deferred else "failed",
        error=message,
        next_check_at=next_check,
    )
    return values, result
