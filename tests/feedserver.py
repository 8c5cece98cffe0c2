"""A real HTTP feed server on loopback for tests and benchmarks.

Each path is configured with a body, status, headers and delay; the server counts requests and
records their headers, and can answer conditional requests with 304 the way real servers do.
Use it in a test's event loop (``async with FeedServer() as server``) or in a separate process
(:func:`serve_in_process`) when the client under test must not share a CPU-bound loop with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import multiprocessing.connection
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web


@dataclass
class Route:
    """How the server answers one path.

    Attributes:
        body: the response body.
        status: the HTTP status.
        headers: extra response headers.
        delay: seconds to wait before answering (a slow or hanging server).
        conditional: send an ETag and Last-Modified derived from the body, and answer 304 when
            the request's If-None-Match or If-Modified-Since matches them.
    """

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = False
    content_type: str = "application/rss+xml; charset=utf-8"

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    last_modified: str = "Mon, 02 Mar 2026 08:00:00 GMT"


class FeedServer:
    """An aiohttp server on 127.0.0.1, port chosen by the OS."""

    def __init__(self, routes: Mapping[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: dict[str, list[dict[str, str]]] = {}
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.port = 0

    def set(self, path: str, route: Route | None = None, **kwargs: Any) -> Route:
        """Configure ``path`` with a Route or the Route's keyword arguments."""
        self.routes[path] = route if route is not None else Route(**kwargs)
        return self.routes[path]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        return len(self.requests.get(path, []))

    def last_headers(self, path: str) -> dict[str, str]:
        return self.requests[path][-1]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.setdefault(path, []).append(dict(request.headers))
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            # Wake early when the server stops, so a "hanging" route never delays teardown.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), route.delay)
        headers = dict(route.headers)
        if route.conditional:
            headers["ETag"] = route.etag
            headers["Last-Modified"] = route.last_modified
            if request.headers.get("If-None-Match") == route.etag or (
                "If-None-Match" not in request.headers
                and request.headers.get("If-Modified-Since") == route.last_modified
            ):
                return web.Response(status=304, headers=headers)
        headers.setdefault("Content-Type", route.content_type)
        return web.Response(status=route.status, body=route.body, headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # 128 pending connections, as the benchmarks that compare us with other readers assume.
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=128)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _process_main(routes: dict[str, Route], conn: multiprocessing.connection.Connection) -> None:
    async def main() -> None:
        server = FeedServer(routes)
        await server.start()
        conn.send(server.port)
        loop = asyncio.get_running_loop()
        # Serve until the parent says stop (or goes away).
        await loop.run_in_executor(None, conn.recv)
        await server.stop()

    with contextlib.suppress(EOFError):
        asyncio.run(main())


class ProcessFeedServer:
    """A :class:`FeedServer` in a child process, so it never competes for the client's GIL."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self._routes = dict(routes)
        self._conn: multiprocessing.connection.Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Self:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_process_main, args=(self._routes, child), daemon=True)
        self._proc.start()
        if not parent.poll(30):
            raise RuntimeError("feed server process did not start")
        self.port = parent.recv()
        self._conn = parent
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.send("stop")
            self._conn.close()
        if self._proc is not None:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.terminate()


def serve_in_process(routes: Mapping[str, Route]) -> ProcessFeedServer:
    """A feed server in a child process: ``with serve_in_process(routes) as server: ...``."""
    return ProcessFeedServer(routes)


@dataclass(frozen=True)
class Entry:
    """One entry of a generated RSS 2.0 document."""

    title: str
    summary: str = ""
    link: str | None = None
    guid: str | None = None
    pub_date: str | None = None
    categories: tuple[str, ...] = ()


def make_rss(
    entries: list[Entry] | tuple[Entry, ...],
    *,
    title: str = "Test feed",
    language: str | None = "en",
    ttl: int | None = None,
    link: str = "https://example.com/",
) -> bytes:
    """An RSS 2.0 document; text is XML-escaped, summaries may hold (escaped) HTML."""
    from xml.sax.saxutils import escape

    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>generated for tests</description>",
    ]
    if language:
        parts.append(f"<language>{language}</language>")
    if ttl is not None:
        parts.append(f"<ttl>{ttl}</ttl>")
    for e in entries:
        parts.append("<item>")
        parts.append(f"<title>{escape(e.title)}</title>")
        if e.link:
            parts.append(f"<link>{escape(e.link)}</link>")
        if e.guid:
            parts.append(f'<guid isPermaLink="false">{escape(e.guid)}</guid>')
        if e.pub_date:
            parts.append(f"<pubDate>{e.pub_date}</pubDate>")
        parts.extend(f"<category>{escape(c)}</category>" for c in e.categories)
        parts.append(f"<description>{escape(e.summary)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
