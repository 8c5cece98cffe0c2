"""``shiftbrief run``: one asyncio process that owns the scheduler, ingest, delivery and adapters.

Everything runs under one ``asyncio.TaskGroup``. SIGINT or SIGTERM sets the stop event: the
ingest loop and the delivery worker stop taking new work, deliveries in flight finish (bounded
by ``shutdown_grace``), then the scheduler and the adapters are closed, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import make_url

from adapters.console import ConsoleAdapter
from bot.app import AppContext, open_app, utc_now
from bot.briefing import ItemClassifier
from bot.config import Settings
from bot.deliver import DeliveryService
from bot.dispatcher import Dispatcher
from bot.ingest.fetch import FeedFetcher
from bot.ingest.service import IngestService
from bot.platform import PlatformAdapter
from bot.schedule import DigestScheduler

log = logging.getLogger(__name__)


class Schedules:
    """What the dispatcher may ask of the running scheduler and delivery worker."""

    def __init__(self, *, scheduler: DigestScheduler, deliveries: DeliveryService) -> None:
        self._scheduler = scheduler
        self._deliveries = deliveries

    async def changed(self) -> None:
        await self._scheduler.sync()

    async def send_now(self, subscriber_id: int) -> bool:
        return await self._deliveries.send_now(subscriber_id)


def configured_adapters(settings: Settings, ctx: AppContext) -> list[PlatformAdapter]:
    """Slack and Discord when their tokens are set; the console adapter when neither is."""
    adapters: list[PlatformAdapter] = []
    if settings.slack_bot_token or settings.slack_client_id:
        from adapters.slack import SlackAdapter

        adapters.append(
            SlackAdapter(settings=settings, sessionmaker=ctx.sessionmaker, clock=ctx.clock)
        )
    if settings.discord_token:
        from adapters.discord_bot import DiscordAdapter

        adapters.append(
            DiscordAdapter(settings=settings, sessionmaker=ctx.sessionmaker, clock=ctx.clock)
        )
    if not adapters:
        adapters.append(ConsoleAdapter())
    return adapters


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def ingest_loop(
    ctx: AppContext, stop: asyncio.Event, *, interval: float, after_store: ItemClassifier
) -> None:
    """Fetch the feeds that are due, every ``interval`` seconds, until ``stop``."""
    async with FeedFetcher.from_settings(ctx.settings) as fetcher:
        service = IngestService(
            sessionmaker=ctx.sessionmaker,
            fetcher=fetcher,
            clock=ctx.clock,
            settings=ctx.settings,
            after_store=after_store,
        )
        while not stop.is_set():
            try:
                report = await service.run_pass()
                if report.feeds:
                    log.info(
                        "ingest: %d feeds, %d ok, %d not modified, %d failed, %d new items",
                        report.feeds,
                        report.ok,
                        report.not_modified,
                        report.failed,
                        report.new_items,
                    )
            except Exception:
                log.exception("ingest pass failed; trying again in %s s", interval)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stop.wait()


async def run_bot(
    settings: Settings,
    *,
    adapters: Sequence[PlatformAdapter] | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
    shutdown_grace: float = 30.0,
    install_signal_handlers: bool = True,
) -> None:
    """Run until SIGINT/SIGTERM (or until ``stop`` is set)."""
    stop = stop or asyncio.Event()
    if install_signal_handlers:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    async with open_app(settings, clock=clock) as ctx:
        running = list(adapters) if adapters is not None else configured_adapters(settings, ctx)
        single_process = make_url(settings.database_url).get_backend_name() == "sqlite"
        classifier = ItemClassifier()
        deliveries = DeliveryService(
            sessionmaker=ctx.sessionmaker,
            adapters={a.platform: a for a in running},
            clock=ctx.clock,
            worker_id=worker_name(),
            exclusive=single_process,
        )
        scheduler = DigestScheduler(
            sessionmaker=ctx.sessionmaker,
            sink=deliveries,
            clock=ctx.clock,
            grace=timedelta(seconds=settings.digest_grace_seconds),
            jobstore_url=settings.database_url,
        )
        dispatcher = Dispatcher(
            sessionmaker=ctx.sessionmaker,
            clock=ctx.clock,
            classifier=classifier,
            schedules=Schedules(scheduler=scheduler, deliveries=deliveries),
        )
        await scheduler.start()
        log.info("shiftbrief running with %s", ", ".join(a.platform for a in running))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(deliveries.run(stop), name="delivery")
                group.create_task(
                    ingest_loop(
                        ctx,
                        stop,
                        interval=settings.ingest_interval_seconds,
                        after_store=classifier,
                    ),
                    name="ingest",
                )
                adapter_tasks = [
                    group.create_task(adapter.start(dispatcher), name=f"adapter-{adapter.platform}")
                    for adapter in running
                ]
                await stop.wait()
                log.info("stopping: finishing deliveries in flight")
                async with asyncio.timeout(shutdown_grace):
                    await deliveries.drain()
                for task in adapter_tasks:
                    if not task.done():
                        task.cancel()
        finally:
            await scheduler.shutdown()
            for adapter in running:
                with contextlib.suppress(Exception):
                    await adapter.close()
        log.info("stopped")
