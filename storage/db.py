"""Engine, sessions and migrations.

Alembic is imported only when a migration is due: every start first compares the revision the
database records with the heads of ``migrations/versions`` (``storage.revisions`` reads them from
the files' ``revision`` lines, without importing them), which costs one query instead of loading
Alembic and every migration script.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.postgres_url import asyncpg_connect
from storage.revisions import script_heads as script_heads

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; for SQLite, create the file's folder and turn on WAL and FKs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
    elif parsed.drivername == "postgresql+asyncpg":
        # libpq's URL parameters mean what libpq says (storage/postgres_url.py); asyncpg gets
        # them through a connection of its own making rather than as unknown keywords.
        how = asyncpg_connect(parsed)
        # Tells sessions apart in pg_stat_activity (which process holds the scheduler lock),
        # unless the URL names the application itself.
        settings = {"application_name": f"shiftbrief:{socket.gethostname()}:{os.getpid()}"}
        settings.update(how.server_settings)

        async def connect() -> Any:
            import asyncpg

            return await asyncpg.connect(
                how.dsn, timeout=how.timeout or 60.0, server_settings=settings
            )

        kwargs.setdefault("async_creator", connect)
        parsed = parsed.set(query={})
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep their objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


MIGRATION_LOCK_KEY = 0x5B_5C_ED_02
"""Advisory lock that serialises migrations when several processes start at once."""


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` on ``engine``'s database.

    On PostgreSQL, processes starting together take turns (a transaction-level advisory lock),
    so the second one finds the schema up to date instead of racing the first. A database
    already at the heads is left alone without loading Alembic.
    """
    if revision == "head" and await _at_heads(engine):
        return
    if engine.dialect.name == "sqlite":
        await _upgrade_sqlite(engine, revision)
        return
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await conn.run_sync(_upgrade, revision)


async def _upgrade_sqlite(engine: AsyncEngine, revision: str) -> None:
    """Migrate SQLite in one transaction, with foreign keys off, as SQLite's own recipe for
    rebuilding a table asks.

    Python's sqlite3 module opens a transaction only before INSERT, UPDATE and DELETE, so each
    CREATE TABLE of a migration would commit on its own: a process killed half-way left tables
    without a recorded revision, and every later start failed with "table feeds already
    exists". SQLite's DDL is transactional, so this connection issues its own ``BEGIN
    IMMEDIATE`` (the driver's implicit transactions off, SQLAlchemy's AUTOCOMMIT level) and
    the whole chain commits at once or not at all.

    A batch migration rebuilds a table by copying it and dropping the original; with foreign
    keys on, that drop would cascade into every child row (dropping ``feeds`` would delete all
    items). The pragma only takes effect outside a transaction, hence before ``BEGIN``; the
    result is checked with ``foreign_key_check`` before the migration commits.
    """
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()
        own = await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            await own.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                await own.run_sync(_upgrade, revision)
                broken = (await own.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
            except BaseException:
                await own.exec_driver_sql("ROLLBACK")
                raise
            await own.exec_driver_sql("COMMIT")
        finally:
            await own.exec_driver_sql("PRAGMA foreign_keys=ON")
            await own.commit()


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def _at_heads(engine: AsyncEngine) -> bool:
    """Whether the database records exactly the scripts' heads (one query, no Alembic)."""
    heads = script_heads()
    if heads is None:
        return False
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = frozenset(row[0] for row in rows)
    except DBAPIError:  # no alembic_version table: a new database
        return False
    return current == heads
