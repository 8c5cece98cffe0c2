"""Settings in, a migrated database and the ingest service out, for the composition root.

The composition root is ``shiftbrief.runner`` (the running bot) and ``shiftbrief.cli`` (one-off
commands); both open the database here so they open it the same way. Importing this module is
cheap: the ingest service (aiohttp, the parsers) loads only when one is opened, so a command
that only reads the database starts without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from storage.db import make_engine, make_sessionmaker, upgrade

if TYPE_CHECKING:
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
    engine = make_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(engine)
        yield AppContext(
            settings=settings, engine=engine, sessionmaker=make_sessionmaker(engine), clock=clock
        )
    finally:
        await engine.dispose()


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
