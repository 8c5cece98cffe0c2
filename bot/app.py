"""Settings in, a migrated database and the ingest service out, for the composition root.

The composition root is ``shiftbrief.runner`` (the running bot) and ``shiftbrief.cli`` (one-off
commands); both open the database here so they open it the same way. Importing this module is
cheap: SQLAlchemy loads when a database is opened and the ingest service (aiohttp, the parsers)
when one is opened, so a command that does neither starts without them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config_plain import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from bot.briefing import embed
    from bot.config import Settings
    from bot.ingest.service import IngestService
    from bot.ingest.store import AfterStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]


@asynccontextmanager
async def open_app(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, migrate: bool = True
) -> AsyncIterator[AppContext]:
    """Open the database (applying migrations at start) and dispose of it on the way out."""
    from storage.db import make_engine, make_sessionmaker, upgrade

    server = embed_server(settings)
    if server is not None or "bot.briefing.embed" in sys.modules:
        # Not loaded yet, the packaged model is the default anyway: a command that never
        # embeds does not import numpy for it.
        from bot.briefing import embed

        embed.configure(server)
    engine = make_engine(settings.database_url)
    try:
        await _reach(engine)
        if migrate:
            await upgrade(engine)
        yield AppContext(
            settings=settings, engine=engine, sessionmaker=make_sessionmaker(engine), clock=clock
        )
    finally:
        await engine.dispose()


def embed_server(settings: Settings) -> embed.EmbedServer | None:
    """The embedding server the settings name, or None for the packaged model."""
    if not (settings.embed_base_url and settings.embed_model):
        return None
    from bot.briefing import embed

    key = settings.embed_api_key.get_secret_value() if settings.embed_api_key else None
    return embed.EmbedServer(
        base_url=settings.embed_base_url,
        model=settings.embed_model,
        api_key=key,
        batch=settings.embed_batch,
        timeout=settings.embed_timeout,
    )


class DatabaseUnreachable(ConfigError):
    """The database at ``SHIFTBRIEF_DATABASE_URL`` cannot be reached; the message says why."""


async def _reach(engine: AsyncEngine) -> None:
    """Connect once, so an unreachable server is reported with the setting that names it.

    Raises:
        DatabaseUnreachable: refused, unknown host, timed out, or the server said no.
    """
    from sqlalchemy.exc import DBAPIError

    try:
        async with engine.connect():
            pass
    except (OSError, DBAPIError) as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnreachable(
            f"cannot reach the database {where} ({reason}); check SHIFTBRIEF_DATABASE_URL"
        ) from None


@asynccontextmanager
async def open_ingest(ctx: AppContext, *, after_store: AfterStore) -> AsyncIterator[IngestService]:
    """The ingest service with its fetcher and parse processes, closed on the way out; the
    CLI's one-off ``ingest`` and the running bot's loop both use this one."""
    from bot.ingest.fetch import FeedFetcher
    from bot.ingest.service import IngestService

    async with FeedFetcher.from_settings(ctx.settings) as fetcher:
        service = IngestService(
            sessionmaker=ctx.sessionmaker,
            fetcher=fetcher,
            clock=ctx.clock,
            settings=ctx.settings,
            after_store=after_store,
            parse_processes=ctx.settings.parse_processes,
        )
        try:
            yield service
        finally:
            await asyncio.to_thread(service.close)
