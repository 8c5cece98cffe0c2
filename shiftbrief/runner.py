"""``shiftbrief run``: one asyncio process that owns the scheduler, ingest, delivery and adapters.

This is the composition root of the running bot: ``run_bot`` builds the editor, the delivery
service, the scheduler leadership, the dispatcher and the configured adapters
(``adapters.registry``) from the settings, and nothing below it builds any of them.

Everything runs under one ``asyncio.TaskGroup``. SIGINT or SIGTERM sets the stop event: the
ingest loop and the delivery worker stop taking new work, deliveries in flight finish (bounded
by ``shutdown_grace``), then the scheduler, the adapters and the HTTP port are closed.

Several processes may run against one PostgreSQL database: one of them runs the scheduler (see
``bot.delivery.leader``), and all of them ingest and deliver, claiming rows so nothing is done
twice.
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

from adapters import registry
from bot.app import AppContext, open_app, open_ingest, utc_now
from bot.ask.answer import make_answer_writer
from bot.ask.service import Asker
from bot.briefing.edition import ItemClassifier
from bot.briefing.editor.factory import close_editor, make_editor, make_text_reader
from bot.briefing.embed_worker import EmbeddingWorker
from bot.briefing.sector_vectors import SectorVectors, vector_classifier
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.delivery.deliver import DeliveryService
from bot.delivery.leader import SchedulerLeadership
from bot.delivery.schedule import DigestScheduler
from bot.ingest.netguard import AddressPolicy
from bot.ingest.service import IngestService
from bot.metrics import Metrics
from bot.platform import ChannelAccess, PlatformAdapter
from bot.retention import run_retention
from shiftbrief.http import HttpServer, adapters_connected, database_answers

log = logging.getLogger(__name__)


class Schedules:
    """What the dispatcher may ask of the running scheduler and delivery worker."""

    def __init__(
        self,
        *,
        deliveries: DeliveryService,
        scheduler: DigestScheduler | None = None,
        leadership: SchedulerLeadership | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._scheduler = scheduler
        self._leadership = leadership

    async def changed(self) -> None:
        scheduler = self._scheduler or (self._leadership and self._leadership.scheduler)
        # On a standby process there is nothing to do here: the leader re-syncs periodically.
        if scheduler:
            await scheduler.sync()

    async def send_now(self, subscriber_id: int) -> bool:
        return await self._deliveries.send_now(subscriber_id)


def configured_adapters(settings: Settings, ctx: AppContext) -> list[PlatformAdapter]:
    """Every configured platform's adapter (``adapters.registry``); the console when none."""
    return registry.configured_adapters(settings, sessionmaker=ctx.sessionmaker, clock=ctx.clock)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def ingest_loop(
    ctx: AppContext,
    stop: asyncio.Event,
    *,
    interval: float,
    after_store: ItemClassifier,
    metrics: Metrics,
    on_new_items: Callable[[], None] | None = None,
) -> None:
    """Fetch the feeds that are due, every ``interval`` seconds, until ``stop``.

    ``on_new_items`` is called after a pass that stored items (it wakes the embedding worker).
    """
    async with open_ingest(ctx, after_store=after_store) as service:
        await _ingest_until(
            service, stop, interval=interval, metrics=metrics, on_new_items=on_new_items
        )


async def _ingest_until(
    service: IngestService,
    stop: asyncio.Event,
    *,
    interval: float,
    metrics: Metrics,
    on_new_items: Callable[[], None] | None = None,
) -> None:
    while not stop.is_set():
        try:
            report = await service.run_pass()
            for result in report.results:
                metrics.feeds_fetched.labels(result.status).inc()
            metrics.items_ingested.inc(report.new_items)
            if report.new_items and on_new_items is not None:
                on_new_items()
        except Exception:
            log.exception("ingest pass failed; trying again in %s s", interval)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await stop.wait()


async def retention_loop(
    ctx: AppContext,
    stop: asyncio.Event,
    *,
    leadership: SchedulerLeadership,
    every: timedelta = timedelta(hours=6),
) -> None:
    """Delete old items and ledger rows now and then; only the scheduler's process does it."""
    while not stop.is_set():
        if leadership.is_leader:
            try:
                report = await run_retention(
                    ctx.sessionmaker,
                    now=ctx.clock(),
                    items_days=ctx.settings.retention_items_days,
                    deliveries_days=ctx.settings.retention_deliveries_days,
                )
                if report.items_deleted or report.deliveries_deleted:
                    log.info(
                        "retention: deleted %d items and %d delivery records",
                        report.items_deleted,
                        report.deliveries_deleted,
                    )
            except Exception:
                log.exception("retention pass failed; trying again later")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every.total_seconds() if leadership.is_leader else 60):
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
    metrics = Metrics()
    async with open_app(settings, clock=clock) as ctx:
        running = list(adapters) if adapters is not None else configured_adapters(settings, ctx)
        single_process = make_url(settings.database_url).get_backend_name() == "sqlite"
        # Keyword rules at ingest; the embedding steps (rescue of items in other languages,
        # veto of weak matches) once the worker has made an item's vector.
        sector_vectors = SectorVectors()
        classifier = vector_classifier(sector_vectors)
        # The model clients (editor, reader, answers) are closed at the end, on this loop.
        editor = make_editor(
            settings, sessionmaker=ctx.sessionmaker, clock=ctx.clock, metrics=metrics
        )
        reader = make_text_reader(settings, sessionmaker=ctx.sessionmaker, clock=ctx.clock)
        answer_writer = make_answer_writer(settings)
        # Vectors for story clustering, made after ingest; only the scheduler's leader embeds.
        embedder = EmbeddingWorker(
            sessionmaker=ctx.sessionmaker,
            clock=ctx.clock,
            after_embed=sector_vectors.after_embed(classifier, clock=ctx.clock),
        )
        deliveries = DeliveryService(
            sessionmaker=ctx.sessionmaker,
            adapters={a.platform: a for a in running},
            clock=ctx.clock,
            worker_id=worker_name(),
            exclusive=single_process,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            metrics=metrics,
            editor=editor,
            # Digests go out with what the model has written; the rest comes with the next.
            reader=reader,
            write_ahead=timedelta(seconds=settings.llm_budget_seconds + 60),
        )
        leadership = SchedulerLeadership(
            engine=ctx.engine,
            make_scheduler=lambda: DigestScheduler(
                sessionmaker=ctx.sessionmaker,
                sink=deliveries,
                clock=ctx.clock,
                grace=timedelta(seconds=settings.digest_grace_seconds),
                jobstore_url=settings.database_url,
            ),
            interval=settings.scheduler_takeover_seconds,
            metrics=metrics,
        )
        asker = Asker(writer=answer_writer)
        dispatcher = Dispatcher(
            sessionmaker=ctx.sessionmaker,
            clock=ctx.clock,
            classifier=classifier,
            schedules=Schedules(deliveries=deliveries, leadership=leadership),
            metrics=metrics,
            address_policy=AddressPolicy.from_settings(settings),
            editor=editor,
            asker=asker,
            max_feeds_per_tenant=settings.max_feeds_per_tenant or None,
            channels={a.platform: a for a in running if isinstance(a, ChannelAccess)},
        )

        async def scheduler_ok() -> bool:
            # Standby processes are ready too: the scheduler runs in the elected process.
            return leadership.is_leader or not single_process

        http = HttpServer(
            host=settings.http_host,
            port=settings.http_port,
            request_timeout=settings.http_request_timeout,
            max_connections=settings.http_max_connections,
            metrics=metrics,
            checks={
                "database": database_answers(ctx.engine),
                "adapters": adapters_connected(running),
                "scheduler": scheduler_ok,
            },
        )
        for adapter in running:
            mount = getattr(adapter, "mount", None)
            if mount is not None:
                mount(http.app)
        await http.start()
        log.info("shiftbrief running with %s", ", ".join(a.platform for a in running))
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(leadership.run(stop), name="scheduler")
                group.create_task(deliveries.run(stop), name="delivery")
                group.create_task(
                    ingest_loop(
                        ctx,
                        stop,
                        interval=settings.ingest_interval_seconds,
                        after_store=classifier,
                        metrics=metrics,
                        on_new_items=embedder.wake,
                    ),
                    name="ingest",
                )
                group.create_task(
                    embedder.run(stop, active=lambda: leadership.is_leader), name="embed"
                )
                group.create_task(
                    retention_loop(ctx, stop, leadership=leadership), name="retention"
                )
                # Load the model and the stored vectors now, not on the first /brief ask.
                group.create_task(asker.warm(ctx.sessionmaker), name="ask-warm")
                group.create_task(
                    deliveries.editions.write_ahead(stop, active=lambda: leadership.is_leader),
                    name="write-ahead",
                )
                adapter_tasks = [
                    group.create_task(adapter.start(dispatcher), name=f"adapter-{adapter.platform}")
                    for adapter in running
                ]
                await stop.wait()
                log.info("stopping: finishing deliveries in flight")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(shutdown_grace):
                        await deliveries.drain()
                for task in adapter_tasks:
                    if not task.done():
                        task.cancel()
        finally:
            for adapter in running:
                with contextlib.suppress(Exception):
                    await adapter.close()
            await http.close()
            await close_editor(editor)
            await close_editor(reader)
            if answer_writer is not None:
                await answer_writer.aclose()
        log.info("stopped")
