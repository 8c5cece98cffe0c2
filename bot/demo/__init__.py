"""Bundled sample feeds, written for ShiftBrief, served on loopback so the demo needs no network.

Dates in the files are placeholders relative to the moment they are served (``{{new:3h}}``,
``{{old:4d}}``), so the demo always shows fresh news. The first time a feed is added, its items
are backlog; the demo serves an "earlier" edition first (only the ``old`` items), then the current
one, to show that only what appears after a feed is followed counts as news.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib import resources

from aiohttp import web

FEEDS_PACKAGE = "bot.demo.feeds"
_PLACEHOLDER = re.compile(r"\{\{(new|old):(\d+)([hd])\}\}")
_NEW_MARK = re.compile(r"\{\{new:|<!-- new")
_ENTRY = re.compile(r"<(item|entry)>.*?</\1>\s*", re.DOTALL)

# Which sector each sample feed leans to: a hint for the classifier, never decisive alone.
SECTOR_HINTS: dict[str, str | None] = {
    "grid-carbon-daily.xml": "green",
    "climate-tech-ledger.xml": "green",
    "qubit-wire.xml": "quantum",
    "model-notes.xml": "ai",
    "motion-review.xml": "mobility",
    "biofrontier.xml": "life",
    "techshift-sokuhou-ja.xml": None,
    "energy-shinpou-ja.xml": "green",
}


def sample_feed_names() -> list[str]:
    return sorted(
        p.name for p in resources.files(FEEDS_PACKAGE).iterdir() if p.name.endswith(".xml")
    )


def render_sample_feed(name: str, *, now: datetime, edition: str = "current") -> bytes:
    """The sample feed ``name`` with its dates filled in relative to ``now``.

    Args:
        name: file name of a bundled feed.
        now: the moment the feed is served.
        edition: "earlier" leaves out the items marked new; "current" has them all.
    """
    text = (resources.files(FEEDS_PACKAGE) / name).read_text(encoding="utf-8")
    if edition == "earlier":
        text = _ENTRY.sub(lambda m: "" if _NEW_MARK.search(m.group(0)) else m.group(0), text)
    is_atom = "<feed" in text[:300]

    def fill(match: re.Match[str]) -> str:
        amount = int(match.group(2))
        delta = timedelta(hours=amount) if match.group(3) == "h" else timedelta(days=amount)
        moment = (now - delta).replace(microsecond=0)
        return moment.isoformat() if is_atom else format_datetime(moment)

    return _PLACEHOLDER.sub(fill, text).encode("utf-8")


@dataclass
class DemoFeedServer:
    """The sample feeds on ``http://127.0.0.1:<port>/<name>``."""

    base_url: str
    edition: str = "earlier"

    def urls(self) -> Iterator[tuple[str, str]]:
        for name in sample_feed_names():
            yield name, f"{self.base_url}/{name}"


@asynccontextmanager
async def serve_sample_feeds() -> AsyncIterator[DemoFeedServer]:
    """Serve the bundled feeds on a loopback port chosen by the OS."""
    server = DemoFeedServer(base_url="")

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in sample_feed_names():
            raise web.HTTPNotFound()
        body = render_sample_feed(name, now=datetime.now(UTC), edition=server.edition)
        content_type = "application/atom+xml" if b"<feed" in body[:300] else "application/rss+xml"
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
