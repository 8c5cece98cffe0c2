"""Rows read and written on a SQLite file with the standard library's ``sqlite3``: no SQLAlchemy.

``shiftbrief feeds list`` only reads two tables, and an ingest pass where nothing changed only
claims feeds and records their state, yet importing SQLAlchemy and the ORM models cost more
than that work itself. On a SQLite file that is already migrated they work here;
anything else (PostgreSQL, a file that does not exist yet, a migration due, a URL with query
options) returns None and the command takes the usual path through ``bot.app.open_app``, which
migrates, and reports an unreachable database, as every command does. The rows are the ones the
ORM repositories give and write (``tests/test_startup.py`` and ``tests/test_plain_pass.py``
compare them): datetimes are stored as SQLAlchemy stores ``storage.types.UTCDateTime`` on
SQLite, UTC without a zone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict
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
        # mode=rw: never create the file (a missing one is migrated by the usual path). An
        # async caller runs each call in a worker thread, one at a time (check_same_thread).
        conn = sqlite3.connect(
            f"file:{quote(str(path))}?mode=rw", uri=True, timeout=30, check_same_thread=False
        )
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


_NEVER_FETCHED = (
    "SELECT 1 FROM feed_states AS s JOIN feeds AS f ON f.id = s.feed_id "
    "WHERE f.disabled = 0 AND s.backlog_done = 0"
)
_DUE = " AND s.next_check_at <= :now"
_CLAIM_ALL = (
    "UPDATE feed_states SET next_check_at = :until WHERE feed_id IN ("
    "SELECT s.feed_id FROM feed_states AS s JOIN feeds AS f ON f.id = s.feed_id "
    "WHERE f.disabled = 0) RETURNING feed_id"
)
_CLAIM_DUE = (
    "UPDATE feed_states SET next_check_at = :until WHERE feed_id IN ("
    "SELECT s.feed_id FROM feed_states AS s JOIN feeds AS f ON f.id = s.feed_id "
    "WHERE f.disabled = 0 AND s.next_check_at <= :now) "
    # Checked again by the UPDATE itself, as the repository does.
    "AND next_check_at <= :now RETURNING feed_id"
)
_CLAIMED = (
    "SELECT s.*, f.url FROM feeds AS f JOIN feed_states AS s "
    "ON s.feed_id = f.id WHERE f.id IN (SELECT value FROM json_each(?)) ORDER BY f.id"
)
_BOOLEANS = ("backlog_done",)
_MOMENTS = ("next_check_at", "last_checked_at", "last_success_at")
STATE_COLUMNS = frozenset(
    {
        "etag",
        "last_modified",
        "body_hash",
        "next_check_at",
        "last_checked_at",
        "last_success_at",
        "last_status",
        "error_count",
        "last_error",
        "note",
        "ttl_seconds",
        "backlog_done",
        "check_interval",
    }
)
"""The columns of ``feed_states`` a check may set."""


def first_fetch_due(conn: sqlite3.Connection, *, now: datetime, all_feeds: bool) -> bool:
    """Whether a feed a pass would claim has never been fetched successfully (its items are
    all to be stored: a pass for the whole ingest machinery)."""
    query = _NEVER_FETCHED if all_feeds else _NEVER_FETCHED + _DUE
    return conn.execute(query + " LIMIT 1", {"now": _stored(now)}).fetchone() is not None


def claim_due_feeds(
    conn: sqlite3.Connection, *, now: datetime, lease: timedelta, all_feeds: bool = False
) -> list[dict[str, Any]]:
    """Due (or, with ``all_feeds``, all) enabled feeds claimed for this process, as
    ``storage.repositories.feeds.claim_due_feeds`` claims them: each one's next check moves
    ``lease`` ahead, in a transaction that takes SQLite's write lock first, and a feed is
    claimed only while it is still due, so two processes never claim one due feed both.

    Returns:
        Each claimed feed's ``url`` and its ``feed_states`` row as the ORM reads it
        (booleans, aware datetimes), by column name, oldest feed first.
    """
    with _transaction(conn):
        claimed = conn.execute(
            _CLAIM_ALL if all_feeds else _CLAIM_DUE,
            {"now": _stored(now), "until": _stored(now + lease)},
        ).fetchall()
        ids = sorted(row[0] for row in claimed)
        cursor = conn.execute(_CLAIMED, (json.dumps(ids),))
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()] if ids else []
    for row in rows:
        for name in _BOOLEANS:
            row[name] = bool(row[name])
        for name in _MOMENTS:
            row[name] = None if row[name] is None else _utc(row[name])
    return rows


def update_feed_states(conn: sqlite3.Connection, states: Sequence[Mapping[str, Any]]) -> None:
    """Write each feed's new state (``feed_id`` and the columns it sets) in one transaction;
    a feed removed meanwhile is passed over."""
    if not states:
        return
    by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
    for values in states:
        columns = tuple(sorted(key for key in values if key != "feed_id"))
        if not STATE_COLUMNS.issuperset(columns):
            raise ValueError(f"not a feed state column: {sorted(set(columns) - STATE_COLUMNS)}")
        row = [_bound(values[column]) for column in columns]
        by_columns.setdefault(columns, []).append([*row, values["feed_id"]])
    with _transaction(conn):
        for columns, rows in by_columns.items():
            assignments = ", ".join(f"{column} = ?" for column in columns)
            # The column names are ours, checked against STATE_COLUMNS above.
            update = f"UPDATE feed_states SET {assignments} WHERE feed_id = ?"  # noqa: S608
            conn.executemany(update, rows)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, SQLite's write lock taken at its start (others wait for it up to
    the connection's timeout, then see what it committed)."""
    previous = conn.isolation_level
    conn.isolation_level = None  # statements as written: BEGIN and COMMIT are ours
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.isolation_level = previous


def _bound(value: Any) -> Any:
    """A value as the ORM binds it on SQLite: datetimes as ``_stored``, booleans as 0 or 1."""
    if isinstance(value, datetime):
        return _stored(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _stored(moment: datetime) -> str:
    """An aware datetime as SQLAlchemy stores a ``UTCDateTime`` on SQLite."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware datetime")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _utc(stored: str) -> datetime:
    """A ``UTCDateTime`` as SQLAlchemy stores it on SQLite (UTC, without a zone)."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)
