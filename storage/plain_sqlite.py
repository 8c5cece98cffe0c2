"""Rows read from a SQLite file with the standard library's ``sqlite3``: no SQLAlchemy.

``shiftbrief feeds list`` only reads two tables, yet importing SQLAlchemy and the ORM models
cost it more than half of its start-up. On a SQLite file that is already migrated it reads here;
anything else (PostgreSQL, a file that does not exist yet, a migration due, a URL with query
options) returns None and the command takes the usual path through ``bot.app.open_app``, which
migrates, and reports an unreachable database, as every command does. The rows are the ones the
ORM repositories give (``tests/test_startup.py`` compares them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

from storage.revisions import script_heads

_SQLITE_PREFIX = "sqlite+aiosqlite:///"


class FeedRow(TypedDict):
    """One feed as ``shiftbrief feeds list`` shows it."""

    id: int
    owners: list[str]
    url: str
    title: str | None
    sector: str | None
    disabled: bool
    errors: int
    last_error: str | None
    note: str | None
    next_check_at: str


def sqlite_file(database_url: str) -> Path | None:
    """The file of a plain ``sqlite+aiosqlite:///path`` URL (as settings give it), or None for
    any other database or a URL whose options only SQLAlchemy reads."""
    if not database_url.startswith(_SQLITE_PREFIX):
        return None
    path = database_url.removeprefix(_SQLITE_PREFIX)
    if not path or path == ":memory:" or any(c in path for c in "?#%"):
        return None
    return Path(path)


@contextmanager
def migrated_sqlite(database_url: str) -> Iterator[sqlite3.Connection | None]:
    """A connection to the SQLite file ``database_url`` names when it exists and records the
    migration scripts' heads; otherwise None (the caller opens the database the usual way)."""
    path = sqlite_file(database_url)
    heads = script_heads() if path is not None else None
    if path is None or heads is None or not path.is_file():
        yield None
        return
    try:
        # mode=rw: never create the file (a missing one is migrated by the usual path).
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error:
        yield None
        return
    with closing(conn):
        try:
            found = conn.execute("SELECT version_num FROM alembic_version").fetchall()
            current = frozenset(row[0] for row in found)
        except sqlite3.Error:  # no alembic_version: not a ShiftBrief database yet
            current = frozenset()
        yield conn if current == heads else None


def feed_rows(conn: sqlite3.Connection) -> list[FeedRow]:
    """Every feed with its owners and health, oldest first, as ``feeds.list_feeds`` and
    ``feeds.feed_owners`` give them."""
    owners: dict[int, list[str]] = {}
    for feed_id, platform, external_id in conn.execute(
        "SELECT o.feed_id, t.platform, t.external_id FROM feed_owners AS o "
        "LEFT OUTER JOIN tenants AS t ON t.id = o.tenant_id ORDER BY o.feed_id, o.id"
    ):
        label = f"{platform}:{external_id}" if platform is not None else "shared"
        owners.setdefault(feed_id, []).append(label)
    rows: list[FeedRow] = []
    for feed_id, url, title, sector, disabled, errors, last_error, note, next_check in conn.execute(
        "SELECT f.id, f.url, f.title, f.sector_hint, f.disabled, s.error_count, s.last_error, "
        "s.note, s.next_check_at FROM feeds AS f JOIN feed_states AS s ON s.feed_id = f.id "
        "ORDER BY f.id"
    ):
        rows.append(
            FeedRow(
                id=feed_id,
                owners=owners.get(feed_id, []),
                url=url,
                title=title,
                sector=sector,
                disabled=bool(disabled),
                errors=errors,
                last_error=last_error,
                note=note,
                next_check_at=_utc(next_check).isoformat(),
            )
        )
    return rows


def _utc(stored: str) -> datetime:
    """A ``UTCDateTime`` as SQLAlchemy stores it on SQLite (UTC, without a zone)."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)
