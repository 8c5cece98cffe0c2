"""The HTTP port of ``shiftbrief run``: health, readiness, metrics, and Slack's HTTP mode.

``/healthz`` answers while the process is up. ``/readyz`` answers 200 only when the database
answers, every adapter is connected and the scheduler runs here or another process runs it
(standby); otherwise 503 with which check failed. ``/metrics`` is Prometheus' text format.
Adapters that serve HTTP themselves (Slack in HTTP mode) mount their routes on the same app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.platform import PlatformAdapter

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


def database_answers(engine: AsyncEngine, *, within: float = 2.0) -> ReadinessCheck:
    async def check() -> bool:
        return await _database_answers(engine, within)

    return check


async def _database_answers(engine: AsyncEngine, within: float) -> bool:
    try:
        async with asyncio.timeout(within), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: the database does not answer", exc_info=True)
        return False


def adapters_connected(adapters: Sequence[PlatformAdapter]) -> ReadinessCheck:
    async def check() -> bool:
        return all(bool(getattr(adapter, "ready", True)) for adapter in adapters)

    return check


class HttpServer:
    """The aiohttp server on ``host:port`` (port 0: any free port, see ``port``)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        metrics: Metrics,
        checks: Mapping[str, ReadinessCheck],
    ) -> None:
        self._host = host
        self._port = port
        self._metrics = metrics
        self._checks = dict(checks)
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics_page)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("HTTP on %s:%s (/healthz, /readyz, /metrics)", self._host, self.port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        results = {name: await check() for name, check in self._checks.items()}
        ready = all(results.values())
        return web.json_response({"ready": ready, "checks": results}, status=200 if ready else 503)

    async def _metrics_page(self, _request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
