"""Feed queries: what admins configure, and which feeds are due for a check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, FeedState


class FeedExistsError(Exception):
    """A feed with this URL is already configured."""

    def __init__(self, url: str, feed_id: int | None = None) -> None:
        shown = f" (id {feed_id})" if feed_id is not None else ""
        super().__init__(f"the feed {url} is already configured{shown}")
        self.url = url
        self.feed_id = feed_id


async def add_feed(
    session: AsyncSession,
    *,
    url: str,
    now: datetime,
    sector_hint: str | None = None,
    title: str | None = None,
) -> Feed:
    """Configure a feed; it is due at once, and its first fetch is stored as backlog.

    Raises:
        FeedExistsError: the URL is already configured.
    """
    existing = await get_feed_by_url(session, url)
    if existing is not None:
        raise FeedExistsError(url, existing.id)
    feed = Feed(url=url, title=title, sector_hint=sector_hint, created_at=now, weight=1.0)
    feed.state = FeedState(next_check_at=now, error_count=0, backlog_done=False)
    session.add(feed)
    try:
        # A savepoint, so a concurrent insert of the same URL leaves the caller's
        # transaction usable.
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise FeedExistsError(url) from None
    return feed


async def get_feed(session: AsyncSession, feed_id: int) -> Feed | None:
    """The feed with this id, with its state, or None."""
    return await session.get(Feed, feed_id)


async def get_feed_by_url(session: AsyncSession, url: str) -> Feed | None:
    """The feed with exactly this URL, or None."""
    result = await session.scalars(select(Feed).where(Feed.url == url))
    return result.first()


async def list_feeds(session: AsyncSession) -> list[Feed]:
    """Every configured feed, oldest first, with its state."""
    result = await session.scalars(select(Feed).order_by(Feed.id))
    return list(result)


async def remove_feed(session: AsyncSession, feed_id: int) -> bool:
    """Delete a feed with its state and items. Returns whether it existed."""
    result = await session.execute(delete(Feed).where(Feed.id == feed_id))
    session.expunge_all()  # objects loaded before the bulk delete would be stale
    return bool(getattr(result, "rowcount", 0))


async def claim_due_feeds(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    all_feeds: bool = False,
) -> list[Feed]:
    """Due feeds for this process to fetch, most overdue first, taken from other processes.

    Each claimed feed's next check moves ``lease`` ahead, so other ``shiftbrief run`` processes
    pass it over; the fetch then schedules the real next check, and a process that dies mid-fetch
    leaves the feed to be fetched again after the lease. On PostgreSQL the rows are locked with
    SKIP LOCKED, so concurrent claims never wait on each other.
    """
    due = (
        select(FeedState.feed_id)
        .join(Feed, Feed.id == FeedState.feed_id)
        .where(Feed.disabled.is_(False))
        .with_for_update(of=FeedState, skip_locked=True)
    )
    claim = update(FeedState).values(next_check_at=now + lease)
    if not all_feeds:
        due = due.where(FeedState.next_check_at <= now)
        # Checked again by the UPDATE itself: on SQLite (no row locks) two claims can read the
        # same due rows, but only the first UPDATE still finds them due.
        claim = claim.where(FeedState.next_check_at <= now)
    claimed = await session.execute(
        claim.where(FeedState.feed_id.in_(due.scalar_subquery()))
        .returning(FeedState.feed_id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(claimed.scalars())
    if not ids:
        return []
    return list(await session.scalars(select(Feed).where(Feed.id.in_(ids)).order_by(Feed.id)))


@dataclass(frozen=True, slots=True)
class FeedNames:
    """A feed's address and the names it was given, without loading the whole row."""

    id: int
    url: str
    title: str | None
    site_url: str | None


async def feed_names(session: AsyncSession, feed_ids: Iterable[int]) -> dict[int, FeedNames]:
    """The feeds among ``feed_ids`` that still exist, by id (one query)."""
    ids = sorted(set(feed_ids))
    if not ids:
        return {}
    result = await session.execute(
        select(Feed.id, Feed.url, Feed.title, Feed.site_url).where(Feed.id.in_(ids))
    )
    return {row.id: FeedNames(*row) for row in result}
