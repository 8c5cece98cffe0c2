"""The HTTP port of ``shiftbrief run``: health, readiness, metrics, and Slack's HTTP mode.

``/healthz`` answers while the process is up. ``/readyz`` answers 200 only when the database
answers, every adapter is connected and the scheduler runs here or another process runs it
(standby); otherwise 503 with which check failed. ``/metrics`` is Prometheus' text format.
Adapters that serve HTTP themselves (Slack in HTTP mode) mount their routes on the same app.

The port faces the internet in Slack's HTTP mode, so a client gets ``request_timeout`` seconds
to send a request's headers (aiohttp's own keep-alive timer, which also closes idle
connections) and as long for its body (408 after that), and at most ``max_connections`` are
open at once: one past that closes the connection idle longest (no request in progress), so a
flood of half-sent requests cannot starve ``/healthz`` or run the process out of files.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware
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


class _ConnectionLimit:
    """aiohttp's protocol factory, admitting at most ``limit`` connections: a new one past it
    closes the oldest connection with no request in progress (or, when every one is busy, the
    oldest of all). ``busy`` is kept by the ``track`` middleware."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server = server
        self._limit = limit
        self._busy: set[object] = set()

    def __call__(self) -> asyncio.Protocol:
        open_now = self._server.connections  # oldest first
        if len(open_now) >= self._limit:
            idle = [c for c in open_now if c not in self._busy]
            victim = (idle or open_now)[0]
            log.debug("HTTP: %d connections open; closing the oldest idle one", len(open_now))
            victim.force_close()
        return self._server()

    @web.middleware
    async def track(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self._busy.add(request.protocol)
        try:
            return await handler(request)
        finally:
            self._busy.discard(request.protocol)


class _LimitedSite(web.BaseSite):
    """A TCP site whose connections go through ``_ConnectionLimit``."""

    def __init__(
        self, runner: web.AppRunner, host: str, port: int, limit: _ConnectionLimit
    ) -> None:
        super().__init__(runner)
        self._host, self._port, self._limit = host, port, limit

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._limit, self._host, self._port)


def _body_deadline(seconds: float) -> Middleware:
    """A middleware that reads a request's body within ``seconds`` before its handler runs
    (aiohttp keeps it: the handler reads it again at once), else answers 408."""

    @web.middleware
    async def deadline(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(seconds):
                    await request.read()
            except TimeoutError:
                log.info("HTTP: %s sent its body too slowly; 408", request.remote)
                raise web.HTTPRequestTimeout(text="request body too slow\n") from None
        return await handler(request)

    return deadline


def usable_connections(wanted: int) -> int:
    """``wanted``, or fewer when the process may open fewer files than twice that (the
    database, feeds and platforms need descriptors too)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft // 2))


class HttpServer:
    """The aiohttp server on ``host:port`` (port 0: any free port, see ``port``).

    Args:
        request_timeout: seconds a client has to send a request's headers, and again its
            body; an idle keep-alive connection is closed after as long.
        max_connections: connections open at once (fewer when the open-file limit is low).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        metrics: Metrics,
        checks: Mapping[str, ReadinessCheck],
        request_timeout: float = 10.0,
        max_connections: int = 256,
    ) -> None:
        self._host = host
        self._port = port
        self._metrics = metrics
        self._checks = dict(checks)
        self._timeout = request_timeout
        self._max_connections = usable_connections(max_connections)
        self._limit: _ConnectionLimit | None = None
        self.app = web.Application(middlewares=[self._track, _body_deadline(request_timeout)])
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics_page)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @web.middleware
    async def _track(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self._limit is None:
            return await handler(request)
        return await self._limit.track(request, handler)

    async def start(self) -> None:
        # aiohttp's keep-alive timer starts when a connection opens and closes it unless a
        # whole request has arrived: a header timeout as well as an idle one.
        self._runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=self._timeout)
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        self._limit = _ConnectionLimit(server, self._max_connections)
        site = _LimitedSite(self._runner, self._host, self._port, self._limit)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info(
            "HTTP on %s:%s (/healthz, /readyz, /metrics); at most %d connections",
            self._host,
            self.port,
            self._max_connections,
        )

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
