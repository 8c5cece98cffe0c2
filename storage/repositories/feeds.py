"""Feed queries: what admins configure, and which feeds are due for a check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, FeedOwner, FeedState, Tenant
from storage.repositories.sectors import key_in_scope, resolve_key
from storage.scope import EVERY, Scope, visible


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
    tenant_id: int | None = None,
) -> Feed:
    """Follow a feed for ``tenant_id`` (None: the shared catalog); a new URL is due at once,
    and its first fetch is stored as backlog. A URL another tenant follows already is not
    fetched twice: this tenant becomes one more owner of the same feed.

    ``sector_hint`` is a sector key as ``tenant_id`` names it; a tenant's hint is kept with its
    own follow (another tenant's follow of the URL keeps its own), the shared catalog's on the
    feed.

    Raises:
        FeedExistsError: the tenant (or the shared catalog) follows the URL already.
    """
    hint = sector_hint
    if sector_hint is not None:
        hint = await resolve_key(session, sector_hint, tenant_id) or sector_hint
    feed = await get_feed_by_url(session, url)
    if feed is not None:
        query = select(FeedOwner.tenant_id).where(FeedOwner.feed_id == feed.id)
        seen = set(await session.scalars(query))
        if tenant_id in seen or None in seen:
            raise FeedExistsError(url, feed.id)
        if tenant_id is None and hint is not None:
            feed.sector_hint = hint
    else:
        shared_hint = hint if tenant_id is None else None
        feed = Feed(url=url, title=title, sector_hint=shared_hint, created_at=now, weight=1.0)
        feed.state = FeedState(next_check_at=now, error_count=0, backlog_done=False)
        session.add(feed)
    own_hint = hint if tenant_id is not None else None
    try:
        # A savepoint, so a concurrent insert of the same URL leaves the caller's
        # transaction usable.
        async with session.begin_nested():
            await session.flush()
            session.add(
                FeedOwner(
                    feed_id=feed.id, tenant_id=tenant_id, sector_hint=own_hint, created_at=now
                )
            )
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


def _followed(scope: Scope) -> ColumnElement[bool]:
    owned = select(FeedOwner.feed_id).where(visible(FeedOwner.tenant_id, scope))
    return Feed.id.in_(owned)


async def list_feeds(session: AsyncSession, scope: Scope = EVERY) -> list[Feed]:
    """The feeds ``scope`` sees (by default every feed), oldest first, with their state."""
    query = select(Feed).order_by(Feed.id)
    if scope != EVERY:
        query = query.where(_followed(scope))
    return list(await session.scalars(query))


async def sector_hints(session: AsyncSession, scope: Scope) -> dict[int, str]:
    """The sector hint of each feed ``scope`` follows, as it names the sector: a tenant's own
    hint, else the shared catalog's (``EVERY``: the shared catalog's)."""
    query = select(Feed.id, Feed.sector_hint).where(Feed.sector_hint.is_not(None))
    hints: dict[int, str] = {}
    for feed_id, hint in (await session.execute(query)).all():
        if hint is not None and (key := key_in_scope(hint, scope)) is not None:
            hints[feed_id] = key
    if isinstance(scope, int):
        own = select(FeedOwner.feed_id, FeedOwner.sector_hint).where(
            FeedOwner.tenant_id == scope, FeedOwner.sector_hint.is_not(None)
        )
        for feed_id, hint in (await session.execute(own)).all():
            if hint is not None and (key := key_in_scope(hint, scope)) is not None:
                hints[feed_id] = key
    return hints


async def count_followed(session: AsyncSession, tenant_id: int) -> int:
    """How many feeds the tenant itself follows (the shared catalog not counted)."""
    query = select(func.count()).select_from(FeedOwner).where(FeedOwner.tenant_id == tenant_id)
    return int(await session.scalar(query) or 0)


async def shared_feed_ids(session: AsyncSession) -> set[int]:
    """The feeds of the shared catalog (read-only to tenants' admins)."""
    query = select(FeedOwner.feed_id).where(FeedOwner.tenant_id.is_(None))
    return set(await session.scalars(query))


async def feed_owners(session: AsyncSession) -> dict[int, list[str]]:
    """Each feed's owners as "shared" or "platform:external_id", for the operator's listing."""
    query = (
        select(FeedOwner.feed_id, Tenant.platform, Tenant.external_id)
        .outerjoin(Tenant, Tenant.id == FeedOwner.tenant_id)
        .order_by(FeedOwner.feed_id, FeedOwner.id)
    )
    found: dict[int, list[str]] = {}
    for feed_id, platform, external_id in (await session.execute(query)).all():
        label = f"{platform}:{external_id}" if platform is not None else "shared"
        found.setdefault(feed_id, []).append(label)
    return found


async def remove_feed(session: AsyncSession, feed_id: int, scope: Scope = EVERY) -> bool:
    """Stop following a feed in ``scope``: a tenant id or None (the shared catalog) drops that
    owner only; ``EVERY`` drops every owner. The feed, its state and items go with its last
    owner. Returns whether ``scope`` followed it.
    """
    if scope == EVERY:
        dropped = await session.execute(delete(FeedOwner).where(FeedOwner.feed_id == feed_id))
        found = bool(getattr(dropped, "rowcount", 0))
        found = found or await session.get(Feed, feed_id) is not None
    else:
        owner = FeedOwner.tenant_id.is_(None) if scope is None else FeedOwner.tenant_id == scope
        dropped = await session.execute(
            delete(FeedOwner).where(FeedOwner.feed_id == feed_id, owner)
        )
        found = bool(getattr(dropped, "rowcount", 0))
    if found:
        left = await session.scalar(select(FeedOwner.id).where(FeedOwner.feed_id == feed_id))
        if left is None:
            await session.execute(delete(Feed).where(Feed.id == feed_id))
    session.expunge_all()  # objects loaded before the bulk delete would be stale
    return found


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
