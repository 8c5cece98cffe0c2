"""Use cases on the catalog of followed feeds, shared by chat admins and the CLI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.ingest.netguard import AddressPolicy, UnsafeURLError, validate_feed_url
from storage.models import Feed
from storage.repositories import feeds as feed_repo
from storage.repositories.feeds import FeedExistsError

__all__ = ["FeedExistsError", "UnsafeURLError", "add_feed"]


async def add_feed(
    session: AsyncSession,
    *,
    url: str,
    sector: str | None,
    policy: AddressPolicy | None,
    now: datetime,
    tenant_id: int | None = None,
    title: str | None = None,
) -> Feed:
    """Follow a feed for ``tenant_id`` (None: the shared catalog): check its address against
    ``policy``, then store it.

    Its current items become archive when first fetched; later ones are news. ``title`` is
    shown until the feed's own title is fetched (an OPML import knows it).

    Raises:
        UnsafeURLError: the address cannot be a feed's (scheme, credentials, private IP).
        FeedExistsError: the feed is followed already (the session stays usable).
    """
    checked = validate_feed_url(url, policy)
    async with session.begin_nested():
        return await feed_repo.add_feed(
            session,
            url=checked,
            sector_hint=sector,
            title=title,
            now=now,
            tenant_id=tenant_id,
        )
