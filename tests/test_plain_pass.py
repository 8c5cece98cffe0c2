"""The pass over a migrated SQLite file without SQLAlchemy writes what the usual pass writes.

Real parts throughout: a migrated SQLite file, feeds served on loopback, and for the last tests
real ``shiftbrief ingest`` processes whose loaded modules are read on exit. Every outcome a check
can have is served: a 304, the body read last time (no validators), a Cache-Control max-age, a
server error, a 429 with Retry-After, and a feed whose body changed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.ingest.feed_state import Fetched
from bot.ingest.fetch import FeedFetcher
from bot.ingest.plain_pass import OnProgress, plain_pass
from bot.ingest.report import IngestReport
from bot.ingest.service import IngestService
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.plain_sqlite import migrated_sqlite
from storage.repositories import feeds as feed_repo
from tests.cli_probe import PROBE
from tests.feedserver import Entry, FeedServer, make_rss

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ENTRIES = [Entry(f"Grid battery story {i}", "Storage news.", guid=f"g{i}") for i in range(3)]
BODY = make_rss(ENTRIES)
CHANGED = make_rss([Entry("Sodium-ion battery plant opens", "New.", guid="g9"), *ENTRIES])
UNUSED_BY_A_PLAIN_PASS = ("sqlalchemy", "aiosqlite", "pydantic_settings", "feedparser", "alembic")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _settings(db: Path) -> Settings:
    return Settings(
        database_url=_url(db), allowed_private_networks=("127.0.0.1/32",), per_host_concurrency=16
    )


def serve_first_pass(server: FeedServer) -> None:
    server.set("/304.xml", body=BODY, conditional=True)
    server.set("/same.xml", body=BODY)
    server.set("/aged.xml", body=BODY, conditional=True, headers={"Cache-Control": "max-age=7200"})
    server.set("/broken.xml", body=BODY, conditional=True)
    server.set("/busy.xml", body=BODY, conditional=True)


def serve_second_pass(server: FeedServer, *, changed: bool) -> None:
    server.set("/broken.xml", body=b"oops", status=500)
    server.set("/busy.xml", body=b"", status=429, headers={"Retry-After": "3600"})
    if changed:
        server.set("/changed.xml", body=CHANGED, conditional=True)


@asynccontextmanager
async def _service(db: Path, clock: Clock) -> AsyncIterator[IngestService]:
    """The usual machinery on ``db``, parsing in this process."""
    engine = make_engine(_url(db))
    settings = _settings(db)
    try:
        async with FeedFetcher.from_settings(settings, clock=clock) as fetcher:
            yield IngestService(
                sessionmaker=make_sessionmaker(engine),
                fetcher=fetcher,
                clock=clock,
                settings=settings,
                parse_processes=0,
            )
    finally:
        await engine.dispose()


async def _full_pass(db: Path, clock: Clock) -> IngestReport:
    async with _service(db, clock) as service:
        return await service.run_pass(all_feeds=True)


async def _plain_pass(db: Path, clock: Clock) -> IngestReport | None:
    """The plain pass as the CLI runs it, with the test's clock; changed bodies go to the
    service of a second engine, as ``shiftbrief.cli.base`` hands them over."""

    async def changed(fetched: AsyncIterator[Fetched], feeds: int, progress: OnProgress) -> object:
        async with _service(db, clock) as service:
            return await service.store_fetched(fetched, feeds=feeds, on_progress=progress)

    settings = _settings(db)
    with migrated_sqlite(_url(db)) as conn:
        assert conn is not None
        async with FeedFetcher.from_settings(settings, clock=clock) as fetcher:
            return await plain_pass(
                conn,
                fetcher=fetcher,
                settings=settings,
                clock=clock,
                changed=changed,
                all_feeds=True,
            )


def _rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        order = "feed_id" if table == "feed_states" else "id"
        return conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def _copy(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


async def _database(tmp_path: Path, server: FeedServer, paths: list[str], clock: Clock) -> Path:
    db = tmp_path / "shiftbrief.db"
    engine = make_engine(_url(db))
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as session:
            for path in paths:
                await feed_repo.add_feed(session, url=server.url(path), now=clock())
    finally:
        await engine.dispose()
    return db


async def test_a_plain_pass_writes_the_rows_the_full_path_writes(tmp_path: Path) -> None:
    """Feed states (last checked, next due, error counts, validators, errors) and items are
    equal column for column after the same second pass, whichever path ran it; the changed
    feed is fetched once and its new entry stored as the full path stores it."""
    clock = Clock(START)
    async with FeedServer() as server:
        serve_first_pass(server)
        server.set("/changed.xml", body=BODY, conditional=True)
        paths = ["/304.xml", "/same.xml", "/aged.xml", "/broken.xml", "/busy.xml", "/changed.xml"]
        full = await _database(tmp_path, server, paths, clock)
        assert (await _full_pass(full, clock)).ok == len(paths)
        plain = tmp_path / "plain.db"
        _copy(full, plain)

        serve_second_pass(server, changed=True)
        clock.now = START + timedelta(hours=1)
        expected = await _full_pass(full, clock)
        before = server.count("/changed.xml")
        report = await _plain_pass(plain, clock)
        assert server.count("/changed.xml") == before + 1  # never fetched twice

    assert report is not None
    assert report.to_json() == expected.to_json()
    assert (report.ok, report.not_modified, report.failed, report.deferred) == (1, 3, 1, 1)
    assert report.new_items == 1
    assert _rows(plain, "feed_states") == _rows(full, "feed_states")
    assert _rows(plain, "items") == _rows(full, "items")
    broken = _states(plain)[3]
    assert broken["error_count"] == 1 and broken["last_error"] == "HTTP 500 Internal Server Error"


async def test_a_pass_with_a_feed_never_fetched_is_left_to_the_full_path(tmp_path: Path) -> None:
    clock = Clock(START)
    async with FeedServer() as server:
        serve_first_pass(server)
        db = await _database(tmp_path, server, ["/304.xml"], clock)
        assert await _plain_pass(db, clock) is None
        assert server.count("/304.xml") == 0
    # Nothing was claimed: the feed is still due now.
    assert _states(db)[0]["next_check_at"] == "2026-03-02 09:00:00.000000"


def _env(db: Path, **extra: str) -> dict[str, str]:
    import os

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_"))
    }
    env.update(
        SHIFTBRIEF_DATABASE_URL=f"sqlite:///{db}",
        SHIFTBRIEF_CONFIG_FILE=str(db.parent / "none.toml"),
        SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS='["127.0.0.1/32"]',
        SHIFTBRIEF_PER_HOST_CONCURRENCY="16",
    )
    env.update(extra)
    return env


def _start(db: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        cwd=db.parent,
        env=_env(db, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _shiftbrief(db: Path, *args: str, **extra: str) -> tuple[int, str, str, set[str]]:
    """Run ``shiftbrief ARGS``: exit code, output, error output, the top-level modules loaded."""
    proc = _start(db, *args, **extra)
    out, err = await asyncio.to_thread(proc.communicate, timeout=120)
    line = next(x for x in err.splitlines() if x.startswith("MODULES "))
    errors = "\n".join(x for x in err.splitlines() if not x.startswith("MODULES "))
    return proc.returncode, out, errors, set(json.loads(line.removeprefix("MODULES ")))


def _states(db: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM feed_states ORDER BY feed_id")]


def _comparable(db: Path) -> list[dict[str, Any]]:
    """State rows with the moments of the check replaced by the interval to the next one,
    for passes run a few seconds apart."""
    found = []
    for row in _states(db):
        checked, next_check = row.pop("last_checked_at"), row.pop("next_check_at")
        row.pop("last_success_at")
        row["interval"] = datetime.fromisoformat(next_check) - datetime.fromisoformat(checked)
        found.append(row)
    return found


async def test_shiftbrief_ingest_checks_unchanged_feeds_without_sqlalchemy_or_pydantic_settings(
    tmp_path: Path,
) -> None:
    """Real processes: the plain pass loads neither library, and leaves the rows a pass on the
    usual path leaves (there: a valid value in a spelling only pydantic reads, ``2e1``)."""
    async with FeedServer() as server:
        serve_first_pass(server)
        paths = ["/304.xml", "/same.xml", "/aged.xml", "/broken.xml", "/busy.xml"]
        db = await _database(tmp_path, server, paths, Clock(datetime.now(UTC)))
        code, out, err, modules = await _shiftbrief(db, "ingest", "--all", "--json")
        assert code == 0, err
        assert json.loads(out)["ok"] == len(paths)
        assert "sqlalchemy" in modules  # a first fetch stores items: the usual path
        usual = tmp_path / "usual" / "shiftbrief.db"
        usual.parent.mkdir()
        _copy(db, usual)

        serve_second_pass(server, changed=False)
        code, out, err, modules = await _shiftbrief(db, "ingest", "--all", "--json")
        assert code == 0, err
        assert modules.isdisjoint(UNUSED_BY_A_PLAIN_PASS), modules & set(UNUSED_BY_A_PLAIN_PASS)
        code, usual_out, err, usual_modules = await _shiftbrief(
            usual, "ingest", "--all", "--json", SHIFTBRIEF_FETCH_TIMEOUT="2e1"
        )
        assert code == 0, err
        assert "sqlalchemy" in usual_modules

    report, usual_report = json.loads(out), json.loads(usual_out)
    counts = ("feeds", "ok", "not_modified", "failed", "deferred", "new_items")
    assert [report[k] for k in counts] == [usual_report[k] for k in counts] == [5, 0, 3, 1, 1, 0]
    assert [r["error"] for r in report["results"]] == [r["error"] for r in usual_report["results"]]
    assert _comparable(db) == _comparable(usual)
    intervals = [row["interval"] for row in _comparable(db)]
    # 304 and same body: as often as before (the shortest interval); max-age 2 h; back-off
    # after the first error; the server's Retry-After.
    assert intervals == [timedelta(minutes=15)] * 2 + [
        timedelta(hours=2),
        timedelta(minutes=15),
        timedelta(hours=1),
    ]


async def test_shiftbrief_ingest_stores_a_changed_feed_through_the_usual_machinery(
    tmp_path: Path,
) -> None:
    async with FeedServer() as server:
        serve_first_pass(server)
        server.set("/changed.xml", body=BODY, conditional=True)
        db = await _database(
            tmp_path, server, ["/304.xml", "/changed.xml"], Clock(datetime.now(UTC))
        )
        code, out, err, _modules = await _shiftbrief(db, "ingest", "--all", "--json")
        assert code == 0, err
        serve_second_pass(server, changed=True)
        before = server.count("/changed.xml")
        code, out, err, modules = await _shiftbrief(db, "ingest", "--all", "--json")
        assert code == 0, err
        assert server.count("/changed.xml") == before + 1
    report = json.loads(out)
    assert (report["ok"], report["not_modified"], report["new_items"]) == (1, 1, 1)
    assert "sqlalchemy" in modules
    titles = [row[0] for row in _query(db, "SELECT title FROM items ORDER BY id")]
    assert titles[-1] == "Sodium-ion battery plant opens" and len(titles) == 7
    # Classified as the usual path classifies new items.
    assert _query(db, "SELECT count(*) FROM item_sectors WHERE item_id = 7")[0][0] >= 1


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


async def test_two_processes_at_once_check_each_due_feed_once(tmp_path: Path) -> None:
    async with FeedServer() as server:
        paths = [f"/{i}.xml" for i in range(12)]
        for path in paths:
            server.set(path, body=BODY, conditional=True, delay=0.05)
        db = await _database(tmp_path, server, paths, Clock(datetime.now(UTC)))
        code, _out, err, _modules = await _shiftbrief(db, "ingest", "--all", "--json")
        assert code == 0, err
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("UPDATE feed_states SET next_check_at = '2026-01-01 00:00:00.000000'")
        first = {path: server.count(path) for path in paths}
        procs = [_start(db, "ingest", "--json") for _ in range(2)]
        outputs = [await asyncio.to_thread(p.communicate, timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        assert {path: server.count(path) - first[path] for path in paths} == dict.fromkeys(paths, 1)
    reports = [json.loads(out) for out, _err in outputs]
    assert sum(r["not_modified"] for r in reports) == len(paths)
    for _out, err in outputs:
        assert '"sqlalchemy"' not in err.splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "value"),
    [("SHIFTBRIEF_INGEST_CONCURRENCY", "0"), ("SHIFTBRIEF_DATABASE_URL", "mysql://x")],
)
async def test_a_bad_setting_gets_the_message_it_always_got(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    db = tmp_path / "shiftbrief.db"
    code, out, err, _modules = await _shiftbrief(db, "ingest", "--json", **{name: value})
    for key, setting in _env(db, **{name: value}).items():
        monkeypatch.setenv(key, setting)
    with pytest.raises(ConfigError) as expected:
        load_settings()
    assert code == 1 and not out
    assert err == f"error: {expected.value}"
    assert name in err


async def test_a_database_a_migration_is_due_for_takes_the_usual_path(tmp_path: Path) -> None:
    db = tmp_path / "shiftbrief.db"
    engine = make_engine(_url(db))
    try:
        await upgrade(engine, "0010_tenants")  # as an older ShiftBrief left it
    finally:
        await engine.dispose()
    code, out, err, modules = await _shiftbrief(db, "ingest", "--json")
    assert code == 0, err
    assert json.loads(out)["feeds"] == 0
    assert "alembic" in modules  # migrated first, as every command does
