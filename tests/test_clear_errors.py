"""Bad input gets one clear line and loses nothing (issue 11, §5)."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.console import ConsoleAdapter
from bot.commands.dispatcher import Dispatcher
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import FeedState, Item
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.test_cli import Cli, _one_line_error

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_a_removed_feeds_id_is_never_given_to_another_feed(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    for name in ("a", "b"):
        assert (await cli("feeds", "add", f"https://{name}.example/rss")).returncode == 0
    assert (await cli("feeds", "remove", "2")).returncode == 0
    added = await cli("feeds", "add", "https://c.example/rss")
    assert "Added feed 3" in added.stdout, added
    # A stale `feeds remove 2` (say, from shell history) must not hit feed 3.
    _one_line_error(await cli("feeds", "remove", "2"), "no feed with id 2")
    listed = json.loads((await cli("feeds", "list", "--json")).stdout)
    assert [(f["id"], f["url"]) for f in listed] == [
        (1, "https://a.example/rss"),
        (3, "https://c.example/rss"),
    ]


async def test_the_migration_keeps_every_feed_state_and_item(tmp_path: Path) -> None:
    """Rebuilding the feeds table for AUTOINCREMENT must not cascade into its children."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    sessionmaker = make_sessionmaker(engine)
    await upgrade(engine, "0004")
    async with sessionmaker.begin() as session:
        for n in range(3):
            feed = await feed_repo.add_feed(session, url=f"https://{n}.example/rss", now=NOW)
            session.add(
                Item(
                    feed_id=feed.id,
                    content_hash=f"{n:064d}",
                    title=f"Story {n}",
                    summary="",
                    language="en",
                    first_seen_at=NOW,
                )
            )
    await upgrade(engine)
    async with sessionmaker.begin() as session:
        assert await session.scalar(select(func.count()).select_from(Item)) == 3
        assert await session.scalar(select(func.count()).select_from(FeedState)) == 3
        assert await feed_repo.remove_feed(session, 3)
    async with sessionmaker.begin() as session:
        feed = await feed_repo.add_feed(session, url="https://new.example/rss", now=NOW)
        assert feed.id == 4
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    await engine.dispose()


# --------------------------------------------------------------------------- /brief sector DATE


@pytest.mark.parametrize(
    ("zone", "day"),
    [("UTC", "9999-12-31"), ("America/Los_Angeles", "9999-12-31"), ("Asia/Tokyo", "0001-01-01")],
)
async def test_a_date_at_the_end_of_the_calendar_is_a_clear_answer(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture, zone: str, day: str
) -> None:
    dispatcher = Dispatcher(sessionmaker=sqlite_db.sessionmaker, clock=lambda: NOW)
    console = ConsoleAdapter(stdout=io.StringIO())
    await console.ask(dispatcher, f"/brief settings tz {zone}")
    with caplog.at_level(logging.ERROR):
        reply = await console.ask(dispatcher, f"/brief sector quantum {day}")
    assert reply.text.splitlines()[0] == f"{day} is out of range: there can be no news on that day."
    assert reply.briefing is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
