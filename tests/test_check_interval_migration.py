"""Migration 0021: a feed's state keeps the interval its last successful check scheduled.

On a SQLite file and on PostgreSQL: a database at 0025 with a checked feed, upgraded; the feed
keeps its state, its interval is unknown (NULL) until its next successful check, and the
interval is then read as before, from the next check and the last one. Downgraded and upgraded
again, the state survives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ingest.feed_state import job_of
from storage.db import current_revision, script_heads, upgrade
from tests.migration_rows import add_old_feed
from tests.test_raw_hash_migration import _downgrade
from tests.test_tenants_migration import fresh_engine

__all__ = ["fresh_engine"]  # the fixture: an empty database of either kind

CHECKED = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
NEXT = CHECKED + timedelta(minutes=45)


async def _state(engine: AsyncEngine) -> dict[str, object]:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM feed_states WHERE feed_id = 1"))).one()
    return dict(row._mapping)


async def test_a_checked_feed_keeps_its_state_and_its_interval_reads_as_before(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade(fresh_engine, "0025_item_categories")
    async with fresh_engine.begin() as conn:
        await add_old_feed(conn, created_at=CHECKED)
        await conn.execute(
            text(
                "INSERT INTO feed_states (feed_id, etag, next_check_at, last_checked_at, "
                "error_count, backlog_done) VALUES (1, 'e1', :next, :checked, 0, true)"
            ),
            {"next": NEXT, "checked": CHECKED},
        )
    await upgrade(fresh_engine)
    assert await current_revision(fresh_engine) in (script_heads() or ())
    state = await _state(fresh_engine)
    assert state["etag"] == "e1" and state["check_interval"] is None

    def job(values: dict[str, object]) -> float | None:
        def moment(value: object) -> datetime:
            read = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            return read.replace(tzinfo=UTC)

        return job_of(
            feed_id=1,
            url="https://a.example/feed",
            etag=None,
            last_modified=None,
            body_hash=None,
            backlog_done=True,
            error_count=0,
            last_checked_at=moment(values["last_checked_at"]),
            next_check_at=moment(values["next_check_at"]),
            check_interval=values["check_interval"],  # type: ignore[arg-type]
        ).last_interval

    assert job(state) == 45 * 60  # NULL: read from the next check and the last one
    async with fresh_engine.begin() as conn:
        await conn.execute(text("UPDATE feed_states SET check_interval = 1800 WHERE feed_id = 1"))
    assert job(await _state(fresh_engine)) == 1800  # stored: the lease cannot hide it

    async with fresh_engine.begin() as conn:
        await conn.run_sync(_downgrade, "0025_item_categories")
    assert "check_interval" not in await _state(fresh_engine)
    await upgrade(fresh_engine)
    assert (await _state(fresh_engine))["etag"] == "e1"
