"""Bad input gets one clear line and loses nothing (issue 11, §5)."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from adapters.console import ConsoleAdapter
from bot.commands.dispatcher import Dispatcher
from bot.config import load_settings
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import FeedState, Item
from storage.repositories import feeds as feed_repo
from tests.conftest import Database
from tests.test_cli import Cli, _one_line_error

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STORED_NOW = "2026-11-28 09:00:00.000000"
"""NOW as the SQLite tables store it (naive UTC)."""


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
    # Rows written the way revision 0004 stored them: raw SQL, since today's ORM models carry
    # columns later revisions add.
    async with engine.begin() as conn:
        for n in range(3):
            await conn.exec_driver_sql(
                "INSERT INTO feeds (url, weight, disabled, created_at) VALUES (?, 1.0, 0, ?)",
                (f"https://{n}.example/rss", STORED_NOW),
            )
            feed_id = (await conn.exec_driver_sql("SELECT max(id) FROM feeds")).scalar()
            await conn.exec_driver_sql(
                "INSERT INTO feed_states (feed_id, next_check_at, error_count, backlog_done)"
                " VALUES (?, ?, 0, 0)",
                (feed_id, STORED_NOW),
            )
            await conn.exec_driver_sql(
                "INSERT INTO items (feed_id, content_hash, title, summary, language,"
                " first_seen_at, is_backlog) VALUES (?, ?, ?, '', 'en', ?, 0)",
                (feed_id, f"{n:064d}", f"Story {n}", STORED_NOW),
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


# --------------------------------------------------------------------------- shiftbrief import


async def test_import_of_json_that_is_not_an_export_is_one_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _one_line_error(await cli("import", str(deep)), "deep.json", "nested")
    # Within the JSON decoder's limits, but deeper than any export document.
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"format": "shiftbrief-export", "feeds": _nest(900)}))
    _one_line_error(await cli("import", str(nested)), "nested.json", "nested")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"format": "shiftbrief-export", "note": "café"}'.encode("latin-1"))
    _one_line_error(await cli("import", str(latin1)), "latin1.json", "not UTF-8", "0xe9")


def _nest(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


async def test_import_refuses_feed_urls_that_feeds_add_refuses(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    exported = await cli("export")
    document = json.loads(exported.stdout)
    document["feeds"] = [
        {"url": "https://public.example/rss"},
        {"url": "http://10.0.0.8/feed"},
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "https://user:secret@public.example/private"},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = await cli("import", str(path))
    _one_line_error(result, "feeds[1].url", "feeds[2].url", "feeds[3].url", "private")
    assert "feeds[0]" not in result.stderr
    # Nothing was written: the document is checked whole before the first write.
    assert json.loads((await cli("feeds", "list", "--json")).stdout) == []
    # An intranet block allowed for feeds add is allowed for import too.
    document["feeds"] = document["feeds"][:2]
    path.write_text(json.dumps(document), encoding="utf-8")
    allowed = await cli("import", str(path), SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS='["10.0.0.0/8"]')
    assert allowed.returncode == 0, allowed.stderr
    listed = json.loads((await cli("feeds", "list", "--json")).stdout)
    assert sorted(f["url"] for f in listed) == [
        "http://10.0.0.8/feed",
        "https://public.example/rss",
    ]


# --------------------------------------------------------------------------- database URLs


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql://shiftbrief@db:notaport/shiftbrief", ("port", "not a number")),
        (":notaport", ("sqlite:///path",)),
        ("postgresql://shiftbrief@db:70000/shiftbrief", ("70000", "out of range")),
        ("mysql://shiftbrief@db/shiftbrief", ("'mysql'",)),
    ],
)
async def test_a_malformed_database_url_is_one_line_naming_it(
    tmp_path: Path, url: str, words: tuple[str, ...]
) -> None:
    result = await Cli(tmp_path)("feeds", "list", SHIFTBRIEF_DATABASE_URL=url)
    _one_line_error(result, "SHIFTBRIEF_DATABASE_URL", *words)


async def test_a_plain_sqlite_url_runs_on_the_async_driver(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    added = await cli("feeds", "add", "https://a.example/rss", SHIFTBRIEF_DATABASE_URL=plain)
    assert added.returncode == 0, added.stderr
    listed = await cli("feeds", "list", "--json", SHIFTBRIEF_DATABASE_URL=plain)
    assert [f["url"] for f in json.loads(listed.stdout)] == ["https://a.example/rss"]
    assert (tmp_path / "plain.db").exists()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg2"])
async def test_plain_postgresql_urls_run_on_the_async_driver(
    postgres_db: Database, scheme: str
) -> None:
    url = make_url(postgres_db.url)
    # As a hosting provider writes it, with libpq's sslmode (a Unix socket has no TLS).
    pasted = url.set(drivername=scheme).update_query_dict({"sslmode": "disable"})
    settings = load_settings(database_url=pasted.render_as_string(hide_password=False))
    assert settings.database_url.startswith("postgresql+asyncpg://")
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            await feed_repo.add_feed(session, url=f"https://{scheme}.example/rss", now=NOW)
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT count(*) FROM feeds")).scalar() == 1
    finally:
        await engine.dispose()
