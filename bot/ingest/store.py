"""One transaction of the ingest writer: a batch of parsed feeds in, rows out, like a loader.

For a batch of feeds it reads the stored items their entries could be (one query per batch, by
GUID, link and content hash: ``storage.repositories.items``), decides what is new and what was
edited (``bot.ingest.matching``), inserts the new items with one executemany, gives them their
sectors through the ``after_store`` hook (classification) a chunk at a time, and records each
feed's state.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ingest.entries import ParsedFeed
from bot.ingest.feed_state import FeedJob, success_values
from bot.ingest.fetch import FetchResult
from bot.ingest.matching import merge_entries, plan_keys
from bot.ingest.report import FeedResult
from storage.models import Feed, FeedState, Item
from storage.repositories.feeds import feed_names, get_feed_by_url
from storage.repositories.items import (
    find_known_items_of_feeds,
    insert_items,
    set_raw_hashes,
    update_items_text,
)

__all__ = ["INSERT_CHUNK", "AfterStore", "FeedJob", "ParsedBody", "store_batch"]

log = logging.getLogger(__name__)

AfterStore = Callable[[AsyncSession, Sequence[Item]], Awaitable[None]]

INSERT_CHUNK = 500
"""New items inserted, and handed to ``after_store``, at most this many at a time."""


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """A changed feed, fetched and parsed, waiting for the writer."""

    job: FeedJob
    fetched: FetchResult
    parsed: ParsedFeed
    """Its metadata, and the entries that may be new or edited (all of them on a first fetch)."""
    body_hash: str
    note: str | None
    """For feed health: what of the document was left out (see bot.ingest.limits)."""
    pace: float | None
    """Median seconds between the document's recent entries (``matching.posting_interval``)."""


async def store_batch(
    session: AsyncSession,
    batch: Sequence[ParsedBody],
    *,
    now: datetime,
    clamp: Callable[[float], float],
    after_store: AfterStore | None,
) -> list[FeedResult]:
    """Store ``batch`` in ``session``'s transaction; the result of each of its feeds.

    Args:
        now: when the items are first seen.
        clamp: a feed's next-check interval within the configured bounds, in seconds.
        after_store: called with the inserted items (ids set), in chunks of at most
            :data:`INSERT_CHUNK` (items of several feeds may arrive together).
    """
    if not batch:
        return []
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
    refreshed: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    feeds: list[dict[str, Any]] = []
    for entry, plan in zip(alive, plans, strict=True):
        job, fetched, parsed = entry.job, entry.fetched, entry.parsed
        merged = merge_entries(
            known[job.feed_id],
            parsed.items,
            plan,
            feed_id=job.feed_id,
            first_fetch=not job.backlog_done,
            now=now,
        )
        new_rows.extend(merged.new_rows)
        edits.extend(merged.edits)
        refreshed.extend(merged.refreshed)
        interval = clamp(
            max(float(parsed.ttl_seconds or 0), float(fetched.max_age or 0), entry.pace or 0.0)
        )
        next_check = now + timedelta(seconds=interval)
        values = success_values(job.feed_id, fetched, now=now, next_check=next_check)
        values.update(body_hash=entry.body_hash, ttl_seconds=parsed.ttl_seconds, note=entry.note)
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
                new_items=len(merged.new_rows),
                updated_items=len(merged.edits),
                next_check_at=next_check,
            )
        )
        del merged  # its rows are in new_rows, which gives them up chunk by chunk
    await update_items_text(session, edits)
    await set_raw_hashes(session, refreshed)
    if states:
        await session.execute(update(FeedState), states)
    if feeds:
        await session.execute(update(Feed), feeds)
    # In chunks, each classified as it goes in: a feed of thousands of new entries never has
    # all of them as rows, objects and sector scores in memory at once.
    while new_rows:
        chunk, new_rows = new_rows[:INSERT_CHUNK], new_rows[INSERT_CHUNK:]
        inserted = await insert_items(session, chunk, returning=after_store is not None)
        del chunk
        if inserted and after_store is not None:
            await after_store(session, inserted)
        del inserted
    return results
