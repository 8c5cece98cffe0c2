"""Rows written as an older schema had them, for migration tests: raw SQL, so no model of
today's (which reads columns later migrations add) is needed before the upgrade."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

FEED_ID = 1


def _moment(value: str | datetime) -> datetime:
    # asyncpg binds only datetimes; "2026-12-07 08:00:00+00:00" is read as one.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def add_old_feed(conn: AsyncConnection, *, created_at: str | datetime) -> None:
    """Feed 1, https://a.example/feed, as every schema since the first has it."""
    await conn.execute(
        text(
            "INSERT INTO feeds (id, url, weight, disabled, created_at) "
            "VALUES (:id, 'https://a.example/feed', 1.0, false, :at)"
        ),
        {"id": FEED_ID, "at": _moment(created_at)},
    )


async def add_old_item(
    conn: AsyncConnection, *, content_hash: str, title: str, first_seen_at: str | datetime
) -> None:
    """An English item of feed 1 with no summary, its search text its lower-cased title."""
    await conn.execute(
        text(
            "INSERT INTO items (feed_id, content_hash, title, summary, language, "
            "first_seen_at, is_backlog, search_text) "
            "VALUES (:feed, :hash, :title, '', 'en', :at, false, :search)"
        ),
        {
            "feed": FEED_ID,
            "hash": content_hash,
            "title": title,
            "at": _moment(first_seen_at),
            "search": title.lower(),
        },
    )
