"""Shared fixtures: real databases (a SQLite file, and a PostgreSQL server the tests start)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import make_engine, make_sessionmaker, upgrade
from tests.pgserver import PostgresCluster, start_cluster

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = Path(os.environ.get("SHIFTBRIEF_CORPUS", SHARED / "corpus"))
TEMPLATE_DB = "shiftbrief_template"
_db_numbers = itertools.count()


@dataclass
class Database:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name


def pytest_configure(config: pytest.Config) -> None:
    """A run stopped with SIGTERM (a CI timeout, ``kill``) tears down as one stopped with
    Ctrl-C does: fixtures stop their servers and subprocesses instead of leaving them running."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file in a temporary folder."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shiftbrief.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    yield Database(url, engine, make_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session, with a migrated template database.

    Set SHIFTBRIEF_SKIP_POSTGRES=1 to skip these tests on a machine without the server; CI
    installs it (``.ci/run``) and must not skip.
    """
    if os.environ.get("SHIFTBRIEF_SKIP_POSTGRES") == "1":
        pytest.skip("SHIFTBRIEF_SKIP_POSTGRES=1")
    cluster = start_cluster()
    if cluster is None:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL server binaries; .ci/run should have installed them")
        pytest.skip("no PostgreSQL server installed (apt-get install postgresql)")
    try:
        cluster.psql(f"CREATE DATABASE {TEMPLATE_DB}")

        async def migrate() -> None:
            engine = make_engine(cluster.url(TEMPLATE_DB))
            await upgrade(engine)
            await engine.dispose()

        # The session fixture may be set up from inside a running test loop: migrate in a thread.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, migrate()).result()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def postgres_db(postgres: PostgresCluster) -> AsyncIterator[Database]:
    """A fresh, migrated PostgreSQL database (a copy of the template) for one test."""
    name = f"t_{os.getpid()}_{next(_db_numbers)}"
    await asyncio.to_thread(postgres.psql, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    url = postgres.url(name)
    engine = make_engine(url)
    yield Database(url, engine, make_sessionmaker(engine))
    await engine.dispose()
    await asyncio.to_thread(postgres.psql, f"DROP DATABASE {name}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    """The same test on a SQLite file and on a PostgreSQL server."""
    fixture = "sqlite_db" if request.param == "sqlite" else "postgres_db"
    database: Database = request.getfixturevalue(fixture)
    return database


def require_corpus() -> Path:
    """The shared real-world corpus, or a skip with the reason when it is absent.

    Under ``CI`` a missing corpus fails instead: a run that skipped every corpus test would look
    green while checking none of the real feeds, as with a missing PostgreSQL server.
    """
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared corpus not found at {CORPUS}; CI must provide it")
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture
def corpus() -> Path:
    """The shared real-world corpus (see ``require_corpus``)."""
    return require_corpus()
