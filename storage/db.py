"""Engine, sessions and migrations.

Alembic is imported only when a migration is due: every start first compares the revision the
database records with the heads of ``migrations/versions`` (read from the files' ``revision``
lines, without importing them), which costs one query instead of loading Alembic and every
migration script.
"""

from __future__ import annotations

import os
import re
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
        # Tells sessions apart in pg_stat_activity (which process holds the scheduler lock).
        connect_args: dict[str, Any] = {
            "server_settings": {
                "application_name": f"shiftbrief:{socket.gethostname()}:{os.getpid()}"
            }
        }
        if "sslmode" in parsed.query:
            # Hosting providers' URLs carry libpq's sslmode (which the sync job store's
            # psycopg reads); asyncpg names it ssl and refuses sslmode.
            connect_args["ssl"] = parsed.query["sslmode"]
            parsed = parsed.difference_update_query(["sslmode"])
        kwargs.setdefault("connect_args", connect_args)
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
    """Migrate SQLite with foreign keys off, as SQLite's own recipe for rebuilding a table asks.

    A batch migration rebuilds a table by copying it and dropping the original; with foreign
    keys on, that drop would cascade into every child row (dropping ``feeds`` would delete all
    items). The pragma only takes effect outside a transaction, hence before ``begin``; the
    result is checked with ``foreign_key_check`` before the migration commits.
    """
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()
        try:
            async with conn.begin():
                await conn.run_sync(_upgrade, revision)
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


_REVISION = re.compile(r"""^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


def script_heads(versions: Path = MIGRATIONS_DIR / "versions") -> frozenset[str] | None:
    """The head revisions of the migration scripts, read from their ``revision`` and
    ``down_revision`` lines; None when a script does not read plainly (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        source = script.read_text("utf-8")
        found = _REVISION.findall(source)
        down = _DOWN_REVISION.findall(source)
        if len(found) != 1 or len(down) != 1:
            return None
        revisions.add(found[0])
        parents.update(_QUOTED.findall(down[0]))
    heads = frozenset(revisions - parents)
    return heads or None


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
